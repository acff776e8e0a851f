"""Writing files so that readers never see half of one."""
from __future__ import annotations

import contextlib
import os
import uuid
from typing import IO, Iterator


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike) -> Iterator[IO[bytes]]:
    """Write ``path`` all at once or not at all.

    Yields a binary file: a temporary file in the same directory (so that the final rename
    stays on one file system). When the block ends normally the file is flushed to disk and
    renamed over ``path`` (``os.replace`` is atomic); when it raises, even ``KeyboardInterrupt``,
    the temporary file is removed and ``path`` is left as it was.
    """
    directory, name = os.path.split(os.path.abspath(path))
    tmp = os.path.join(directory, f".{name}.{uuid.uuid4().hex[:8]}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as fp:
            yield fp
            fp.flush()
            os.fsync(fp.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
