"""``handbook_lib.accelerator``: PyTorch's device-generic queries. The one accelerator this
library knows is CUDA (through cupy); none of these raise on a machine without one, except
the ones that need a device to answer."""
from __future__ import annotations

from . import cuda as _cuda
from ._device import device as _device

_NO_ACCELERATOR = "Cannot access accelerator device when none is available."


def is_available() -> bool:
    """True when a CUDA GPU is usable."""
    return _cuda.is_available()


def current_accelerator(check_available: bool = False) -> _device | None:
    """``device(type='cuda')`` when handbook_lib can use a GPU, else ``None`` (as PyTorch on a
    CPU-only build; ``check_available`` changes nothing then)."""
    return _device("cuda") if _cuda.is_available() else None


def device_count() -> int:
    return _cuda.device_count()


def current_device_index() -> int:
    if not _cuda.is_available():
        raise RuntimeError(_NO_ACCELERATOR)
    return _cuda.current_device()


current_device_idx = current_device_index


def set_device_index(index: int) -> None:
    if not _cuda.is_available():
        raise RuntimeError(_NO_ACCELERATOR)
    from ._device import load_cupy

    load_cupy().cuda.Device(index).use()


set_device_idx = set_device_index


def synchronize(device_index: int | None = None) -> None:
    """Wait for queued GPU work (a no-op without a GPU, as there is none)."""
    if _cuda.is_available():
        _cuda.synchronize()
