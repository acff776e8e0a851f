"""handbook_lib.utils.data against torch.utils.data, and the worker processes of DataLoader."""
from __future__ import annotations

import gc
import multiprocessing
import os
import random
import re
import signal
import time
import warnings
from collections import namedtuple

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import handbook_lib as hl
import handbook_lib.utils.data as hud
from handbook_lib.utils.data import _worker

Point = namedtuple("Point", ["x", "y"])


# --- helpers -----------------------------------------------------------------------------------

def as_plain(obj):
    """Both libraries' outputs as comparable plain data: tensors become (dtype, array)."""
    if isinstance(obj, (hl.Tensor, torch.Tensor)):
        return ("tensor", str(obj.dtype).split(".")[-1], np.asarray(obj.numpy()).tolist(),
                tuple(obj.shape))
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return (type(obj).__name__, [as_plain(v) for v in obj])
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__, [as_plain(v) for v in obj])
    if isinstance(obj, dict):
        return ("dict", {k: as_plain(v) for k, v in obj.items()})
    return obj


def raised(fn):
    """(type name, message) of what ``fn`` raises."""
    with pytest.raises(Exception) as info:
        fn()
    return type(info.value).__name__, str(info.value)


def same_error(ours, theirs):
    assert raised(ours) == raised(theirs)


class Squares(hud.Dataset):
    """Sample i is (i, i*i as float32 array)."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return i, np.full(3, i * i, dtype=np.float32)


class Range(hud.IterableDataset):
    """0..n-1; with ``shard``, each worker yields its own stride of the range."""

    def __init__(self, n, shard=True):
        self.n, self.shard = n, shard

    def __len__(self):
        return self.n

    def __iter__(self):
        info = hud.get_worker_info()
        if info is None or not self.shard:
            return iter(range(self.n))
        return iter(range(info.id, self.n, info.num_workers))


class TorchRange(tud.IterableDataset):
    """``Range`` for PyTorch."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __iter__(self):
        return iter(range(self.n))


# --- default_collate ---------------------------------------------------------------------------

COLLATE_CASES = {
    "ints": lambda L: [1, 2, 3],
    "floats": lambda L: [1.5, 2.0],
    "bools": lambda L: [True, False],
    "np_float32": lambda L: [np.ones((2, 3), np.float32), np.zeros((2, 3), np.float32)],
    "np_int64": lambda L: [np.arange(3), np.arange(3, 6)],
    "np_scalars": lambda L: [np.float32(1.5), np.float32(2.5)],
    "np_0d": lambda L: [np.array(1.0), np.array(2.0)],
    "tensors": lambda L: [L.tensor([1.0, 2.0]), L.tensor([3.0, 4.0])],
    "int_tensors": lambda L: [L.tensor([[1, 2]]), L.tensor([[3, 4]])],
    "tuples": lambda L: [(L.tensor([1.0]), 0), (L.tensor([2.0]), 1)],
    "lists": lambda L: [[1, 2.0], [3, 4.0]],
    "dicts": lambda L: [{"x": np.ones(2), "y": 1, "name": "a"},
                        {"x": np.zeros(2), "y": 2, "name": "b"}],
    "namedtuples": lambda L: [Point(1, 2.0), Point(3, 4.0)],
    "nested": lambda L: [{"a": (1, [np.float64(2.0), "s"]), "b": {"c": L.tensor([[1, 2]])}},
                         {"a": (3, [np.float64(4.0), "t"]), "b": {"c": L.tensor([[3, 4]])}}],
    "strings": lambda L: ["a", "b"],
    "bytes": lambda L: [b"a", b"b"],
}


@pytest.mark.parametrize("case", sorted(COLLATE_CASES))
def test_default_collate_matches_torch(case):
    make = COLLATE_CASES[case]
    assert as_plain(hud.default_collate(make(hl))) == as_plain(tud.default_collate(make(torch)))


@pytest.mark.parametrize("case", sorted(COLLATE_CASES))
def test_default_convert_matches_torch(case):
    make = COLLATE_CASES[case]
    for ours, theirs in zip(make(hl), make(torch)):
        assert as_plain(hud.default_convert(ours)) == as_plain(tud.default_convert(theirs))


def test_default_collate_errors_match_torch():
    for batch in ([object()], [[1], [1, 2]], [np.array(["a"])]):
        same_error(lambda: hud.default_collate(batch), lambda: tud.default_collate(batch))


def test_default_collate_keeps_mapping_type():
    from collections import OrderedDict
    batch = [OrderedDict(b=1, a=2.0), OrderedDict(b=3, a=4.0)]
    out = hud.default_collate(batch)
    assert type(out) is OrderedDict and list(out) == ["b", "a"]


# --- datasets ----------------------------------------------------------------------------------

def test_tensor_dataset_and_subset_and_concat_match_torch():
    x = np.arange(12.0, dtype=np.float32).reshape(6, 2)
    y = np.arange(6)
    ours = hud.TensorDataset(hl.tensor(x), hl.tensor(y))
    theirs = tud.TensorDataset(torch.tensor(x), torch.tensor(y))
    assert len(ours) == len(theirs) == 6
    assert as_plain(ours[4]) == as_plain(theirs[4])
    sub_o, sub_t = hud.Subset(ours, [5, 0, 3]), tud.Subset(theirs, [5, 0, 3])
    assert len(sub_o) == 3 and as_plain(sub_o[0]) == as_plain(sub_t[0])
    cat_o, cat_t = ours + sub_o, theirs + sub_t
    assert len(cat_o) == len(cat_t) == 9
    for i in (0, 5, 6, 8, -1, -9):
        assert as_plain(cat_o[i]) == as_plain(cat_t[i])
    assert cat_o.cumulative_sizes == cat_t.cumulative_sizes


def test_dataset_errors_match_torch():
    same_error(lambda: hud.TensorDataset(hl.tensor([1, 2]), hl.tensor([1, 2, 3])),
               lambda: tud.TensorDataset(torch.tensor([1, 2]), torch.tensor([1, 2, 3])))
    same_error(lambda: hud.ConcatDataset([]), lambda: tud.ConcatDataset([]))
    same_error(lambda: hud.ConcatDataset([Range(3)]),
               lambda: tud.ConcatDataset([TorchRange(3)]))
    same_error(lambda: hud.ConcatDataset([[1, 2]])[-3], lambda: tud.ConcatDataset([[1, 2]])[-3])
    same_error(lambda: hud.Dataset()[0], lambda: tud.Dataset()[0])


def test_chain_dataset_from_iterable_add():
    chained = Range(2) + Range(3)
    assert isinstance(chained, hud.ChainDataset)
    assert list(chained) == [0, 1, 0, 1, 2] and len(chained) == 5


@pytest.mark.parametrize("n, lengths", [(10, [3, 7]), (10, [0.3, 0.3, 0.4]), (11, [0.5, 0.5]),
                                        (10, [0.33, 0.33, 0.34]), (7, [0.25] * 4),
                                        (3, [0.0, 1.0]), (5, [1.0])])
def test_random_split_lengths_match_torch(n, lengths):
    with warnings.catch_warnings(record=True) as ours_w:
        warnings.simplefilter("always")
        ours = hud.random_split(range(n), lengths, generator=hl.Generator().manual_seed(0))
    with warnings.catch_warnings(record=True) as theirs_w:
        warnings.simplefilter("always")
        theirs = tud.random_split(range(n), lengths)
    assert [len(s) for s in ours] == [len(s) for s in theirs]
    assert [str(w.message) for w in ours_w] == [str(w.message) for w in theirs_w]
    assert sorted(i for s in ours for i in s) == list(range(n))  # a partition


def test_random_split_is_reproducible_with_a_generator():
    def split(seed):
        parts = hud.random_split(range(20), [0.5, 0.5], generator=hl.Generator().manual_seed(seed))
        return [list(p) for p in parts]
    assert split(1) == split(1)
    assert split(1) != split(2)
    hl.manual_seed(3)
    first = [list(p) for p in hud.random_split(range(20), [10, 10])]
    hl.manual_seed(3)
    assert first == [list(p) for p in hud.random_split(range(20), [10, 10])]


def test_random_split_errors_match_torch():
    same_error(lambda: hud.random_split(range(5), [2, 2]),
               lambda: tud.random_split(range(5), [2, 2]))
    same_error(lambda: hud.random_split(range(5), [1.2, -0.2]),
               lambda: tud.random_split(range(5), [1.2, -0.2]))


# --- samplers ----------------------------------------------------------------------------------

@pytest.mark.parametrize("n, batch_size, drop_last", [(10, 3, False), (10, 3, True), (9, 3, True),
                                                      (2, 5, False), (2, 5, True), (0, 2, False)])
def test_sequential_and_batch_sampler_match_torch(n, batch_size, drop_last):
    ours = hud.BatchSampler(hud.SequentialSampler(range(n)), batch_size, drop_last)
    theirs = tud.BatchSampler(tud.SequentialSampler(range(n)), batch_size, drop_last)
    assert list(ours) == list(theirs) and len(ours) == len(theirs)
    assert list(hud.SequentialSampler(range(n))) == list(tud.SequentialSampler(range(n)))


def test_sampler_errors_match_torch():
    d = range(5)
    pairs = [(lambda m: m.RandomSampler(d, replacement=1)),
             (lambda m: m.RandomSampler(d, num_samples=0)),
             (lambda m: m.WeightedRandomSampler([1, 2], 0)),
             (lambda m: m.WeightedRandomSampler([[1, 2]], 2)),
             (lambda m: m.WeightedRandomSampler([1, 2], 2, replacement=0)),
             (lambda m: m.BatchSampler(d, 0, False)),
             (lambda m: m.BatchSampler(d, True, False)),
             (lambda m: m.BatchSampler(d, 2, 0))]
    for make in pairs:
        same_error(lambda: make(hud), lambda: make(tud))


def test_random_sampler_permutes_and_reproduces():
    g = hl.Generator().manual_seed(0)
    order = list(hud.RandomSampler(range(10), generator=g))
    assert sorted(order) == list(range(10)) and order != list(range(10))
    assert list(hud.RandomSampler(range(10), generator=hl.Generator().manual_seed(0))) == order
    hl.manual_seed(5)
    a = list(hud.RandomSampler(range(10)))
    hl.manual_seed(5)
    assert list(hud.RandomSampler(range(10))) == a


def test_random_sampler_num_samples_and_replacement():
    g = hl.Generator().manual_seed(1)
    chained = list(hud.RandomSampler(range(4), num_samples=10, generator=g))
    assert len(chained) == 10 and sorted(chained[:8]) == [0, 0, 1, 1, 2, 2, 3, 3]
    assert len(set(chained[8:])) == 2
    drawn = list(hud.RandomSampler(range(3), replacement=True, num_samples=100, generator=g))
    assert len(drawn) == 100 and set(drawn) == {0, 1, 2}
    assert len(hud.RandomSampler(range(3), replacement=True, num_samples=7)) == 7


def test_subset_random_sampler():
    indices = [7, 3, 9, 1]
    out = list(hud.SubsetRandomSampler(indices, generator=hl.Generator().manual_seed(0)))
    assert sorted(out) == sorted(indices) and len(hud.SubsetRandomSampler(indices)) == 4


def test_weighted_random_sampler_follows_weights():
    g = hl.Generator().manual_seed(0)
    draws = list(hud.WeightedRandomSampler([1.0, 0.0, 3.0], 4000, generator=g))
    counts = np.bincount(draws, minlength=3)
    assert counts[1] == 0 and abs(counts[2] / counts[0] - 3) < 0.4
    no_repeat = list(hud.WeightedRandomSampler([1, 1, 1, 1], 4, replacement=False, generator=g))
    assert sorted(no_repeat) == [0, 1, 2, 3]
    again = hud.WeightedRandomSampler([1.0, 0.0, 3.0], 50, generator=hl.Generator().manual_seed(9))
    assert list(again) == list(hud.WeightedRandomSampler(
        [1.0, 0.0, 3.0], 50, generator=hl.Generator().manual_seed(9)))


# --- DataLoader, one process -------------------------------------------------------------------

@pytest.mark.parametrize("n", [0, 1, 9, 10])
@pytest.mark.parametrize("batch_size", [None, 1, 3, 10])
@pytest.mark.parametrize("drop_last", [False, True])
def test_len_matches_torch(n, batch_size, drop_last):
    if batch_size is None and drop_last:
        return
    ours = hud.DataLoader(range(n), batch_size=batch_size, drop_last=drop_last)
    theirs = tud.DataLoader(range(n), batch_size=batch_size, drop_last=drop_last)
    assert len(ours) == len(theirs) == len(list(ours))
    assert len(hud.DataLoader(Range(n), batch_size=batch_size, drop_last=drop_last)) == \
        len(tud.DataLoader(TorchRange(n), batch_size=batch_size, drop_last=drop_last))


def test_batches_match_torch():
    data = [(i, np.arange(i, i + 2, dtype=np.float32), {"k": float(i)}) for i in range(7)]
    for kwargs in (dict(batch_size=3), dict(batch_size=3, drop_last=True), dict(batch_size=None),
                   dict(batch_sampler=[[6, 0], [1, 2, 3]])):
        ours = [as_plain(b) for b in hud.DataLoader(data, **kwargs)]
        theirs = [as_plain(b) for b in tud.DataLoader(data, **kwargs)]
        assert ours == theirs, kwargs


def test_iterable_dataset_batches_match_torch():
    for kwargs in (dict(batch_size=4), dict(batch_size=4, drop_last=True), dict(batch_size=None)):
        ours = [as_plain(b) for b in hud.DataLoader(Range(10), **kwargs)]
        theirs = [as_plain(b) for b in tud.DataLoader(TorchRange(10), **kwargs)]
        assert ours == theirs, kwargs
    assert as_plain(next(iter(hud.DataLoader(Range(10), batch_size=4)))) == \
        as_plain(next(iter(tud.DataLoader(TorchRange(10), batch_size=4))))


def test_next_iter_and_custom_collate():
    loader = hud.DataLoader(Squares(5), batch_size=2, collate_fn=lambda b: [i for i, _ in b])
    assert next(iter(loader)) == [0, 1] and next(iter(loader)) == [0, 1]
    assert list(loader) == [[0, 1], [2, 3], [4]]


def test_getitems_fetches_a_batch_at_once():
    class Batched(Squares):
        def __getitems__(self, indices):
            return [(-i, None) for i in indices]

    loader = hud.DataLoader(Batched(4), batch_size=2, collate_fn=lambda b: b)
    assert list(loader) == [[(0, None), (-1, None)], [(-2, None), (-3, None)]]


def test_shuffle_is_reproducible_from_generator_and_global_seed():
    def epoch(**kwargs):
        return [b.tolist() for b in hud.DataLoader(range(10), batch_size=5, shuffle=True, **kwargs)]
    assert epoch(generator=hl.Generator().manual_seed(0)) == \
        epoch(generator=hl.Generator().manual_seed(0))
    assert epoch(generator=hl.Generator().manual_seed(0)) != \
        epoch(generator=hl.Generator().manual_seed(1))
    hl.manual_seed(7)
    first = epoch()
    hl.manual_seed(7)
    assert epoch() == first
    assert sorted(sum(first, [])) == list(range(10))


def test_new_order_every_epoch():
    loader = hud.DataLoader(range(10), batch_size=10, shuffle=True,
                            generator=hl.Generator().manual_seed(0))
    assert next(iter(loader)).tolist() != next(iter(loader)).tolist()


def test_dataloader_errors_match_torch():
    cases = [dict(num_workers=-1), dict(timeout=-1), dict(num_workers=1, prefetch_factor=-1),
             dict(persistent_workers=True), dict(sampler=[0], shuffle=True),
             dict(batch_sampler=[[0]], batch_size=2), dict(batch_size=None, drop_last=True),
             dict(multiprocessing_context="fork"),
             dict(num_workers=1, multiprocessing_context="nope"),
             dict(num_workers=1, multiprocessing_context=3)]
    for kwargs in cases:
        same_error(lambda: hud.DataLoader(range(5), **kwargs),
                   lambda: tud.DataLoader(range(5), **kwargs))
    for kwargs in (dict(shuffle=True), dict(sampler=[0]), dict(batch_sampler=[[0]])):
        same_error(lambda: hud.DataLoader(Range(3), **kwargs),
                   lambda: tud.DataLoader(TorchRange(3), **kwargs))
    name, msg = raised(lambda: hud.DataLoader(range(5), prefetch_factor=2))
    assert name == "ValueError" and "num_workers > 0" in msg and "prefetch_factor" in msg
    loader_o, loader_t = hud.DataLoader(range(5)), tud.DataLoader(range(5))

    def set_o():
        loader_o.batch_size = 3

    def set_t():
        loader_t.batch_size = 3
    same_error(set_o, set_t)


def test_iterable_length_warning():
    loader = hud.DataLoader(Range(4), batch_size=1)
    assert len(loader) == 4
    loader.dataset.n = 6
    with pytest.warns(UserWarning, match="was reported to be 4 batches"):
        list(loader)


def test_worker_info_is_none_in_main_process_and_frozen():
    assert hud.get_worker_info() is None
    info = hud.WorkerInfo(id=0, num_workers=1, seed=3, dataset=None)
    assert repr(info) == "WorkerInfo(id=0, num_workers=1, seed=3, dataset=None)"
    with pytest.raises(RuntimeError, match="Cannot assign attributes to WorkerInfo objects"):
        info.id = 2


# --- DataLoader with worker processes ----------------------------------------------------------

class WhoLoads(hud.Dataset):
    """Sample i says which worker loaded it, with its pid, seeds and init calls."""

    def __len__(self):
        return 8

    def __getitem__(self, i):
        info = hud.get_worker_info()
        return {"i": i, "worker": info.id, "pid": os.getpid(), "seed": info.seed,
                "init_calls": _INIT_CALLS[0], "random": random.random(),
                "np": float(np.random.rand()), "hl": int(hl.randint(0, 2 ** 30, ()).item())}


_INIT_CALLS = [0]


def count_init(worker_id):
    _INIT_CALLS[0] += 1


class Failing(Squares):
    def __getitem__(self, i):
        if i == 5:
            raise ValueError(f"bad sample {i}")
        if i == 6:
            raise KeyError("missing key")
        return super().__getitem__(i)


class NeedsTwoArgs(Exception):
    def __init__(self, a, b):
        super().__init__(a, b)


class RaisesOddError(Squares):
    def __getitem__(self, i):
        raise NeedsTwoArgs(1, 2)


class Slow(Squares):
    """Even batches are slow, so batches arrive out of order."""

    def __getitem__(self, i):
        if (i // 2) % 2 == 0:
            time.sleep(0.05)
        return super().__getitem__(i)


class KillsItself(Squares):
    def __getitem__(self, i):
        if i == 3:
            os.kill(os.getpid(), signal.SIGKILL)
        return super().__getitem__(i)


class Sleeps(Squares):
    def __getitem__(self, i):
        time.sleep(0.6)
        return i


class Counted(Squares):
    def __init__(self, n, counter):
        super().__init__(n)
        self.counter = counter

    def __getitem__(self, i):
        with self.counter.get_lock():
            self.counter.value += 1
        return i


@pytest.fixture(autouse=True)
def quick_status_checks(monkeypatch):
    """Workers and the main process check on each other every 0.1 s instead of every 1 s."""
    monkeypatch.setattr(_worker, "STATUS_CHECK_INTERVAL", 0.1)


def gone(pid):
    """True when ``pid`` has exited and been reaped (not even a zombie is left)."""
    return not os.path.exists(f"/proc/{pid}")


def test_workers_give_the_same_batches_in_the_same_order():
    def epoch(num_workers):
        loader = hud.DataLoader(Slow(10), batch_size=2, shuffle=True, num_workers=num_workers,
                                generator=hl.Generator().manual_seed(3))
        return [as_plain(b) for b in loader]
    assert epoch(0) == epoch(2)


def test_worker_seeding_and_init_fn():
    def epoch():
        return hud.default_collate(list(hud.DataLoader(
            WhoLoads(), batch_size=None, num_workers=2, worker_init_fn=count_init,
            generator=hl.Generator().manual_seed(11))))
    first = epoch()
    assert first["init_calls"].tolist() == [1] * 8  # once per worker, before loading
    workers = first["worker"].tolist()
    assert sorted(set(workers)) == [0, 1]
    seeds = {w: s for w, s in zip(workers, first["seed"].tolist())}
    assert seeds[1] == seeds[0] + 1
    for key in ("random", "np", "hl"):  # each worker draws its own stream
        by_worker = [v for v, w in zip(first[key].tolist(), workers) if w == 0], \
                    [v for v, w in zip(first[key].tolist(), workers) if w == 1]
        assert by_worker[0] != by_worker[1], key
    second = epoch()  # the same generator seed gives the same worker seeds
    for key in ("seed", "random", "np", "hl"):
        assert first[key].tolist() == second[key].tolist(), key


def test_worker_exception_surfaces_with_its_traceback():
    loader = hud.DataLoader(Failing(8), batch_size=2, num_workers=2)
    it = iter(loader)
    assert as_plain(next(it)) == as_plain(tud.default_collate([Squares(8)[0], Squares(8)[1]]))
    next(it)
    with pytest.raises(ValueError) as info:
        next(it)
    msg = str(info.value)
    assert re.search(r"Caught ValueError in DataLoader worker process [01]\.", msg)
    assert "Traceback (most recent call last)" in msg and "bad sample 5" in msg
    assert "in __getitem__" in msg
    with pytest.raises(KeyError, match="Caught KeyError in DataLoader worker process"):
        list(hud.DataLoader(Failing(8), batch_size=1, sampler=[6], num_workers=1))
    with pytest.raises(RuntimeError, match="Caught NeedsTwoArgs"):
        list(hud.DataLoader(RaisesOddError(2), num_workers=1))


def test_worker_init_fn_error_surfaces():
    def broken_init(worker_id):
        raise OSError(f"cannot open the file in worker {worker_id}")
    with pytest.raises(OSError, match="cannot open the file in worker"):
        list(hud.DataLoader(Squares(4), num_workers=1, worker_init_fn=broken_init))


def test_unpicklable_batch_is_an_error_not_a_hang():
    loader = hud.DataLoader(Squares(2), num_workers=1, collate_fn=lambda b: lambda: b)
    with pytest.raises(Exception, match="while sending its batch"):
        next(iter(loader))


def test_killed_worker_is_reported():
    loader = hud.DataLoader(KillsItself(8), batch_size=1, num_workers=2)
    with pytest.raises(RuntimeError, match=r"DataLoader worker \(pid \d+ is killed by signal: "
                                           r"Killed\) exited unexpectedly"):
        list(loader)


def test_timeout():
    loader = hud.DataLoader(Sleeps(2), num_workers=1, timeout=0.2)
    start = time.monotonic()
    with pytest.raises(RuntimeError, match="DataLoader timed out after 0.2 seconds"):
        next(iter(loader))
    assert time.monotonic() - start < 1.5


def test_persistent_workers_survive_epochs():
    def pids(loader):
        return set(hud.default_collate(list(loader))["pid"].tolist())
    persistent = hud.DataLoader(WhoLoads(), batch_size=None, num_workers=2,
                                persistent_workers=True)
    first = pids(persistent)
    it = iter(persistent)
    next(it)  # abandon an epoch midway: the next one starts clean
    assert pids(persistent) == first and len(first) == 2
    assert [b["i"] for b in persistent] == list(range(8))
    fresh = hud.DataLoader(WhoLoads(), batch_size=None, num_workers=2)
    assert pids(fresh).isdisjoint(pids(fresh))


def test_abandoned_iterator_stops_its_workers():
    it = iter(hud.DataLoader(Squares(100), batch_size=2, num_workers=2))
    next(it)
    pids = [w.pid for w in it._workers]
    assert not any(gone(p) for p in pids)
    del it
    gc.collect()
    assert all(gone(p) for p in pids)
    loader = hud.DataLoader(Squares(100), batch_size=2, num_workers=2)
    next(iter(loader))
    assert multiprocessing.active_children() == []


def test_workers_exit_after_a_full_epoch():
    it = iter(hud.DataLoader(Squares(6), batch_size=2, num_workers=2))
    list(it)
    assert all(gone(w.pid) for w in it._workers)


def test_prefetch_is_bounded():
    counter = multiprocessing.get_context("fork").Value("i", 0)
    it = iter(hud.DataLoader(Counted(100, counter), batch_size=2, num_workers=2,
                             prefetch_factor=3))
    next(it)
    time.sleep(0.3)
    assert counter.value == (3 * 2 + 1) * 2  # 6 batches in flight, one more sent after next()
    del it


def test_iterable_dataset_sharding_with_get_worker_info():
    loader = hud.DataLoader(Range(21), batch_size=4, num_workers=2)
    values = sorted(sum((b.tolist() for b in loader), []))
    assert values == list(range(21))
    unsharded = hud.DataLoader(Range(6, shard=False), batch_size=2, num_workers=2)
    len(unsharded)
    with pytest.warns(UserWarning, match="get_worker_info"):
        values = sorted(sum((b.tolist() for b in unsharded), []))
    assert values == sorted(list(range(6)) * 2)  # every worker repeats the whole stream


def test_iterable_dataset_with_persistent_workers_over_epochs():
    loader = hud.DataLoader(Range(9), batch_size=2, num_workers=2, persistent_workers=True)
    for _ in range(2):
        assert sorted(sum((b.tolist() for b in loader), [])) == list(range(9))


def test_spawn_context():
    data = hud.TensorDataset(hl.tensor(np.arange(6.0, dtype=np.float32)), hl.tensor(np.arange(6)))
    loader = hud.DataLoader(data, batch_size=4, num_workers=1, multiprocessing_context="spawn")
    in_main = hud.DataLoader(data, batch_size=4)
    assert [as_plain(b) for b in loader] == [as_plain(b) for b in in_main]
