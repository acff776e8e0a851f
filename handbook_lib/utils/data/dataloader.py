"""``DataLoader``: batches from a dataset, in the main process or in worker processes.

With ``num_workers=0`` the iterator fetches each batch itself.  With ``num_workers > 0`` it
starts that many processes; each has its own index queue, and all share one result queue:

    main ─(task_id, indices)─▶ index queue k ─▶ worker k ─(task_id, batch)─▶ result queue

The main process keeps ``prefetch_factor`` tasks in flight per worker, hands them out round
robin, and returns the batches in task order, holding early arrivals until their turn.
"""
from __future__ import annotations

import atexit
import functools
import itertools
import multiprocessing
import multiprocessing.context
import os
import queue
import signal
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

import handbook_lib as hl

from . import _worker
from ._fetch import create_fetcher
from .collate import default_collate, default_convert
from .dataset import Dataset, IterableDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler, draw_seed

T_co = TypeVar("T_co", covariant=True)

__all__ = ["DataLoader"]

_python_exiting = False


@atexit.register
def _mark_python_exiting() -> None:
    global _python_exiting
    _python_exiting = True  # from here on, multiprocessing itself ends the daemonic workers


class _InfiniteConstantSampler(Sampler[None]):
    """The sampler of an ``IterableDataset``: ``None`` forever (the dataset decides the end)."""

    def __iter__(self) -> Iterator[None]:
        while True:
            yield None


class DataLoader(Generic[T_co]):
    """Iterate over ``dataset`` in batches, like ``torch.utils.data.DataLoader``.

    Args:
        dataset: a map-style ``Dataset`` or an ``IterableDataset``.
        batch_size: samples per batch; ``None`` turns batching off (one sample at a time,
            passed through ``default_convert``).
        shuffle: a new random order every epoch (``RandomSampler``), drawn from ``generator``.
        sampler, batch_sampler: the order of indices, or of batches of indices.
        num_workers: worker processes; 0 loads in the main process.
        collate_fn: merges a list of samples into a batch (``default_collate``).
        pin_memory: accepted for compatibility; batches are ordinary host memory here.
        drop_last: drop the last batch when it is shorter than ``batch_size``.
        timeout: seconds to wait for a worker's batch before raising (0: wait for ever).
        worker_init_fn: called as ``worker_init_fn(worker_id)`` in each new worker, after
            seeding and before any data is loaded.
        multiprocessing_context: start method (``"fork"``, ``"spawn"``, ``"forkserver"``) or
            context.  The default is ``"fork"`` on Linux: fast, and it works in Jupyter for
            datasets defined in the notebook; elsewhere Python's default (``"spawn"``),
            which needs the dataset and functions to be importable.
        generator: the source of the shuffling order and of the workers' base seed.
        prefetch_factor: batches loaded in advance per worker (2 when workers are used).
        persistent_workers: keep the workers alive from one epoch to the next.

    Each worker seeds ``hl``'s global generator and ``random`` with ``base_seed +
    worker_id`` (``base_seed`` is drawn from ``generator`` or the global generator once per
    iterator), and numpy's global generator from both.  Workers hold a copy of the dataset
    (made by ``fork`` or by pickling), so changes they make are not seen by the main process.
    Under ``fork``, a worker must not use the GPU.
    """

    _frozen_after_init = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset",
                          "persistent_workers")
    __initialized = False

    def __init__(self, dataset: Dataset[T_co], batch_size: int | None = 1,
                 shuffle: bool | None = None, sampler: Sampler | None = None,
                 batch_sampler: Sampler | None = None, num_workers: int = 0,
                 collate_fn: Callable[[list], Any] | None = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Callable[[int], None] | None = None,
                 multiprocessing_context=None, generator: hl.Generator | None = None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False) -> None:
        prefetch_factor = _check_worker_options(num_workers, timeout, prefetch_factor,
                                                persistent_workers)
        self._is_iterable = isinstance(dataset, IterableDataset)
        if self._is_iterable:
            _check_iterable_options(shuffle, sampler, batch_sampler)
        shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")
        if sampler is None:
            if self._is_iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.dataset = dataset
        self.batch_size = batch_size
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.drop_last = drop_last
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = _resolve_context(multiprocessing_context, num_workers)
        self.generator = generator
        self.persistent_workers = persistent_workers
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self._iterator: _BaseDataLoaderIter | None = None
        self._len_called: int | None = None
        self.__initialized = True

    def __setattr__(self, attr: str, val: Any) -> None:
        if self.__initialized and attr in self._frozen_after_init:
            raise ValueError(f"{attr} attribute should not be set after "
                             f"{self.__class__.__name__} is initialized")
        super().__setattr__(attr, val)

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self) -> Sampler:
        return self.batch_sampler if self._auto_collation else self.sampler

    def __iter__(self) -> _BaseDataLoaderIter:
        """A new pass over the data (with persistent workers: the same workers, reset)."""
        if self.num_workers == 0:
            return _SingleProcessDataLoaderIter(self)
        if not self.persistent_workers:
            return _MultiProcessingDataLoaderIter(self)
        if self._iterator is None:
            self._iterator = _MultiProcessingDataLoaderIter(self)
        else:
            self._iterator._reset(self)
        return self._iterator

    def __len__(self) -> int:
        """Batches per epoch; for an ``IterableDataset``, computed from ``len(dataset)``."""
        if not self._is_iterable:
            return len(self._index_sampler)
        length = len(self.dataset)
        if self.batch_size is not None:
            if self.drop_last:
                length = length // self.batch_size
            else:
                length = -(-length // self.batch_size)
        self._len_called = length
        return length


def _check_worker_options(num_workers: int, timeout: float, prefetch_factor: int | None,
                          persistent_workers: bool) -> int | None:
    if num_workers < 0:
        raise ValueError("num_workers option should be non-negative; "
                         "use num_workers=0 to disable multiprocessing.")
    if timeout < 0:
        raise ValueError("timeout option should be non-negative")
    if num_workers == 0 and prefetch_factor is not None:
        raise ValueError("prefetch_factor option could only be specified in multiprocessing. "
                         "let num_workers > 0 to enable multiprocessing, otherwise set "
                         "prefetch_factor to None.")
    if num_workers > 0 and prefetch_factor is None:
        prefetch_factor = 2
    elif prefetch_factor is not None and prefetch_factor < 0:
        raise ValueError("prefetch_factor option should be non-negative")
    if persistent_workers and num_workers == 0:
        raise ValueError("persistent_workers option needs num_workers > 0")
    return prefetch_factor


def _check_iterable_options(shuffle, sampler, batch_sampler) -> None:
    if shuffle not in (False, None):
        raise ValueError("DataLoader with IterableDataset: expected unspecified shuffle "
                         f"option, but got shuffle={shuffle}")
    if sampler is not None:
        raise ValueError("DataLoader with IterableDataset: expected unspecified sampler "
                         f"option, but got sampler={sampler}")
    if batch_sampler is not None:
        raise ValueError("DataLoader with IterableDataset: expected unspecified batch_sampler "
                         f"option, but got batch_sampler={batch_sampler}")


def _resolve_context(context, num_workers: int) -> multiprocessing.context.BaseContext | None:
    if context is None:
        return None
    if num_workers == 0:
        raise ValueError("multiprocessing_context can only be used with multi-process "
                         f"loading (num_workers > 0), but got num_workers={num_workers}")
    if isinstance(context, str):
        methods = multiprocessing.get_all_start_methods()
        if context not in methods:
            raise ValueError("multiprocessing_context option should specify a valid start "
                             f"method in {methods!r}, but got "
                             f"multiprocessing_context={context!r}")
        return multiprocessing.get_context(context)
    if not isinstance(context, multiprocessing.context.BaseContext):
        raise TypeError("multiprocessing_context option should be a valid context object or "
                        "a string specifying the start method, but got "
                        f"multiprocessing_context={context}")
    return context


def _default_context() -> multiprocessing.context.BaseContext:
    """``fork`` on Linux (fast; works for classes defined in a notebook), else the default."""
    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


class _BaseDataLoaderIter:
    """What both iterators share: the sampler's iterator, the base seed, the length check."""

    def __init__(self, loader: DataLoader) -> None:
        self._dataset = loader.dataset
        self._is_iterable = loader._is_iterable
        self._index_sampler = loader._index_sampler
        self._auto_collation = loader._auto_collation
        self._drop_last = loader.drop_last
        self._collate_fn = loader.collate_fn
        self._num_workers = loader.num_workers
        self._base_seed = draw_seed(loader.generator)

    def _reset(self, loader: DataLoader, first_iter: bool = False) -> None:
        """Begin an epoch: a fresh pass over the sampler."""
        self._sampler_iter = iter(self._index_sampler)
        self._num_yielded = 0
        self._len_called = loader._len_called

    def __iter__(self) -> _BaseDataLoaderIter:
        return self

    def __next__(self) -> Any:
        data = self._next_data()
        self._num_yielded += 1
        if (self._is_iterable and self._len_called is not None
                and self._num_yielded > self._len_called):
            self._warn_length_exceeded()
        return data

    def __len__(self) -> int:
        return len(self._index_sampler)

    def _next_index(self) -> Any:
        return next(self._sampler_iter)

    def _next_data(self) -> Any:
        raise NotImplementedError

    def _warn_length_exceeded(self) -> None:
        msg = (f"Length of IterableDataset {self._dataset} was reported to be "
               f"{self._len_called} batches (when accessing len(dataloader)), but "
               f"{self._num_yielded} batches have been fetched. ")
        if self._num_workers > 0:
            msg += ("For multiprocessing data-loading, this could be caused by not properly "
                    "configuring the IterableDataset replica at each worker: use "
                    "get_worker_info() in __iter__ to give each worker its own share.")
        warnings.warn(msg)


class _SingleProcessDataLoaderIter(_BaseDataLoaderIter):
    """Fetches every batch in the main process, when it is asked for."""

    def __init__(self, loader: DataLoader) -> None:
        super().__init__(loader)
        self._fetcher = create_fetcher(self._dataset, self._is_iterable,
                                       self._auto_collation, self._collate_fn, self._drop_last)
        self._reset(loader, first_iter=True)

    def _next_data(self) -> Any:
        return self._fetcher.fetch(self._next_index())


class _MultiProcessingDataLoaderIter(_BaseDataLoaderIter):
    """Worker processes load batches ahead; this iterator hands them out in order.

    ``_task_info[task_id]`` is ``(worker_id,)`` while a task is out and ``(worker_id,
    batch)`` once its batch arrived early; ``_rcvd_idx`` is the next task to return.
    """

    def __init__(self, loader: DataLoader) -> None:
        self._workers: list = []
        self._shutdown = True  # until the workers exist
        super().__init__(loader)
        self._prefetch_factor = loader.prefetch_factor
        self._timeout = loader.timeout
        self._persistent_workers = loader.persistent_workers
        self._start_workers(loader)
        self._reset(loader, first_iter=True)

    def _start_workers(self, loader: DataLoader) -> None:
        _warn_if_too_many_workers(self._num_workers)
        ctx = loader.multiprocessing_context or _default_context()
        self._result_queue = _worker.ResultQueue(ctx=ctx)
        self._done_event = ctx.Event()
        self._index_queues = []
        fetcher_factory = functools.partial(create_fetcher, self._dataset, self._is_iterable,
                                            self._auto_collation, self._collate_fn,
                                            self._drop_last)
        self._shutdown = False
        for worker_id in range(self._num_workers):
            index_queue = ctx.Queue()
            index_queue.cancel_join_thread()
            worker = ctx.Process(
                target=_worker.worker_loop,
                args=(fetcher_factory, self._dataset, self._is_iterable, index_queue,
                      self._result_queue, self._done_event, self._base_seed,
                      loader.worker_init_fn, worker_id, self._num_workers),
                daemon=True)
            worker.start()
            self._index_queues.append(index_queue)
            self._workers.append(worker)

    def _reset(self, loader: DataLoader, first_iter: bool = False) -> None:
        super()._reset(loader, first_iter)
        self._send_idx = 0
        self._rcvd_idx = 0
        self._task_info: dict[int, tuple] = {}
        self._tasks_outstanding = 0
        self._workers_status = [True] * self._num_workers
        self._worker_queue_idx_cycle = itertools.cycle(range(self._num_workers))
        if not first_iter:
            self._resume_workers()
        for _ in range(self._prefetch_factor * self._num_workers):
            self._try_put_index()

    def _resume_workers(self) -> None:
        """Start a new epoch on persistent workers, dropping what the last one left behind."""
        for index_queue in self._index_queues:
            index_queue.put(_worker.ResumeIteration())
        acks = 0
        while acks < self._num_workers:
            task_id, _ = self._get_data()
            if isinstance(task_id, _worker.ResumeIteration):
                acks += 1

    def _try_put_index(self) -> None:
        """Send the sampler's next indices to the next worker that is still working."""
        try:
            index = self._next_index()
        except StopIteration:
            return
        for _ in range(self._num_workers):
            worker_id = next(self._worker_queue_idx_cycle)
            if self._workers_status[worker_id]:
                break
        else:
            return  # every worker is done (an exhausted IterableDataset)
        self._index_queues[worker_id].put((self._send_idx, index))
        self._task_info[self._send_idx] = (worker_id,)
        self._tasks_outstanding += 1
        self._send_idx += 1

    def _next_data(self) -> Any:
        while True:
            if not self._skip_to_next_live_task():
                if not self._persistent_workers:
                    self._shutdown_workers()
                raise StopIteration
            if len(self._task_info[self._rcvd_idx]) == 2:
                return self._process_data(self._task_info.pop(self._rcvd_idx)[1])
            task_id, data = self._get_data()
            self._tasks_outstanding -= 1
            if isinstance(data, _worker.IterableDatasetStopIteration):
                self._workers_status[data.worker_id] = False
                if not self._persistent_workers:
                    self._index_queues[data.worker_id].put(None)
                self._try_put_index()
            elif task_id != self._rcvd_idx:
                self._task_info[task_id] += (data,)
            else:
                del self._task_info[task_id]
                return self._process_data(data)

    def _skip_to_next_live_task(self) -> bool:
        """Advance past tasks of workers that finished; False when no task is left."""
        while self._rcvd_idx < self._send_idx:
            info = self._task_info[self._rcvd_idx]
            if len(info) == 2 or self._workers_status[info[0]]:
                return True
            del self._task_info[self._rcvd_idx]
            self._rcvd_idx += 1
        return False

    def _process_data(self, data: Any) -> Any:
        self._rcvd_idx += 1
        self._try_put_index()
        if isinstance(data, _worker.ExceptionWrapper):
            data.reraise()
        return data

    def _get_data(self) -> tuple:
        """The next ``(task_id, data)`` from any worker; raises if a worker died or timed out."""
        deadline = time.monotonic() + self._timeout if self._timeout > 0 else None
        while True:
            wait = _worker.STATUS_CHECK_INTERVAL
            if deadline is not None:
                wait = min(wait, max(deadline - time.monotonic(), 0.0))
            try:
                return self._result_queue.get(timeout=wait)
            except queue.Empty:
                self._raise_if_workers_died()
                if deadline is not None and time.monotonic() >= deadline:
                    raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds")
            except Exception:
                self._raise_if_workers_died()
                raise

    def _raise_if_workers_died(self) -> None:
        dead = [w for i, w in enumerate(self._workers)
                if self._workers_status[i] and not w.is_alive()]
        if not dead:
            return
        causes = ", ".join(f"pid {w.pid} {_describe_exit(w.exitcode)}" for w in dead)
        self._shutdown_workers()
        raise RuntimeError(
            f"DataLoader worker ({causes}) exited unexpectedly. A worker killed by the "
            "system is often out of memory; num_workers=0 loads in the main process, where "
            "the error is easier to see.")

    def _shutdown_workers(self) -> None:
        """Tell every worker to stop, wait a moment, then terminate the ones that do not."""
        if self._shutdown:
            return
        self._shutdown = True
        try:
            self._done_event.set()
            for index_queue in self._index_queues:
                index_queue.put(None)
            for worker in self._workers:
                worker.join(timeout=_worker.STATUS_CHECK_INTERVAL)
            for index_queue in self._index_queues:
                index_queue.close()
            self._result_queue.close()
        finally:
            for worker in self._workers:
                if worker.is_alive():
                    worker.terminate()
                    worker.join()

    def __del__(self) -> None:
        if not _python_exiting:
            self._shutdown_workers()


def _describe_exit(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        return f"is killed by signal: {signal.strsignal(-exitcode)}"
    return f"exited with code {exitcode}"


def _warn_if_too_many_workers(num_workers: int) -> None:
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not available on macOS and Windows
        cpus = os.cpu_count()
    if cpus and num_workers > cpus:
        warnings.warn(f"This DataLoader will create {num_workers} worker processes in total. "
                      f"Our suggested max number of worker in current system is {cpus}, "
                      "which is smaller than what this DataLoader is going to create. Please "
                      "be aware that excessive worker creation might get DataLoader running "
                      "slow or even freeze, lower the worker number to avoid potential "
                      "slowness/freeze if necessary.")
