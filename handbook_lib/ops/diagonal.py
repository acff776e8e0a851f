"""Diagonals: ``diagonal`` reads one, ``diag`` reads one or builds a diagonal matrix, and
``tril_indices``/``triu_indices`` list the coordinates of a triangle.

Both read and write by integer indexing, so their gradients come from indexing's backward.
Where we differ: PyTorch's ``diagonal`` is a view; here it is a copy.
"""
from __future__ import annotations

from .. import _device, _dtype
from .._tensor import Tensor
from ._util import normalize_dim, wrap
from .indexing import getitem, index_into_zeros


def _diagonal_coordinates(xp, rows: int, cols: int, offset: int) -> tuple:
    """Row and column indices of diagonal ``offset`` of a ``rows × cols`` matrix."""
    first_row, first_col = max(-offset, 0), max(offset, 0)
    length = max(0, min(rows - first_row, cols - first_col))
    steps = xp.arange(length)
    return steps + first_row, steps + first_col


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The diagonal ``offset`` of the matrices in dims ``dim1``/``dim2``, as a last dim."""
    return _diagonal(input, offset, dim1, dim2)


def _diagonal(input: Tensor, offset: int, dim1: int, dim2: int) -> Tensor:
    ndim = input.ndim
    if ndim < 2:
        raise RuntimeError(f"diagonal dimensions requires ndim larger than 1, but got {ndim}")
    first, second = normalize_dim(dim1, ndim), normalize_dim(dim2, ndim)
    if first == second:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    matrices = input.movedim((first, second), (-2, -1))
    rows, cols = _diagonal_coordinates(input.xp, *matrices.shape[-2:], offset)
    return getitem(matrices, (Ellipsis, rows, cols))


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """A 1-D input becomes the diagonal ``diagonal`` of a square matrix; a 2-D input gives
    its diagonal ``diagonal`` as a 1-D tensor."""
    if input.ndim == 1:
        size = input.shape[0] + abs(diagonal)
        rows, cols = _diagonal_coordinates(input.xp, size, size, diagonal)
        return index_into_zeros(input, (size, size), (rows, cols))
    if input.ndim == 2:
        return _diagonal(input, diagonal, 0, 1)
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.ndim}D")


def _triangle_indices(row: int, col: int, offset: int, lower: bool, dtype, device) -> Tensor:
    target = _device.as_device(device)
    xp = target.xp
    wanted = _dtype.int64 if dtype is None else dtype
    with _device.allocating_on(target):
        keep = xp.tri(row, col, offset, dtype=bool) if lower else ~xp.tri(row, col, offset - 1,
                                                                          dtype=bool)
        rows, cols = xp.nonzero(keep)
        return wrap(xp.stack([rows, cols]).astype(wanted.np_dtype).reshape(2, -1))


def tril_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None,
                 layout=None) -> Tensor:
    """A ``2 × N`` tensor of the (row, column) coordinates of the lower triangle."""
    return _triangle_indices(row, col, offset, True, dtype, device)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None,
                 layout=None) -> Tensor:
    """A ``2 × N`` tensor of the (row, column) coordinates of the upper triangle."""
    return _triangle_indices(row, col, offset, False, dtype, device)
