"""DistributedSampler: each rank of a job reads its own share of the dataset.

PyTorch's rules exactly: the indices (a permutation drawn from ``seed + epoch`` when
``shuffle``, the same on every rank) are padded by repeating from the start up to a multiple
of ``num_replicas`` (or cut down, with ``drop_last``), and rank ``r`` takes every
``num_replicas``-th index from position ``r``. Call ``set_epoch`` before each epoch, or every
epoch repeats the same order.
"""
from __future__ import annotations

import math
from typing import Iterator, Sized

import handbook_lib as hl

from .sampler import Sampler

__all__ = ["DistributedSampler"]


class DistributedSampler(Sampler[int]):
    """Indices of ``dataset`` for rank ``rank`` of ``num_replicas`` (default: the process
    group's rank and world size)."""

    def __init__(self, dataset: Sized, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        from ... import distributed as dist

        if num_replicas is None:
            if not dist.is_available():
                raise RuntimeError("Requires distributed package to be available")
            num_replicas = dist.get_world_size()
        if rank is None:
            if not dist.is_available():
                raise RuntimeError("Requires distributed package to be available")
            rank = dist.get_rank()
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        if drop_last and len(dataset) % num_replicas != 0:
            self.num_samples = math.ceil((len(dataset) - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(len(dataset) / num_replicas)
        self.total_size = self.num_samples * num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def __iter__(self) -> Iterator[int]:
        if self.shuffle:
            generator = hl.Generator()
            generator.manual_seed(self.seed + self.epoch)
            indices = hl.randperm(len(self.dataset), generator=generator).tolist()
        else:
            indices = list(range(len(self.dataset)))
        if not self.drop_last:
            padding = self.total_size - len(indices)
            if padding <= len(indices):
                indices += indices[:padding]
            else:
                indices += (indices * math.ceil(padding / len(indices)))[:padding]
        else:
            indices = indices[:self.total_size]
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Make the next ``__iter__`` use permutation ``seed + epoch`` (the same on all ranks)."""
        self.epoch = epoch
