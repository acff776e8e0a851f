"""``default_collate``: turn a list of samples into one batch, and ``default_convert``.

The rule is applied recursively: tensors are stacked along a new first dimension, numpy
arrays and Python numbers become tensors, and containers are collated field by field, so a
list of ``(image, label)`` pairs becomes ``[images, labels]``.
"""
from __future__ import annotations

import collections.abc
import copy
from collections.abc import Sequence
from typing import Any

import numpy as np

import handbook_lib as hl

__all__ = ["default_collate", "default_convert"]

_ERR_FORMAT = ("default_collate: batch must contain tensors, numpy arrays, numbers, "
               "dicts or lists; found {}")
_STRING_KINDS = "SaUO"  # numpy dtypes that do not make tensors: bytes, str, object


def default_collate(batch: Sequence) -> Any:
    """Collate a list of samples into a batch, like ``torch.utils.data.default_collate``.

    ============================  ==============================================
    each sample is                the batch is
    ============================  ==============================================
    ``Tensor``                    ``hl.stack(batch)``, a new first dimension
    numpy array or numpy scalar   the same, via ``hl.as_tensor``
    ``float`` / ``int`` / bool    a 1-d tensor: float64 / int64 / bool
    ``str`` / ``bytes``           the list unchanged
    ``dict`` (any ``Mapping``)    the same type, each key collated
    namedtuple                    the same type, each field collated
    tuple / list                  a list, each position collated
    ============================  ==============================================
    """
    elem = batch[0]
    if isinstance(elem, hl.Tensor):
        return hl.stack(batch, 0)
    if isinstance(elem, (np.ndarray, np.generic)) and not isinstance(elem, (np.str_, np.bytes_)):
        if elem.dtype.kind in _STRING_KINDS:
            raise TypeError(_ERR_FORMAT.format(elem.dtype))
        if elem.shape == ():
            return hl.as_tensor(np.array(batch))
        return default_collate([hl.as_tensor(b) for b in batch])
    if isinstance(elem, float):
        return hl.tensor(batch, dtype=hl.float64)
    if isinstance(elem, int):
        return hl.tensor(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        return _rebuild_mapping(elem, {key: default_collate([d[key] for d in batch])
                                       for key in elem})
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(default_collate(field) for field in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        return _collate_sequence(batch)
    raise TypeError(_ERR_FORMAT.format(type(elem)))


def _collate_sequence(batch: list) -> Any:
    elem = batch[0]
    if any(len(sample) != len(elem) for sample in batch):
        raise RuntimeError("each element in list of batch should be of equal size")
    columns = [default_collate(column) for column in zip(*batch)]
    if isinstance(elem, tuple):
        return columns  # tuples are collated into a list, as PyTorch does
    if isinstance(elem, collections.abc.MutableSequence):
        clone = copy.copy(elem)
        clone[:] = columns
        return clone
    try:
        return type(elem)(columns)
    except TypeError:  # the sequence type cannot be built from a list
        return columns


def _rebuild_mapping(elem: collections.abc.Mapping, collated: dict) -> Any:
    if isinstance(elem, collections.abc.MutableMapping):
        clone = copy.copy(elem)
        clone.update(collated)
        return clone
    try:
        return type(elem)(collated)
    except TypeError:  # the mapping type cannot be built from a dict
        return collated


def default_convert(data: Any) -> Any:
    """Convert numpy arrays (also inside containers) to tensors, leaving the rest unchanged.

    The ``collate_fn`` that ``DataLoader`` uses when ``batch_size=None`` turns batching off.
    """
    if isinstance(data, np.ndarray) and data.dtype.kind not in _STRING_KINDS:
        return hl.as_tensor(data)
    if isinstance(data, np.generic) and data.dtype.kind not in _STRING_KINDS:
        return hl.as_tensor(np.asarray(data))
    if isinstance(data, (str, bytes)):
        return data
    if isinstance(data, collections.abc.Mapping):
        return _rebuild_mapping(data, {key: default_convert(data[key]) for key in data})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence):
        converted = [default_convert(d) for d in data]
        try:
            return type(data)(converted)
        except TypeError:
            return converted
    return data
