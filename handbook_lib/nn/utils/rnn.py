"""Variable-length sequences for the recurrent layers: packing, padding and back.

A batch of sequences of different lengths is *packed* by time step: first the first element of
every sequence, then the second element of every sequence still running, and so on. With the
sequences sorted longest first, step ``t`` holds the first ``batch_sizes[t]`` of them::

    lengths 3, 2, 1         padded (T=3, B=3)        packed data        batch_sizes
    a1 a2 a3                a1 b1 c1                 a1 b1 c1           3
    b1 b2                   a2 b2 ·                  a2 b2              2
    c1                      a3 ·  ·                  a3                 1

The recurrent layers run a packed batch as a batch that shrinks over time, so they never compute
on padding, and their final state is each sequence's last real step. Every conversion here is one
``index_select`` (one autograd node), whatever the number of steps.
"""
from __future__ import annotations

from collections import namedtuple
from typing import Sequence

import numpy as np

from ..._tensor import Tensor
from ...ops.creation import full, tensor
from ...ops.shape import cat, stack

__all__ = ["PackedSequence", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence",
           "unpad_sequence", "pack_sequence", "unpack_sequence", "invert_permutation"]


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The permutation that undoes ``permutation`` (None stays None)."""
    if permutation is None:
        return None
    order = np.asarray(permutation.tolist(), dtype=np.int64)
    inverse = np.empty_like(order)
    inverse[order] = np.arange(order.size)
    return tensor(inverse, device=permutation.device)


class PackedSequence(namedtuple("PackedSequence_", "data batch_sizes sorted_indices unsorted_indices")):
    """A packed batch: ``data`` (sum of lengths, *), ``batch_sizes`` (int64, on the CPU: how many
    sequences run at each step), and the permutation that sorted the batch by length
    (``sorted_indices``) with its inverse (``unsorted_indices``), or None if it came sorted.

    Build it with :func:`pack_padded_sequence` or :func:`pack_sequence`, not by hand.
    """

    def __new__(cls, data: Tensor, batch_sizes: Tensor | None = None,
                sorted_indices: Tensor | None = None, unsorted_indices: Tensor | None = None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs) -> "PackedSequence":
        """``data`` (and the index tensors, for a device) moved or cast; batch_sizes stay on the CPU."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        device = data.device

        def move(index):
            return None if index is None else index.to(device)

        return type(self)(data, self.batch_sizes, move(self.sorted_indices),
                          move(self.unsorted_indices))

    def cuda(self, *args, **kwargs) -> "PackedSequence":
        return self.to("cuda" if not args else f"cuda:{args[0]}", **kwargs)

    def cpu(self) -> "PackedSequence":
        return self.to("cpu")

    def double(self) -> "PackedSequence":
        return self.to(dtype=self.data.double().dtype)

    def float(self) -> "PackedSequence":
        return self.to(dtype=self.data.float().dtype)

    @property
    def is_cuda(self) -> bool:
        return self.data.is_cuda

    def is_pinned(self) -> bool:
        return False


def _lengths_array(lengths) -> np.ndarray:
    if isinstance(lengths, Tensor):
        return np.asarray(lengths.tolist(), dtype=np.int64).reshape(-1)
    return np.asarray(list(lengths), dtype=np.int64).reshape(-1)


def _batch_sizes(sorted_lengths: np.ndarray) -> np.ndarray:
    """How many of the (longest-first) sequences are still running at each step."""
    steps = np.arange(int(sorted_lengths[0]))
    return (sorted_lengths[None, :] > steps[:, None]).sum(axis=1)


def _packed_positions(batch_sizes: np.ndarray) -> tuple:
    """For each packed row: its time step and its rank in the sorted batch."""
    steps = np.repeat(np.arange(batch_sizes.size), batch_sizes)
    starts = np.concatenate([[0], np.cumsum(batch_sizes)[:-1]])
    ranks = np.arange(int(batch_sizes.sum())) - starts[steps]
    return steps, ranks


def pack_padded_sequence(input: Tensor, lengths, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch (T, B, *) (or (B, T, *) with ``batch_first``) of sequences whose real
    lengths are ``lengths``. With ``enforce_sorted`` the lengths must be decreasing; otherwise
    the batch is sorted here and the permutation kept in the result.

    Differs from PyTorch: a length longer than the padded sequence is an error (PyTorch reads
    past the end of the input).
    """
    lengths = _lengths_array(lengths)
    batch_dim = 0 if batch_first else 1
    time_dim = 1 - batch_dim
    if lengths.size != input.shape[batch_dim]:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got "
                           f"{lengths.size} (batch_size={input.shape[batch_dim]})")
    if enforce_sorted:
        if np.any(lengths[:-1] < lengths[1:]):
            raise RuntimeError(
                "`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. "
                "You can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to "
                "sidestep this requirement if you do not need ONNX exportability.")
        order, sorted_indices = np.arange(lengths.size), None
    else:
        order = np.argsort(-lengths, kind="stable")
        sorted_indices = tensor(order, device=input.device)
    sorted_lengths = lengths[order]
    if sorted_lengths.size == 0 or sorted_lengths[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element "
                           "in 'lengths' that is <= 0")
    if sorted_lengths[0] > input.shape[time_dim]:
        raise RuntimeError(
            f"Expected every length to be at most the padded sequence length "
            f"{input.shape[time_dim]}, but found a length of {int(sorted_lengths[0])}")
    batch_sizes = _batch_sizes(sorted_lengths)
    steps, ranks = _packed_positions(batch_sizes)
    batch, time = input.shape[batch_dim], input.shape[time_dim]
    original = order[ranks]  # the padded row each packed row comes from
    flat_rows = original * time + steps if batch_first else steps * batch + original
    flat = input.reshape(batch * time, *input.shape[2:])
    data = flat.index_select(0, tensor(flat_rows, device=input.device))
    return PackedSequence(data, tensor(batch_sizes), sorted_indices)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0, total_length: int | None = None) -> tuple:
    """The inverse of :func:`pack_padded_sequence`: ``(padded, lengths)``, in the original batch
    order, padded with ``padding_value`` to ``total_length`` steps (default: the longest)."""
    data, batch_sizes_t, _, unsorted_indices = sequence
    batch_sizes = np.asarray(batch_sizes_t.tolist(), dtype=np.int64)
    steps = batch_sizes.size
    if total_length is not None:
        if total_length < steps:
            raise ValueError(
                "Expected total_length to be at least the length of the longest sequence in "
                f"input, but got total_length={total_length} and max sequence length being "
                f"{steps}")
        steps = total_length
    batch = int(batch_sizes[0])
    sorted_lengths = (batch_sizes[None, :] > np.arange(batch)[:, None]).sum(axis=1)
    rank_of = (np.arange(batch) if unsorted_indices is None
               else np.asarray(unsorted_indices.tolist(), dtype=np.int64))
    starts = np.concatenate([[0], np.cumsum(batch_sizes)])
    filler_row = int(starts[-1])  # the row appended below, full of padding_value
    source = np.full((steps, batch), filler_row, dtype=np.int64)  # (t, original b) → packed row
    for t in range(batch_sizes.size):
        running = rank_of < batch_sizes[t]
        source[t, running] = starts[t] + rank_of[running]
    if batch_first:
        source = source.T
    filler = full((1, *data.shape[1:]), padding_value, dtype=data.dtype, device=data.device)
    rows = tensor(source.reshape(-1), device=data.device)
    padded = cat([data, filler]).index_select(0, rows).reshape(*source.shape, *data.shape[1:])
    return padded, tensor(sorted_lengths[rank_of])


def pad_sequence(sequences: Sequence[Tensor], batch_first: bool = False,
                 padding_value: float = 0.0, padding_side: str = "right") -> Tensor:
    """Stack tensors of shapes (L_i, *) into (T, B, *) (or (B, T, *)), padding to the longest."""
    if padding_side not in ("left", "right"):
        raise ValueError(
            f"Expected padding_side to be one of left or right, but got {padding_side}.")
    if len(sequences) == 0:
        raise RuntimeError("received an empty list of sequences")
    longest = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        missing = longest - s.shape[0]
        if missing:
            filler = full((missing, *s.shape[1:]), padding_value, dtype=s.dtype, device=s.device)
            s = cat([s, filler] if padding_side == "right" else [filler, s])
        padded.append(s)
    return stack(padded, 0 if batch_first else 1)


def unpad_sequence(padded_sequences: Tensor, lengths, batch_first: bool = False) -> list:
    """The sequences of a padded batch, each cut to its length."""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    return [seq[:int(n)] for seq, n in zip(padded_sequences, _lengths_array(lengths))]


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of tensors (L_i, *) (longest first, unless ``enforce_sorted=False``)."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list:
    """The list of tensors a :class:`PackedSequence` was made from, in the original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
