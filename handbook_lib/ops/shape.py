"""Shape and layout: views that share storage (view, permute, expand...) and copies (cat, repeat).

A view's backward is the inverse rearrangement of the gradient; views share the version
counter of their base, so an in-place change through one is seen by all.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .._device import xp_of
from .._tensor import Tensor
from ..autograd.grad_mode import STATE
from ..autograd.graph import Node, ViewNode, edge_of
from ._util import normalize_dim, record, requires_graph, wrap


def _shape_arg(shape: Sequence) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


def _infer_shape(shape: tuple, numel: int) -> tuple:
    """Resolve one ``-1`` in ``shape``; PyTorch's error when the sizes cannot match."""
    if shape.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = math.prod(s for s in shape if s != -1)
    if -1 in shape:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        return tuple(numel // known if s == -1 else s for s in shape)
    if known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


# --- view / reshape --------------------------------------------------------------------------------
class ViewBackward0(Node):
    def backward(self, grad):
        return grad.reshape(self.shape)


class ReshapeAliasBackward0(ViewBackward0):
    pass


class UnsafeViewBackward0(ViewBackward0):
    pass


class SqueezeBackward0(ViewBackward0):
    pass


class UnsqueezeBackward0(ViewBackward0):
    pass


def view(input: Tensor, *shape, _node: type = ViewBackward0) -> Tensor:
    """Same data, new shape, no copy. Needs strides compatible with the new shape."""
    if len(shape) == 1 and not isinstance(shape[0], (tuple, list, int)):
        return input.to(shape[0])
    new_shape = _infer_shape(_shape_arg(shape), input._data.size)
    data = input._data.reshape(new_shape)
    if data.size and not _shares_storage(data, input._data):  # reshape had to copy
        raise RuntimeError(
            "view size is not compatible with input tensor's size and stride (at least one "
            "dimension spans across two contiguous subspaces). Use .reshape(...) instead."
        ) from None
    return record(wrap(data, base=input), _node, (input,), shape=input._data.shape)


def reshape(input: Tensor, *shape) -> Tensor:
    """Like ``view`` when possible, else a copy."""
    new_shape = _infer_shape(_shape_arg(shape), input._data.size)
    data = input._data.reshape(new_shape)
    base = input if _shares_storage(data, input._data) else None
    node = ReshapeAliasBackward0 if base is not None else UnsafeViewBackward0
    return record(wrap(data, base=base), node, (input,), shape=input._data.shape)


def _shares_storage(a, b) -> bool:
    """True if ``a`` is a view of ``b``'s memory (a reshape that did not copy).

    A reshape gives a view or a fresh copy, so comparing the arrays' memory bounds decides, on
    the host. (cupy's exact ``shares_memory`` compares every pair of element addresses on the
    device and reads the answer back: a size² table for one reshape.)"""
    return bool(xp_of(a).may_share_memory(a, b))


def view_as(input: Tensor, other: Tensor) -> Tensor:
    return view(input, other._data.shape)


def reshape_as(input: Tensor, other: Tensor) -> Tensor:
    return reshape(input, other._data.shape)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    ndim = input._data.ndim
    if ndim == 0:
        return reshape(input, 1)
    start, end = normalize_dim(start_dim, ndim), normalize_dim(end_dim, ndim)
    if start > end:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if start == end:
        return input
    shape = input._data.shape
    return reshape(input, shape[:start] + (math.prod(shape[start:end + 1]),) + shape[end + 1:])


def unflatten(input: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:
    axis = normalize_dim(dim, input._data.ndim)
    shape = input._data.shape
    inner = _infer_shape(tuple(sizes), shape[axis])
    return view(input, shape[:axis] + inner + shape[axis + 1:])


def squeeze(input: Tensor, dim=None) -> Tensor:
    shape = input._data.shape
    if dim is None:
        axes = tuple(i for i, s in enumerate(shape) if s == 1)
    else:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        axes = tuple(a for a in (normalize_dim(d, len(shape)) for d in dims) if len(shape) and shape[a] == 1)
    new_shape = tuple(s for i, s in enumerate(shape) if i not in axes)
    return view(input, new_shape, _node=SqueezeBackward0)


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    ndim = input._data.ndim
    axis = normalize_dim(dim, ndim + 1)
    shape = input._data.shape
    return view(input, shape[:axis] + (1,) + shape[axis:], _node=UnsqueezeBackward0)


# --- permute / transpose ----------------------------------------------------------------------------
class PermuteBackward0(Node):
    def backward(self, grad):
        return grad.permute(self.inverse)


class TransposeBackward0(Node):
    def backward(self, grad):
        return grad.transpose(self.dim0, self.dim1)


def permute(input: Tensor, *dims) -> Tensor:
    dims = _shape_arg(dims)
    ndim = input._data.ndim
    if len(dims) != ndim:
        raise RuntimeError(
            f"permute(sparse_coo): number of dimensions in the tensor input does not match the "
            f"length of the desired ordering of dimensions i.e. input.dim() = {ndim} is not equal "
            f"to len(dims) = {len(dims)}"
        )
    axes = tuple(normalize_dim(d, ndim) for d in dims)
    if len(set(axes)) != ndim:
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    data = input._data.transpose(axes)
    return record(wrap(data, base=input), PermuteBackward0, (input,),
                  inverse=tuple(sorted(range(len(axes)), key=axes.__getitem__)))


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    ndim = input._data.ndim
    a, b = (normalize_dim(dim0, ndim), normalize_dim(dim1, ndim)) if ndim else (0, 0)
    data = input._data.swapaxes(a, b) if ndim else input._data
    return record(wrap(data, base=input), TransposeBackward0, (input,), dim0=a, dim1=b)


swapaxes = swapdims = transpose


class TBackward0(Node):
    def backward(self, grad):
        return t(grad)


def t(input: Tensor) -> Tensor:
    """The transpose of a matrix; a view of a 0-D or 1-D tensor as it is."""
    if input._data.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                           f"{input._data.ndim}D")
    return record(wrap(input._data.T, base=input), TBackward0, (input,))


def T(input: Tensor) -> Tensor:
    return permute(input, tuple(reversed(range(input._data.ndim))))


def mT(input: Tensor) -> Tensor:
    if input._data.ndim < 2:
        raise RuntimeError("tensor.mT is only supported on matrices or batches of matrices. "
                           f"Got {input._data.ndim}-D tensor.")
    return transpose(input, -2, -1)


def movedim(input: Tensor, source, destination) -> Tensor:
    """Move dims ``source`` to positions ``destination``; the others keep their order."""
    ndim = input._data.ndim
    source = [source] if isinstance(source, int) else list(source)
    destination = [destination] if isinstance(destination, int) else list(destination)
    if len(source) != len(destination):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({source} dims) "
                           f"should contain the same number of dims as destination "
                           f"({destination} dims)")
    src = [normalize_dim(d, ndim) for d in source]
    dst = [normalize_dim(d, ndim) for d in destination]
    for name, given, dims in (("source", source, src), ("destination", destination, dst)):
        if len(set(dims)) != len(dims):
            raise RuntimeError(f"movedim: repeated dim in `{name}` ({given})")
    order = [None] * ndim
    for s, d in zip(src, dst):
        order[d] = s
    rest = [d for d in range(ndim) if d not in src]
    rest.reverse()
    return permute(input, [o if o is not None else rest.pop() for o in order])


moveaxis = movedim


# --- contiguous / expand / repeat -------------------------------------------------------------------
class CloneBackward0(Node):
    def backward(self, grad):
        return grad


def contiguous(input: Tensor) -> Tensor:
    """Self if already C-contiguous, else a contiguous copy."""
    if input._data.flags.c_contiguous:
        return input
    return clone(input)


def clone(input: Tensor) -> Tensor:
    return record(wrap(input._data.copy()), CloneBackward0, (input,))


class ExpandBackward0(Node):
    def backward(self, grad):
        return grad.sum_to_size(self.shape)


def expand(input: Tensor, *sizes) -> Tensor:
    """A broadcast view (no copy); ``-1`` keeps a size. Writing to it in place is an error."""
    sizes = _shape_arg(sizes)
    shape = input._data.shape
    if len(sizes) < len(shape):
        raise RuntimeError(
            f"expand({input.type()}{{{list(shape)}}}, size={list(sizes)}): the number of sizes "
            f"provided ({len(sizes)}) must be greater or equal to the number of dimensions in the "
            f"tensor ({len(shape)})"
        )
    lead = len(sizes) - len(shape)
    for i, s in enumerate(sizes[:lead]):
        if s == -1:
            raise RuntimeError(f"The expanded size of the tensor (-1) isn't allowed in a leading, "
                               f"non-existing dimension {i}")
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: "
                               f"{list(sizes)}")
    target = tuple(shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(sizes))
    mismatched = [i for i in range(len(shape)) if shape[i] not in (1, target[lead + i])
                  or target[lead + i] < 0]
    if mismatched:
        bad = mismatched[0]
        raise RuntimeError(
            f"The expanded size of the tensor ({target[lead + bad]}) must match the existing size "
            f"({shape[bad]}) at non-singleton dimension {lead + bad}.  Target sizes: {list(sizes)}."
            f"  Tensor sizes: {list(shape)}"
        )
    data = xp_of(input).broadcast_to(input._data, target)
    return record(wrap(data, base=input), ExpandBackward0, (input,), shape=shape)


def expand_as(input: Tensor, other: Tensor) -> Tensor:
    return expand(input, other._data.shape)


def broadcast_to(input: Tensor, shape) -> Tensor:
    return expand(input, tuple(shape))


class RepeatBackward0(Node):
    def backward(self, grad):
        # view the gradient as (r0, s0, r1, s1, ...) and sum over the repeat axes
        split = []
        for r, s in zip(self.repeats, self.padded_shape):
            split += [r, s]
        total = grad.reshape(split).sum(tuple(range(0, len(split), 2)))
        return total.reshape(self.shape)


def repeat(input: Tensor, *repeats) -> Tensor:
    """Tile the tensor ``repeats[i]`` times along each dim (a copy)."""
    repeats = _shape_arg(repeats)
    shape = input._data.shape
    if len(repeats) < len(shape):
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number "
                           "of dimensions of tensor")
    padded = (1,) * (len(repeats) - len(shape)) + shape
    data = xp_of(input).tile(input._data.reshape(padded), repeats)
    return record(wrap(data), RepeatBackward0, (input,), repeats=repeats, padded_shape=padded,
                  shape=shape)


# --- cat / stack / split ------------------------------------------------------------------------------
class CatBackward0(Node):
    def backward(self, grad):
        pieces, start = [], 0
        for size in self.sizes:
            pieces.append(grad.narrow(self.dim, start, size))
            start += size
        return tuple(pieces)


def _check_same_shapes(tensors: Sequence[Tensor], dim: int) -> None:
    first = tensors[0]._data.shape
    for i, t in enumerate(tensors[1:], start=1):
        shape = t._data.shape
        if len(shape) != len(first):
            raise RuntimeError(
                f"Tensors must have same number of dimensions: got {len(first)} and {len(shape)}")
        for d, (a, b) in enumerate(zip(first, shape)):
            if d != dim and a != b:
                raise RuntimeError(
                    f"Sizes of tensors must match except in dimension {dim}. Expected size {a} but "
                    f"got size {b} for tensor number {i} in the list.")


def cat(tensors: Sequence[Tensor], dim: int = 0, *, out: Tensor | None = None) -> Tensor:
    """Join tensors along an existing dim."""
    from ._util import check_same_device, write_out
    from .._dtype import result_type

    tensors = [t for t in tensors if not (t._data.ndim == 1 and t._data.shape[0] == 0)] or list(tensors)
    if not tensors:
        raise RuntimeError("torch.cat(): expected a non-empty list of Tensors")
    check_same_device(*tensors)
    axis = normalize_dim(dim, tensors[0]._data.ndim)
    _check_same_shapes(tensors, axis)
    dtype = tensors[0]._data.dtype
    for t in tensors[1:]:
        dtype = result_type(np.empty((1,), dtype), t._data)  # host: stands for the dtype
    data = xp_of(*tensors).concatenate([t._data for t in tensors], axis=axis, dtype=dtype)
    result = record(wrap(data), CatBackward0, tuple(tensors), dim=axis,
                    sizes=tuple(t._data.shape[axis] for t in tensors))
    return write_out(result, out)


concat = concatenate = cat


class StackBackward0(Node):
    def backward(self, grad):
        return grad.unbind(self.dim)


def stack(tensors: Sequence[Tensor], dim: int = 0, *, out: Tensor | None = None) -> Tensor:
    """Join tensors of equal shape along a new dim."""
    from ._util import check_same_device, write_out
    from .._dtype import result_type

    if not len(tensors):
        raise RuntimeError("stack expects a non-empty TensorList")
    first = tensors[0]._data.shape
    for i, t in enumerate(tensors):
        if t._data.shape != first:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(first)} at entry 0 "
                f"and {list(t._data.shape)} at entry {i}")
    check_same_device(*tensors)
    axis = normalize_dim(dim, len(first) + 1)
    dtype = tensors[0]._data.dtype
    for t in tensors[1:]:
        if t._data.dtype != dtype:
            dtype = result_type(np.empty((1,), dtype), t._data)  # host: stands for the dtype
    data = xp_of(*tensors).stack([t._data for t in tensors], axis=axis, dtype=dtype)
    return write_out(record(wrap(data), StackBackward0, tuple(tensors), dim=axis), out)


def hstack(tensors: Sequence[Tensor]) -> Tensor:
    return cat(tensors, 0 if tensors[0]._data.ndim == 1 else 1)


def vstack(tensors: Sequence[Tensor]) -> Tensor:
    return cat([t.reshape(1, -1) if t._data.ndim == 1 else t for t in tensors], 0)


class NarrowBackward0(ViewNode):
    """The gradient of a slice: zeros everywhere but the slice."""

    def backward(self, grad):
        from .indexing import index_into_zeros

        return index_into_zeros(grad, self.shape, self.index)


def _axis_index(ndim: int, axis: int, where) -> tuple:
    """The index that takes ``where`` (an int or a slice) along ``axis`` and all of the rest."""
    return (slice(None),) * axis + (where, Ellipsis)


def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    axis = normalize_dim(dim, input._data.ndim)
    size = input._data.shape[axis]
    start = start + size if start < 0 else start
    if not (0 <= start <= size and 0 <= length <= size - start):
        raise IndexError(f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
    index = _axis_index(input._data.ndim, axis, slice(start, start + length))
    return record(wrap(input._data[index], base=input), NarrowBackward0, (input,),
                  shape=input._data.shape, dim=axis, start=start, length=length, index=index)


class _PiecesBackward(Node):
    """One node for all the pieces of ``split``/``chunk``/``unbind`` (output ``i`` is piece
    ``i``): backward writes every piece's gradient into one tensor of the input's shape, so
    T pieces cost one buffer, not T full-size zero tensors. A piece without a gradient
    contributes zeros."""

    def apply(self, grad_outputs) -> tuple:
        if STATE.enabled:  # create_graph: a differentiable join
            return (self.join([g if g is not None else self.zeros_for(i)
                               for i, g in enumerate(grad_outputs)]),)
        first = [g for g in grad_outputs if g is not None][0]  # the engine passes at least one
        data = xp_of(first).zeros(self.shape, dtype=self.dtype)
        for index, g in zip(self.indices, grad_outputs):
            if g is not None:
                data[index] = g._data
        return (wrap(data),)

    def zeros_for(self, i: int) -> Tensor:
        from .creation import zeros

        return zeros(self.piece_shapes[i], dtype=self.torch_dtype, device=self.device)


class UnbindBackward0(_PiecesBackward):
    def join(self, grads: list) -> Tensor:
        return stack(grads, self.dim)


class SplitBackward0(_PiecesBackward):
    def join(self, grads: list) -> Tensor:
        return cat(grads, self.dim)


class SplitWithSizesBackward0(SplitBackward0):
    pass


def _pieces(input: Tensor, axis: int, indices: list, node_cls: type) -> tuple:
    """Views ``input[index]`` for each index, all outputs of one ``node_cls`` node."""
    data = input._data
    pieces = tuple(wrap(data[index], base=input) for index in indices)
    if not requires_graph(input):
        return pieces
    node = node_cls.__new__(node_cls)
    node.next_functions = (edge_of(input),)
    node._input_meta = ((data.shape, data.dtype),)
    node._num_outputs = len(pieces)
    node.__dict__.update(dim=axis, shape=data.shape, dtype=data.dtype, indices=indices,
                         piece_shapes=[p._data.shape for p in pieces],
                         torch_dtype=input.dtype, device=input.device)
    for nr, piece in enumerate(pieces):
        piece._grad_fn, piece._output_nr, piece._requires_grad = node, nr, True
    return pieces


def split(input: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """Pieces of ``split_size`` (the last may be smaller) or of the given section sizes."""
    axis = normalize_dim(dim, input._data.ndim)
    size = input._data.shape[axis]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0 and size:
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got "
                               f"dimension size of {size}")
        sections = [min(step, size - s) for s in range(0, size, step)] if size else [0]
        node = SplitBackward0
    else:
        sections = list(split_size_or_sections)
        if sum(sections) != size:
            raise RuntimeError(
                f"split_with_sizes expects split_sizes to sum exactly to {size} (input tensor's "
                f"size at dimension {axis}), but got split_sizes={sections}")
        node = SplitWithSizesBackward0
    starts = [sum(sections[:i]) for i in range(len(sections))]
    indices = [_axis_index(input._data.ndim, axis, slice(s, s + n))
               for s, n in zip(starts, sections)]
    return _pieces(input, axis, indices, node)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    if chunks <= 0:
        raise RuntimeError("chunk expects `chunks` to be greater than 0, got: %d" % chunks)
    size = input._data.shape[normalize_dim(dim, input._data.ndim)]
    return split(input, max(1, math.ceil(size / chunks)), dim)


def unbind(input: Tensor, dim: int = 0) -> tuple:
    axis = normalize_dim(dim, input._data.ndim)
    indices = [_axis_index(input._data.ndim, axis, i) for i in range(input._data.shape[axis])]
    return _pieces(input, axis, indices, UnbindBackward0)


class FlipBackward0(Node):
    def backward(self, grad):
        return grad.flip(self.dims)


def flip(input: Tensor, dims) -> Tensor:
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    axes = tuple(normalize_dim(d, input._data.ndim) for d in dims) if input._data.ndim else ()
    return record(wrap(xp_of(input).flip(input._data, axes).copy()), FlipBackward0, (input,), dims=axes)


def fliplr(input: Tensor) -> Tensor:
    return flip(input, 1)


def flipud(input: Tensor) -> Tensor:
    return flip(input, 0)


class RollBackward0(Node):
    def backward(self, grad):
        return grad.roll(tuple(-s for s in self.shifts), self.dims)


def roll(input: Tensor, shifts, dims=None) -> Tensor:
    if dims is None:
        return roll(input.flatten(), shifts, 0).view(input._data.shape)
    shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    data = xp_of(input).roll(input._data, shifts, dims)
    return record(wrap(data), RollBackward0, (input,), shifts=shifts, dims=dims)
