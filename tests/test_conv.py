"""Convolutions against PyTorch: forward and gradients (input, weight, bias) in float64 (tight)
and float32 (loose, and still float32), finite-difference gradchecks, PyTorch's error messages,
and the layers' parameters, initialisation and reprs."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import handbook_lib as hl
import handbook_lib.nn.functional as F
from handbook_lib import nn
from handbook_lib.autograd import gradcheck
from nn_helpers import error_of

torch.set_num_threads(1)
TOL = {np.float64: dict(rtol=1e-10, atol=1e-10), np.float32: dict(rtol=2e-4, atol=2e-4)}


def run_both(name: str, shapes: list, dtype, kwargs: dict, seed: int = 0) -> None:
    """``F.<name>`` on both libraries with the same data (None in ``shapes``: no bias); compare the
    output and the gradients of every tensor argument for the same random output gradient."""
    rng = np.random.default_rng(seed)
    arrays = [None if s is None else rng.standard_normal(s).astype(dtype) for s in shapes]
    ours = [None if a is None else hl.tensor(a, requires_grad=True) for a in arrays]
    theirs = [None if a is None else torch.tensor(a, requires_grad=True) for a in arrays]
    out = getattr(F, name)(*ours, **kwargs)
    expected = getattr(TF, name)(*theirs, **kwargs)
    assert out.dtype.np_dtype == np.dtype(dtype)
    assert tuple(out.shape) == tuple(expected.shape)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), **TOL[dtype])
    assert out.grad_fn.name() == "ConvolutionBackward0"
    g = rng.standard_normal(tuple(expected.shape)).astype(dtype)
    out.backward(hl.tensor(g))
    expected.backward(torch.tensor(g))
    for a, b in zip(ours, theirs):
        if a is not None:
            assert a.grad.dtype.np_dtype == np.dtype(dtype)
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), **TOL[dtype])


CONV2D_CASES = [
    ([(2, 3, 7, 9), (4, 3, 3, 3), (4,)], {}),
    ([(2, 3, 7, 9), (4, 3, 3, 2), None], dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2))),
    ([(1, 4, 7, 9), (6, 2, 3, 2), (6,)], dict(groups=2, stride=2, padding=1)),
    ([(3, 4, 5, 6), (8, 1, 3, 3), (8,)], dict(groups=4, padding=1)),                # depthwise
    ([(2, 3, 8, 7), (5, 3, 4, 2), (5,)], dict(padding="same", dilation=2)),          # even kernel
    ([(2, 3, 6, 6), (5, 3, 3, 3), (5,)], dict(padding="valid")),
    ([(2, 5, 11, 10), (7, 5, 3, 3), (7,)], dict(stride=3)),                          # leftovers
    ([(2, 6, 5, 5), (4, 6, 1, 1), (4,)], {}),                                        # 1x1
    ([(1, 2, 4, 4), (3, 2, 4, 4), (3,)], {}),                           # kernel = input
    ([(1, 2, 3, 3), (3, 2, 5, 5), (3,)], dict(padding=1)),              # kernel = padded
    ([(3, 7, 9), (4, 3, 3, 3), (4,)], {}),                                           # unbatched
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shapes,kwargs", CONV2D_CASES)
def test_conv2d_matches_pytorch(shapes, kwargs, dtype):
    run_both("conv2d", shapes, dtype, kwargs)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shapes,kwargs", [
    ([(2, 3, 11), (4, 3, 3), (4,)], {}),
    ([(2, 4, 11), (6, 2, 3), (6,)], dict(stride=2, padding=1, dilation=2, groups=2)),
    ([(1, 3, 10), (4, 3, 4), None], dict(padding="same")),
    ([(3, 9), (2, 3, 2), (2,)], dict(stride=3)),                                     # unbatched
])
def test_conv1d_matches_pytorch(shapes, kwargs, dtype):
    run_both("conv1d", shapes, dtype, kwargs)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shapes,kwargs", [
    ([(2, 4, 5, 6), (4, 3, 3, 3), (3,)], {}),
    ([(2, 4, 5, 6), (4, 3, 3, 2), (6,)],
     dict(stride=(2, 3), padding=(1, 0), output_padding=(1, 2), groups=2, dilation=(1, 2))),
    ([(1, 3, 4, 4), (3, 2, 4, 4), None], dict(stride=2, padding=1)),                 # 2x upsample
    ([(2, 2, 3, 5), (2, 3, 3, 3), (3,)], dict(stride=2, output_padding=(0, 1), dilation=3)),
    ([(4, 5, 6), (4, 3, 3, 3), (3,)], dict(stride=2)),                               # unbatched
])
def test_conv_transpose2d_matches_pytorch(shapes, kwargs, dtype):
    run_both("conv_transpose2d", shapes, dtype, kwargs)


@pytest.mark.parametrize("name,kwargs", [("conv2d", dict(stride=2, padding=1)),
                                         ("conv_transpose2d", dict(stride=2, output_padding=1))])
def test_frozen_weight_still_gives_the_input_gradient(name, kwargs):
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((3, 3, 3, 3))
    ours_x, theirs_x = hl.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    getattr(F, name)(ours_x, hl.tensor(w), **kwargs).sum().backward()
    getattr(TF, name)(theirs_x, torch.tensor(w), **kwargs).sum().backward()
    np.testing.assert_allclose(ours_x.grad.numpy(), theirs_x.grad.numpy(), rtol=1e-12)


def test_weight_rank_errors():
    with pytest.raises(RuntimeError, match="expected a 4-D weight"):
        F.conv2d(hl.zeros(1, 1, 4, 4), hl.zeros(1, 1, 3))
    with pytest.raises(RuntimeError, match="expected a 3-D weight"):
        F.conv1d(hl.zeros(1, 1, 4), hl.zeros(1, 1, 3, 3))


def test_input_without_grad_gets_none_and_weight_grad_still_right():
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((2, 1, 8, 8)), rng.standard_normal((3, 1, 3, 3))
    ours_x, ours_w = hl.tensor(x), hl.tensor(w, requires_grad=True)
    theirs_w = torch.tensor(w, requires_grad=True)
    F.conv2d(ours_x, ours_w, stride=2).sum().backward()
    TF.conv2d(torch.tensor(x), theirs_w, stride=2).sum().backward()
    assert ours_x.grad is None
    np.testing.assert_allclose(ours_w.grad.numpy(), theirs_w.grad.numpy(), rtol=1e-12)


def test_non_contiguous_input():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 3, 9, 2)).transpose(0, 1, 3, 2)  # (5, 3, 2, 9), strided
    w = rng.standard_normal((4, 3, 2, 3))
    out = F.conv2d(hl.tensor(x), hl.tensor(w), padding=1)
    expected = TF.conv2d(torch.tensor(x), torch.tensor(w), padding=1)
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-12)


@pytest.mark.parametrize("name,shapes,kwargs", [
    ("conv2d", [(2, 4, 5, 6), (4, 2, 3, 2), (4,)], dict(stride=2, padding=1, dilation=(2, 1),
                                                        groups=2)),
    ("conv1d", [(2, 2, 7), (3, 2, 3), (3,)], dict(stride=2, padding=2, dilation=2)),
    ("conv_transpose2d", [(1, 2, 3, 4), (2, 3, 2, 3), (3,)],
     dict(stride=2, padding=1, output_padding=1)),
])
def test_gradcheck(name, shapes, kwargs):
    rng = np.random.default_rng(3)
    inputs = [hl.tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]
    assert gradcheck(lambda *args: getattr(F, name)(*args, **kwargs), inputs)


def test_double_backward_is_refused():
    x = hl.randn(1, 1, 4, 4, dtype=hl.float64, requires_grad=True)
    w = hl.randn(1, 1, 2, 2, dtype=hl.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match="double backward through convolution"):
        hl.autograd.grad(F.conv2d(x, w).sum(), (x,), create_graph=True)


ERROR_CASES = [
    ("rank", lambda F, t: F.conv2d(t(2, 3), t(6, 4, 3, 3))),
    ("rank 5", lambda F, t: F.conv2d(t(2, 3, 4, 5, 6), t(6, 4, 3, 3))),
    ("channels", lambda F, t: F.conv2d(t(2, 4, 5, 5), t(6, 3, 3, 3))),
    ("groups channels", lambda F, t: F.conv2d(t(2, 4, 5, 5), t(6, 2, 3, 3), groups=3)),
    ("groups weight", lambda F, t: F.conv2d(t(2, 4, 5, 5), t(5, 2, 3, 3), groups=2)),
    ("kernel too big", lambda F, t: F.conv2d(t(2, 4, 5, 5), t(6, 4, 7, 7))),
    ("kernel too big 1d", lambda F, t: F.conv1d(t(2, 3, 2), t(6, 3, 3))),
    ("stride", lambda F, t: F.conv2d(t(2, 4, 5, 5), t(6, 4, 3, 3), stride=0)),
    ("padding", lambda F, t: F.conv2d(t(2, 4, 5, 5), t(6, 4, 3, 3), padding=-1)),
    ("dilation", lambda F, t: F.conv2d(t(2, 4, 5, 5), t(6, 4, 3, 3), dilation=0)),
    ("same strided", lambda F, t: F.conv2d(t(2, 4, 5, 5), t(6, 4, 3, 3), padding="same",
                                           stride=2)),
    ("padding string", lambda F, t: F.conv2d(t(2, 4, 5, 5), t(6, 4, 3, 3), padding="foo")),
    ("bias", lambda F, t: F.conv2d(t(2, 4, 5, 5), t(6, 4, 3, 3), t(5))),
    ("conv1d rank", lambda F, t: F.conv1d(t(2, 3, 4, 5), t(6, 3, 3))),
    ("conv1d stride list", lambda F, t: F.conv1d(t(2, 3, 5), t(6, 3, 3), stride=[1, 1])),
    ("transposed channels", lambda F, t: F.conv_transpose2d(t(2, 4, 5, 5), t(3, 3, 3, 3))),
    ("output_padding", lambda F, t: F.conv_transpose2d(t(2, 4, 5, 5), t(4, 3, 3, 3), stride=2,
                                                       output_padding=2)),
]


@pytest.mark.parametrize("case,fn", ERROR_CASES, ids=[c for c, _ in ERROR_CASES])
def test_errors_match_pytorch(case, fn):
    ours = error_of(lambda: fn(F, lambda *s: hl.zeros(s)))
    theirs = error_of(lambda: fn(TF, lambda *s: torch.zeros(s)))
    assert theirs is not None and ours == theirs


def test_dtype_mismatch_error():
    with pytest.raises(RuntimeError, match="expected scalar type Double but found Float"):
        F.conv2d(hl.zeros(1, 1, 3, 3, dtype=hl.float64), hl.zeros(1, 1, 2, 2))


# --- layers ----------------------------------------------------------------------------------
LAYERS = [
    ("Conv2d", (1, 6, 5), {}),
    ("Conv2d", (3, 8, (3, 5)), dict(stride=2, padding=1, dilation=2, bias=False)),
    ("Conv2d", (4, 4, 3), dict(padding="same", groups=2)),
    ("Conv2d", (4, 6, 3), dict(padding="valid", stride=(1, 2))),
    ("Conv1d", (3, 4, 3), {}),
    ("Conv1d", (4, 8, 5), dict(stride=2, padding=2, groups=4, bias=False)),
    ("ConvTranspose2d", (4, 3, 3), dict(stride=2, output_padding=1)),
    ("ConvTranspose2d", (4, 6, (2, 3)), dict(stride=2, padding=1, groups=2, dilation=2)),
]


@pytest.mark.parametrize("name,args,kwargs", LAYERS)
def test_layer_matches_pytorch(name, args, kwargs):
    theirs = getattr(torch.nn, name)(*args, **kwargs).double()
    ours = getattr(nn, name)(*args, **kwargs).double()
    assert repr(ours) == repr(theirs)
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    ours.load_state_dict({k: hl.tensor(v.detach().numpy()) for k, v in
                          theirs.state_dict().items()})
    spatial = 1 if name == "Conv1d" else 2
    x = np.random.default_rng(4).standard_normal((2, args[0]) + (9,) * spatial)
    x_ours, x_theirs = hl.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, expected = ours(x_ours), theirs(x_theirs)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-10)
    out.sum().backward()
    expected.sum().backward()
    np.testing.assert_allclose(x_ours.grad.numpy(), x_theirs.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-10)


@pytest.mark.parametrize("layer", [nn.Conv2d(16, 32, 3), nn.ConvTranspose2d(32, 16, 3),
                                   nn.Conv1d(8, 4, 5)])
def test_init_is_pytorchs(layer):
    """Kaiming-uniform with a=√5: weights and bias in ±1/√fan_in, float32, spread over it."""
    fan_in = layer.weight.shape[1] * int(np.prod(layer.weight.shape[2:]))
    bound = 1 / np.sqrt(fan_in)
    for p in (layer.weight, layer.bias):
        values = p.detach().numpy()
        assert values.dtype == np.float32
        assert np.abs(values).max() <= bound
    w = layer.weight.detach().numpy()
    assert abs(w.std() - bound / np.sqrt(3)) < 0.1 * bound  # the std of U(-b, b) is b/√3


def test_conv_transpose_output_size():
    layer = nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1)
    x = hl.randn(1, 2, 4, 4)
    assert tuple(layer(x).shape) == (1, 3, 7, 7)
    assert tuple(layer(x, output_size=(8, 8)).shape) == (1, 3, 8, 8)
    with pytest.raises(ValueError, match="requested an output size of"):
        layer(x, output_size=(10, 10))


@pytest.mark.parametrize("kwargs,message", [
    (dict(in_channels=3, out_channels=4, kernel_size=3, groups=2),
     "in_channels must be divisible by groups"),
    (dict(in_channels=4, out_channels=3, kernel_size=3, groups=2),
     "out_channels must be divisible by groups"),
    (dict(in_channels=1, out_channels=1, kernel_size=3, padding="full"),
     "Invalid padding string 'full'"),
    (dict(in_channels=1, out_channels=1, kernel_size=3, padding="same", stride=2),
     "padding='same' is not supported for strided convolutions"),
    (dict(in_channels=1, out_channels=1, kernel_size=3, padding_mode="mirror"),
     "padding_mode must be one of"),
])
def test_layer_argument_errors_match_pytorch(kwargs, message):
    with pytest.raises(ValueError, match=message):
        torch.nn.Conv2d(**kwargs)
    with pytest.raises(ValueError, match=message):
        nn.Conv2d(**kwargs)


def test_float32_stays_float32_through_a_layer():
    layer = nn.Conv2d(3, 4, 3, padding=1)
    x = hl.randn(2, 3, 6, 6, requires_grad=True)
    out = layer(x)
    out.sum().backward()
    assert out.dtype == hl.float32 and x.grad.dtype == hl.float32
    assert layer.weight.grad.dtype == hl.float32 and layer.bias.grad.dtype == hl.float32
