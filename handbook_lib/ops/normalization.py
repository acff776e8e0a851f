"""Batch and layer normalisation, each one fused node with a closed-form backward on arrays.

Both compute x̂ = (x − μ) / √(σ² + ε) and y = γ x̂ + β, over different axes: BatchNorm over the
batch (and spatial) dims per channel, LayerNorm over the last dims per sample. With
g = ∂L/∂y and n values per statistic, the input gradient is

    ∂L/∂x = 1 / (n √(σ² + ε)) · (n h − Σh − x̂ Σ(h x̂)),   h = γ g,

where the sums run over the normalised axes. For BatchNorm γ is constant along them, so Σg
and Σ(g x̂) — which are also ∂L/∂β and ∂L/∂γ — are computed once and reused.
"""
from __future__ import annotations

from .._device import xp_of
from .._tensor import Tensor
from ..autograd.graph import Node
from ..autograd.grad_mode import STATE
from ._util import record, wrap


def _no_double_backward(name: str) -> None:
    if STATE.enabled:
        raise RuntimeError(f"double backward through {name} is not supported by handbook_lib "
                           "(its backward runs on raw arrays); use create_graph=False")


def _gamma(weight, shape: tuple):
    return 1 if weight is None else weight.reshape(shape)


def _saved_weight(node: Node):
    """The weight's array, unpacked through the saved tensor: changed in place since, it raises."""
    (weight,) = node.saved_tensors
    return None if weight is None else weight._data


def _as(array, like: Tensor) -> Tensor:
    """A gradient array in the dtype of the gradient it came from (float16 math runs in float32)."""
    return wrap(array.astype(like._data.dtype, copy=False))


def _statistics_array(input: Tensor):
    """The input's array in the dtype statistics are computed in: float32 for float16."""
    x = input._data
    return x.astype("float32") if x.dtype == "float16" else x


class NativeBatchNormBackward0(Node):
    def backward(self, grad):
        _no_double_backward(self.name())
        g, xhat, inv_std = grad._data, self.xhat, self.inv_std
        weight = _saved_weight(self)
        needs_x, needs_w, needs_b = self.needs_input_grad
        g = g.astype(xhat.dtype, copy=False)
        grad_b = g.sum(axis=self.axes, keepdims=True)
        grad_w = (g * xhat).sum(axis=self.axes, keepdims=True)
        grad_x = None
        if needs_x:
            scale = _gamma(weight, grad_b.shape) * inv_std
            if self.batch_stats:
                n = g.size // grad_b.size
                grad_x = (scale / n) * (n * g - grad_b - xhat * grad_w)
            else:
                grad_x = g * scale
        return (_as(grad_x, grad) if needs_x else None,
                _as(grad_w.reshape(-1), grad) if needs_w else None,
                _as(grad_b.reshape(-1), grad) if needs_b else None)


class NativeLayerNormBackward0(Node):
    def backward(self, grad):
        _no_double_backward(self.name())
        g, xhat, inv_std = grad._data, self.xhat, self.inv_std
        weight = _saved_weight(self)
        needs_x, needs_w, needs_b = self.needs_input_grad
        g = g.astype(xhat.dtype, copy=False)
        grad_x = None
        if needs_x:
            gh = g * _gamma(weight, self.weight_shape)
            n = xhat.size // inv_std.size
            grad_x = (inv_std / n) * (n * gh - gh.sum(axis=self.axes, keepdims=True)
                                      - xhat * (gh * xhat).sum(axis=self.axes, keepdims=True))
        lead = tuple(range(g.ndim - len(self.axes)))
        return (_as(grad_x, grad) if needs_x else None,
                _as((g * xhat).sum(axis=lead), grad) if needs_w else None,
                _as(g.sum(axis=lead), grad) if needs_b else None)


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each channel (dim 1) over the batch and spatial dims.

    In training (or without running statistics) the batch's mean and biased variance are used,
    and the running statistics are updated in place:
    ``running = (1 - momentum) · running + momentum · batch_stat`` with the *unbiased* variance.
    Otherwise the running statistics are used.
    """
    x = _statistics_array(input)
    if x.ndim < 2:
        raise ValueError(f"expected 2D or higher input (got {x.ndim}D input)")
    _check_channel_count(x.shape[1], running_mean=running_mean, running_var=running_var,
                         weight=weight, bias=bias)
    axes = (0,) + tuple(range(2, x.ndim))
    param_shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    batch_stats = training or running_mean is None
    if batch_stats:
        n = x.size // x.shape[1]
        if training and n <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input "
                             f"size {input.shape}")
        mean = x.mean(axis=axes, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
        if training and running_mean is not None:
            _update_running(running_mean, mean, momentum)
            _update_running(running_var, var * (n / max(n - 1, 1)), momentum)
    else:
        mean = running_mean._data.reshape(param_shape)
        var = running_var._data.reshape(param_shape)
    inv_std = 1.0 / xp_of(input).sqrt(var + x.dtype.type(eps))
    xhat = (x - mean) * inv_std
    result = _affine(input, xhat, weight, bias, param_shape)
    return record(result, NativeBatchNormBackward0, (input, weight, bias), saved=(weight,),
                  xhat=xhat, inv_std=inv_std, axes=axes, batch_stats=batch_stats)


def _check_channel_count(channels: int, **per_channel: Tensor | None) -> None:
    """Each per-channel tensor must have one value per channel of the input (dim 1)."""
    for name, tensor in per_channel.items():
        if tensor is not None and tensor.numel() != channels:
            raise RuntimeError(f"{name} should contain {channels} elements not {tensor.numel()}")


def _update_running(running: Tensor, stat, momentum: float) -> None:
    data = running._data
    data *= 1 - momentum
    data += (momentum * stat.reshape(data.shape)).astype(data.dtype, copy=False)
    running._version_counter[0] += 1


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalise each sample over its last ``len(normalized_shape)`` dims."""
    normalized_shape = ((normalized_shape,) if isinstance(normalized_shape, int)
                        else tuple(normalized_shape))
    x = _statistics_array(input)
    k = len(normalized_shape)
    if tuple(x.shape[x.ndim - k:]) != normalized_shape or k > x.ndim:
        raise RuntimeError(f"Given normalized_shape={list(normalized_shape)}, expected input with "
                           f"shape [*, {', '.join(map(str, normalized_shape))}], but got input of "
                           f"size{list(x.shape)}")
    axes = tuple(range(x.ndim - k, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    inv_std = 1.0 / xp_of(input).sqrt(var + x.dtype.type(eps))
    xhat = (x - mean) * inv_std
    result = _affine(input, xhat, weight, bias, normalized_shape)
    return record(result, NativeLayerNormBackward0, (input, weight, bias), saved=(weight,),
                  xhat=xhat, inv_std=inv_std, axes=axes, weight_shape=normalized_shape)


def _affine(input: Tensor, xhat, weight: Tensor | None, bias: Tensor | None,
            param_shape: tuple) -> Tensor:
    """y = γ x̂ + β, with γ and β reshaped to ``param_shape`` for broadcasting."""
    out = xhat
    if weight is not None:
        out = out * weight._data.reshape(param_shape)
    if bias is not None:
        out = out + bias._data.reshape(param_shape)
    return wrap(out.astype(input._data.dtype, copy=False))
