"""Reading a ``torch.save`` file without torch, and without running the code a pickle may hold.

Since PyTorch 1.6, ``torch.save`` writes a zip archive: ``<name>/data.pkl`` pickles the object,
each tensor's bytes lie in ``<name>/data/<key>``. The pickle names a few torch functions to
rebuild tensors (``torch._utils._rebuild_tensor_v2``) and storage classes (``torch.FloatStorage``);
:class:`_RestrictedUnpickler` allows those names and ``collections.OrderedDict`` and nothing
else, so a file that tries to call anything more is refused, as ``torch.load(weights_only=True)``
does. Tensors come back as numpy arrays.
"""
from __future__ import annotations

import collections
import io
import pickle
import zipfile
from typing import Any

import numpy as np

_STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}


def is_torch_zip(path: str) -> bool:
    """True if ``path`` is a zip archive holding a ``data.pkl`` (the ``torch.save`` format)."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(name.endswith("/data.pkl") for name in archive.namelist())


def load_torch_zip(path: str) -> Any:
    """The object a ``torch.save`` zip archive holds, with numpy arrays for tensors."""
    with zipfile.ZipFile(path) as archive:
        pickles = [n for n in archive.namelist() if n.endswith("/data.pkl")]
        if not pickles:
            raise pickle.UnpicklingError(f"{path}: not a torch.save archive (it holds no data.pkl)")
        pickle_name = pickles[0]
        prefix = pickle_name[: -len("data.pkl")]
        unpickler = _RestrictedUnpickler(io.BytesIO(archive.read(pickle_name)), archive, prefix,
                                         path)
        return unpickler.load()


class _Storage:
    """A storage's bytes as a flat numpy array of its dtype."""

    def __init__(self, array: np.ndarray) -> None:
        self.array = array


def _rebuild_tensor_v2(storage: _Storage, offset: int, size: tuple, stride: tuple,
                       requires_grad: bool = False, hooks: Any = None,
                       metadata: Any = None) -> np.ndarray:
    flat = storage.array
    itemsize = flat.dtype.itemsize
    if not size:  # a 0-dim tensor: a 0-dim array, not a numpy scalar
        return np.array(flat[offset])
    view = np.lib.stride_tricks.as_strided(flat[offset:], shape=tuple(size),
                                           strides=tuple(s * itemsize for s in stride))
    return np.ascontiguousarray(view)


def _rebuild_parameter(data: np.ndarray, requires_grad: bool, hooks: Any) -> np.ndarray:
    return data


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, fp: io.BytesIO, archive: zipfile.ZipFile, prefix: str, path: str) -> None:
        super().__init__(fp)
        self.archive, self.prefix, self.path = archive, prefix, path

    def find_class(self, module: str, name: str) -> Any:
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor_v2
        if module == "torch._utils" and name == "_rebuild_parameter":
            return _rebuild_parameter
        if module == "torch" and name in _STORAGE_DTYPES:
            return name
        raise pickle.UnpicklingError(f"{self.path}: refusing to load {module}.{name}; only "
                                     "tensors, dicts and lists can be read from a checkpoint")

    def persistent_load(self, pid: tuple) -> _Storage:
        kind, storage_type, key, _location, numel = pid
        if kind != "storage" or storage_type not in _STORAGE_DTYPES:
            raise pickle.UnpicklingError(f"{self.path}: unsupported storage {pid!r}")
        raw = self.archive.read(f"{self.prefix}data/{key}")
        array = np.frombuffer(raw, dtype=np.dtype(_STORAGE_DTYPES[storage_type]).newbyteorder("<"))
        if array.size != numel:
            raise pickle.UnpicklingError(f"{self.path}: storage {key} holds {array.size} "
                                         f"elements, expected {numel}")
        return _Storage(array.astype(array.dtype.newbyteorder("=")))
