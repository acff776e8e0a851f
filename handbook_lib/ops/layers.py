"""Kernels behind the basic layers: ``linear``, ``bilinear``, ``embedding``, ``dropout``, ``pad``.

``linear`` is the hot path of every MLP: one BLAS call and a bias add forward, recorded as a
single ``AddmmBackward0`` node whose backward is two BLAS calls and a column sum.
"""
from __future__ import annotations

import warnings

import numpy as np

from .._device import xp_of
from .._tensor import Tensor
from ..autograd.graph import Node
from ..random import rng_of
from ._util import _type_name, check_same_device, record, wrap
from .linalg import matmul


# --- linear ------------------------------------------------------------------------------------
def _linear_grads(grad: Tensor, x: Tensor, weight: Tensor, needs_x: bool,
                  needs_w: bool) -> tuple:
    """y = x Wᵀ over the last dim of x: dx = dy W, dW = dyᵀ x (batch dims flattened)."""
    grad_x = matmul(grad, weight) if needs_x else None
    grad_w = None
    if needs_w:
        grad_w = matmul(grad.reshape(-1, grad.shape[-1]).t(), x.reshape(-1, x.shape[-1]))
    return grad_x, grad_w


class AddmmBackward0(Node):
    """``linear`` with bias: also db = Σ dy over the batch dims."""

    def backward(self, grad):
        x, weight = self.saved_tensors
        needs_x, needs_w, needs_b = self.needs_input_grad
        grad_x, grad_w = _linear_grads(grad, x, weight, needs_x, needs_w)
        grad_b = grad.reshape(-1, grad.shape[-1]).sum(0) if needs_b else None
        return grad_x, grad_w, grad_b


class MmBackward0(Node):
    """``linear`` without bias."""

    def backward(self, grad):
        x, weight = self.saved_tensors
        return _linear_grads(grad, x, weight, *self.needs_input_grad)


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias``, for ``input`` of shape ``(*, in_features)``."""
    check_same_device(input, weight)
    x, w = input._data, weight._data
    if x.ndim == 0 or x.shape[-1] != w.shape[-1]:
        rows = x.size // x.shape[-1] if x.ndim and x.shape[-1] else 1
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x"
                           f"{x.shape[-1] if x.ndim else 1} and {w.shape[1]}x{w.shape[0]})")
    if x.dtype != w.dtype:
        raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got "
                           f"{_type_name(x.dtype)} and {_type_name(w.dtype)}")
    data = x @ w.T
    if bias is not None:
        data += bias._data
    result = wrap(data)
    # As PyTorch: each operand is saved only for the other's gradient, so changing the weight
    # in place after a forward whose input needs no gradient is allowed.
    saved = (input if weight._requires_grad else None, weight if input._requires_grad else None)
    if bias is None:
        return record(result, MmBackward0, (input, weight), saved=saved)
    return record(result, AddmmBackward0, (input, weight, bias), saved=saved)


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``y_k = x1ᵀ W_k x2 + b_k`` for a weight of shape ``(out, in1, in2)``."""
    if input1.shape[:-1] != input2.shape[:-1]:
        raise RuntimeError(f"bilinear(): input batch dimensions do not match: got "
                           f"{list(input1.shape[:-1])} and {list(input2.shape[:-1])}")
    if input1.shape[-1] != weight.shape[1] or input2.shape[-1] != weight.shape[2]:
        raise RuntimeError(f"bilinear(): input sizes ({input1.shape[-1]}, {input2.shape[-1]}) "
                           f"do not match the weight's {list(weight.shape[1:])}")
    # (*, 1, 1, in1) @ (out, in1, in2) → (*, out, 1, in2); then · x2 summed over in2
    left = matmul(input1.unsqueeze(-2).unsqueeze(-2), weight)
    out = (left.squeeze(-2) * input2.unsqueeze(-2)).sum(-1)
    return out if bias is None else out + bias


# --- embedding ---------------------------------------------------------------------------------
class EmbeddingBackward0(Node):
    """Rows of the weight gradient are the sums of the output gradients that used them."""

    def backward(self, grad):
        from .indexing import index_add

        (indices,) = self.saved_tensors
        flat_idx = indices.reshape(-1)
        flat_grad = grad.reshape(-1, grad.shape[-1])
        if self.padding_idx is not None:
            flat_grad = flat_grad.masked_fill((flat_idx == self.padding_idx).unsqueeze(-1), 0)
        if self.scale_grad_by_freq:
            counts = xp_of(grad).bincount(flat_idx._data, minlength=self.weight_shape[0])
            flat_grad = flat_grad / wrap(counts[flat_idx._data].astype(grad._data.dtype))[:, None]
        zeros = wrap(xp_of(grad).zeros(self.weight_shape, dtype=grad._data.dtype))
        return index_add(zeros, 0, flat_idx, flat_grad)


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` picked by integer ``input``; row ``padding_idx`` gets no gradient.

    ``max_norm``: rows that are looked up and longer than it are first rescaled in place
    (PyTorch's ``embedding_renorm_``). ``scale_grad_by_freq``: each row's gradient is divided
    by how often its index occurs in ``input``.
    """
    idx = input._data
    if idx.dtype.kind not in "iu":
        raise RuntimeError("Expected tensor for argument #1 'indices' to have one of the following "
                           f"scalar types: Long, Int; but got {input.type()} instead (while "
                           "checking arguments for embedding)")
    if sparse:
        raise NotImplementedError("embedding: sparse=True (sparse gradients) is not supported by "
                                  "handbook_lib; use sparse=False")
    num = weight.shape[0]
    if idx.size and (idx.min() < 0 or idx.max() >= num):
        raise IndexError("index out of range in self")
    if padding_idx is not None and padding_idx < 0:
        padding_idx += num
    if max_norm is not None:
        _renorm_rows(weight, idx, max_norm, norm_type)
    result = wrap(weight._data[idx])
    return record(result, EmbeddingBackward0, (weight,), saved=(input,),
                  padding_idx=padding_idx, weight_shape=weight._data.shape,
                  scale_grad_by_freq=scale_grad_by_freq)


def _renorm_rows(weight: Tensor, idx, max_norm: float, norm_type: float) -> None:
    """Scale the looked-up rows whose ``norm_type``-norm exceeds ``max_norm`` down to it."""
    xp = xp_of(weight)
    rows = xp.unique(idx % weight.shape[0])
    data = weight._data
    norms = xp.linalg.norm(data[rows].astype(np.float64), ord=norm_type, axis=1)
    too_long = norms > max_norm
    if too_long.any():
        scale = max_norm / (norms[too_long] + 1e-7)
        data[rows[too_long]] *= scale[:, None].astype(data.dtype)
        weight._version_counter[0] += 1


# --- dropout -----------------------------------------------------------------------------------
class NativeDropoutBackward0(Node):
    def backward(self, grad):
        return grad * wrap(self.mask)


def _check_p(p: float) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _masked(input: Tensor, mask_shape: tuple, p: float, generator=None) -> Tensor:
    """``input * mask / (1 - p)`` with a Bernoulli(1 - p) ``mask`` of ``mask_shape``."""
    x = input._data
    if p == 1.0:
        mask = xp_of(input).zeros(mask_shape, dtype=x.dtype)
    else:
        draws = rng_of(generator, xp_of(x)).random(mask_shape, dtype=np.float32)  # on x's device
        mask = (draws >= p).astype(x.dtype) * x.dtype.type(1.0 / (1.0 - p))
    return record(wrap(x * mask), NativeDropoutBackward0, (input,), mask=mask)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False,
            generator=None) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p) (training only)."""
    _check_p(p)
    if not training or p == 0.0:
        return input
    out = _masked(input, input._data.shape, p, generator)
    return _maybe_inplace(input, out, inplace)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False,
              generator=None) -> Tensor:
    """Zero whole channels of ``(N, C, H, W)`` (or ``(C, H, W)``) input: one draw per channel."""
    _check_p(p)
    if input.ndim not in (3, 4):
        warnings.warn(
            f"dropout2d: Received a {input.ndim}-D input to dropout2d, which is deprecated and "
            "will result in an error in a future release. To retain the behavior and silence "
            "this warning, please use dropout instead. Note that dropout2d exists to provide "
            "channel-wise dropout on inputs with 2 spatial dimensions, a channel dimension, and "
            "an optional batch dimension (i.e. 3D or 4D inputs).", stacklevel=2)
    if not training or p == 0.0:
        return input
    lead = 1 if input.ndim == 3 else min(input.ndim, 2)  # other ranks: PyTorch's (N, C, ...)
    mask_shape = tuple(input.shape[:lead]) + (1,) * (input.ndim - lead)
    return _maybe_inplace(input, _masked(input, mask_shape, p, generator), inplace)


def _maybe_inplace(input: Tensor, out: Tensor, inplace: bool) -> Tensor:
    if not inplace:
        return out
    from .creation import copy_

    return copy_(input, out)


# --- padding -----------------------------------------------------------------------------------
class ConstantPadNdBackward0(Node):
    def backward(self, grad):
        return grad[self.region]


_INDEX_PAD_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def pad(input: Tensor, pad: tuple | list, mode: str = "constant",
        value: float | None = None) -> Tensor:
    """Pad the last ``len(pad) // 2`` dims: ``pad = (left, right, top, bottom, ...)`` starting
    from the last dim. ``mode`` is ``'constant'`` (negative amounts crop), ``'reflect'``,
    ``'replicate'`` or ``'circular'``."""
    if mode != "constant" and mode not in _INDEX_PAD_MODES:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise RuntimeError(f"Padding length must be divisible by 2 and at most twice the number "
                           f"of dims of the input ({input.ndim}), got {len(pad)}")
    widths = [(0, 0)] * input.ndim
    for i in range(len(pad) // 2):
        widths[input.ndim - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    if mode != "constant":
        return _pad_by_indexing(input, widths, mode)
    if any(max(-lo, 0) + max(-hi, 0) > s for (lo, hi), s in zip(widths, input.shape)):
        raise RuntimeError("narrow(): length must be non-negative.")  # crops more than there is
    crop = tuple(slice(max(-lo, 0), s - max(-hi, 0)) for (lo, hi), s in zip(widths, input.shape))
    if any(lo < 0 or hi < 0 for lo, hi in widths):
        input = input[crop]
        widths = [(max(lo, 0), max(hi, 0)) for lo, hi in widths]
    x = input._data
    out_shape = tuple(s + lo + hi for s, (lo, hi) in zip(x.shape, widths))
    data = xp_of(input).full(out_shape, 0 if value is None else value, dtype=x.dtype)
    region = tuple(slice(lo, lo + s) for s, (lo, _) in zip(x.shape, widths))
    data[region] = x
    return record(wrap(data), ConstantPadNdBackward0, (input,), region=region)


def _pad_by_indexing(input: Tensor, widths: list, mode: str) -> Tensor:
    """Reflect/replicate/circular padding as indexing: each padded dim is read through an index
    vector such as [2, 1, 0, 1, 2, 3, 2, 1] (reflect 2 on each side of 4), so the gradient comes
    from indexing's backward (repeated positions accumulate)."""
    padded = [d for d, (lo, hi) in enumerate(widths) if lo or hi]
    for d in padded:
        lo, hi = widths[d]
        if min(lo, hi) < 0:
            raise RuntimeError("negative padding is only supported with mode='constant'")
        if mode == "reflect" and max(lo, hi) >= input.shape[d]:
            raise RuntimeError(
                f"Argument #4: Padding size should be less than the corresponding input dimension, "
                f"but got: padding ({lo}, {hi}) at dimension {d} of input {list(input.shape)}")
    if not padded:
        return input
    # the index tables are built on the host from the shape alone, then moved to input's device
    vectors = [np.pad(np.arange(input.shape[d]), widths[d],  # host: shape arithmetic
                      mode=_INDEX_PAD_MODES[mode]) for d in padded]
    index = [slice(None)] * input.ndim
    for d, grid in zip(padded, np.ix_(*vectors)):  # host: shape arithmetic
        index[d] = xp_of(input).asarray(grid)
    return input[tuple(index)]
