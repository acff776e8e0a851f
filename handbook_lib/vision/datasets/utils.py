"""Downloading with hash checks, extracting archives atomically, and reading the formats the
datasets are distributed in (IDX for MNIST, pickled batches for CIFAR)."""
from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import pickle
import shutil
import tarfile
import time
import urllib.request
import uuid
import zlib
from typing import IO

import numpy as np

from ..._files import atomic_write

USER_AGENT = "handbook_lib"
_CHUNK = 1 << 20


def calculate_md5(fpath: str | os.PathLike, chunk_size: int = _CHUNK) -> str:
    """The MD5 hex digest of a file's contents."""
    md5 = hashlib.md5(usedforsecurity=False)
    with open(fpath, "rb") as fp:
        while chunk := fp.read(chunk_size):
            md5.update(chunk)
    return md5.hexdigest()


def check_integrity(fpath: str | os.PathLike, md5: str | None = None) -> bool:
    """True if ``fpath`` exists and (when ``md5`` is given) has that MD5."""
    if not os.path.isfile(fpath):
        return False
    return md5 is None or calculate_md5(fpath) == md5


DEADLINE = 900.0  # seconds a whole download may take by default
STALL_TIMEOUT = 60.0  # seconds within which a download must receive STALL_BYTES
STALL_BYTES = 16 * 1024


def download_url(url: str, root: str | os.PathLike, filename: str | None = None,
                 md5: str | None = None, timeout: float = 30.0, *,
                 deadline: float | None = DEADLINE,
                 stall_timeout: float | None = STALL_TIMEOUT) -> str:
    """Download ``url`` to ``root/filename`` and check its MD5; return the path.

    The bytes go to a temporary file beside the target and are renamed into place only once
    the download is complete and the hash matches, so an interrupted or bad download never
    leaves a partial file. A file already there with the right hash is not downloaded again.

    ``timeout`` bounds connecting and each read; ``deadline`` the whole download; and
    ``stall_timeout`` how long it may go without receiving ``STALL_BYTES`` (16 KiB), so a
    server that trickles a byte at a time is given up on too. ``None`` turns one off.

    Raises:
        urllib.error.URLError, OSError, http.client.HTTPException: the server could not be
            reached or broke off; TimeoutError (an OSError) past ``deadline`` or stalled.
        RuntimeError: the download is incomplete or its MD5 is not ``md5``.
    """
    path = os.path.join(root, filename or os.path.basename(url))
    if check_integrity(path, md5):
        return path
    os.makedirs(root, exist_ok=True)
    print(f"Downloading {url} to {path}")
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    clock = _Progress(url, deadline, stall_timeout)
    with urllib.request.urlopen(request, timeout=timeout) as response, atomic_write(path) as fp:
        digest = _copy_with_md5(response, fp, response.headers.get("Content-Length"), clock)
        if md5 is not None and digest != md5:
            raise RuntimeError(f"{url} has MD5 {digest}, expected {md5}: the file on this server "
                               "is corrupt or a different file")
    return path


class _Progress:
    """Checks a download against its overall deadline and its stall timeout."""

    def __init__(self, url: str, deadline: float | None, stall_timeout: float | None) -> None:
        self.url, self.deadline, self.stall_timeout = url, deadline, stall_timeout
        self.start = self.window_start = time.monotonic()
        self.received = self.window_bytes = 0

    def advance(self, nbytes: int) -> None:
        now = time.monotonic()
        self.received += nbytes
        self.window_bytes += nbytes
        if self.deadline is not None and now - self.start > self.deadline:
            raise TimeoutError(f"downloading {self.url} took longer than its deadline of "
                               f"{self.deadline:g} s ({self.received} bytes received); pass a "
                               "larger deadline= for a slow connection")
        if self.window_bytes >= STALL_BYTES:
            self.window_start, self.window_bytes = now, 0
        elif self.stall_timeout is not None and now - self.window_start > self.stall_timeout:
            raise TimeoutError(f"downloading {self.url} stalled: fewer than {STALL_BYTES} bytes "
                               f"in {self.stall_timeout:g} s ({self.received} bytes received)")


def _copy_with_md5(source: IO[bytes], target: IO[bytes], length: str | None,
                   progress: _Progress) -> str:
    md5 = hashlib.md5(usedforsecurity=False)
    received = 0
    read = getattr(source, "read1", source.read)  # read1 returns what has arrived, not 1 MiB
    while chunk := read(_CHUNK):
        progress.advance(len(chunk))
        md5.update(chunk)
        target.write(chunk)
        received += len(chunk)
    if length is not None and received != int(length):
        raise RuntimeError(f"incomplete download: got {received} of {length} bytes")
    return md5.hexdigest()


def download_from_mirrors(filename: str, md5: str, mirrors: list[str] | tuple[str, ...],
                          root: str | os.PathLike) -> str:
    """Download ``filename`` from the first of ``mirrors`` that serves it with the right MD5.

    Raises:
        RuntimeError: every mirror failed; the message lists each URL with its error.
    """
    errors = []
    for mirror in mirrors:
        url = f"{mirror}{filename}"
        try:
            return download_url(url, root, filename, md5)
        except (OSError, http.client.HTTPException, RuntimeError, ValueError) as exc:
            print(f"Failed to download (trying next):\n{exc}\n")
            errors.append(f"  {url}: {exc}")
    raise RuntimeError(f"Error downloading {filename}: every mirror failed.\n" + "\n".join(errors))


# --- IDX -----------------------------------------------------------------------------------------
# http://yann.lecun.com/exdb/mnist/: magic = 0x00 0x00 <type code> <number of dimensions>,
# then one big-endian int32 per dimension, then the data in C order, big-endian.
IDX_TYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (gzip-compressed when its name ends in ``.gz``) into a numpy array.

    Multi-byte types come back in the machine's byte order.

    Raises:
        RuntimeError: the file is not IDX, is truncated, or has bytes left over.
    """
    try:
        with (gzip.open if os.fspath(path).endswith(".gz") else open)(path, "rb") as fp:
            raw = fp.read()
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise RuntimeError(f"{path} is corrupt or truncated ({exc}). Delete it and download it "
                           "again.") from None
    return parse_idx(raw, str(path))


def parse_idx(raw: bytes, name: str = "the data") -> np.ndarray:
    """Parse the bytes of an IDX file; see :func:`read_idx`."""
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_TYPES:
        raise RuntimeError(f"{name} is not an IDX file: its magic number is {raw[:4].hex()!r}, "
                           "expected 0000 followed by a type code (08, 09, 0b, 0c, 0d or 0e) "
                           "and the number of dimensions")
    dtype, ndim = IDX_TYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise RuntimeError(f"{name} is truncated: its header needs {header} bytes, "
                           f"the file has {len(raw)}")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        problem = "truncated" if len(raw) < expected else "longer than its header says"
        raise RuntimeError(f"{name} is {problem}: an IDX array of shape {shape} and dtype "
                           f"{dtype} takes {expected} bytes, the file has {len(raw)}")
    array = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))  # a writable copy in native byte order


# --- archives ------------------------------------------------------------------------------------
def extract_archive_atomically(archive: str | os.PathLike, root: str | os.PathLike,
                               folder: str) -> str:
    """Extract the tar archive ``archive`` (which must hold ``folder``) and move ``folder`` into
    ``root`` in one rename: until then it lives in a temporary folder beside it, so an error or
    Ctrl-C never leaves half an extraction where the dataset looks for its files.

    Raises:
        RuntimeError: the archive is unreadable, unsafe (paths leaving the folder) or lacks
            ``folder``.
    """
    target = os.path.join(root, folder)
    tmp = os.path.join(root, f".{folder}.{uuid.uuid4().hex[:8]}.tmp")
    os.makedirs(tmp)
    try:
        try:
            with tarfile.open(archive) as tar:
                tar.extractall(tmp, filter="data")
        except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
            raise RuntimeError(f"{archive} is corrupt or truncated ({exc}). Delete it and "
                               "download it again.") from None
        extracted = os.path.join(tmp, folder)
        if not os.path.isdir(extracted):
            raise RuntimeError(f"{archive} does not contain the folder {folder}")
        if os.path.isdir(target):
            shutil.rmtree(target)
        os.replace(extracted, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles dicts, lists and numpy arrays, and refuses everything else (a pickle can
    otherwise call any function)."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray",
                                                           "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
               ("numpy._core.multiarray", "scalar"), ("collections", "OrderedDict"),
               ("_codecs", "encode")}  # how protocol-2 pickles spell bytes

    def find_class(self, module: str, name: str):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: a data file should "
                                     "only hold arrays, lists and dicts")


def load_array_pickle(path: str | os.PathLike) -> object:
    """A pickled batch of the CIFAR kind (Python 2 pickles read as Latin-1), safely."""
    try:
        with open(path, "rb") as fp:
            return _ArrayUnpickler(fp, encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError) as exc:
        raise RuntimeError(f"{path} is not a readable data batch ({exc}). Delete it and "
                           "download the dataset again.") from None
