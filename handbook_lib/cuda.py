"""``handbook_lib.cuda``: is a GPU usable, which one, how much memory it holds.

``is_available()`` and ``device_count()`` never raise; the other functions need cupy and a GPU
and say how to install them when there is none. Memory figures come from cupy's memory pool,
which plays the part of PyTorch's caching allocator.
"""
from __future__ import annotations

import contextlib

from ._device import as_device, load_cupy


class OutOfMemoryError(RuntimeError):
    """``torch.cuda.OutOfMemoryError``: a GPU allocation that does not fit."""


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


def _index(device) -> int:
    """The GPU index of ``device`` (None: the current one; an int, 'cuda:1' or a device)."""
    if device is None:
        return current_device()
    if isinstance(device, int):
        return device
    target = as_device(device)
    if target.type != "cuda":
        raise ValueError(f"Expected a cuda device, but got: {target}")
    return target._index


def current_device() -> int:
    return int(load_cupy().cuda.Device().id)


def set_device(device) -> None:
    """Make ``device`` the current GPU: new cuda tensors without an index go there."""
    load_cupy().cuda.Device(_index(device)).use()


@contextlib.contextmanager
def device(device):
    """``with hl.cuda.device(1):`` the current GPU for the block."""
    with load_cupy().cuda.Device(_index(device)):
        yield


def get_device_name(device=None) -> str:
    cupy = load_cupy()
    name = cupy.cuda.runtime.getDeviceProperties(_index(device))["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def get_device_properties(device=None) -> dict:
    """The raw properties cupy reports (``name``, ``totalGlobalMem``, ``major``, ``minor``...)."""
    return dict(load_cupy().cuda.runtime.getDeviceProperties(_index(device)))


def synchronize(device=None) -> None:
    """Wait for all queued GPU work to finish (use before timing GPU code)."""
    load_cupy().cuda.Device(_index(device)).synchronize()


def memory_allocated(device=None) -> int:
    """Bytes held by tensors on the GPU (cupy's memory pool, blocks in use)."""
    cupy = load_cupy()
    with cupy.cuda.Device(_index(device)):
        return int(cupy.get_default_memory_pool().used_bytes())


def memory_reserved(device=None) -> int:
    """Bytes the pool holds from the GPU: in use plus cached free blocks."""
    cupy = load_cupy()
    with cupy.cuda.Device(_index(device)):
        return int(cupy.get_default_memory_pool().total_bytes())


def empty_cache() -> None:
    """Return the pool's cached free blocks to the GPU (tensors in use are untouched)."""
    cupy = load_cupy()
    cupy.get_default_memory_pool().free_all_blocks()
    cupy.get_default_pinned_memory_pool().free_all_blocks()


def mem_get_info(device=None) -> tuple:
    """``(free, total)`` bytes of the GPU, as the driver reports them."""
    cupy = load_cupy()
    with cupy.cuda.Device(_index(device)):
        free, total = cupy.cuda.runtime.memGetInfo()
    return int(free), int(total)


def out_of_memory(error: MemoryError) -> Exception:
    """PyTorch's kind of error for cupy's ``OutOfMemoryError`` (its message names the bytes
    asked for); any other MemoryError (the host's) is returned as it is."""
    if not type(error).__module__.startswith("cupy"):
        return error
    index = current_device()
    return OutOfMemoryError(
        f"CUDA out of memory. {str(error).rstrip('.')} on GPU {index}; "
        f"{memory_allocated(index) / 2**20:.2f} MiB is allocated by tensors. Use a smaller "
        "batch, or free tensors (del x) and call handbook_lib.cuda.empty_cache().")


def manual_seed(seed: int) -> None:
    """Seed the GPUs' generators: they share the default generator's seed (``hl.manual_seed``),
    so this re-seeds that generator, CPU and GPUs alike."""
    from .random import manual_seed as _seed

    _seed(seed)


manual_seed_all = manual_seed
