"""Bad input gets PyTorch's error in PyTorch's words, not numpy's (or no error where PyTorch has none)."""
from __future__ import annotations

import pytest
import torch

import handbook_lib as hl


def _error_of(fn) -> tuple:
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - the kind and words are what is compared
        return type(exc), str(exc)
    return None, None


def _same_error(make) -> None:
    theirs = _error_of(lambda: make(torch, "cpu"))
    assert theirs[0] is not None, "the reference does not raise: the case is wrong"
    assert _error_of(lambda: make(hl, "cpu")) == theirs


@pytest.mark.parametrize("layer,shape,train", [("BatchNorm2d", (2, 4, 5, 5), True),
                                               ("BatchNorm1d", (2, 4), True),
                                               ("BatchNorm1d", (2, 4), False)])
def test_batch_norm_with_the_wrong_channel_count(layer, shape, train, device):
    def make(lib, dev):
        module = getattr(lib.nn, layer)(3).to(dev).train(train)
        return module(lib.zeros(*shape, device=dev))

    theirs = _error_of(lambda: make(torch, "cpu"))
    assert _error_of(lambda: make(hl, device)) == theirs
    assert theirs[1] == "running_mean should contain 4 elements not 3"


def test_batch_norm_functional_weight_count():
    with pytest.raises(RuntimeError, match="weight should contain 4 elements not 3"):
        hl.nn.functional.batch_norm(hl.zeros(2, 4), None, None, hl.ones(3), None, training=True)


@pytest.mark.parametrize("kernel", [0, (0, 3), (2, 0)])
def test_conv2d_with_kernel_size_zero(kernel):
    _same_error(lambda lib, dev: lib.nn.Conv2d(3, 4, kernel_size=kernel)(lib.zeros(1, 3, 5, 5)))


def test_conv_with_negative_kernel_size():
    _same_error(lambda lib, dev: lib.nn.Conv2d(3, 4, kernel_size=-1))


@pytest.mark.parametrize("op", ["conv1d", "conv2d", "conv_transpose2d"])
def test_convolution_of_an_empty_batch_is_empty(op):
    device = "cpu"  # the cuda stand-in needs the array-module work on convolution
    shapes = {"conv1d": ((0, 3, 8), (4, 3, 3)), "conv2d": ((0, 3, 8, 8), (4, 3, 3, 3)),
              "conv_transpose2d": ((0, 3, 8, 8), (3, 4, 3, 3))}[op]

    def run(lib, dev):
        x = lib.zeros(*shapes[0], device=dev, requires_grad=True)
        w = lib.ones(*shapes[1], device=dev, requires_grad=True)
        out = getattr(lib.nn.functional, op)(x, w)
        out.sum().backward()
        return tuple(out.shape), tuple(x.grad.shape), w.grad.abs().sum().item()

    assert run(hl, device) == run(torch, "cpu")


@pytest.mark.parametrize("name", ["argmax", "argmin"])
@pytest.mark.parametrize("shape,dim", [((0,), None), ((0, 3), 0), ((0, 3), None)])
def test_arg_reductions_of_nothing(name, shape, dim, device):
    def make(lib, dev):
        return getattr(lib, name)(lib.zeros(*shape, device=dev), dim=dim)

    theirs = _error_of(lambda: make(torch, "cpu"))
    assert _error_of(lambda: make(hl, device)) == theirs


def test_arg_reduction_over_a_non_empty_dim_of_an_empty_tensor():
    assert hl.argmax(hl.zeros(0, 3), dim=1).shape == torch.argmax(torch.zeros(0, 3), dim=1).shape


@pytest.mark.parametrize("expression", [
    lambda lib, d: lib.tensor([True], device=d) - lib.tensor([False], device=d),
    lambda lib, d: lib.tensor([True], device=d) - True,
    lambda lib, d: True - lib.tensor([True], device=d),
    lambda lib, d: lib.tensor([True], device=d) - 1,
    lambda lib, d: 1 - lib.tensor([True], device=d),
    lambda lib, d: lib.tensor([1.5], device=d) - lib.tensor([True], device=d),
    lambda lib, d: lib.sub(lib.tensor([True], device=d), lib.tensor([True], device=d)),
    lambda lib, d: -lib.tensor([True], device=d),
])
def test_subtracting_and_negating_bools(expression, device):
    theirs = _error_of(lambda: expression(torch, "cpu"))
    assert theirs[0] is RuntimeError
    assert _error_of(lambda: expression(hl, device)) == theirs


def test_bool_xor_and_not_still_work():
    a, b = hl.tensor([True, False]), hl.tensor([True, True])
    assert (a ^ b).tolist() == [False, True] and (~a).tolist() == [False, True]


@pytest.mark.parametrize("make_optimizer", [lambda p: hl.optim.Adam(p),
                                            lambda p: hl.optim.SGD(p, lr=0.1, momentum=0.9)])
def test_optimizer_state_from_other_shapes_fails_at_load(make_optimizer):
    small, large = hl.nn.Linear(3, 2), hl.nn.Linear(4, 2)
    trained = make_optimizer(small.parameters())
    small(hl.ones(1, 3)).sum().backward()
    trained.step()
    fresh = make_optimizer(large.parameters())
    with pytest.raises(ValueError, match=r"shape \[2, 3\].*shape is \[2, 4\]"):
        fresh.load_state_dict(trained.state_dict())
    same = make_optimizer(hl.nn.Linear(3, 2).parameters())
    same.load_state_dict(trained.state_dict())  # matching shapes still load

