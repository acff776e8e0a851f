"""PyTorch's legacy constructors: ``Tensor(2, 3)``, ``FloatTensor([...])``, ``LongTensor``...

``hl.Tensor(2, 3)`` (sizes) makes an uninitialised float tensor of that shape, ``hl.Tensor(data)``
a float tensor from data (the default dtype, whatever the data), ``hl.Tensor(size)`` with a
``Size`` the shape again. Each typed name does the same in its dtype, and ``isinstance(x,
hl.LongTensor)`` asks whether ``x`` is a CPU int64 tensor, as in PyTorch.
"""
from __future__ import annotations

from typing import Any

from . import _device, _dtype

_NAMES = {"FloatTensor": _dtype.float32, "DoubleTensor": _dtype.float64,
          "HalfTensor": _dtype.float16, "LongTensor": _dtype.int64, "IntTensor": _dtype.int32,
          "ShortTensor": _dtype.int16, "CharTensor": _dtype.int8, "ByteTensor": _dtype.uint8,
          "BoolTensor": _dtype.bool}


def legacy_array(args: tuple, dtype, device):
    """The array ``Tensor(*args)`` holds: uninitialised of a shape, or ``args[0]`` converted."""
    from ._tensor import Size, Tensor
    from .ops.creation import _to_array

    given, dtype = dtype, dtype or _dtype.get_default_dtype()
    target = _device.as_device(device)
    if not args:
        with _device.allocating_on(target):
            return target.xp.empty((0,), dtype=dtype.np_dtype)
    if _is_sizes(args) or (len(args) == 1 and isinstance(args[0], Size)):
        shape = tuple(args[0]) if isinstance(args[0], Size) else tuple(int(a) for a in args)
        if any(s < 0 for s in shape):
            raise RuntimeError(f"Trying to create tensor with negative dimension "
                               f"{min(shape)}: {list(shape)}")
        with _device.allocating_on(target):
            return target.xp.empty(shape, dtype=dtype.np_dtype)
    if len(args) > 1:
        raise TypeError(f"new() received an invalid combination of arguments: sizes must be "
                        f"ints, got {tuple(type(a).__name__ for a in args)}")
    data = args[0]
    if isinstance(data, Tensor):  # shares its data; only a typed constructor converts it
        return _to_array(data, given, device or data.device, copy=False)
    if isinstance(data, (bool, int, float, complex)):
        raise TypeError(f"new(): data must be a sequence (got {type(data).__name__})")
    return _to_array(data, dtype, device)


def _is_sizes(args: tuple) -> bool:
    return all(isinstance(a, int) and not isinstance(a, bool) for a in args)


class LegacyTensorType(type):
    """The type of ``FloatTensor`` and friends: callable like it, and an ``isinstance`` test."""

    dtype: _dtype.dtype

    def __instancecheck__(cls, obj: Any) -> bool:
        from ._tensor import Tensor

        return isinstance(obj, Tensor) and obj.dtype == cls.dtype and not obj.is_cuda

    def __call__(cls, *args, device=None):
        from ._tensor import Tensor

        return Tensor(*args, dtype=cls.dtype, device=device)

    def __repr__(cls) -> str:
        return f"<class 'handbook_lib.{cls.__name__}'>"


def _make(name: str, dtype) -> LegacyTensorType:
    doc = f"``{name}(*sizes)`` or ``{name}(data)``: a CPU tensor of dtype {dtype}."
    return LegacyTensorType(name, (), {"dtype": dtype, "__doc__": doc,
                                       "__module__": "handbook_lib"})


TYPES = {name: _make(name, dtype) for name, dtype in _NAMES.items()}
BY_DTYPE = {cls.dtype: name for name, cls in TYPES.items()}


def dtype_and_device_of_type_name(name: str):
    """``'torch.cuda.FloatTensor'`` → (float32, 'cuda'); raise ValueError for other strings."""
    parts = name.split(".")
    if len(parts) in (2, 3) and parts[0] in ("torch", "handbook_lib") and parts[-1] in TYPES:
        cuda = len(parts) == 3
        if cuda and parts[1] != "cuda":
            raise ValueError(f"invalid type: '{name}'")
        return TYPES[parts[-1]].dtype, ("cuda" if cuda else "cpu")
    raise ValueError(f"invalid type: '{name}'")
