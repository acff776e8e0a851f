"""``save`` and ``load``: checkpoints that never run code when they are read.

``torch.save`` pickles, and unpickling a file can execute any code its author chose. A
handbook_lib checkpoint holds only data, in an uncompressed zip archive:

``handbook_lib_checkpoint.json``
    The first member. A JSON manifest ``{"format": "handbook_lib.checkpoint", "version": 1,
    "object": ...}`` that describes the saved object. ``None``, booleans, integers, finite
    floats and strings are written as themselves; every other value is a JSON object with a
    ``"type"`` key:

    - ``{"type": "dict" | "OrderedDict", "items": [[key, value], ...]}`` (keys are encoded
      values too, so the integer keys of an optimizer's ``state`` stay integers);
    - ``{"type": "list" | "tuple", "items": [value, ...]}``;
    - ``{"type": "float", "value": "nan" | "inf" | "-inf"}`` (JSON has no such numbers);
    - ``{"type": "tensor", "array": "arrays/0.npy", "device": "cpu", "requires_grad": false}``;
    - ``{"type": "ndarray", "array": ...}`` and ``{"type": "numpy_scalar", "array": ...}``.
``arrays/N.npy``
    One array per tensor, in numpy's ``.npy`` format (dtype, shape and raw bytes), read back
    with ``allow_pickle=False`` so an object array (a pickle in disguise) is refused.

What round-trips: tensors of every handbook_lib dtype (0-dim and non-contiguous ones too, which
come back contiguous), their ``device`` and ``requires_grad``; numpy arrays and scalars; dicts,
OrderedDicts, lists and tuples nested to any depth. Where we differ from PyTorch: a tensor saved
twice in one object comes back as one tensor, as in PyTorch, but two different tensors that share
storage (a tensor and its view) are saved as separate arrays and no longer share memory after
``load``; an ``nn.Parameter`` comes back as a plain tensor with ``requires_grad=True``
(``load_state_dict`` copies values into the module's own parameters, so state dicts are
unaffected).

Saving to a path is atomic: the archive is written to a temporary file in the same directory,
flushed to disk, and renamed over the target, so an error or Ctrl-C mid-save leaves the old
file as it was and no partial file behind.
"""
from __future__ import annotations

import json
import math
import os
import zipfile
from collections import OrderedDict
from typing import IO, Any, Callable, NoReturn, Union

import numpy as np

import handbook_lib as hl

from . import _device
from ._files import atomic_write

FileLike = Union[str, "os.PathLike[str]", IO[bytes]]
MapLocation = Union[None, str, _device.device, dict, Callable]

FORMAT = "handbook_lib.checkpoint"
VERSION = 1
MANIFEST = "handbook_lib_checkpoint.json"
_ZIP_LOCAL_HEADER = b"PK\x03\x04"
_SUPPORTED = ("Tensor, numpy array or scalar, dict, OrderedDict, list, tuple, None, bool, int, "
              "float, str")


class CheckpointError(RuntimeError):
    """A file that cannot be loaded: not a handbook_lib checkpoint, truncated, or corrupt."""


# --- save ----------------------------------------------------------------------------------------
def save(obj: Any, f: FileLike) -> None:
    """Save ``obj`` (a tensor, a state dict, an optimizer state dict, ...) to ``f``.

    Args:
        obj: tensors, numpy arrays, and ``None``/bool/int/float/str, in dicts, OrderedDicts,
            lists and tuples nested to any depth.
        f: a path, or a binary file object open for writing. A path is written atomically.

    Example::

        >>> hl.save(model.state_dict(), "model.hlpt")
        >>> model.load_state_dict(hl.load("model.hlpt"))
    """
    arrays: list[np.ndarray] = []
    manifest = {"format": FORMAT, "version": VERSION,
                "object": _encode(obj, arrays, memo={}, path="obj")}
    if isinstance(f, (str, os.PathLike)):
        with atomic_write(f) as fp:
            _write_archive(fp, manifest, arrays)
    else:
        _write_archive(f, manifest, arrays)


def _encode(obj: Any, arrays: list, memo: dict, path: str) -> Any:
    """The JSON form of ``obj``; arrays go to ``arrays`` and are referenced by member name."""
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else {"type": "float", "value": repr(obj)}
    if isinstance(obj, hl.Tensor):
        if id(obj) not in memo:  # a tensor met twice is stored once
            memo[id(obj)] = {"type": "tensor", "array": _add(arrays, _tensor_to_numpy(obj)),
                             "device": str(obj.device), "requires_grad": obj.requires_grad}
        return memo[id(obj)]
    if isinstance(obj, (np.ndarray, np.generic)):
        kind = "ndarray" if isinstance(obj, np.ndarray) else "numpy_scalar"
        if np.asarray(obj).dtype.hasobject:
            raise TypeError(f"cannot save {path}: numpy arrays of dtype object are not supported "
                            "(they would need pickle); convert it to a numeric dtype first")
        return {"type": kind, "array": _add(arrays, np.asarray(obj))}
    if isinstance(obj, dict):
        kind = "OrderedDict" if isinstance(obj, OrderedDict) else "dict"
        return {"type": kind, "items": [
            [_encode(k, arrays, memo, f"{path} key {k!r}"),
             _encode(v, arrays, memo, f"{path}[{k!r}]")] for k, v in obj.items()]}
    if type(obj) in (list, tuple):
        return {"type": type(obj).__name__,
                "items": [_encode(v, arrays, memo, f"{path}[{i}]") for i, v in enumerate(obj)]}
    return _bad(obj, path)


def _bad(obj: Any, path: str) -> NoReturn:
    raise TypeError(f"cannot save {path} of type {type(obj).__name__}: handbook_lib.save "
                    f"supports {_SUPPORTED}. Convert it to one of these first.")


def _tensor_to_numpy(t: hl.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


def _add(arrays: list, array: np.ndarray) -> str:
    arrays.append(array)
    return f"arrays/{len(arrays) - 1}.npy"


def _write_archive(fp: IO[bytes], manifest: dict, arrays: list) -> None:
    text = json.dumps(manifest, allow_nan=False, ensure_ascii=False)
    with zipfile.ZipFile(fp, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr(MANIFEST, text)
        for i, array in enumerate(arrays):
            with archive.open(f"arrays/{i}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, _c_order(array), allow_pickle=False)


# --- load ----------------------------------------------------------------------------------------
def load(f: FileLike, map_location: MapLocation = None) -> Any:
    """Load an object saved by :func:`save`. Never executes code from the file.

    Args:
        f: a path, or a binary file object open for reading (seekable).
        map_location: where tensors go. ``None`` puts each back on the device it was saved
            from; ``'cpu'``, ``'cuda:0'`` or a ``device`` puts all of them there; a dict such as
            ``{'cuda:0': 'cpu'}`` remaps the devices it names; a function
            ``map_location(storage, location)`` (PyTorch's ``lambda storage, loc: storage``)
            gets each tensor on the CPU and the device name it was saved from, and returns it
            where it should go (None: back where it was saved).

    Raises:
        CheckpointError (a RuntimeError): ``f`` is not a handbook_lib checkpoint, or is
        truncated or corrupt.
    """
    name = repr(os.fspath(f)) if isinstance(f, (str, os.PathLike)) else "the file"
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as fp:
            return _load(fp, name, map_location)
    return _load(f, name, map_location)


def _load(fp: IO[bytes], name: str, map_location: MapLocation) -> Any:
    try:
        archive = zipfile.ZipFile(fp)
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise CheckpointError(_unreadable_message(fp, name, exc)) from None
    with archive:
        manifest = _read_manifest(archive, name)
        try:
            return _decode(manifest["object"], archive, map_location, memo={})
        except (KeyError, TypeError, ValueError, IndexError, RecursionError) as exc:
            raise CheckpointError(f"{name} is a corrupt handbook_lib checkpoint: {exc}") from None
        except (zipfile.BadZipFile, EOFError, OSError) as exc:
            raise CheckpointError(f"{name} is a truncated or corrupt handbook_lib checkpoint "
                                  f"({exc}); save it again") from None


def _unreadable_message(fp: IO[bytes], name: str, exc: Exception) -> str:
    """Say whether an unreadable file is one of ours cut short, or something else."""
    fp.seek(0)
    head = fp.read(30 + len(MANIFEST))
    if head[:4] == _ZIP_LOCAL_HEADER and head[30:] == MANIFEST.encode():
        return (f"{name} is a truncated handbook_lib checkpoint (its end is missing: {exc}). "
                "It was probably cut short while being copied or downloaded; copy it again.")
    return (f"{name} is not a handbook_lib checkpoint (not a zip archive: {exc}). "
            "handbook_lib.load reads only files written by handbook_lib.save.")


def _read_manifest(archive: zipfile.ZipFile, name: str) -> dict:
    names = archive.namelist()
    if MANIFEST not in names:
        hint = (" It looks like a file written by torch.save, which handbook_lib cannot read "
                "because that format runs pickle on load." if any(n.endswith("data.pkl")
                                                                   for n in names) else "")
        raise CheckpointError(f"{name} is not a handbook_lib checkpoint: it is a zip archive "
                              f"without {MANIFEST}.{hint}")
    try:
        manifest = json.loads(archive.read(MANIFEST).decode("utf-8"))
    except (ValueError, RecursionError, zipfile.BadZipFile, EOFError, OSError) as exc:
        raise CheckpointError(f"{name} is a corrupt handbook_lib checkpoint: its manifest "
                              f"cannot be read ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CheckpointError(f"{name} is not a handbook_lib checkpoint: the manifest does not "
                              f"declare format {FORMAT!r}")
    if manifest.get("version") != VERSION or "object" not in manifest:
        raise CheckpointError(f"{name} has checkpoint format version {manifest.get('version')!r}"
                              f"; this handbook_lib reads version {VERSION}. Upgrade "
                              "handbook_lib, or save the checkpoint again with this one.")
    return manifest


_CONTAINERS = {"dict": dict, "OrderedDict": OrderedDict}


def _decode(node: Any, archive: zipfile.ZipFile, map_location: MapLocation, memo: dict) -> Any:
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    kind = node["type"]
    if kind in _CONTAINERS:
        return _CONTAINERS[kind]((_decode(k, archive, map_location, memo),
                                  _decode(v, archive, map_location, memo))
                                 for k, v in node["items"])
    if kind in ("list", "tuple"):
        items = [_decode(v, archive, map_location, memo) for v in node["items"]]
        return items if kind == "list" else tuple(items)
    if kind == "float":
        return float(node["value"])
    if kind == "tensor":
        if node["array"] not in memo:
            memo[node["array"]] = _make_tensor(_read_array(archive, node["array"]),
                                               node["device"], map_location,
                                               node["requires_grad"])
        return memo[node["array"]]
    if kind == "ndarray":
        return _read_array(archive, node["array"])
    if kind == "numpy_scalar":
        return _read_array(archive, node["array"])[()]
    raise ValueError(f"unknown entry type {kind!r}")


def _read_array(archive: zipfile.ZipFile, member: str) -> np.ndarray:
    with archive.open(member) as fp:
        return np.lib.format.read_array(fp, allow_pickle=False)


def _c_order(array: np.ndarray) -> np.ndarray:
    """``array`` in C order (``np.ascontiguousarray`` would turn a 0-dim array into 1-dim)."""
    return array if array.flags.c_contiguous else array.copy(order="C")


def _target_device(saved: str, map_location: MapLocation) -> _device.device:
    if map_location is None:
        return _device.device(saved)
    if isinstance(map_location, dict):
        return _device.device(map_location.get(saved, saved))
    return _device.as_device(map_location)


def _make_tensor(array: np.ndarray, saved: str, map_location: MapLocation,
                 requires_grad: bool) -> hl.Tensor:
    if callable(map_location) and not isinstance(map_location, _device.device):
        moved = map_location(hl.from_numpy(_c_order(array)), saved)
        if moved is not None:
            if not isinstance(moved, hl.Tensor):
                raise RuntimeError(f"map_location returned {type(moved).__name__}, expected the "
                                "storage (a Tensor) it was given, moved or not")
            return moved.requires_grad_(True) if requires_grad else moved
        map_location = None
    device = _target_device(saved, map_location)
    if device.type == "cuda" and not hl.cuda.is_available():
        raise RuntimeError(
            f"Attempting to deserialize object on a CUDA device ({device}) but CUDA is not "
            "available. If you are running on a CPU-only machine, please use handbook_lib.load "
            "with map_location='cpu' to map your tensors to the CPU.")
    tensor = hl.from_numpy(_c_order(array)).to(device)  # TypeError for dtypes a tensor can't hold
    return tensor.requires_grad_(True) if requires_grad else tensor
