"""``handbook_lib.multiprocessing``: Python's multiprocessing, plus tensors in shared memory.

As ``torch.multiprocessing``: every name of :mod:`multiprocessing` (``Process``, ``Queue``,
``get_context``, ...), ``spawn(fn, args, nprocs)`` and, on tensors, ``share_memory_()``: the
data moves into a shared-memory file, and a tensor sent to another process (through a
``Queue`` or as a ``Process`` argument) then refers to the same memory instead of a copy, so
``Module.share_memory()`` lets several processes train one model (Hogwild).
"""
from __future__ import annotations

import multiprocessing as _mp
import time
import traceback
from multiprocessing import *  # noqa: F401,F403
from typing import Callable

from ._shared import is_shared, share_memory_

__all__ = [name for name in _mp.__all__] + ["ProcessContext", "ProcessRaisedException",
                                             "ProcessExitedException", "spawn", "start_processes",
                                             "is_shared", "share_memory_"]


class ProcessRaisedException(Exception):
    """A spawned process raised: the message holds its traceback."""

    def __init__(self, msg: str, error_index: int, error_pid: int) -> None:
        super().__init__(msg)
        self.error_index, self.pid = error_index, error_pid


class ProcessExitedException(Exception):
    """A spawned process ended with a non-zero exit code (or a signal)."""

    def __init__(self, msg: str, error_index: int, error_pid: int, exit_code: int) -> None:
        super().__init__(msg)
        self.error_index, self.pid, self.exit_code = error_index, error_pid, exit_code


def _wrap(fn: Callable, index: int, args: tuple, errors) -> None:
    try:
        fn(index, *args)
    except KeyboardInterrupt:
        pass
    except Exception:
        errors.put((index, traceback.format_exc()))
        raise SystemExit(1)


class ProcessContext:
    """The processes started by ``spawn``; ``join()`` waits and re-raises a failure."""

    def __init__(self, processes: list, errors) -> None:
        self.processes = processes
        self.error_queue = errors

    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def join(self, timeout: float | None = None) -> bool:
        """True when all finished; False if ``timeout`` passed first. On the first failure the
        others are terminated and the failure is raised here."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            for index, process in enumerate(self.processes):
                process.join(0.01)
                if process.exitcode not in (None, 0):
                    self._terminate_all()
                    self._raise(index, process)
            if all(p.exitcode == 0 for p in self.processes):
                return True
            if deadline is not None and time.monotonic() > deadline:
                return False

    def _terminate_all(self) -> None:
        for process in self.processes:
            if process.is_alive():
                process.terminate()
            process.join(5)

    def _raise(self, index: int, process) -> None:
        if not self.error_queue.empty():
            failed, text = self.error_queue.get()
            raise ProcessRaisedException(
                f"\n\n-- Process {failed} terminated with the following error:\n{text}",
                failed, self.processes[failed].pid)
        code = process.exitcode
        how = f"signal {-code}" if code < 0 else f"exit code {code}"
        raise ProcessExitedException(f"process {index} terminated with {how}", index,
                                     process.pid, code)


def start_processes(fn: Callable, args: tuple = (), nprocs: int = 1, join: bool = True,
                    daemon: bool = False, start_method: str = "spawn"):
    context = _mp.get_context(start_method)
    errors = context.SimpleQueue()
    processes = []
    for index in range(nprocs):
        process = context.Process(target=_wrap, args=(fn, index, args, errors), daemon=daemon)
        process.start()
        processes.append(process)
    result = ProcessContext(processes, errors)
    if not join:
        return result
    result.join()
    return None


def spawn(fn: Callable, args: tuple = (), nprocs: int = 1, join: bool = True,
          daemon: bool = False, start_method: str = "spawn"):
    """Run ``fn(i, *args)`` in ``nprocs`` new processes, ``i = 0 .. nprocs-1``. With ``join``,
    wait for all; the first failure terminates the others and is raised with its traceback."""
    return start_processes(fn, args, nprocs, join, daemon, start_method)
