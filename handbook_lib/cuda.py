"""``handbook_lib.cuda``: is a GPU usable? These queries never raise."""
from __future__ import annotations

from ._device import load_cupy


def is_available() -> bool:
    """True when cupy imports and sees at least one CUDA device."""
    return device_count() > 0


def device_count() -> int:
    cupy = load_cupy(required=False)
    if cupy is None:
        return 0
    try:
        return int(cupy.cuda.runtime.getDeviceCount())
    except Exception:
        return 0


def current_device() -> int:
    return int(load_cupy().cuda.Device().id)


def synchronize() -> None:
    """Wait for all queued GPU work to finish (use before timing GPU code)."""
    load_cupy().cuda.Device().synchronize()


def manual_seed(seed: int) -> None:
    """Random numbers are drawn on the CPU generator and copied, so this is ``hl.manual_seed``."""
    from .random import manual_seed as _seed

    _seed(seed)


manual_seed_all = manual_seed
