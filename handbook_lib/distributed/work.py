"""Work handles: a started communication that finishes later, waited on with a deadline.

MPI's ``Wait`` has no timeout, so a rank that died or hangs would block the others forever.
Every wait here polls the requests (``Testall``, which also drives MPI's progress) until they
complete or the process group's deadline passes; then it raises an error that says which ranks
look unhealthy.
"""
from __future__ import annotations

import time
from typing import Callable, Sequence

SPIN_SECONDS = 0.05  # poll without pause this long: MPI progresses only while it is polled
MAX_SLEEP = 2e-4     # then pause between polls, at most this long (a long wait, e.g. a barrier)


class DistTimeoutError(RuntimeError):
    """A collective or point-to-point operation did not finish within the timeout."""


def poll_until_done(test: Callable[[], bool], timeout: float, describe: Callable[[], str]) -> None:
    """Call ``test()`` until it returns True; raise ``DistTimeoutError`` after ``timeout`` s.

    A non-blocking MPI operation advances only inside MPI calls, so the first
    ``SPIN_SECONDS`` poll back to back (as ``MPI_Wait`` would); a longer wait pauses briefly
    between polls so that it does not take a core from the ranks still computing."""
    if test():
        return
    start = time.monotonic()
    spin_until, deadline, pause = start + SPIN_SECONDS, start + timeout, 1e-6
    while not test():
        now = time.monotonic()
        if now > deadline:
            raise DistTimeoutError(describe())
        if now > spin_until:
            time.sleep(pause)
            pause = min(pause * 2, MAX_SLEEP)


class Work:
    """What ``async_op=True`` returns: ``wait()`` finishes the operation, ``is_completed()``
    asks without blocking. ``finish`` runs once, after the requests complete (copy a staged
    buffer back, divide for AVG)."""

    def __init__(self, requests: Sequence, group, name: str,
                 finish: Callable[[], None] | None = None, test=None) -> None:
        self._requests = list(requests)
        self._group = group
        self._name = name
        self._finish = finish
        if test is None:
            test = self._requests[0].Test if len(self._requests) == 1 else self._test_requests
        self._test = test
        self._done = False
        self.result_value = None

    def _test_requests(self) -> bool:
        from mpi4py import MPI

        return MPI.Request.Testall(self._requests)

    def _complete(self) -> None:
        self._done = True
        if self._finish is not None:
            finish, self._finish = self._finish, None
            finish()

    def is_completed(self) -> bool:
        if not self._done and self._test():
            self._complete()
        return self._done

    def wait(self, timeout=None) -> bool:
        """Block until done; ``timeout`` (seconds or timedelta) defaults to the group's."""
        if self._done:
            return True
        seconds = self._group.timeout_seconds if timeout is None else _seconds(timeout)
        poll_until_done(self._test, seconds,
                        lambda: self._group.describe_timeout(self._name, seconds))
        self._complete()
        return True

    def result(self):
        return self.result_value

    def __repr__(self) -> str:
        state = "completed" if self._done else "pending"
        return f"<Work {self._name} ({state})>"


class CompletedWork(Work):
    """A work handle for an operation that already finished (one rank, nothing to send)."""

    def __init__(self, group, name: str) -> None:
        super().__init__([], group, name)
        self._done = True


def _seconds(timeout) -> float:
    return timeout.total_seconds() if hasattr(timeout, "total_seconds") else float(timeout)
