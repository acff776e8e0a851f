"""Indexing: ``x[...]`` (ints, slices, None, ..., integer tensors, bool masks), ``x[...] = v``,
gather/scatter and friends.

The backward of reading ``x[index]`` writes the gradient into zeros at ``index``
(:func:`index_into_zeros`), and the backward of that is reading ``grad[index]`` again — the two
ops are each other's derivative, which is what makes higher-order gradients work.
"""
from __future__ import annotations

import numpy as np

from .._device import xp_of
from .._tensor import Tensor
from ..autograd.graph import Node, ViewNode
from ._util import check_inplace, check_same_device, normalize_dim, record, wrap


# --- turning a Python index into a numpy one ---------------------------------------------------------
def _convert_index(index, input: Tensor) -> tuple:
    """Tensors become arrays; lists become arrays on ``input``'s device; bounds are checked with
    PyTorch's message. An index tensor on another device than ``input`` is an error."""
    items = index if isinstance(index, tuple) else (index,)
    converted = []
    for item in items:
        if isinstance(item, Tensor):
            if item.device != input.device:  # PyTorch moves CPU indices to the tensor's device
                if item.device.type != "cpu":
                    raise RuntimeError("indices should be either on cpu or on the same device as "
                                       f"the indexed tensor ({input.device})")
                item = item.to(input.device)
            item = item._data
            if item.dtype.kind == "f":
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        elif isinstance(item, list):
            item = xp_of(input).asarray(item)
            if item.dtype.kind == "f":
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        converted.append(item)
    return tuple(converted)


_BASIC = (int, np.integer, slice, type(None), type(Ellipsis))


def _is_basic(index: tuple) -> bool:
    """Basic indexing (ints, slices, None, ...) gives a view; anything else copies."""
    return all(isinstance(i, _BASIC) and not isinstance(i, bool) for i in index)


def _index_error(exc: IndexError, shape: tuple) -> IndexError:
    message = str(exc).replace("axis", "dimension")
    if "out of bounds" in message:
        return IndexError(message + f" (tensor shape {list(shape)})")
    return IndexError(message)


def _read(data, index: tuple):
    try:
        return data[index]
    except IndexError as exc:
        raise _index_error(exc, data.shape) from None


# --- x[index] -------------------------------------------------------------------------------------
class IndexBackward0(Node):
    def backward(self, grad):
        return index_into_zeros(grad, self.shape, self.index)


class SliceBackward0(ViewNode):
    def backward(self, grad):
        return index_into_zeros(grad, self.shape, self.index)


class SelectBackward0(SliceBackward0):
    pass


def getitem(input: Tensor, index) -> Tensor:
    """``input[index]``: a view for basic indexing, a copy for tensor/list/mask indexing."""
    kind = type(index)
    if kind is int or kind is slice:  # the common x[i] and x[a:b], kept fast
        index = (index, Ellipsis)
        node = SelectBackward0 if kind is int else SliceBackward0
        return record(wrap(_read(input._data, index), base=input), node, (input,),
                      shape=input._data.shape, index=index)
    index = _convert_index(index, input)
    if _is_basic(index):
        if Ellipsis not in index:
            index = index + (Ellipsis,)  # numpy then returns a 0-dim view, never a scalar
        node = SelectBackward0 if any(isinstance(i, int) for i in index) else SliceBackward0
        result = wrap(_read(input._data, index), base=input)
    else:
        node = IndexBackward0
        result = wrap(_read(input._data, index))
    return record(result, node, (input,), shape=input._data.shape, index=index)


class IndexIntoZerosBackward(Node):
    def backward(self, grad):
        return getitem(grad, self.index)


def index_into_zeros(values: Tensor, shape: tuple, index: tuple) -> Tensor:
    """Zeros of ``shape`` with ``values`` added at ``index`` (repeated indices accumulate)."""
    xp = xp_of(values)
    data = xp.zeros(shape, dtype=values._data.dtype)
    if _is_basic(index):
        data[index] = values._data
    else:
        xp.add.at(data, index, values._data)
    return record(wrap(data), IndexIntoZerosBackward, (values,), index=index)


def select(input: Tensor, dim: int, index: int) -> Tensor:
    axis = normalize_dim(dim, input._data.ndim)
    size = input._data.shape[axis]
    if not -size <= index < size:
        raise IndexError(f"select(): index {index} out of range for tensor of size "
                         f"{list(input.shape)} at dimension {axis}")
    return getitem(input, (slice(None),) * axis + (index,))


# --- x[index] = value ---------------------------------------------------------------------------------
class IndexPutBackward0(Node):
    """Gradient of ``x[index] = v``: ``x``'s old values lost theirs at ``index``; ``v`` gets
    the gradient read at ``index``."""

    def backward(self, grad):
        needs_old, needs_value = self.needs_input_grad
        grad_old = _zero_at(grad, self.index) if needs_old else None
        grad_value = getitem(grad, self.index) if needs_value else None
        return grad_old, grad_value


def _zero_at(grad: Tensor, index: tuple) -> Tensor:
    """``grad`` with the entries at ``index`` set to zero (differentiable in ``grad``)."""
    keep = xp_of(grad).ones(grad._data.shape, dtype=grad._data.dtype)
    keep[index] = 0
    return grad * wrap(keep)


def setitem(input: Tensor, index, value) -> None:
    """``input[index] = value`` in place; recorded in the graph when gradients are needed."""
    index = _convert_index(index, input)
    recording = check_inplace(input, value)
    if isinstance(value, Tensor) and value._data.ndim:
        check_same_device(input, value)
    value_data = value._data if isinstance(value, Tensor) else value
    if isinstance(value, Tensor) and value.device != input.device:  # a 0-d value: a number
        value_data = value.item()
    if recording:  # a stand-in carrying the old value's place in the graph
        old = wrap(input._data)
        old._grad_fn, old._output_nr, old._requires_grad = (
            input._grad_fn, input._output_nr, input._requires_grad)
    try:
        input._data[index] = value_data
    except IndexError as exc:
        raise _index_error(exc, input._data.shape) from None
    except ValueError as exc:
        if "read-only" in str(exc):
            raise RuntimeError(
                "unsupported operation: more than one element of the written-to tensor refers to "
                "a single memory location. Please clone() the tensor before performing the "
                "operation.") from None
        raise RuntimeError(f"shape mismatch: value tensor of shape "
                           f"{list(getattr(value_data, 'shape', ()))} "
                           f"cannot be broadcast to indexing result of shape "
                           f"{list(input._data[index].shape)}") from None
    input._version_counter[0] += 1
    if recording:
        value_tensor = value if isinstance(value, Tensor) else None
        node_holder = wrap(input._data)
        record(node_holder, IndexPutBackward0, (old, value_tensor), shape=input._data.shape,
               index=index)
        input._grad_fn, input._output_nr, input._requires_grad = node_holder._grad_fn, 0, True


# --- gather / scatter / index_select --------------------------------------------------------------
def _check_index_tensor(index: Tensor, name: str) -> np.ndarray:
    if not isinstance(index, Tensor) or index._data.dtype.kind not in "iu":
        raise RuntimeError(f"{name}(): Expected dtype int64 for index")
    return index._data


def _first_out_of_range(idx, size: int) -> int | None:
    """The first index outside ``[0, size)`` (negative ones too: these ops do not wrap), or None."""
    if idx.size == 0:
        return None
    bad = (idx < 0) | (idx >= size)
    if not bool(bad.any()):
        return None
    return int(idx.reshape(-1)[int(bad.reshape(-1).argmax())])


def _dim_size(data, axis: int) -> int:
    """The size of ``axis`` (1 for a 0-dim tensor, whose dim 0 is the element itself)."""
    return data.shape[axis] if data.ndim else 1


def _check_bounds(idx, size: int, axis: int) -> None:
    """PyTorch's error for gather/scatter/index_add indices outside ``[0, size)``."""
    bad = _first_out_of_range(idx, size)
    if bad is not None:
        raise RuntimeError(f"index {bad} is out of bounds for dimension {axis} with size {size}")


class GatherBackward0(Node):
    def backward(self, grad):
        (index,) = self.saved_tensors
        return scatter_into_zeros(grad, self.dim, index, self.shape)


def gather(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """``out[i][j] = input[index[i][j]][j]`` for dim 0 (and so on for other dims)."""
    axis = normalize_dim(dim, input._data.ndim)
    idx = _check_index_tensor(index, "gather")
    if idx.ndim != input._data.ndim:
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    check_same_device(input, index)
    _check_bounds(idx, _dim_size(input._data, axis), axis)
    try:
        data = xp_of(input).take_along_axis(input._data, idx, axis=axis)
    except IndexError as exc:
        raise _index_error(exc, input._data.shape) from None
    except ValueError:
        raise RuntimeError(f"Size does not match at dimension {axis}: index {list(idx.shape)} "
                           f"vs input {list(input._data.shape)}") from None
    return record(wrap(data), GatherBackward0, (input,), saved=(index,), dim=axis,
                  shape=input._data.shape)


class ScatterIntoZerosBackward(Node):
    def backward(self, grad):
        (index,) = self.saved_tensors
        return gather(grad, self.dim, index)


def scatter_into_zeros(src: Tensor, dim: int, index: Tensor, shape: tuple) -> Tensor:
    """Zeros of ``shape`` with ``src`` added at ``index`` along ``dim`` (gather's adjoint)."""
    data = xp_of(src).zeros(shape, dtype=src._data.dtype)
    _scatter_add_into(data, dim, index._data, src._data)
    return record(wrap(data), ScatterIntoZerosBackward, (src,), saved=(index,), dim=dim)


def _along_axis_index(index, dim: int) -> tuple:
    """The full index that addresses ``target[..., index, ...]`` element by element: an
    ``arange`` grid (on ``index``'s device) for every other dim, ``index`` itself at ``dim``."""
    xp = xp_of(index)
    ndim = index.ndim
    grids = [xp.arange(n).reshape((1,) * d + (n,) + (1,) * (ndim - d - 1))
             for d, n in enumerate(index.shape)]
    grids[dim] = index
    return tuple(grids)


def _scatter_add_into(target, dim: int, index, src) -> None:
    xp = xp_of(target)
    src = xp.broadcast_to(src, index.shape) if getattr(src, "ndim", 0) == 0 else src[
        tuple(slice(0, s) for s in index.shape)]
    xp.add.at(target, _along_axis_index(index, dim), src)


class ScatterBackward0(Node):
    def backward(self, grad):
        (index,) = self.saved_tensors
        needs_input, needs_src = self.needs_input_grad
        grad_input = None
        if needs_input:
            keep = xp_of(grad).ones(grad._data.shape, dtype=grad._data.dtype)
            keep[_along_axis_index(index._data, self.dim)] = 0
            grad_input = grad * wrap(keep)
        grad_src = _src_gradient(grad, self.dim, index, self.src_shape) if needs_src else None
        return grad_input, grad_src


class ScatterAddBackward0(Node):
    def backward(self, grad):
        (index,) = self.saved_tensors
        needs_src = self.needs_input_grad[1]
        return grad, (_src_gradient(grad, self.dim, index, self.src_shape) if needs_src else None)


def _src_gradient(grad: Tensor, dim: int, index: Tensor, src_shape: tuple) -> Tensor:
    """``grad`` read at ``index``; zeros for the elements of a larger ``src`` that were not used."""
    picked = gather(grad, dim, index)
    if tuple(picked.shape) == tuple(src_shape):
        return picked
    return index_into_zeros(picked, src_shape, tuple(slice(0, s) for s in index._data.shape))


def scatter(input: Tensor, dim: int, index: Tensor, src=None, *, value=None,
            reduce: str | None = None) -> Tensor:
    """A copy of ``input`` with ``src`` (or ``value``) written at ``index`` along ``dim``."""
    if src is None:
        src = value
    axis = normalize_dim(dim, input._data.ndim)
    idx = _check_index_tensor(index, "scatter")
    check_same_device(input, index, src)
    xp = xp_of(input)
    _check_bounds(idx, _dim_size(input._data, axis), axis)
    data = input._data.copy()
    src_data = src._data if isinstance(src, Tensor) else xp.asarray(src, dtype=data.dtype)
    if reduce == "add":
        _scatter_add_into(data, axis, idx, src_data)
    else:
        values = (xp.broadcast_to(src_data, idx.shape) if src_data.ndim == 0
                  else src_data[tuple(slice(0, s) for s in idx.shape)])
        data[_along_axis_index(idx, axis)] = values
    src_tensor = src if isinstance(src, Tensor) else None
    return record(wrap(data), ScatterBackward0, (input, src_tensor), saved=(index,), dim=axis,
                  src_shape=src_data.shape)


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    axis = normalize_dim(dim, input._data.ndim)
    check_same_device(input, index, src)
    idx = _check_index_tensor(index, "scatter_add")
    _check_bounds(idx, _dim_size(input._data, axis), axis)
    data = input._data.copy()
    _scatter_add_into(data, axis, idx, src._data)
    return record(wrap(data), ScatterAddBackward0, (input, src), saved=(index,), dim=axis,
                  src_shape=src._data.shape)


def scatter_(self: Tensor, dim: int, index: Tensor, src=None, *, value=None,
             reduce: str | None = None) -> Tensor:
    from ._util import inplace

    return inplace(self, scatter, dim, index, src, value=value, reduce=reduce)


def scatter_add_(self: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    from ._util import inplace

    return inplace(self, scatter_add, dim, index, src)


class IndexSelectBackward0(Node):
    def backward(self, grad):
        (index,) = self.saved_tensors
        full = [slice(None)] * len(self.shape)
        full[self.dim] = index._data
        return index_into_zeros(grad, self.shape, tuple(full))


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    axis = normalize_dim(dim, input._data.ndim)
    idx = _check_index_tensor(index, "index_select")
    if idx.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    check_same_device(input, index)
    if _first_out_of_range(idx, _dim_size(input._data, axis)) is not None:
        raise IndexError("index out of range in self")
    try:
        data = xp_of(input).take(input._data, idx, axis=axis)
    except IndexError as exc:
        raise _index_error(exc, input._data.shape) from None
    return record(wrap(data), IndexSelectBackward0, (input,), saved=(index,), dim=axis,
                  shape=input._data.shape)


def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
    axis = normalize_dim(dim, input._data.ndim)
    full = [slice(None)] * input._data.ndim
    full[axis] = _check_index_tensor(index, "index_add")
    _check_bounds(full[axis], _dim_size(input._data, axis), axis)
    return input + index_into_zeros(source * alpha if alpha != 1 else source,
                                    input._data.shape, tuple(full))


def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    shape = np.broadcast_shapes(input._data.shape, mask._data.shape)
    return getitem(input.expand(shape), (xp_of(mask).broadcast_to(mask._data, shape),))


def nonzero(input: Tensor, *, as_tuple: bool = False):
    xp = xp_of(input)
    coords = xp.nonzero(input._data)  # its size depends on the data: a GPU syncs here
    if as_tuple:
        return tuple(wrap(c.astype(np.int64)) for c in coords)
    return wrap(xp.stack(coords, axis=1).astype(np.int64))


def take(input: Tensor, index: Tensor) -> Tensor:
    return getitem(input.reshape(-1), (_check_index_tensor(index, "take"),))


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """Class indices → rows of zeros with a 1 at the index (int64), as ``F.one_hot``."""
    labels = tensor._data
    if labels.dtype.kind not in "iu":
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    # The checks read the labels' range back from a GPU (one sync, as PyTorch's own check does);
    # the output's shape depends on it when num_classes is -1.
    if labels.size and bool(labels.min() < 0):
        raise RuntimeError("Class values must be non-negative.")
    if num_classes == -1:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    elif labels.size and bool(labels.max() >= num_classes):
        raise RuntimeError("Class values must be smaller than num_classes.")
    xp = xp_of(labels)
    data = xp.zeros(labels.shape + (num_classes,), dtype=np.int64)
    xp.put_along_axis(data, labels[..., None].astype(np.int64), 1, axis=-1)
    return wrap(data)


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    xp = xp_of(input)
    mask = xp.tril(xp.ones(input._data.shape[-2:], dtype=bool), diagonal)
    return input.masked_fill(wrap(~mask), 0)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    xp = xp_of(input)
    mask = xp.triu(xp.ones(input._data.shape[-2:], dtype=bool), diagonal)
    return input.masked_fill(wrap(~mask), 0)
