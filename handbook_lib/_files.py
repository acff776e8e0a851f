"""Writing files so that readers never see half of one."""
from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import uuid
from typing import IO, Iterator

_TEMP_PREFIX = ".hl-"
_TEMP_SUFFIX = ".tmp"


def _temp_stem(name: str) -> str:
    """The start of every temporary name for target ``name``: short whatever ``name``'s length,
    so that a 250-character file name (the limit is 255 bytes) can still be written."""
    return _TEMP_PREFIX + hashlib.sha1(name.encode("utf-8", "surrogateescape")).hexdigest()[:12]


def _temp_name(name: str) -> str:
    """``.hl-<target hash>-<pid>-<random>.tmp``: the pid says whether its writer is still alive."""
    return f"{_temp_stem(name)}-{os.getpid()}-{uuid.uuid4().hex[:6]}{_TEMP_SUFFIX}"


def _writer_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True  # another save of ours, perhaps in another thread
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists, owned by someone else
    return True


def remove_stale_temporaries(directory: str, name: str) -> list[str]:
    """Delete temporary files of target ``name`` left by a writer that was killed mid-way.

    A temporary whose writer process is still running is left alone. Returns the removed names.
    """
    stem = _temp_stem(name) + "-"
    removed = []
    try:
        entries = os.listdir(directory)
    except OSError:
        return removed
    for entry in entries:
        if not (entry.startswith(stem) and entry.endswith(_TEMP_SUFFIX)):
            continue
        pid_text = entry[len(stem):].split("-", 1)[0]
        if pid_text.isdigit() and not _writer_alive(int(pid_text)):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(directory, entry))
                removed.append(entry)
    return removed


def _existing_mode(path: str) -> int | None:
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return None


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[IO[bytes]]:
    """Write ``path`` all at once or not at all.

    Yields a binary file: a temporary file in the same directory (so that the final rename
    stays on one file system). When the block ends normally the file is flushed to disk and
    renamed over ``path`` (``os.replace`` is atomic); when it raises, even ``KeyboardInterrupt``,
    the temporary file is removed and ``path`` is left as it was. Writing over an existing file
    keeps its permission bits. Temporaries of the same target left by a killed writer are
    removed first.
    """
    directory, name = os.path.split(os.path.abspath(path))
    remove_stale_temporaries(directory, name)
    tmp = os.path.join(directory, _temp_name(name))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as fp:
            yield fp
            fp.flush()
            os.fsync(fp.fileno())
        mode = _existing_mode(path)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
