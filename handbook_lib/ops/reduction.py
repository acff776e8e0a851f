"""Reductions over one or more dims (``dim`` int or tuple, ``keepdim``), and softmax.

The backward of a reduction spreads the output gradient back over the reduced dims: it puts
the reduced dims back (as size 1) and expands.
"""
from __future__ import annotations

import builtins
import math
from collections import namedtuple

import numpy as np

from .._device import xp_of
from .._tensor import Tensor
from ..autograd.graph import Node
from ._util import OUTPUT, normalize_dim, normalize_dims, record, wrap, write_out
from .shape import CloneBackward0


def _return_type(name: str):
    cls = namedtuple(name, ["values", "indices"])
    cls.__repr__ = lambda self: (f"torch.return_types.{name}(\nvalues={self.values!r},\n"
                                 f"indices={self.indices!r})")
    return cls


max_result, min_result = _return_type("max"), _return_type("min")
sort_result, topk_result = _return_type("sort"), _return_type("topk")


def _kept_shape(shape: tuple, axes: tuple) -> tuple:
    """``shape`` with the reduced ``axes`` set to 1 (what keepdim=True gives)."""
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def _spread(grad: Tensor, shape: tuple, axes: tuple) -> Tensor:
    """Broadcast the gradient of a reduction back over the input's shape."""
    return grad.reshape(_kept_shape(shape, axes)).expand(shape)


# --- sum / mean -----------------------------------------------------------------------------------
class SumBackward1(Node):
    def backward(self, grad):
        return _spread(grad, self.shape, self.axes)


class SumBackward0(SumBackward1):
    """Sum of all elements."""


def _sum_dtype(array, dtype) -> np.dtype | None:
    if dtype is not None:
        from .._dtype import to_numpy_dtype

        return to_numpy_dtype(dtype)
    return np.dtype(np.int64) if array.dtype.kind in "biu" else None


def sum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None,
        out: Tensor | None = None) -> Tensor:
    """Sum over ``dim`` (all dims by default). Integer and bool tensors sum to int64."""
    axes = normalize_dims(dim, input._data.ndim)
    data = input._data.sum(axis=axes, keepdims=keepdim, dtype=_sum_dtype(input._data, dtype))
    node = SumBackward0 if dim is None else SumBackward1
    result = record(wrap(data), node, (input,), shape=input._data.shape, axes=axes)
    return write_out(result, out)


class MeanBackward1(Node):
    def backward(self, grad):
        return _spread(grad, self.shape, self.axes) / self.count


class MeanBackward0(MeanBackward1):
    """Mean of all elements."""


def mean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None,
         out: Tensor | None = None) -> Tensor:
    if input._data.dtype.kind != "f" and dtype is None:
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point "
            f"or complex dtype. Got: {input.dtype.name.capitalize()}. Convert first, e.g. x.float()"
        )
    axes = normalize_dims(dim, input._data.ndim)
    data = input._data.mean(axis=axes, keepdims=keepdim, dtype=_sum_dtype(input._data, dtype))
    count = math.prod(input._data.shape[a] for a in axes)
    node = MeanBackward0 if dim is None else MeanBackward1
    result = record(wrap(data), node, (input,), shape=input._data.shape, axes=axes, count=count)
    return write_out(result, out)


def sum_to_size(input: Tensor, *size) -> Tensor:
    """Sum ``input`` down to ``size`` (the inverse of broadcasting ``size`` to input's shape)."""
    shape = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else size
    lead = input._data.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, s in enumerate(shape) if s == 1 and input._data.shape[lead + i] != 1)
    if not axes:
        return input
    result = sum(input, axes, keepdim=True)
    return result.reshape(shape) if lead else result


# --- var / std ----------------------------------------------------------------------------------
def _accumulating(input: Tensor) -> Tensor:
    """float16 is summed in float32, as PyTorch does (a float16 sum of squares overflows at 65504)."""
    return input.float() if input._data.dtype == np.float16 else input


def _back_to(result: Tensor, input: Tensor) -> Tensor:
    return result.to(input.dtype) if result._data.dtype != input._data.dtype else result


def var(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction=None) -> Tensor:
    """Variance with Bessel's correction by default (``correction=1``), as PyTorch."""
    correction = _correction(unbiased, correction)
    axes = normalize_dims(dim, input._data.ndim)
    count = math.prod(input._data.shape[a] for a in axes)
    x = _accumulating(input)
    centered = x - mean(x, axes, keepdim=True)
    squares = sum(centered * centered, axes, keepdim=keepdim)
    return _back_to(squares / builtins.max(count - correction, 0), input)


class ZeroSafeSqrtBackward0(Node):
    """sqrt's gradient, 0 where the output is 0 (PyTorch's std/norm at a constant or zero input)."""

    def backward(self, grad):
        from .arithmetic import where

        (out,) = self.saved_tensors
        zero = out == 0
        return where(zero, 0.0, grad / (2 * where(zero, 1.0, out)))


def zero_safe_sqrt(input: Tensor) -> Tensor:
    """``sqrt`` for a norm or a standard deviation: no NaN gradient where the value is 0."""
    data = xp_of(input._data).sqrt(input._data)
    return record(wrap(data), ZeroSafeSqrtBackward0, (input,), saved=(OUTPUT,))


def std(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction=None) -> Tensor:
    x = _accumulating(input)
    return _back_to(zero_safe_sqrt(var(x, dim, unbiased, keepdim, correction=correction)), input)


def _correction(unbiased, correction) -> float:
    if correction is not None:
        return correction
    return 0 if unbiased is False else 1


def var_mean(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    return var(input, dim, unbiased, keepdim, correction=correction), mean(input, dim, keepdim)


def std_mean(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    return std(input, dim, unbiased, keepdim, correction=correction), mean(input, dim, keepdim)


# --- prod -------------------------------------------------------------------------------------------
class ProdBackward1(Node):
    """d(prod)/dx_i is the product of the others; computed without dividing by zero.

    Where the input holds zeros this formula is right but its own derivative is not (it treats
    the zero's neighbours as constants), so double backward there raises instead."""

    def backward(self, grad):
        from ..autograd.grad_mode import STATE
        from .arithmetic import where

        (x,) = self.saved_tensors
        axes = self.axes
        zero = x == 0
        if STATE.enabled and bool(zero._data.any()):
            raise RuntimeError("double backward through prod of a tensor that contains zeros is "
                               "not supported by handbook_lib")
        zeros = sum(zero, axes, keepdim=True)
        nonzero_prod = prod_dims(where(zero, 1.0, x), axes, keepdim=True)
        others = where(zeros == 0, nonzero_prod / where(zero, 1.0, x),
                       where((zeros == 1) & zero, nonzero_prod, 0.0))
        return _spread(grad, self.shape, axes) * others


class ProdBackward0(ProdBackward1):
    """Product of all elements."""


def prod_dims(input: Tensor, axes: tuple, keepdim: bool, node: type = ProdBackward1) -> Tensor:
    data = input._data.prod(axis=axes, keepdims=keepdim,
                            dtype=np.int64 if input._data.dtype.kind in "biu" else None)
    return record(wrap(data), node, (input,), saved=(input,), shape=input._data.shape,
                  axes=axes)


def prod(input: Tensor, dim: int | None = None, keepdim: bool = False, *, dtype=None) -> Tensor:
    result = prod_dims(input, normalize_dims(dim, input._data.ndim), keepdim,
                       ProdBackward0 if dim is None else ProdBackward1)
    return result if dtype is None else result.to(dtype)


# --- max / min ---------------------------------------------------------------------------------------
class MaxBackward0(Node):
    """max/min over a dim: the gradient goes to the element that was picked."""

    def backward(self, grad):
        from .indexing import scatter_into_zeros

        (indices,) = self.saved_tensors
        if not self.keepdim:
            grad, indices = grad.unsqueeze(self.dim), indices.unsqueeze(self.dim)
        return scatter_into_zeros(grad, self.dim, indices, self.shape)


class MinBackward0(MaxBackward0):
    pass


class MaxBackward1(Node):
    """max/min of all elements (also amax/amin): ties share the gradient evenly, as PyTorch."""

    def backward(self, grad):
        x, out = self.saved_tensors
        axes = self.axes
        out = out.reshape(_kept_shape(self.shape, axes))
        selected = x == out
        count = sum(selected, axes, keepdim=True)
        return _spread(grad, self.shape, axes) * selected / count


class MinBackward1(MaxBackward1):
    pass


class AmaxBackward0(MaxBackward1):
    pass


class AminBackward0(MaxBackward1):
    pass


def _check_not_empty(input: Tensor, name: str, axes: tuple) -> None:
    if builtins.any(input._data.shape[a] == 0 for a in axes) or input._data.size == 0:
        raise IndexError(
            f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
            "Specify the reduction dim with the 'dim' argument."
        )


def _extreme(input: Tensor, dim, keepdim: bool, is_max: bool):
    """Shared body of max/min: a value (no dim), a (values, indices) pair, or elementwise."""
    if isinstance(dim, Tensor):  # max(a, b) elementwise
        from .arithmetic import maximum, minimum

        return (maximum if is_max else minimum)(input, dim)
    name = "max" if is_max else "min"
    if dim is None:
        axes = tuple(range(input._data.ndim))
        _check_not_empty(input, name, axes)
        data = input._data.max() if is_max else input._data.min()
        node = MaxBackward1 if is_max else MinBackward1
        return record(wrap(data), node, (input,), saved=(input, OUTPUT),
                      shape=input._data.shape, axes=axes)
    axis = normalize_dim(dim, input._data.ndim)
    if input._data.ndim == 0:  # the element itself, at index 0
        values = record(wrap(input._data.copy()), CloneBackward0, (input,))
        index = xp_of(input).zeros((), np.int64)  # on the input's device, like the values
        return (max_result if is_max else min_result)(values, wrap(index))
    _check_not_empty(input, name, (axis,))
    xp = xp_of(input)
    arg = (xp.argmax if is_max else xp.argmin)(input._data, axis=axis, keepdims=True)
    values = xp.take_along_axis(input._data, arg, axis=axis)
    if not keepdim:
        values, arg = values.squeeze(axis), arg.squeeze(axis)
    indices = wrap(arg.astype(np.int64))
    node = MaxBackward0 if is_max else MinBackward0
    values = record(wrap(values), node, (input,), saved=(indices,), shape=input._data.shape,
                    dim=axis, keepdim=keepdim)
    return (max_result if is_max else min_result)(values, indices)


def max(input: Tensor, dim=None, keepdim: bool = False):
    """The largest element; with ``dim``, a ``(values, indices)`` pair; ``max(a, b)`` elementwise."""
    return _extreme(input, dim, keepdim, True)


def min(input: Tensor, dim=None, keepdim: bool = False):
    return _extreme(input, dim, keepdim, False)


def amax(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    axes = normalize_dims(dim, input._data.ndim)
    data = input._data.max(axis=axes, keepdims=keepdim)
    return record(wrap(data), AmaxBackward0, (input,), saved=(input, OUTPUT),
                  shape=input._data.shape, axes=axes)


def amin(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    axes = normalize_dims(dim, input._data.ndim)
    data = input._data.min(axis=axes, keepdims=keepdim)
    return record(wrap(data), AminBackward0, (input,), saved=(input, OUTPUT),
                  shape=input._data.shape, axes=axes)


def _check_arg_reduction(input: Tensor, name: str, dim) -> None:
    """argmax/argmin of nothing has no answer: PyTorch's errors, not numpy's."""
    shape = input._data.shape
    if dim is None:
        if input._data.size == 0:
            raise IndexError(f"{name}(): Expected reduction dim to be specified for "
                               "input.numel() == 0.")
    elif input._data.ndim and shape[normalize_dim(dim, len(shape))] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {normalize_dim(dim, len(shape))} to "
                         "have non-zero size.")


def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    _check_arg_reduction(input, "argmax", dim)
    if dim is None:
        return wrap(xp_of(input).argmax(input._data).astype(np.int64))  # a 0-d array, no sync
    axis = normalize_dim(dim, input._data.ndim)
    return wrap(xp_of(input).argmax(input._data, axis=axis, keepdims=keepdim).astype(np.int64))


def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    _check_arg_reduction(input, "argmin", dim)
    if dim is None:
        return wrap(xp_of(input).argmin(input._data).astype(np.int64))  # a 0-d array, no sync
    axis = normalize_dim(dim, input._data.ndim)
    return wrap(xp_of(input).argmin(input._data, axis=axis, keepdims=keepdim).astype(np.int64))


def all(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    axes = normalize_dims(dim, input._data.ndim)
    return wrap(xp_of(input).all(input._data, axis=axes, keepdims=keepdim))


def any(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    axes = normalize_dims(dim, input._data.ndim)
    return wrap(xp_of(input).any(input._data, axis=axes, keepdims=keepdim))


def count_nonzero(input: Tensor, dim=None) -> Tensor:
    axes = normalize_dims(dim, input._data.ndim)
    return wrap(xp_of(input).asarray(
        xp_of(input).count_nonzero(input._data, axis=axes)).astype(np.int64))


# --- logsumexp / softmax -------------------------------------------------------------------------------
class LogsumexpBackward0(Node):
    def backward(self, grad):
        from .elementwise import exp

        x, out = self.saved_tensors
        kept = _kept_shape(self.shape, self.axes)
        return grad.reshape(kept) * exp(x - out.reshape(kept))


def logsumexp(input: Tensor, dim, keepdim: bool = False) -> Tensor:
    """log(sum(exp(x))) computed stably: the max is taken out before exponentiating."""
    axes = normalize_dims(dim, input._data.ndim)
    x = input._data
    xp = xp_of(x)
    peak = x.max(axis=axes, keepdims=True) if x.size else xp.zeros(_kept_shape(x.shape, axes),
                                                                   x.dtype)
    peak = xp.where(xp.isfinite(peak), peak, 0)
    with np.errstate(divide="ignore"):  # log(0) = -inf, quietly (numpy warns, cupy does not)
        data = xp.log(xp.exp(x - peak).sum(axis=axes, keepdims=True)) + peak
    if not keepdim:
        data = data.squeeze(axes)
    return record(wrap(data), LogsumexpBackward0, (input,), saved=(input, OUTPUT),
                  shape=x.shape, axes=axes)


class SoftmaxBackward0(Node):
    def backward(self, grad):
        (y,) = self.saved_tensors
        return y * (grad - sum(grad * y, self.dim, keepdim=True))


class LogSoftmaxBackward0(Node):
    def backward(self, grad):
        from .elementwise import exp

        (y,) = self.saved_tensors
        return grad - exp(y) * sum(grad, self.dim, keepdim=True)


def _softmax_input(input: Tensor, dtype) -> np.ndarray:
    data = input._data
    if dtype is not None:
        from .._dtype import to_numpy_dtype

        data = data.astype(to_numpy_dtype(dtype))
    elif data.dtype.kind != "f":
        raise RuntimeError(f"softmax is not implemented for integer tensors (got "
                           f"{input.dtype}); convert first, e.g. x.float()")
    return data


def softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim``, shifted by the max so that it never overflows."""
    x = _softmax_input(input, dtype)
    axis = normalize_dim(dim, x.ndim)
    shifted = xp_of(x).exp(x - x.max(axis=axis, keepdims=True)) if x.size else x
    data = shifted / shifted.sum(axis=axis, keepdims=True) if x.size else x
    return record(wrap(data), SoftmaxBackward0, (input,), saved=(OUTPUT,), dim=axis)


def log_softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    """x - logsumexp(x) along ``dim``, stable for logits of any size."""
    x = _softmax_input(input, dtype)
    axis = normalize_dim(dim, x.ndim)
    if x.size:
        shifted = x - x.max(axis=axis, keepdims=True)
        xp = xp_of(x)
        data = shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))
    else:
        data = x
    return record(wrap(data), LogSoftmaxBackward0, (input,), saved=(OUTPUT,), dim=axis)


# --- sort / topk ----------------------------------------------------------------------------------
class SortBackward0(Node):
    """The gradient of each sorted value goes back to where that value came from."""

    def backward(self, grad):
        from .indexing import scatter_into_zeros

        (indices,) = self.saved_tensors
        return scatter_into_zeros(grad, self.dim, indices, self.shape)


class TopkBackward0(SortBackward0):
    pass


def _sorted_indices(x: np.ndarray, axis: int, descending: bool) -> np.ndarray:
    """Stable sort order; NaN counts as the largest value (last ascending, first descending)."""
    xp = xp_of(x)
    order = xp.argsort(-x if descending and x.dtype.kind != "b" else x, axis=axis, kind="stable")
    if descending and x.dtype.kind == "b":
        return xp.flip(order, axis)
    if descending and x.dtype.kind == "f":
        nan = xp.isnan(x)
        if bool(nan.any()):  # -nan is nan, so NaN went last: a second stable pass puts it first
            nan_last = xp.take_along_axis(~nan, order, axis=axis)
            order = xp.take_along_axis(order, xp.argsort(nan_last, axis=axis, kind="stable"),
                                       axis=axis)
    return order


def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False):
    """Sorted values and the indices they came from (ties keep their order)."""
    axis = normalize_dim(dim, input._data.ndim)
    order = _sorted_indices(input._data, axis, descending)
    indices = wrap(order.astype(np.int64))
    values = record(wrap(xp_of(input).take_along_axis(input._data, order, axis=axis)),
                    SortBackward0,
                    (input,), saved=(indices,), dim=axis, shape=input._data.shape)
    return sort_result(values, indices)


def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    return sort(input, dim, descending, stable).indices


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
    """The ``k`` largest (or smallest) elements along ``dim`` and their indices."""
    axis = normalize_dim(dim, input._data.ndim)
    if not 0 <= k <= input._data.shape[axis]:
        raise RuntimeError("selected index k out of range")
    order = _sorted_indices(input._data, axis, largest)
    xp = xp_of(input)
    picked = xp.take(order, xp.arange(k), axis=axis)
    indices = wrap(picked.astype(np.int64))
    values = record(wrap(xp.take_along_axis(input._data, picked, axis=axis)), TopkBackward0,
                    (input,), saved=(indices,), dim=axis, shape=input._data.shape)
    return topk_result(values, indices)


# --- cumulative -----------------------------------------------------------------------------------
class CumsumBackward0(Node):
    def backward(self, grad):
        return grad.flip(self.dim).cumsum(self.dim).flip(self.dim)


def cumsum(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Running sum along ``dim``; float16 accumulates in float32, as PyTorch."""
    axis = normalize_dim(dim, input._data.ndim)
    x = input._data
    accumulate = _sum_dtype(x, dtype) or (np.dtype(np.float32) if x.dtype == np.float16 else None)
    data = xp_of(x).cumsum(x, axis=axis, dtype=accumulate)
    if dtype is None and x.dtype == np.float16:
        data = data.astype(np.float16)
    return record(wrap(data), CumsumBackward0, (input,), dim=axis)


def norm(input: Tensor, p=2, dim=None, keepdim: bool = False) -> Tensor:
    """Vector p-norm over ``dim`` (all elements by default); ``p`` may be 'fro', inf, 1, 2, ...

    float16 accumulates in float32; the gradient of the 2-norm at zero is 0, as PyTorch.
    """
    from .elementwise import abs as abs_

    x = _accumulating(input)
    if p == "fro" or p == 2:
        result = zero_safe_sqrt(sum(x * x, dim, keepdim))
    elif p in (float("inf"), "inf"):
        return amax(abs_(input), dim if dim is not None else (), keepdim)
    elif p == 1:
        result = sum(abs_(x), dim, keepdim)
    else:
        result = sum(abs_(x) ** p, dim, keepdim) ** (1.0 / p)
    return _back_to(result, input)


def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """How often each non-negative integer occurs (or the sum of its ``weights``)."""
    data = input._data
    if data.ndim != 1 or data.dtype.kind not in "iu":
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    # reads one value back from a GPU: bincount's output size depends on the data anyway
    if data.size and bool(data.min() < 0):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    counts = xp_of(input).bincount(data, None if weights is None else weights._data, minlength)
    if weights is None:
        return wrap(counts.astype(np.int64))
    return wrap(counts.astype(weights._data.dtype if weights._data.dtype.kind == "f" else np.float64))


median_result = _return_type("median")


class MedianBackward1(MaxBackward0):
    """The gradient goes to the element picked as the median."""


class MedianBackward0(Node):
    """Median of all elements: the gradient goes to the element picked."""

    def backward(self, grad):
        from .indexing import scatter_into_zeros

        (indices,) = self.saved_tensors
        flat = scatter_into_zeros(grad.reshape(1), 0, indices.reshape(1), (self.numel,))
        return flat.reshape(self.shape)


def _median_indices(x, axis: int):
    """Index of the lower median along ``axis``; where a NaN is present, of the first NaN."""
    xp = xp_of(x)
    order = xp.argsort(x, axis=axis, kind="stable")  # NaN sorts last
    middle = xp.take(order, xp.asarray([(x.shape[axis] - 1) // 2]), axis=axis)
    if x.dtype.kind == "f":
        nan = xp.isnan(x)
        has_nan = nan.any(axis=axis, keepdims=True)
        first_nan = xp.argmax(nan, axis=axis, keepdims=True)
        middle = xp.where(has_nan, first_nan, middle)
    return middle


def median(input: Tensor, dim: int | None = None, keepdim: bool = False):
    """The lower median (NaN if there is one), as PyTorch; with ``dim``, (values, indices)."""
    x = input._data
    if dim is None:
        if x.size == 0:
            return wrap(xp_of(x).asarray(float("nan"), dtype=x.dtype))
        index = _median_indices(x.reshape(-1), 0)
        indices = wrap(index.reshape(()).astype(np.int64))
        return record(wrap(x.reshape(-1)[index].reshape(())), MedianBackward0, (input,),
                      saved=(indices,), shape=x.shape, numel=x.size)
    axis = normalize_dim(dim, x.ndim)
    if x.ndim == 0:
        values = record(wrap(x.copy()), CloneBackward0, (input,))
        return median_result(values, wrap(xp_of(x).zeros((), np.int64)))
    if x.shape[axis] == 0:
        raise IndexError(f"median(): Expected reduction dim {axis} to have non-zero size.")
    index = _median_indices(x, axis)
    values = xp_of(x).take_along_axis(x, index, axis=axis)
    if not keepdim:
        values, index = values.squeeze(axis), index.squeeze(axis)
    indices = wrap(index.astype(np.int64))
    values = record(wrap(values), MedianBackward1, (input,), saved=(indices,), shape=x.shape,
                    dim=axis, keepdim=keepdim)
    return median_result(values, indices)


__all__ = ["sum", "mean", "var", "std", "var_mean", "std_mean", "prod", "max", "min", "amax",
           "amin", "argmax", "argmin", "all", "any", "count_nonzero", "logsumexp", "softmax",
           "log_softmax", "cumsum", "norm", "median", "sum_to_size", "sort", "argsort", "topk", "bincount"]
