"""What runs inside a ``DataLoader`` worker process, and what it sends back.

A worker waits on its index queue for ``(task_id, indices)``, fetches and collates that
batch, and puts ``(task_id, batch)`` on the shared result queue.  Tensors cross the process
boundary as numpy arrays (``Tensor.__reduce_ex__``).  An exception becomes an
``ExceptionWrapper`` that the main process re-raises with the worker's traceback.
"""
from __future__ import annotations

import multiprocessing.queues
import os
import queue
import random
import sys
import traceback
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

import handbook_lib as hl

__all__ = ["WorkerInfo", "get_worker_info"]

STATUS_CHECK_INTERVAL = 1.0  # seconds between checks that the other side is still alive

_worker_info: WorkerInfo | None = None


class WorkerInfo:
    """Who this worker is: ``id``, ``num_workers``, ``seed`` and its copy of ``dataset``."""

    __initialized = False

    def __init__(self, **kwargs: Any) -> None:
        for name, value in kwargs.items():
            setattr(self, name, value)
        self.__keys = tuple(kwargs)
        self.__initialized = True

    def __setattr__(self, key: str, value: Any) -> None:
        if self.__initialized:
            raise RuntimeError(f"Cannot assign attributes to {self.__class__.__name__} objects")
        super().__setattr__(key, value)

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={getattr(self, k)}" for k in self.__keys)
        return f"{self.__class__.__name__}({fields})"


def get_worker_info() -> WorkerInfo | None:
    """In a ``DataLoader`` worker process, its ``WorkerInfo``; in the main process, ``None``.

    An ``IterableDataset`` uses it to give each worker its own share of the stream::

        info = get_worker_info()
        if info is not None:
            start = info.id   # and step info.num_workers
    """
    return _worker_info


class KeyErrorMessage(str):
    """A ``KeyError`` prints ``repr`` of its message; this keeps a traceback readable."""

    def __repr__(self) -> str:
        return self


class ExceptionWrapper:
    """An exception caught in a worker, carried to the main process as its type and text."""

    def __init__(self, where: str) -> None:
        exc_type, exc_value, exc_tb = sys.exc_info()
        self.exc_type = exc_type
        self.exc_msg = "".join(traceback.format_exception(exc_type, exc_value, exc_tb))
        self.where = where

    def reraise(self) -> None:
        """Raise the exception again, its message holding the worker's traceback."""
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.exc_msg}"
        if self.exc_type is KeyError:
            msg = KeyErrorMessage(msg)
        try:
            exception = self.exc_type(msg)
        except Exception:  # the exception type wants other arguments
            raise RuntimeError(msg) from None
        try:
            raise exception
        finally:
            del exception  # no exception -> traceback -> frame -> exception cycle


@dataclass(frozen=True)
class IterableDatasetStopIteration:
    """Sent by a worker whose ``IterableDataset`` is exhausted."""

    worker_id: int


@dataclass(frozen=True)
class ResumeIteration:
    """Tells a persistent worker that a new epoch begins (and is echoed back as an ack)."""


def seed_worker(base_seed: int, worker_id: int) -> int:
    """Seed handbook_lib's, numpy's global and ``random``'s generators for this worker.

    ``seed = base_seed + worker_id`` for handbook_lib and ``random``, as PyTorch; numpy's
    legacy global generator takes a well-mixed state from ``SeedSequence([worker_id,
    base_seed])``, so that neighbouring seeds do not give correlated streams.
    """
    seed = base_seed + worker_id
    random.seed(seed)
    hl.manual_seed(seed)
    np.random.seed(np.random.SeedSequence([worker_id, base_seed]).generate_state(4))
    return seed


def worker_loop(fetcher_factory: Callable[[], Any], dataset: Any, is_iterable: bool,
                index_queue, data_queue, done_event, base_seed: int,
                init_fn: Callable[[int], None] | None, worker_id: int, num_workers: int) -> None:
    """The body of a worker process; returns when told to stop or when the parent dies."""
    global _worker_info
    parent = os.getppid()
    try:
        seed = seed_worker(base_seed, worker_id)
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed,
                                  dataset=dataset)
        where = f"in DataLoader worker process {worker_id}"
        init_error = None
        fetcher = None
        try:
            if init_fn is not None:
                init_fn(worker_id)
            fetcher = fetcher_factory()
        except Exception:
            init_error = ExceptionWrapper(where)
        _serve(fetcher, fetcher_factory, is_iterable, index_queue, data_queue, done_event,
               init_error, where, worker_id, parent)
    except KeyboardInterrupt:  # Ctrl-C reaches every process; the main process handles it
        pass
    finally:
        _leave(data_queue, done_event, parent)


def _leave(data_queue, done_event, parent: int) -> None:
    if done_event.is_set() or os.getppid() != parent:
        # Nobody will read the batches still buffered: exit without waiting for the queue's
        # feeder thread, which would block for ever on a full pipe (other workers keep it open).
        data_queue.cancel_join_thread()
        data_queue.close()


def _serve(fetcher, fetcher_factory, is_iterable, index_queue, data_queue, done_event,
           init_error, where, worker_id, parent: int) -> None:
    iteration_end = False
    while os.getppid() == parent:
        try:
            task = index_queue.get(timeout=STATUS_CHECK_INTERVAL)
        except queue.Empty:
            if done_event.is_set():
                break  # the stop message was lost (the main process is being torn down)
            continue
        except (EOFError, OSError):
            break  # the main process closed its end: it is gone
        if isinstance(task, ResumeIteration):
            data_queue.put((task, None))
            iteration_end = False
            if is_iterable and init_error is None:
                fetcher = fetcher_factory()  # a fresh iterator over the dataset
            continue
        if task is None:
            break
        if done_event.is_set() or iteration_end:
            continue
        task_id, indices = task
        if init_error is not None:
            data = init_error  # every task of this worker reports why it could not start
        else:
            try:
                data = fetcher.fetch(indices)
            except Exception as e:
                if is_iterable and isinstance(e, StopIteration):
                    data = IterableDatasetStopIteration(worker_id)
                    iteration_end = True
                else:
                    data = ExceptionWrapper(where)
        data_queue.put((task_id, data))
        del data  # do not hold the last batch while waiting for the next task


class ResultQueue(multiprocessing.queues.Queue):
    """The queue workers send batches on; a batch that cannot be pickled becomes an error.

    A plain ``multiprocessing.Queue`` prints such an error in the worker and drops the batch,
    which would leave the main process waiting for it forever.
    """

    def _on_queue_feeder_error(self, e: Exception, obj: Any) -> None:
        task_id = obj[0]
        worker_id = _worker_info.id if _worker_info is not None else "?"
        self.put((task_id, ExceptionWrapper(f"in DataLoader worker process {worker_id} "
                                            "while sending its batch")))
