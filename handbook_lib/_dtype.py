"""dtypes: PyTorch-named wrappers around numpy dtypes, and PyTorch's type promotion."""
from __future__ import annotations

import numpy as np

from . import _device


class dtype:
    """A tensor element type, printed as PyTorch prints it (``torch.float32``)."""

    __slots__ = ("name", "np_dtype", "is_floating_point", "is_signed", "itemsize")

    def __init__(self, name: str, np_dtype) -> None:
        self.name = name
        self.np_dtype = np.dtype(np_dtype)
        self.is_floating_point = self.np_dtype.kind == "f"
        self.is_signed = self.np_dtype.kind in "fi"
        self.itemsize = self.np_dtype.itemsize

    def __repr__(self) -> str:
        return f"torch.{self.name}"

    def __reduce__(self):
        return (_dtype_by_name, (self.name,))


float16 = half = dtype("float16", np.float16)
float32 = float = dtype("float32", np.float32)
float64 = double = dtype("float64", np.float64)
uint8 = dtype("uint8", np.uint8)
int8 = dtype("int8", np.int8)
int16 = short = dtype("int16", np.int16)
int32 = int = dtype("int32", np.int32)
int64 = long = dtype("int64", np.int64)
bool = dtype("bool", np.bool_)

ALL_DTYPES = (float16, float32, float64, uint8, int8, int16, int32, int64, bool)
_BY_NUMPY = {d.np_dtype: d for d in ALL_DTYPES}
_BY_NAME = {d.name: d for d in ALL_DTYPES}

_default_float = [float32]


def _dtype_by_name(name: str) -> dtype:
    return _BY_NAME[name]


def from_numpy_dtype(np_dtype) -> dtype:
    """The handbook dtype for a numpy dtype; a clear error for types a tensor cannot hold."""
    try:
        return _BY_NUMPY[np.dtype(np_dtype)]
    except (KeyError, TypeError):
        supported = ", ".join(d.name for d in ALL_DTYPES)
        raise TypeError(
            f"can't convert np.ndarray of type {np.dtype(np_dtype)}. "
            f"The only supported types are: {supported}."
        ) from None


def to_numpy_dtype(d) -> np.dtype:
    """Accept a handbook dtype, a numpy dtype or a Python type and return the numpy dtype."""
    if d.__class__ is dtype:
        return d.np_dtype
    if d is builtins_float:
        return _default_float[0].np_dtype
    if d is builtins_int:
        return np.dtype(np.int64)
    if d is builtins_bool:
        return np.dtype(np.bool_)
    return from_numpy_dtype(d).np_dtype


import builtins as _builtins  # noqa: E402

builtins_float, builtins_int, builtins_bool = _builtins.float, _builtins.int, _builtins.bool


def get_default_dtype() -> dtype:
    return _default_float[0]


def set_default_dtype(d: dtype) -> None:
    if not d.is_floating_point:
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default_float[0] = d


def _category(np_dtype: np.dtype) -> _builtins.int:
    """bool < integer < floating point, the order PyTorch promotes across."""
    kind = np_dtype.kind
    return 0 if kind == "b" else (2 if kind == "f" else 1)


def result_type(a, b) -> np.dtype:
    """PyTorch's promotion of two operands (tensors' numpy arrays or Python scalars).

    Differs from numpy's: int64 tensor + float32 tensor is float32 (not float64), an integer
    tensor with a Python float gives the default float dtype, a 0-dim tensor only wins over a
    dimensioned one when it is of a higher category (bool < int < float), and a tensor of any
    dimension keeps its dtype against a Python number of a lower category.
    """
    da, db = _operand_dtype(a), _operand_dtype(b)
    if da == db:
        return da
    pa, pb = _priority(a), _priority(b)
    ca, cb = _category(da), _category(db)
    if ca != cb:
        winner, dw, pw = (a, da, pa) if ca > cb else (b, db, pb)
        return dw if pw > 0 else (_default_float[0].np_dtype if dw.kind == "f" else dw)
    if pa != pb:
        return da if pa > pb else db
    return np.promote_types(da, db)


def _priority(x) -> _builtins.int:
    """2: a tensor with dimensions, 1: a 0-dim tensor, 0: a Python scalar."""
    if isinstance(x, _device.ARRAY_TYPES):
        return 2 if x.ndim else 1
    return 0


def _operand_dtype(x) -> np.dtype:
    if isinstance(x, (_builtins.bool, np.bool_)):
        return np.dtype(np.bool_)
    if isinstance(x, (_builtins.int, np.integer)) and not hasattr(x, "dtype"):
        return np.dtype(np.int64)
    if isinstance(x, _builtins.float) and not hasattr(x, "dtype"):
        return _default_float[0].np_dtype
    return x.dtype
