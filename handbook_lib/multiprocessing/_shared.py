"""Tensors in shared memory: a file in /dev/shm (or the temp directory), mapped by each process.

``share_memory_`` copies the data into such a file and maps it (``numpy.memmap``); pickling a
tensor whose data is a whole mapped file sends the file's name, so the receiver maps the same
memory. The file's name is removed when the creating process's array is freed; processes that
have mapped it keep their mapping.
"""
from __future__ import annotations

import os
import tempfile
import weakref

import numpy as np

_SHM_DIR = "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()


def is_shared(tensor) -> bool:
    return isinstance(tensor._data, np.memmap)


def share_memory_(tensor):
    """Move ``tensor``'s data into shared memory (no-op if already there, or on the GPU)."""
    if is_shared(tensor) or not isinstance(tensor._data, np.ndarray):
        return tensor
    data = tensor._data
    handle, path = tempfile.mkstemp(prefix="handbook-lib-", dir=_SHM_DIR)
    os.close(handle)
    shared = np.memmap(path, dtype=data.dtype, mode="w+", shape=data.shape or (1,))
    shared = shared.reshape(data.shape)
    shared[...] = data
    weakref.finalize(shared, _remove, path)
    tensor._data = shared
    return tensor


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _root(array: np.ndarray):
    """The memmap that owns the file mapping behind ``array`` (``None`` if not file-backed)."""
    while isinstance(array, np.memmap):
        if not isinstance(array.base, np.ndarray):
            return array
        array = array.base
    return None


def shared_handle(array: np.memmap) -> tuple | None:
    """``(path, dtype, shape, offset)`` for a C-contiguous view of a shared file, else None."""
    root = _root(array)
    if root is None or root.filename is None or not array.flags.c_contiguous:
        return None
    offset = array.ctypes.data - root.ctypes.data + root.offset
    return (root.filename, array.dtype.str, array.shape, offset)


def open_shared(path: str, dtype: str, shape: tuple, offset: int) -> np.ndarray:
    mapped = np.memmap(path, dtype=np.dtype(dtype), mode="r+", offset=offset,
                       shape=shape or (1,))
    return mapped.reshape(shape)
