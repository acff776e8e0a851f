"""Fetchers: turn what the sampler yields into a collated batch, in any process."""
from __future__ import annotations

from typing import Any, Callable


class MapDatasetFetcher:
    """Indexes a map-style dataset: a list of indices gives a batch, one index one sample."""

    def __init__(self, dataset, auto_collation: bool, collate_fn: Callable, drop_last: bool):
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn

    def fetch(self, index) -> Any:
        if not self.auto_collation:
            return self.collate_fn(self.dataset[index])
        getitems = getattr(self.dataset, "__getitems__", None)
        if callable(getitems):
            return self.collate_fn(getitems(index))
        return self.collate_fn([self.dataset[i] for i in index])


class IterableDatasetFetcher:
    """Draws from one iterator over an iterable dataset; raises ``StopIteration`` at its end.

    ``index`` only says how many samples a batch holds (its items are ``None``).
    """

    def __init__(self, dataset, auto_collation: bool, collate_fn: Callable, drop_last: bool):
        self.dataset_iter = iter(dataset)
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        self.ended = False

    def fetch(self, index) -> Any:
        if self.ended:
            raise StopIteration
        if not self.auto_collation:
            return self.collate_fn(next(self.dataset_iter))
        data = []
        for _ in index:
            try:
                data.append(next(self.dataset_iter))
            except StopIteration:
                self.ended = True
                break
        if not data or (self.drop_last and len(data) < len(index)):
            raise StopIteration
        return self.collate_fn(data)


def create_fetcher(dataset, is_iterable: bool, auto_collation: bool, collate_fn: Callable,
                   drop_last: bool) -> MapDatasetFetcher | IterableDatasetFetcher:
    """The fetcher for this kind of dataset."""
    cls = IterableDatasetFetcher if is_iterable else MapDatasetFetcher
    return cls(dataset, auto_collation, collate_fn, drop_last)
