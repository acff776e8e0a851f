"""Loss functions. ``cross_entropy`` is one fused node (log-softmax + negative log-likelihood).

Cross-entropy with class indices, class weights w and label smoothing ε is, per sample,
``-Σ_c q_c log p_c`` with the target distribution q_c = (1 − ε) w_y [c = y] + (ε / C) w_c, and
p = softmax(z). Its gradient with respect to the logits is simply ``p · Σq − q`` — for the plain
case (no weights, no smoothing) the well-known ``softmax − onehot``. Both are computed from the
shifted logits z − max z, so logits of ±1e4 are no problem.
"""
from __future__ import annotations

import warnings

import numpy as np

from .._device import xp_of
from .._tensor import Tensor
from ..autograd.graph import Node
from ..autograd.grad_mode import STATE
from . import fused
from ._util import apply_binary, record, wrap
from .arithmetic import where
from .elementwise import abs as abs_, sigmoid
from .reduction import softmax

_REDUCTIONS = ("none", "mean", "sum")


def _check_reduction(reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    _check_reduction(reduction)
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


def _warn_shapes(input: Tensor, target: Tensor) -> None:
    if target.shape != input.shape:
        warnings.warn(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}). This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.", stacklevel=3)


# --- regression losses ---------------------------------------------------------------------
class MseLossBackward0(Node):
    """d/d input of reduce((input − target)²) is 2 (input − target) · grad, over N for 'mean'."""

    def backward(self, grad):
        input, target = self.saved_tensors
        scale = 2.0 / self.count if self.reduction == "mean" else 2.0
        grad_input = (input - target) * (grad * scale)
        return grad_input, (-grad_input if self.needs_input_grad[1] else None)


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Mean squared error: mean((input − target)²), one node like PyTorch's ``MseLossBackward0``."""
    _check_reduction(reduction)
    _warn_shapes(input, target)
    diff = apply_binary("subtract", input, target)
    squared = diff * diff
    data = squared if reduction == "none" else (
        squared.mean() if reduction == "mean" else squared.sum())
    return record(wrap(data), MseLossBackward0, (input, target), saved=(input, target),
                  reduction=reduction, count=max(squared.size, 1))


def l1_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Mean absolute error: mean(|input − target|)."""
    _warn_shapes(input, target)
    return _reduce(abs_(input - target), reduction)


def smooth_l1_loss(input: Tensor, target: Tensor, reduction: str = "mean",
                   beta: float = 1.0) -> Tensor:
    """0.5 d² / β where |d| < β, |d| − 0.5 β elsewhere (d = input − target)."""
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    _warn_shapes(input, target)
    diff = input - target
    if beta == 0:
        return _reduce(abs_(diff), reduction)
    absolute = abs_(diff)
    loss = where(absolute < beta, 0.5 * diff * diff / beta, absolute - 0.5 * beta)
    return _reduce(loss, reduction)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean",
               delta: float = 1.0) -> Tensor:
    """0.5 d² where |d| < δ, δ (|d| − 0.5 δ) elsewhere: ``smooth_l1_loss`` times δ."""
    _warn_shapes(input, target)
    diff = input - target
    absolute = abs_(diff)
    loss = where(absolute < delta, 0.5 * diff * diff, delta * (absolute - 0.5 * delta))
    return _reduce(loss, reduction)


# --- cross-entropy and NLL ---------------------------------------------------------------------
def _rows(input: Tensor, target: Tensor, name: str) -> tuple:
    """The input's class scores as a 2-D (rows, C) array and the target flattened to match.

    Accepts (C,), (N, C) and (N, C, d1, ...); class dim 1 is moved last for the spatial case.
    """
    x = input._data
    if x.ndim == 0:
        raise RuntimeError(f"{name}: input must have at least 1 dimension (got a 0-D tensor)")
    probs = target._data.dtype.kind == "f"
    batch_shape = () if x.ndim == 1 else (x.shape[0],) + x.shape[2:]
    expected = x.shape if probs else batch_shape
    if target._data.shape != expected:
        if probs:
            raise RuntimeError(f"{name}: expected a target of the input's shape "
                               f"{list(x.shape)} for class probabilities, got "
                               f"{list(target.shape)}")
        raise ValueError(f"Expected input batch_size ({x.shape[0] if x.ndim > 1 else 1}) to match "
                         f"target batch_size ({target.shape[0] if target.ndim else 1}); target "
                         f"shape {list(target.shape)} should be {list(batch_shape)}.")
    C = x.shape[-1] if x.ndim == 1 else x.shape[1]
    xp = xp_of(input)
    moved = xp.moveaxis(x, 1, -1) if x.ndim > 2 else x
    t = target._data
    if probs and x.ndim > 2:
        t = xp.moveaxis(t, 1, -1)
    return moved.reshape(-1, C), (t.reshape(-1, C) if probs else t.reshape(-1)), batch_shape


def _target_distribution(xp, t, C: int, dtype, weight, ignore_index: int,
                         label_smoothing: float):
    """The target distribution q (rows, C) and the denominator of the 'mean' reduction."""
    w = None if weight is None else weight._data.astype(dtype, copy=False)
    if t.dtype.kind == "f":
        q = t.astype(dtype, copy=False)
        if label_smoothing:
            q = q * (1 - label_smoothing) + label_smoothing / C
        if w is not None:
            q = q * w
        return q, t.shape[0]
    if t.dtype.kind not in "iu":
        raise RuntimeError(f"expected scalar type Long but found {t.dtype}")
    n = t.shape[0]
    on_gpu = xp is not np
    if n and on_gpu:  # no read-back on a GPU: a bad class makes the loss NaN (PyTorch's kernel
        # asserts on the device instead)
        safe, valid, picked = fused.checked_class_targets(xp)(t, C, ignore_index, dtype.type(1))
        if w is not None:
            picked = w[safe] * picked
    elif n and (0 <= ignore_index < C or t.min() < 0 or t.max() >= C):
        valid = t != ignore_index
        bad = valid & ((t < 0) | (t >= C))
        if bad.any():
            raise IndexError(f"Target {int(t[bad][0])} is out of bounds.")
        safe = xp.where(valid, t, 0)
        picked = valid.astype(dtype) if w is None else w[safe] * valid
    else:  # every row counts (the common case: three array operations fewer)
        valid, safe = xp.ones(n, bool), t
        picked = xp.ones(n, dtype) if w is None else w[t]
    q = xp.zeros((n, C), dtype)
    q[xp.arange(n), safe] = picked * (1 - label_smoothing) if label_smoothing else picked
    if label_smoothing:
        q += (label_smoothing / C) * (w if w is not None else 1) * valid[:, None].astype(dtype)
    return q, picked.sum()


class CrossEntropyLossBackward0(Node):
    """∂loss/∂z = scale · (softmax(z) · Σq − q), with the scale set by the reduction.

    Computed on arrays; with ``create_graph=True`` the same formula runs as tensor ops on a
    recomputed softmax, so that it can be differentiated again.
    """

    def backward(self, grad):
        if STATE.enabled:
            (input,) = self.saved_tensors
            p = softmax(_rows_of(input), 1)
            rows = (p * wrap(self.q.sum(axis=1, keepdims=True)) - wrap(self.q)) \
                * _row_scale(grad, self.reduction, self.denominator)
            return _unrows(rows, self.shape, lambda t: t.movedim(-1, 1))
        softmax_minus_target = fused.cross_entropy_grad(xp_of(grad))
        rows = softmax_minus_target(self.exp, self.sum_exp, self.q,
                                    self.q.sum(axis=1, keepdims=True),
                                    _row_scale(grad._data, self.reduction, self.denominator))
        return wrap(_unrows(rows, self.shape, lambda a: xp_of(grad).moveaxis(a, -1, 1)))


def _row_scale(grad, reduction: str, denominator):
    """The loss gradient as a factor per row: (rows, 1) for 'none', a scalar otherwise."""
    if reduction == "none":
        return grad.reshape(-1, 1)
    if reduction == "sum":
        return grad
    # every target ignored: the loss is 0/0 = nan, its gradient zero (as in PyTorch)
    if isinstance(denominator, (int, float)):
        return grad / denominator if denominator else grad * 0
    # a 0-d array (a sum of weights), maybe on a GPU: no read-back, the zero case by arithmetic
    if isinstance(grad, Tensor):
        return grad * wrap((denominator != 0) / (denominator + (denominator == 0)))
    return fused.mean_scale(xp_of(grad))(grad, denominator)


def _rows_of(input: Tensor) -> Tensor:
    if input.ndim > 2:
        return input.movedim(1, -1).reshape(-1, input.shape[1])
    return input.reshape(-1, input.shape[-1])


def _unrows(rows, shape: tuple, class_dim_back):
    """(rows, C) back to the input's ``shape``; ``class_dim_back`` moves the last dim to 1."""
    if len(shape) > 2:
        return class_dim_back(rows.reshape((shape[0],) + tuple(shape[2:]) + (shape[1],)))
    return rows.reshape(shape)


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy between logits ``input`` and class indices or class probabilities ``target``.

    ``input`` is (C), (N, C) or (N, C, d1, ...); ``target`` holds class indices (int64,
    shape without C) or probabilities (float, input's shape).
    """
    _check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    z, t, batch_shape = _rows(input, target, "cross_entropy")
    C = z.shape[1]
    _check_weight(weight, C)
    xp = xp_of(input)
    shifted = z - z.max(axis=1, keepdims=True)
    exp = xp.exp(shifted)
    sum_exp = exp.sum(axis=1, keepdims=True)
    q, denominator = _target_distribution(xp, t, C, z.dtype, weight, ignore_index,
                                          label_smoothing)
    with np.errstate(invalid="ignore"):  # Σ_c q_c log p_c, as _weighted_sum, in one kernel
        per_row = -fused.weighted_log_probs(xp)(q, shifted, sum_exp).sum(axis=1)
    data = _reduce_rows(per_row, reduction, denominator, batch_shape)
    result = wrap(data.astype(z.dtype, copy=False))
    return record(result, CrossEntropyLossBackward0, (input,), saved=(input,), q=q, exp=exp,
                  sum_exp=sum_exp, reduction=reduction, denominator=denominator,
                  shape=tuple(input.shape))


def _weighted_sum(xp, q, logp):
    """Σ_c q_c log p_c per row; classes with q_c = 0 add nothing even where log p_c = −inf
    (a masked logit), as in PyTorch's NLL, which reads only the target's entry."""
    with np.errstate(invalid="ignore"):
        return xp.where(q != 0, q * logp, 0).sum(axis=1)


def _check_weight(weight: Tensor | None, C: int) -> None:
    if weight is not None and weight.shape != (C,):
        raise RuntimeError(f"weight tensor should be defined either for all {C} classes or no "
                           f"classes but got weight tensor of shape: {list(weight.shape)}")


def _reduce_rows(per_row, reduction: str, denominator, batch_shape: tuple):
    if reduction == "none":
        return per_row.reshape(batch_shape)
    total = per_row.sum()
    if reduction == "sum":
        return total
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / denominator


class NllLossBackward0(Node):
    """∂loss/∂(log p) = −scale · q."""

    def backward(self, grad):
        scale = _row_scale(grad if STATE.enabled else grad._data, self.reduction,
                           self.denominator)
        if STATE.enabled:
            return _unrows(-wrap(self.q) * scale, self.shape, lambda t: t.movedim(-1, 1))
        return wrap(_unrows(-self.q * scale, self.shape, lambda a: xp_of(grad).moveaxis(a, -1, 1)))


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
             ignore_index: int = -100, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of class indices, given log-probabilities ``input``."""
    _check_reduction(reduction)
    if target._data.dtype.kind == "f":
        raise RuntimeError(f"expected scalar type Long but found {target.dtype.name}")
    logp, t, batch_shape = _rows(input, target, "nll_loss")
    _check_weight(weight, logp.shape[1])
    q, denominator = _target_distribution(xp_of(input), t, logp.shape[1], logp.dtype, weight,
                                          ignore_index, 0.0)
    data = _reduce_rows(-_weighted_sum(xp_of(input), q, logp), reduction, denominator, batch_shape)
    return record(wrap(data.astype(logp.dtype, copy=False)), NllLossBackward0, (input,),
                  q=q, reduction=reduction, denominator=denominator, shape=tuple(input.shape))


# --- binary cross-entropy ----------------------------------------------------------------------
_BCE_EPSILON = float(np.float32(1e-12))  # PyTorch's constant is a float32 1e-12


class BinaryCrossEntropyBackward0(Node):
    """∂/∂x = w (x − t) / max(x (1 − x), 1e-12); ∂/∂t = w (log(1 − x) − log x), logs ≥ −100."""

    def backward(self, grad):
        x, t, w = self.saved_tensors
        needs_x, needs_t = self.needs_input_grad[:2]
        grad = grad if w is None else grad * w
        grad_x = grad_t = None
        if needs_x:
            grad_x = grad * (x - t) / (x * (1 - x)).clamp(min=_BCE_EPSILON)
        if needs_t:
            grad_t = grad * ((1 - x).log().clamp(min=-100) - x.log().clamp(min=-100))
        return grad_x, grad_t, None


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         reduction: str = "mean") -> Tensor:
    """−w [t log x + (1 − t) log(1 − x)] for probabilities ``input``; each log is clamped at
    −100 so that x = 0 or 1 gives a finite loss (as PyTorch does)."""
    _check_reduction(reduction)
    if target.shape != input.shape:
        raise ValueError(f"Using a target size ({target.shape}) that is different to the input "
                         f"size ({input.shape}) is deprecated. Please ensure they have the same "
                         "size.")
    x, t = input._data, target._data.astype(input._data.dtype, copy=False)
    # PyTorch checks the range on the CPU and asserts inside its CUDA kernel; here the check
    # runs on the CPU only, so that a GPU step does not wait for a read-back.
    if x.size and xp_of(x) is np and (x.min() < 0 or x.max() > 1):
        raise RuntimeError("all elements of input should be between 0 and 1 (apply a sigmoid "
                           "first, or use binary_cross_entropy_with_logits on the logits)")
    xp = xp_of(input)
    with np.errstate(divide="ignore"):
        log_x = xp.maximum(xp.log(x), -100)
        log_1mx = xp.maximum(xp.log1p(-x), -100)
    loss = -(t * log_x + (1 - t) * log_1mx)
    if weight is not None:
        loss = loss * weight._data
    elementwise = record(wrap(loss.astype(x.dtype, copy=False)), BinaryCrossEntropyBackward0,
                         (input, target, None), saved=(input, target, weight))
    return _reduce(elementwise, reduction)


class BinaryCrossEntropyWithLogitsBackward0(Node):
    """With l = (pos_weight − 1) t + 1: ∂/∂x = (1 − t) − l σ(−x) and
    ∂/∂t = −x + (pos_weight − 1) softplus(−x)."""

    def backward(self, grad):
        x, t, w, pw = self.saved_tensors
        needs_x, needs_t = self.needs_input_grad[:2]
        grad = grad if w is None else grad * w
        sig_neg = sigmoid(-x)
        grad_x = grad_t = None
        if needs_x:
            log_weight = 1 if pw is None else (pw - 1) * t + 1
            grad_x = grad * ((1 - t) - log_weight * sig_neg)
        if needs_t:
            grad_t = grad * (-x if pw is None else -x + (pw - 1) * _softplus_neg(x))
        return grad_x, grad_t, None, None


def _softplus_neg(x: Tensor) -> Tensor:
    """log(1 + e^{−x}), stable: log1p(e^{−|x|}) + max(−x, 0)."""
    return (-abs_(x)).exp().log1p() + (-x).clamp(min=0)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """Sigmoid + binary cross-entropy in one stable formula:
    (1 − t) x + l · log(1 + e^{−x}) with l = (pos_weight − 1) t + 1."""
    _check_reduction(reduction)
    if target.shape != input.shape:
        raise ValueError(f"Target size ({target.shape}) must be the same as input size "
                         f"({input.shape})")
    x, t = input._data, target._data.astype(input._data.dtype, copy=False)
    softplus_neg = xp_of(input).logaddexp(0, -x)
    log_weight = 1 if pos_weight is None else (pos_weight._data - 1) * t + 1
    loss = (1 - t) * x + log_weight * softplus_neg
    if weight is not None:
        loss = loss * weight._data
    elementwise = record(wrap(loss.astype(x.dtype, copy=False)),
                         BinaryCrossEntropyWithLogitsBackward0, (input, target, None, None),
                         saved=(input, target, weight, pos_weight))
    return _reduce(elementwise, reduction)
