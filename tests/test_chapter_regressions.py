"""Regression tests for library bugs found while writing the book's chapters.

Each test names the chapter whose code exposed the bug, and fails on the code before the fix.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

import handbook_lib as hl
from handbook_lib.autograd import Function, gradcheck


class MulConstant(Function):
    """2.1.2 自动求导: the custom Function of the chapter, recording what ``ctx`` shows."""

    seen: dict = {}

    @staticmethod
    def forward(ctx, tensor, constant):
        MulConstant.seen["forward"] = ctx.needs_input_grad
        ctx.constant = constant
        return tensor * constant

    @staticmethod
    def backward(ctx, grad_output):
        MulConstant.seen["backward"] = ctx.needs_input_grad
        return grad_output * ctx.constant, None


class TorchMulConstant(torch.autograd.Function):
    @staticmethod
    def forward(ctx, tensor, constant):
        ctx.constant = constant
        return tensor * constant

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output * ctx.constant, None


def test_function_apply_sets_needs_input_grad():
    # Function.apply assigned ctx.needs_input_grad, a read-only property inherited from Node:
    # every custom Function failed with AttributeError.
    data = np.array([1.0, -2.0, 3.0])
    x = hl.tensor(data, requires_grad=True)
    y = MulConstant.apply(x, 5.0)
    y.sum().backward()

    expected_x = torch.tensor(data, requires_grad=True)
    TorchMulConstant.apply(expected_x, 5.0).sum().backward()
    assert y.grad_fn.name() == "MulConstantBackward"
    np.testing.assert_allclose(y.detach().numpy(), data * 5.0)
    np.testing.assert_allclose(x.grad.numpy(), expected_x.grad.numpy())
    assert MulConstant.seen == {"forward": (True, False), "backward": (True, False)}


def test_function_apply_without_grad_runs_forward_only():
    y = MulConstant.apply(hl.tensor([1.0, 2.0]), 3.0)
    assert MulConstant.seen["forward"] == (False, False)
    assert y.grad_fn is None and not y.requires_grad
    np.testing.assert_allclose(y.numpy(), [3.0, 6.0])


def test_gradcheck_of_custom_function_accepts_correct_and_rejects_wrong_backward():
    class WrongMulConstant(MulConstant):
        @staticmethod
        def backward(ctx, grad_output):
            return grad_output, None  # forgets the constant

    x = hl.tensor([0.5, -1.5, 2.0], dtype=hl.float64, requires_grad=True)
    assert gradcheck(lambda t: MulConstant.apply(t, 5.0), (x,))
    assert not gradcheck(lambda t: WrongMulConstant.apply(t, 5.0), (x,), raise_exception=False)
    with pytest.raises(RuntimeError, match="Jacobian mismatch"):
        gradcheck(lambda t: WrongMulConstant.apply(t, 5.0), (x,))


def test_gradgradcheck_of_cube_runs_and_catches_a_wrong_second_derivative():
    # 2.1.2 自动求导 (higher-order gradients): gradgradcheck's numerical Jacobian ran its function
    # under no_grad, where the inner autograd.grad(create_graph=True) has no graph to walk.
    class CubeWrongSecond(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            return grad_output * 3 * x * x.detach()  # right value, half cut from the graph

    x = hl.tensor([0.5, -1.0, 2.0], dtype=hl.float64, requires_grad=True)
    assert hl.autograd.gradgradcheck(lambda t: t ** 3, (x,))
    assert gradcheck(CubeWrongSecond.apply, (x,))
    assert not hl.autograd.gradgradcheck(CubeWrongSecond.apply, (x,), raise_exception=False)


def test_hook_on_a_leaf_survives_until_backward():
    # 2.1.2 自动求导 (hooks): a leaf keeps only a weak reference to its AccumulateGrad node, so
    # the node holding the hook was collected as soon as register_hook returned; the hook never ran.
    seen = []
    x = hl.tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda grad: seen.append(grad.tolist()) or grad * 10)
    (x * x).sum().backward()

    expected = torch.tensor([1.0, 2.0], requires_grad=True)
    expected.register_hook(lambda grad: grad * 10)
    (expected * expected).sum().backward()
    assert seen == [[2.0, 4.0]]
    np.testing.assert_allclose(x.grad.numpy(), expected.grad.numpy())


def test_removed_hook_on_a_leaf_does_not_run():
    x = hl.tensor([1.0, 2.0], requires_grad=True)
    handle = x.register_hook(lambda grad: grad * 10)
    handle.remove()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])


def test_max_min_with_dim_and_var_std_do_not_call_themselves():
    # 2.1.1 张量 (reductions): reduction.py defines max/any, which shadowed Python's builtins
    # inside the module: max(x, dim=...), min(x, dim=...), var and std raised AttributeError.
    data = np.array([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]], dtype=np.float32)
    x, expected = hl.tensor(data), torch.tensor(data)
    for ours, theirs in ((hl.max(x, dim=1), torch.max(expected, dim=1)),
                         (x.min(0), expected.min(0))):
        np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
        np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
    np.testing.assert_allclose(x.var().item(), expected.var().item(), rtol=1e-6)
    np.testing.assert_allclose(x.std(dim=1).numpy(), expected.std(dim=1).numpy(), rtol=1e-6)
    assert x.std(dim=1).dtype == hl.float32
