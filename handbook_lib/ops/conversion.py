"""``to``: change dtype and/or device (differentiable), and the ``.float()``-style shortcuts."""
from __future__ import annotations

from .. import _device, _dtype
from .._tensor import Tensor
from ..autograd.graph import Node
from ._util import record, wrap


class ToCopyBackward0(Node):
    def backward(self, grad):
        return grad.to(device=self.device, dtype=self.dtype)


def _parse_to_args(args: tuple, kwargs: dict) -> tuple:
    """Accept to(dtype), to(device), to(device, dtype), to(tensor) and keyword forms."""
    device, dtype = kwargs.get("device"), kwargs.get("dtype")
    for arg in args:
        if isinstance(arg, Tensor):
            device, dtype = arg.device, arg.dtype
        elif isinstance(arg, _dtype.dtype):
            dtype = arg
        elif isinstance(arg, (str, _device.device, int)):
            device = arg
        elif arg is not None:
            raise TypeError(f"to() received an invalid combination of arguments: {arg!r}")
    return (None if device is None else _device.as_device(device)), dtype


def to(input: Tensor, *args, **kwargs) -> Tensor:
    """A tensor with the requested dtype/device; ``input`` itself if nothing changes."""
    device, dtype = _parse_to_args(args, kwargs)
    data = input._data
    np_dtype = None if dtype is None else _dtype.to_numpy_dtype(dtype)
    changed = False
    if np_dtype is not None and data.dtype != np_dtype:
        data, changed = data.astype(np_dtype), True
    if device is not None and _device.device_of(data) != _device.resolve(device):
        data, changed = _device.move(data, device), True
    if not changed:
        return input.clone() if kwargs.get("copy") else input
    result = wrap(data)
    if result._data.dtype.kind == "f":
        record(result, ToCopyBackward0, (input,), device=input.device, dtype=input.dtype)
    return result


def cpu(input: Tensor) -> Tensor:
    return to(input, "cpu")


def cuda(input: Tensor, device=None, non_blocking: bool = False) -> Tensor:
    """Copy to the GPU (needs cupy; a clear error says how to install it)."""
    return to(input, _device.device("cuda", device if isinstance(device, int) else None)
              if not isinstance(device, (str, _device.device)) else device)


def _caster(target: _dtype.dtype):
    def cast(input: Tensor, memory_format=None) -> Tensor:
        return to(input, target)

    cast.__name__ = target.name
    cast.__doc__ = f"``to({target})``."
    return cast


float_ = _caster(_dtype.float32)
double = _caster(_dtype.float64)
half = _caster(_dtype.float16)
long = _caster(_dtype.int64)
int_ = _caster(_dtype.int32)
short = _caster(_dtype.int16)
char = _caster(_dtype.int8)
byte = _caster(_dtype.uint8)
bool_ = _caster(_dtype.bool)
