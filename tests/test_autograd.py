"""The autograd API against PyTorch's: backward/grad, hooks, grad modes, grad_fn names, custom
Functions, the engine on long chains, freed graphs and every error path."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import handbook_lib as hl
from handbook_lib.autograd import Function, gradcheck


def test_gradcheck_perturbs_non_contiguous_inputs() -> None:
    x = hl.from_numpy(np.random.default_rng(0).random((3, 2)).T).requires_grad_()
    assert not x.is_contiguous()
    assert gradcheck(lambda a: a * a, (x,))
    assert not gradcheck(lambda a: _WrongSquare.apply(a), (x,), raise_exception=False)


class _WrongSquare(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x  # should be 2 * x
