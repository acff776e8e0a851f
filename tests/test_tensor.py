"""Tensor basics against PyTorch: creation and dtype inference, type promotion, the numpy bridge,
``.data``, reprs, seeding, the version counter and devices."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

import handbook_lib as hl

DTYPES = ("float16", "float32", "float64", "uint8", "int8", "int16", "int32", "int64", "bool")


def _pair(name: str, shape: tuple) -> tuple:
    """The same ones-tensor in both libraries."""
    return (hl.ones(shape, dtype=getattr(hl, name)), torch.ones(shape, dtype=getattr(torch, name)))


# --- type promotion ---------------------------------------------------------------------------------
@pytest.mark.parametrize("shape_a, shape_b", [((2,), (2,)), ((2,), ()), ((), (2,)), ((), ())],
                         ids=["1d-1d", "1d-0d", "0d-1d", "0d-0d"])
def test_promotion_of_tensor_pairs_matches_torch(shape_a, shape_b) -> None:
    for da, db in itertools.product(DTYPES, DTYPES):
        ours_a, theirs_a = _pair(da, shape_a)
        ours_b, theirs_b = _pair(db, shape_b)
        expected = (theirs_a * theirs_b).dtype
        assert str((ours_a * ours_b).dtype) == str(expected), (da, shape_a, db, shape_b)


@pytest.mark.parametrize("scalar", [2, 2.5, True], ids=["int", "float", "bool"])
@pytest.mark.parametrize("shape", [(2,), ()], ids=["1d", "0d"])
def test_promotion_with_python_scalars_matches_torch(scalar, shape) -> None:
    for name in DTYPES:
        ours, theirs = _pair(name, shape)
        assert str((ours * scalar).dtype) == str((theirs * scalar).dtype), (name, scalar)
        assert str((scalar * ours).dtype) == str((scalar * theirs).dtype), (name, scalar)
