"""The stand-in's memory pool: counts the bytes of live device arrays, per device.

Like cupy's ``MemoryPool``, it rounds each allocation up to 512 bytes, keeps freed blocks for
reuse (``free_bytes``) until ``free_all_blocks``, honours ``set_limit`` with cupy's
``OutOfMemoryError``, and serves every allocation through the allocator of ``set_allocator``.
"""
import collections as _collections

from .. import _core

_ROUND = 512
_CAPACITY = 16 * 1024**3  # each pretend device has 16 GiB


class OutOfMemoryError(MemoryError):
    def __init__(self, size: int, total: int, limit: int = 0) -> None:
        message = f"Out of memory allocating {size:,} bytes (allocated so far: {total:,} bytes"
        if limit:
            message += f", limit set to: {limit:,} bytes"
        super().__init__(message + ").")


class MemoryPointer:
    """A pointer into device memory (``ptr``), keeping its block (``mem``) alive."""

    def __init__(self, ptr: int, device_id: int, mem=None) -> None:
        self.ptr, self.device_id, self.mem = ptr, device_id, mem

    @property
    def device(self):
        from . import Device

        return Device(self.device_id)

    def __int__(self) -> int:
        return self.ptr


class _Block:
    """One allocation: given back to its pool when nothing refers to it any more."""

    def __init__(self, pool: "MemoryPool", device: int, size: int) -> None:
        self.pool, self.device, self.size = pool, device, size

    def __del__(self) -> None:
        self.pool._free(self.device, self.size)


class MemoryPool:
    """Per-device bytes in use and bytes cached, as cupy's pool reports them."""

    def __init__(self, allocator=None) -> None:
        self._used: _collections.Counter = _collections.Counter()
        self._cached: dict[int, _collections.Counter] = _collections.defaultdict(
            _collections.Counter)
        self._limit: dict[int, int] = {}

    def malloc(self, size: int) -> MemoryPointer:
        device = _core.STATE.device
        size = -(-size // _ROUND) * _ROUND if size else 0
        cached = self._cached[device]
        if cached[size]:
            cached[size] -= 1
        else:
            limit = self._limit.get(device, 0) or _CAPACITY
            if self.total_bytes() + size > limit:
                self.free_all_blocks()
                if self.total_bytes() + size > limit:
                    raise OutOfMemoryError(size, self.total_bytes(), self._limit.get(device, 0))
        self._used[device] += size
        return MemoryPointer(0, device, _Block(self, device, size))

    def _free(self, device: int, size: int) -> None:
        self._used[device] -= size
        self._cached[device][size] += 1

    def used_bytes(self) -> int:
        return self._used[_core.STATE.device]

    def free_bytes(self) -> int:
        return sum(size * n for size, n in self._cached[_core.STATE.device].items())

    def total_bytes(self) -> int:
        return self.used_bytes() + self.free_bytes()

    def n_free_blocks(self) -> int:
        return sum(self._cached[_core.STATE.device].values())

    def free_all_blocks(self, stream=None) -> None:
        self._cached[_core.STATE.device].clear()

    def free_all_free(self) -> None:
        self.free_all_blocks()

    def set_limit(self, size: int | None = None, fraction: float | None = None) -> None:
        if fraction is not None:
            size = int(_CAPACITY * fraction)
        self._limit[_core.STATE.device] = int(size or 0)

    def get_limit(self) -> int:
        return self._limit.get(_core.STATE.device, 0)


class _PinnedMemoryPool:
    def n_free_blocks(self) -> int:
        return 0

    def free_all_blocks(self) -> None:
        pass


_DEFAULT_POOL = MemoryPool()
_PINNED_POOL = _PinnedMemoryPool()
_allocator = _DEFAULT_POOL.malloc


def alloc(size: int) -> MemoryPointer:
    """Allocate ``size`` bytes on the current device with the current allocator."""
    return _allocator(size)


def set_allocator(allocator=None) -> None:
    global _allocator
    _allocator = allocator if allocator is not None else _DEFAULT_POOL.malloc


def get_allocator():
    return _allocator


def _reset() -> None:
    set_allocator(None)
    _DEFAULT_POOL._limit.clear()
    for cached in _DEFAULT_POOL._cached.values():
        cached.clear()
