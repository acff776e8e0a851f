"""``cupy.cuda`` of the stand-in: devices, streams, events and the memory pool."""
import threading as _threading
import time as _time

from .. import _core
from . import memory, runtime
from .memory import MemoryPointer, MemoryPool, alloc, get_allocator, set_allocator
from .memory import _PinnedMemoryPool as PinnedMemoryPool

_stack = _threading.local()  # the devices entered with `with Device(i):`, per thread


class Device:
    """A CUDA device; ``with Device(1):`` makes it the current device of this thread."""

    def __init__(self, device=None) -> None:
        self.id = _core.STATE.device if device is None else int(device)

    def use(self) -> None:
        runtime.setDevice(self.id)

    def __enter__(self) -> "Device":
        previous = getattr(_stack, "devices", [])
        previous.append(_core.STATE.device)
        _stack.devices = previous
        self.use()
        return self

    def __exit__(self, *exc) -> None:
        _core.STATE.device = _stack.devices.pop()

    def synchronize(self) -> None:
        runtime._valid(self.id)

    @property
    def compute_capability(self) -> str:
        properties = runtime.getDeviceProperties(self.id)
        return f"{properties['major']}{properties['minor']}"

    @property
    def mem_info(self) -> tuple:
        with self:
            return runtime.memGetInfo()

    @property
    def pci_bus_id(self) -> str:
        return f"0000:00:{self.id:02x}.0"

    @property
    def attributes(self) -> dict:
        return {"MultiProcessorCount": 1, "WarpSize": 32}

    def __int__(self) -> int:
        return self.id

    def __eq__(self, other) -> bool:
        return isinstance(other, Device) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return f"<CUDA Device {self.id}>"


def get_device_id() -> int:
    return _core.STATE.device


def is_available() -> bool:
    return True


class Stream:
    """A stream: the stand-in runs everything at once, so waiting is immediate."""

    null = None  # set below

    def __init__(self, null=False, non_blocking=False, ptds=False) -> None:
        self.device_id = _core.STATE.device
        self.ptr = 0 if null else id(self)

    def synchronize(self) -> None:
        pass

    def use(self) -> "Stream":
        return self

    def __enter__(self) -> "Stream":
        return self

    def __exit__(self, *exc) -> None:
        pass

    def record(self, event=None):
        event = event or Event()
        event.record(self)
        return event

    def wait_event(self, event) -> None:
        pass

    @property
    def done(self) -> bool:
        return True


Stream.null = Stream(null=True)


def get_current_stream(device_id=None) -> Stream:
    return Stream.null


class Event:
    """Records the host clock (everything is synchronous here)."""

    def __init__(self, block=False, disable_timing=False, interprocess=False) -> None:
        self._time = None

    def record(self, stream=None) -> None:
        self._time = _time.perf_counter()

    def synchronize(self) -> None:
        pass

    @property
    def done(self) -> bool:
        return True


def get_elapsed_time(start_event: Event, end_event: Event) -> float:
    """Milliseconds between two recorded events."""
    return (end_event._time - start_event._time) * 1e3
