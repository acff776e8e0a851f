"""Downloading weights once, verified, into a cache: the part of ``torch.hub`` models use.

``load_state_dict_from_url(url)`` keeps each file in ``get_dir()/checkpoints``. A download goes to
a temporary file and is renamed into place only once it is complete and its SHA-256 matches,
so the cache never holds half a file or a wrong one. The file may be a handbook_lib checkpoint
(``handbook_lib.save``) or a ``torch.save`` archive (read without torch, refusing anything but
tensors and containers); tensors come back as handbook_lib tensors.

The cache folder is ``$HANDBOOK_LIB_HOME/hub``, else ``$XDG_CACHE_HOME/handbook_lib/hub``, else
``~/.cache/handbook_lib/hub``; :func:`set_dir` changes it.
"""
from __future__ import annotations

import hashlib
import os
import re
import sys
import urllib.parse
import urllib.request
from typing import Any

import numpy as np

from . import _torch_checkpoint
from ._files import atomic_write

__all__ = ["download_url_to_file", "get_dir", "load_state_dict_from_url", "set_dir"]

_hub_dir: str | None = None
HASH_REGEX = re.compile(r"-([a-f0-9]*)\.")  # torchvision's names end in -<sha256 prefix>.pth
_CHUNK = 1 << 20


def get_dir() -> str:
    """The folder that caches downloads (see the module docstring)."""
    if _hub_dir is not None:
        return _hub_dir
    if "HANDBOOK_LIB_HOME" in os.environ:
        return os.path.join(os.path.expanduser(os.environ["HANDBOOK_LIB_HOME"]), "hub")
    cache = os.environ.get("XDG_CACHE_HOME", os.path.join("~", ".cache"))
    return os.path.join(os.path.expanduser(cache), "handbook_lib", "hub")


def set_dir(d: str | os.PathLike) -> None:
    """Cache downloads in ``d`` from now on."""
    global _hub_dir
    _hub_dir = os.path.expanduser(os.fspath(d))


def sha256_of(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fp:
        while chunk := fp.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def download_url_to_file(url: str, dst: str | os.PathLike, hash_prefix: str | None = None,
                         progress: bool = True, timeout: float = 30.0) -> None:
    """Download ``url`` to ``dst``, atomically; with ``hash_prefix``, the file's SHA-256 must
    start with it or nothing is written.

    Raises:
        urllib.error.URLError, OSError: the server could not be reached or broke off.
        RuntimeError: the download is incomplete or its hash does not match.
    """
    os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
    request = urllib.request.Request(url, headers={"User-Agent": "handbook_lib"})
    with urllib.request.urlopen(request, timeout=timeout) as response, atomic_write(dst) as fp:
        length = response.headers.get("Content-Length")
        digest, received = hashlib.sha256(), 0
        while chunk := response.read(_CHUNK):
            digest.update(chunk)
            fp.write(chunk)
            received += len(chunk)
            if progress:
                total = f" of {int(length) >> 20} MB" if length else ""
                print(f"\r{received >> 20} MB{total}", end="", file=sys.stderr)
        if progress:
            print(file=sys.stderr)
        if length is not None and received != int(length):
            raise RuntimeError(f"incomplete download of {url}: got {received} of {length} bytes")
        if hash_prefix is not None and not digest.hexdigest().startswith(hash_prefix):
            raise RuntimeError(f'invalid hash value (expected "{hash_prefix}", got '
                               f'"{digest.hexdigest()}") for {url}')


def load_state_dict_from_url(url: str, model_dir: str | os.PathLike | None = None,
                             map_location: Any = None, progress: bool = True,
                             check_hash: bool = False, file_name: str | None = None,
                             weights_only: bool = True, hash_prefix: str | None = None) -> Any:
    """Download ``url`` into the cache unless it is there, and load it.

    Args:
        url: the file's address (``http(s)://`` or ``file://``).
        model_dir: the cache folder; ``get_dir()/checkpoints`` by default.
        map_location: passed to :func:`handbook_lib.load`.
        progress: print the downloaded megabytes.
        check_hash: verify the SHA-256: against ``hash_prefix`` when given, else against the
            ``-<hex>.`` part of the file name (torchvision's convention). A cached file is
            checked too, and a mismatch names the file to delete.
        file_name: the name in the cache; the URL's last part by default.
        weights_only: accepted for PyTorch's signature; loading never runs pickled code.
        hash_prefix: the expected SHA-256 or a prefix of it (handbook_lib's registry gives it).
    """
    model_dir = os.fspath(model_dir) if model_dir is not None else os.path.join(get_dir(),
                                                                               "checkpoints")
    filename = file_name or os.path.basename(urllib.parse.urlparse(url).path)
    cached = os.path.join(model_dir, filename)
    expected = _expected_hash(filename, hash_prefix) if check_hash else None
    if not os.path.exists(cached):
        print(f'Downloading: "{url}" to {cached}', file=sys.stderr)
        download_url_to_file(url, cached, expected, progress=progress)
    elif expected is not None and not sha256_of(cached).startswith(expected):
        raise RuntimeError(f"{cached} has SHA-256 {sha256_of(cached)}, expected {expected}...: "
                           "the cached file is corrupt or a different file. Delete it to "
                           "download it again.")
    return load_file(cached, map_location)


def _expected_hash(filename: str, hash_prefix: str | None) -> str:
    if hash_prefix is not None:
        return hash_prefix
    match = HASH_REGEX.search(filename)
    if match is None or not match.group(1):
        raise RuntimeError(f"check_hash=True needs a hash: {filename} has no '-<sha256>.' part "
                           "and no hash_prefix was given")
    return match.group(1)


def load_file(path: str, map_location: Any = None) -> Any:
    """A handbook_lib checkpoint or a ``torch.save`` zip archive, with handbook_lib tensors."""
    import handbook_lib as hl

    if _torch_checkpoint.is_torch_zip(path):
        return _to_tensors(_torch_checkpoint.load_torch_zip(path))
    try:
        return hl.load(path, map_location=map_location)
    except Exception as exc:
        raise RuntimeError(f"{path} is neither a handbook_lib checkpoint nor a torch.save zip "
                           f"archive ({exc}). An older torch checkpoint can be converted with "
                           "scripts/convert_torch_checkpoint.py.") from None


def _to_tensors(obj: Any) -> Any:
    import handbook_lib as hl

    if isinstance(obj, np.ndarray):
        return hl.from_numpy(obj)
    if isinstance(obj, dict):
        out = type(obj)((k, _to_tensors(v)) for k, v in obj.items())
        return out
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_tensors(v) for v in obj)
    return obj
