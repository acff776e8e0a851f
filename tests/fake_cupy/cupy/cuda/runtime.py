"""``cupy.cuda.runtime`` of the stand-in: two pretend devices, no peer access between them."""
from .. import _core
from . import memory as _memory

is_hip = False


class CUDARuntimeError(RuntimeError):
    def __init__(self, status: int, name: str, text: str) -> None:
        self.status = status
        super().__init__(f"{name}: {text}")


def _valid(device: int) -> int:
    if not 0 <= int(device) < _core.DEVICE_COUNT:
        raise CUDARuntimeError(101, "cudaErrorInvalidDevice", "invalid device ordinal")
    return int(device)


def getDeviceCount() -> int:
    return _core.DEVICE_COUNT


def getDevice() -> int:
    return _core.STATE.device


def setDevice(device: int) -> None:
    _core.STATE.device = _valid(device)


def getDeviceProperties(device: int) -> dict:
    _valid(device)
    return {"name": b"CPU stand-in for cupy", "totalGlobalMem": _memory._CAPACITY,
            "major": 9, "minor": 0, "multiProcessorCount": 1, "warpSize": 32,
            "pciBusID": device, "pciDeviceID": 0, "pciDomainID": 0}


def memGetInfo() -> tuple[int, int]:
    """(free, total) bytes of the current device."""
    return _memory._CAPACITY - _memory._DEFAULT_POOL.total_bytes(), _memory._CAPACITY


def deviceSynchronize() -> None:
    pass


def deviceCanAccessPeer(device: int, peer: int) -> int:
    return 0


def driverGetVersion() -> int:
    return 12080


def runtimeGetVersion() -> int:
    return 12080
