"""All operations, one module per family, bound here to :class:`Tensor` as methods.

``x.exp()`` is ``ops.elementwise.exp(x)``; ``x + y`` is ``ops.arithmetic.add(x, y)``.
"""
from __future__ import annotations

from .._tensor import Tensor
from . import arithmetic as A
from . import conversion as C
from . import creation as K
from . import diagonal as D
from . import elementwise as E
from . import indexing as I
from . import linalg as L
from . import reduction as R
from . import shape as S


def _reflected(op):
    def reflected(self, other):
        return op(other, self)

    reflected.__name__ = "r" + op.__name__
    return reflected


def _inplace_operator(op_):
    def iop(self, other):
        return op_(self, other)

    return iop


METHODS = {
    # arithmetic and operators
    "add": A.add, "sub": A.sub, "subtract": A.sub, "mul": A.mul, "multiply": A.mul,
    "div": A.div, "divide": A.div, "true_divide": A.true_divide, "floor_divide": A.floor_divide,
    "remainder": A.remainder, "pow": A.pow, "square": A.square,
    "__add__": A.add, "__radd__": _reflected(A.add), "__sub__": A.sub, "__rsub__": _reflected(A.sub),
    "__mul__": A.mul, "__rmul__": _reflected(A.mul), "__truediv__": A.div,
    "__rtruediv__": _reflected(A.div), "__floordiv__": A.floor_divide,
    "__rfloordiv__": _reflected(A.floor_divide), "__mod__": A.remainder,
    "__rmod__": _reflected(A.remainder), "__pow__": A.pow, "__rpow__": _reflected(A.pow),
    "__matmul__": L.matmul, "__rmatmul__": _reflected(L.matmul),
    "__neg__": E.neg, "__abs__": E.abs, "__pos__": lambda self: self,
    "__eq__": A.eq, "__ne__": A.ne, "__lt__": A.lt, "__le__": A.le, "__gt__": A.gt, "__ge__": A.ge,
    "__and__": A.bitwise_and, "__or__": A.bitwise_or, "__xor__": A.bitwise_xor,
    "__rand__": _reflected(A.bitwise_and), "__ror__": _reflected(A.bitwise_or),
    "__rxor__": _reflected(A.bitwise_xor), "__invert__": A.bitwise_not,
    "__iadd__": _inplace_operator(A.add_), "__isub__": _inplace_operator(A.sub_),
    "__imul__": _inplace_operator(A.mul_), "__itruediv__": _inplace_operator(A.div_),
    "__getitem__": I.getitem, "__setitem__": I.setitem,
    "eq": A.eq, "ne": A.ne, "lt": A.lt, "le": A.le, "gt": A.gt, "ge": A.ge,
    "equal": A.equal, "allclose": A.allclose, "isclose": A.isclose,
    "logical_and": A.logical_and, "logical_or": A.logical_or, "logical_xor": A.logical_xor,
    "logical_not": A.logical_not, "bitwise_not": A.bitwise_not,
    "maximum": A.maximum, "minimum": A.minimum, "masked_fill": A.masked_fill,
    "clamp": A.clamp, "clip": A.clamp, "where": lambda self, condition, other: A.where(condition, self, other),
    "add_": A.add_, "sub_": A.sub_, "mul_": A.mul_, "div_": A.div_, "pow_": A.pow_,
    "clamp_": A.clamp_, "masked_fill_": A.masked_fill_,
    # elementwise math
    **{name: getattr(E, name) for name in (
        "neg", "negative", "abs", "absolute", "exp", "expm1", "log", "log2", "log10", "log1p",
        "sqrt", "rsqrt", "reciprocal", "sin", "cos", "tanh", "sigmoid", "relu", "erf", "sign",
        "floor", "ceil", "round", "trunc", "isnan", "isinf", "isfinite", "nan_to_num",
        "neg_", "abs_", "exp_", "log_", "sqrt_", "sin_", "cos_", "tanh_", "sigmoid_", "relu_",
        "floor_", "ceil_", "round_")},
    # reductions
    **{name: getattr(R, name) for name in R.__all__},
    # shapes
    **{name: getattr(S, name) for name in (
        "view", "view_as", "reshape", "reshape_as", "flatten", "unflatten", "squeeze",
        "unsqueeze", "permute", "transpose", "swapaxes", "swapdims", "t", "movedim", "moveaxis",
        "contiguous", "clone", "expand", "expand_as", "broadcast_to", "repeat", "narrow", "split",
        "chunk", "unbind", "flip", "fliplr", "flipud", "roll")},
    # indexing
    **{name: getattr(I, name) for name in (
        "select", "gather", "scatter", "scatter_add", "scatter_", "scatter_add_", "index_select",
        "index_add", "masked_select", "nonzero", "take", "tril", "triu")},
    "diagonal": D.diagonal, "diag": D.diag,
    # linear algebra
    "matmul": L.matmul, "mm": L.mm, "bmm": L.bmm, "mv": L.mv, "dot": L.dot, "inner": L.inner,
    "outer": L.outer, "ger": L.outer, "addmm": L.addmm,
    # conversion
    "to": C.to, "cpu": C.cpu, "cuda": C.cuda, "float": C.float_, "double": C.double,
    "half": C.half, "long": C.long, "int": C.int_, "short": C.short, "char": C.char,
    "byte": C.byte, "bool": C.bool_,
    # in-place fills
    "uniform_": K.uniform_, "normal_": K.normal_, "bernoulli_": K.bernoulli_,
    "random_": K.random_, "exponential_": K.exponential_, "fill_": K.fill_, "zero_": K.zero_,
    "copy_": K.copy_, "bernoulli": K.bernoulli, "multinomial": K.multinomial,
}

PROPERTIES = {"T": S.T, "mT": S.mT}


def _bind() -> None:
    for name, function in METHODS.items():
        setattr(Tensor, name, function)
    for name, function in PROPERTIES.items():
        setattr(Tensor, name, property(function))
    Tensor.__hash__ = lambda self: id(self)  # __eq__ is elementwise, so hash by identity


def new_tensor(self: Tensor, data, dtype=None, device=None, requires_grad: bool = False):
    return K.tensor(data, dtype=dtype or self.dtype, device=device or self.device,
                    requires_grad=requires_grad)


def _new_filled(fill):
    def new(self: Tensor, *size, dtype=None, device=None, requires_grad: bool = False):
        return K.full(size[0] if len(size) == 1 and isinstance(size[0], (tuple, list)) else size,
                      fill, dtype=dtype or self.dtype, device=device or self.device,
                      requires_grad=requires_grad)

    return new


METHODS.update({"new_tensor": new_tensor, "new_zeros": _new_filled(0), "new_ones": _new_filled(1),
                "new_full": lambda self, size, fill_value, **kw: _new_filled(fill_value)(self, size, **kw),
                "new_empty": _new_filled(0)})
_bind()
