"""Matrix products: ``matmul``/``@`` (with batch broadcasting), ``mm``, ``bmm``, ``mv``, ``dot``, ``outer``.

One BLAS call forward (numpy's ``@``), two backward: dA = dC · Bᵀ and dB = Aᵀ · dC. Batch dims
that were broadcast are summed back by the engine.
"""
from __future__ import annotations


from .._tensor import Tensor
from ..autograd.graph import Node
from ._util import check_same_device, record, requires_graph, wrap, write_out


def _shape_text(shape: tuple) -> str:
    return "x".join(str(s) for s in shape)


class MmBackward0(Node):
    """Also used for batched and vector products: 1-D operands are treated as a row (left)
    or a column (right) vector and the extra dim is removed again."""

    def backward(self, grad):
        a, b = self.saved_tensors
        needs_a, needs_b = self.needs_input_grad
        a2 = a.unsqueeze(0) if a.ndim == 1 else a
        b2 = b.unsqueeze(-1) if b.ndim == 1 else b
        if b.ndim == 1:  # put back the dims that 1-D operands removed, last one first
            grad = grad.unsqueeze(-1)
        if a.ndim == 1:
            grad = grad.unsqueeze(-2)
        grad_a = grad_b = None
        if needs_a:
            grad_a = matmul(grad, b2.mT)
            grad_a = grad_a.squeeze(-2) if a.ndim == 1 else grad_a
            grad_a = grad_a.sum_to_size(a.shape)
        if needs_b:
            grad_b = matmul(a2.mT, grad)
            grad_b = grad_b.squeeze(-1) if b.ndim == 1 else grad_b
            grad_b = grad_b.sum_to_size(b.shape)
        return grad_a, grad_b


class MatmulBackward0(MmBackward0):
    pass


class BmmBackward0(MmBackward0):
    pass


class DotBackward0(MmBackward0):
    pass


class MvBackward0(MmBackward0):
    pass


def matmul(input: Tensor, other: Tensor, *, out: Tensor | None = None,
           _node: type = MatmulBackward0) -> Tensor:
    """The matrix product, broadcasting batch dims like numpy's ``@``."""
    if not isinstance(other, Tensor) or not isinstance(input, Tensor):
        raise TypeError(f"matmul(): argument 'other' (position 2) must be Tensor, not "
                        f"{type(other).__name__}")
    check_same_device(input, other)
    a, b = input._data, other._data
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are "
                           f"{a.ndim}D and {b.ndim}D")
    if a.dtype != b.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: "
                           f"{input.dtype.name} != {other.dtype.name}")
    try:
        data = _product(a, b)
    except ValueError:
        raise RuntimeError(_matmul_error(a.shape, b.shape)) from None
    result = wrap(data)
    if requires_graph(input, other):
        if _node is MatmulBackward0:  # PyTorch's names for the plain cases
            _node = _PLAIN_PRODUCTS.get((a.ndim, b.ndim), MatmulBackward0)
        record(result, _node, (input, other), saved=(input, other))
    return write_out(result, out)


def _product(a, b):
    """``a @ b``; an inner dimension of 1 (an outer product, e.g. a batch-1 weight gradient
    ``gradᵀ · x``) is a broadcast multiply: numpy's matmul runs that case without BLAS, ~10x
    slower. Each output element is one product either way, so the values are identical."""
    if a.ndim >= 2 and b.ndim >= 2 and a.shape[-1] == 1 and b.shape[-2] == 1:
        return a * b
    return a @ b


_PLAIN_PRODUCTS = {(1, 1): DotBackward0, (2, 2): MmBackward0}


def _matmul_error(sa: tuple, sb: tuple) -> str:
    if len(sa) <= 2 and len(sb) <= 2:
        rows_a = sa if len(sa) == 2 else (1,) + sa
        cols_b = sb if len(sb) == 2 else sb + (1,)
        return (f"mat1 and mat2 shapes cannot be multiplied ({_shape_text(rows_a)} and "
                f"{_shape_text(cols_b)})")
    return (f"matmul: shapes {list(sa)} and {list(sb)} cannot be multiplied: the last dim of the "
            f"first ({sa[-1]}) must equal the second-to-last dim of the second "
            f"({sb[-2] if len(sb) > 1 else sb[0]}), and batch dims must broadcast")


def mm(input: Tensor, mat2: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Matrix × matrix (both 2-D)."""
    if input.ndim != 2 or mat2.ndim != 2:
        bad = "self" if input.ndim != 2 else "mat2"
        raise RuntimeError(f"{bad} must be a matrix")
    return matmul(input, mat2, out=out, _node=MmBackward0)


def bmm(input: Tensor, mat2: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Batched matrix × matrix (both 3-D, same batch size)."""
    if input.ndim != 3 or mat2.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor" if input.ndim != 3
                           else "batch2 must be a 3D tensor")
    if input.shape[0] != mat2.shape[0]:
        raise RuntimeError(f"batch1 and batch2 must have same number of batches, got "
                           f"{input.shape[0]} and {mat2.shape[0]}")
    if input.shape[2] != mat2.shape[1]:
        raise RuntimeError(
            f"Expected size for first two dimensions of batch2 tensor to be: "
            f"[{input.shape[0]}, {input.shape[2]}] but got: [{mat2.shape[0]}, {mat2.shape[1]}].")
    return matmul(input, mat2, out=out, _node=BmmBackward0)


def mv(input: Tensor, vec: Tensor) -> Tensor:
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {input.ndim}, {vec.ndim}")
    return matmul(input, vec, _node=MvBackward0)


def dot(input: Tensor, other: Tensor) -> Tensor:
    """Inner product of two 1-D tensors."""
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
    if input.shape[0] != other.shape[0]:
        raise RuntimeError(
            f"inconsistent tensor size, expected tensor [{input.shape[0]}] and src "
            f"[{other.shape[0]}] to have the same number of elements, but got {input.shape[0]} "
            f"and {other.shape[0]} elements respectively")
    return matmul(input, other, _node=DotBackward0)


inner = dot


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """Outer product of two 1-D tensors: ``input[:, None] * vec2[None, :]``."""
    if input.ndim != 1 or vec2.ndim != 1:
        raise RuntimeError("outer: expected 1-D tensors")
    return input.unsqueeze(1) * vec2.unsqueeze(0)


ger = outer


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta=1, alpha=1) -> Tensor:
    product = mm(mat1, mat2)
    return (input * beta if beta != 1 else input) + (product * alpha if alpha != 1 else product)

