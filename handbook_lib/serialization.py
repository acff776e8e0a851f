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
file as it was and no partial file behind. Saving over a file keeps its permissions, and a
temporary left by a save that was killed is removed by the next save to the same path.

Loading a file from someone else is safe: nothing in it runs, and nothing is allocated before it
is checked. Every array's header must declare exactly the bytes its member holds, members must be
stored uncompressed (as ``save`` writes them; a small compressed file could otherwise expand
without bound), an array referenced many times is read once, and the total is capped:

- ``max_bytes`` (default :data:`DEFAULT_MAX_BYTES`, 16 GiB): all arrays together;
- ``max_manifest_bytes`` (default :data:`DEFAULT_MAX_MANIFEST_BYTES`, 64 MiB): the JSON manifest.

A large checkpoint you trust loads with a higher limit: ``hl.load(path, max_bytes=2**40)``.
Any file that breaks these rules, or is corrupt in any other way, raises :class:`CheckpointError`.
"""
from __future__ import annotations

import json
import math
import os
import struct
import zipfile
import zlib
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


DEFAULT_MAX_BYTES = 16 * 2**30
DEFAULT_MAX_MANIFEST_BYTES = 64 * 2**20
_MAX_DEPTH = 200  # nesting of dicts/lists; a state dict needs a handful


class CheckpointError(RuntimeError):
    """A file that cannot be loaded: not a handbook_lib checkpoint, truncated, or corrupt."""


# What a corrupt file can make the readers (zipfile, json, numpy's header parser) raise.
_CORRUPTION = (KeyError, TypeError, ValueError, IndexError, RecursionError, AttributeError,
               OverflowError, struct.error, zlib.error, NotImplementedError, zipfile.BadZipFile,
               EOFError, OSError, MemoryError)


# --- names scripts call (loading never unpickles, so there are no globals to allow) --------------
_safe_globals: list = []


def add_safe_globals(safe_globals: list) -> None:
    """Accepted for PyTorch scripts. handbook_lib never unpickles, so no class is ever loaded
    from a file and the list has no effect on what :func:`load` accepts."""
    _safe_globals.extend(safe_globals)


def get_safe_globals() -> list:
    return list(_safe_globals)


def clear_safe_globals() -> None:
    _safe_globals.clear()


class safe_globals:
    """``with hl.serialization.safe_globals([...]):`` as in PyTorch (no effect: see above)."""

    def __init__(self, safe_globals: list) -> None:
        self._added = list(safe_globals)

    def __enter__(self) -> "safe_globals":
        self._before = get_safe_globals()
        add_safe_globals(self._added)
        return self

    def __exit__(self, *exc) -> None:
        _safe_globals[:] = self._before


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
                "object": _encode(obj, arrays, memo={}, path="obj", active=set())}
    if isinstance(f, (str, os.PathLike)):
        with atomic_write(f) as fp:
            _write_archive(fp, manifest, arrays)
    else:
        _write_archive(f, manifest, arrays)


def _encode(obj: Any, arrays: list, memo: dict, path: str, active: set) -> Any:
    """The JSON form of ``obj``; arrays go to ``arrays`` and are referenced by member name.

    ``active`` holds the containers being encoded (the path from the root): meeting one again
    means the object contains itself, which a tree of JSON cannot hold.
    """
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
    if isinstance(obj, dict) or type(obj) in (list, tuple):
        return _encode_container(obj, arrays, memo, path, active)
    return _bad(obj, path)


def _encode_container(obj, arrays: list, memo: dict, path: str, active: set) -> dict:
    if id(obj) in active:
        raise ValueError(f"cannot save {path}: it contains itself (a {type(obj).__name__} that "
                         "holds a reference to itself); handbook_lib.save writes trees only")
    if len(active) >= _MAX_DEPTH:
        raise ValueError(f"cannot save {path}: nested more than {_MAX_DEPTH} levels deep")
    active.add(id(obj))
    try:
        if isinstance(obj, dict):
            kind = "OrderedDict" if isinstance(obj, OrderedDict) else "dict"
            return {"type": kind, "items": [
                [_encode(k, arrays, memo, f"{path} key {k!r}", active),
                 _encode(v, arrays, memo, f"{path}[{k!r}]", active)] for k, v in obj.items()]}
        return {"type": type(obj).__name__, "items": [
            _encode(v, arrays, memo, f"{path}[{i}]", active) for i, v in enumerate(obj)]}
    finally:
        active.discard(id(obj))


def _bad(obj: Any, path: str) -> NoReturn:
    if isinstance(obj, (hl.nn.Module, hl.optim.Optimizer)):
        what = "model" if isinstance(obj, hl.nn.Module) else "optimizer"
        raise TypeError(
            f"cannot save {path}, a whole {type(obj).__name__}: torch.save pickles it, and "
            f"handbook_lib never pickles (loading a pickle can run any code). Save its state "
            f"instead: hl.save({what}.state_dict(), path), and restore it with "
            f"{what}.load_state_dict(hl.load(path)) into a {what} built by your code.")
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
def load(f: FileLike, map_location: MapLocation = None, *, weights_only: bool | None = None,
         max_bytes: int = DEFAULT_MAX_BYTES,
         max_manifest_bytes: int = DEFAULT_MAX_MANIFEST_BYTES) -> Any:
    """Load an object saved by :func:`save`. Never executes code from the file.

    Args:
        f: a path, or a binary file object open for reading (seekable).
        map_location: where tensors go. ``None`` puts each back on the device it was saved
            from; ``'cpu'``, ``'cuda:0'`` or a ``device`` puts all of them there; a dict such as
            ``{'cuda:0': 'cpu'}`` remaps the devices it names; a function
            ``map_location(storage, location)`` (PyTorch's ``lambda storage, loc: storage``)
            gets each tensor on the CPU and the device name it was saved from, and returns it
            where it should go (None: back where it was saved).
            ``{'cuda:0': 'cpu'}`` remaps the devices it names.
        weights_only: accepted for PyTorch scripts; loading here is always weights-only (data,
            never code), whatever its value.
        max_bytes, max_manifest_bytes: the limits checked before anything is allocated (see the
            module docstring); raise them for a large checkpoint you trust.

    Raises:
        CheckpointError (a RuntimeError): ``f`` is not a handbook_lib checkpoint, is truncated
        or corrupt, or goes over the limits.
    """
    name = repr(os.fspath(f)) if isinstance(f, (str, os.PathLike)) else "the file"
    limits = _Limits(name, max_bytes, max_manifest_bytes)
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as fp:
            return _load(fp, name, map_location, limits)
    return _load(f, name, map_location, limits)


class _Limits:
    """What one load may allocate; ``charge`` raises before an allocation would go over."""

    def __init__(self, name: str, max_bytes: int, max_manifest_bytes: int) -> None:
        self.name, self.max_bytes, self.max_manifest_bytes = name, max_bytes, max_manifest_bytes
        self.used = 0

    def charge(self, nbytes: int) -> None:
        self.used += nbytes
        if self.used > self.max_bytes:
            raise CheckpointError(
                f"{self.name} holds more than {self.max_bytes} bytes of arrays, the load limit. "
                "If you trust this file, load it with a higher limit: "
                f"hl.load(path, max_bytes={self.used})")


def _load(fp: IO[bytes], name: str, map_location: MapLocation, limits: _Limits) -> Any:
    try:
        archive = zipfile.ZipFile(fp)
    except _CORRUPTION as exc:
        raise CheckpointError(_unreadable_message(fp, name, exc)) from None
    with archive:
        try:
            size = fp.seek(0, os.SEEK_END)
            manifest = _read_manifest(archive, name, limits)
            reader = _ArrayReader(archive, name, size, limits)
            return _decode(manifest["object"], reader, map_location, memo={}, depth=0)
        except CheckpointError:
            raise
        except (zipfile.BadZipFile, EOFError, OSError, zlib.error) as exc:
            raise CheckpointError(f"{name} is a truncated or corrupt handbook_lib checkpoint "
                                  f"({exc}); save it again") from None
        except _CORRUPTION as exc:
            raise CheckpointError(f"{name} is a corrupt handbook_lib checkpoint: "
                                  f"{type(exc).__name__}: {exc}") from None


def _unreadable_message(fp: IO[bytes], name: str, exc: Exception) -> str:
    """Say whether an unreadable file is one of ours cut short, or something else."""
    fp.seek(0)
    head = fp.read(30 + len(MANIFEST))
    if head[:4] == _ZIP_LOCAL_HEADER and head[30:] == MANIFEST.encode():
        return (f"{name} is a truncated or corrupt handbook_lib checkpoint (its zip directory "
                f"cannot be read: {exc}). It was probably cut short while being copied or "
                "downloaded; copy it again.")
    return (f"{name} is not a handbook_lib checkpoint (not a zip archive: {exc}). "
            "handbook_lib.load reads only files written by handbook_lib.save.")


def _stored_member(archive: zipfile.ZipFile, member: str, name: str,
                   archive_size: int | None = None) -> zipfile.ZipInfo:
    """The member's entry, refused unless stored plainly as ``save`` writes it."""
    info = archive.getinfo(member)
    if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:
        raise CheckpointError(f"{name} is not a checkpoint written by handbook_lib.save: member "
                              f"{member!r} is compressed or encrypted (save stores members "
                              "uncompressed, so a small file cannot expand without bound)")
    if archive_size is not None and info.compress_size > archive_size:
        raise CheckpointError(f"{name} is a corrupt handbook_lib checkpoint: member {member!r} "
                              f"declares {info.compress_size} bytes, more than the file holds")
    return info


def _read_manifest(archive: zipfile.ZipFile, name: str, limits: _Limits) -> dict:
    names = archive.namelist()
    if MANIFEST not in names:
        hint = (" It looks like a file written by torch.save, which handbook_lib cannot read "
                "because that format runs pickle on load." if any(n.endswith("data.pkl")
                                                                   for n in names) else "")
        raise CheckpointError(f"{name} is not a handbook_lib checkpoint: it is a zip archive "
                              f"without {MANIFEST}.{hint}")
    info = _stored_member(archive, MANIFEST, name)
    if info.file_size > limits.max_manifest_bytes:
        raise CheckpointError(
            f"{name} has a manifest of {info.file_size} bytes, over the limit of "
            f"{limits.max_manifest_bytes}. If you trust this file, load it with "
            f"hl.load(path, max_manifest_bytes={info.file_size})")
    try:
        manifest = json.loads(archive.read(MANIFEST).decode("utf-8"))
    except _CORRUPTION as exc:
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


class _ArrayReader:
    """Reads ``arrays/N.npy`` members, each once, checking its header against its size."""

    def __init__(self, archive: zipfile.ZipFile, name: str, size: int, limits: _Limits) -> None:
        self.archive, self.name, self.size, self.limits = archive, name, size, limits
        self.cache: dict = {}

    def read(self, member: str) -> np.ndarray:
        if not isinstance(member, str):
            raise TypeError(f"array reference {member!r} is not a member name")
        if member not in self.cache:
            self.cache[member] = self._read(member)
        return self.cache[member]

    def _read(self, member: str) -> np.ndarray:
        info = _stored_member(self.archive, member, self.name, self.size)
        with self.archive.open(info) as fp:
            shape, fortran_order, dtype = _read_npy_header(fp)
            if dtype.hasobject:
                raise ValueError(f"member {member!r} holds Python objects (a pickle)")
            nbytes = math.prod(shape) * dtype.itemsize
            if nbytes != info.file_size - fp.tell():
                raise ValueError(f"member {member!r} declares {nbytes} bytes of data but holds "
                                 f"{info.file_size - fp.tell()}")
            self.limits.charge(nbytes)
            buffer = bytearray(nbytes)
            if fp.readinto(buffer) != nbytes or fp.read(1):  # reading to the end checks the CRC
                raise ValueError(f"member {member!r} is shorter or longer than declared")
        array = np.frombuffer(buffer, dtype=dtype)
        return array.reshape(shape[::-1]).T if fortran_order else array.reshape(shape)


def _read_npy_header(fp) -> tuple:
    version = np.lib.format.read_magic(fp)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(fp)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(fp)
    raise ValueError(f"unsupported .npy format version {version}")


_CONTAINERS = {"dict": dict, "OrderedDict": OrderedDict}


def _decode(node: Any, reader: _ArrayReader, map_location: MapLocation, memo: dict,
            depth: int) -> Any:
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if depth > _MAX_DEPTH:
        raise ValueError(f"entries nested more than {_MAX_DEPTH} levels deep")
    kind = node["type"]
    inner = depth + 1
    if kind in _CONTAINERS:
        return _CONTAINERS[kind]((_decode(k, reader, map_location, memo, inner),
                                  _decode(v, reader, map_location, memo, inner))
                                 for k, v in node["items"])
    if kind in ("list", "tuple"):
        items = [_decode(v, reader, map_location, memo, inner) for v in node["items"]]
        return items if kind == "list" else tuple(items)
    if kind == "float":
        return float(node["value"])
    if kind == "tensor":
        if node["array"] not in memo:
            memo[node["array"]] = _make_tensor(reader.read(node["array"]),
                                               node["device"], map_location,
                                               node["requires_grad"])
        return memo[node["array"]]
    if kind == "ndarray":
        return reader.read(node["array"])
    if kind == "numpy_scalar":
        return reader.read(node["array"])[()]
    raise ValueError(f"unknown entry type {kind!r}")


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
