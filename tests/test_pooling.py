"""Pooling, unpooling and interpolation against PyTorch: values, indices, gradients (float64
tight, float32 loose), ties and NaN as PyTorch resolves them, gradchecks, errors and reprs."""
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
TOL = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=1e-5, atol=1e-6)}


def run_both(name: str, x: np.ndarray, *args, grad_fn: str | None = None, **kwargs) -> None:
    """``F.<name>(x, ...)`` on both libraries: output (and indices), dtype, input gradient."""
    ours_x, theirs_x = hl.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out = getattr(F, name)(ours_x, *args, **kwargs)
    expected = getattr(TF, name)(theirs_x, *args, **kwargs)
    if isinstance(expected, tuple):
        (out, indices), (expected, expected_indices) = out, expected
        np.testing.assert_array_equal(indices.numpy(), expected_indices.numpy())
        assert indices.dtype == hl.int64
    assert tuple(out.shape) == tuple(expected.shape)
    assert out.dtype.np_dtype == x.dtype
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), **TOL[x.dtype.type])
    if grad_fn is not None:
        assert out.grad_fn.name() == grad_fn
    g = np.random.default_rng(9).standard_normal(tuple(expected.shape)).astype(x.dtype)
    out.backward(hl.tensor(g))
    expected.backward(torch.tensor(g))
    assert ours_x.grad.dtype.np_dtype == x.dtype
    np.testing.assert_allclose(ours_x.grad.numpy(), theirs_x.grad.numpy(), **TOL[x.dtype.type])


def data(shape, dtype=np.float64, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


DTYPES = [np.float64, np.float32]

MAX_POOL_CASES = [
    ((2, 3, 8, 8), (2,), {}),
    ((2, 3, 9, 7), (3, 2, 1), dict(ceil_mode=True)),
    ((2, 3, 9, 7), ((3, 2), (2, 1), (1, 0)), dict(dilation=(2, 1))),
    ((1, 2, 10, 11), (3,), dict(stride=1, padding=1)),                 # overlapping windows
    ((2, 2, 7, 7), (2,), dict(ceil_mode=True)),                          # ragged last window
    ((2, 2, 11, 9), (3, 3, 1), dict(dilation=2, ceil_mode=True)),
    ((3, 9, 7), (2,), {}),                                               # unbatched
    ((1, 1, 5, 5), (5,), {}),                                            # one window
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,args,kwargs", MAX_POOL_CASES)
def test_max_pool2d(shape, args, kwargs, dtype):
    run_both("max_pool2d", data(shape, dtype), *args, return_indices=True,
             grad_fn="MaxPool2DWithIndicesBackward0", **kwargs)
    run_both("max_pool2d", data(shape, dtype), *args, **kwargs)


@pytest.mark.parametrize("kwargs", [dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1)])
def test_max_pool2d_ties_go_to_the_first_maximum(kwargs):
    """After a ReLU whole windows are 0: PyTorch sends the gradient to the first of them."""
    x = np.maximum(np.random.default_rng(1).integers(-3, 3, (2, 3, 6, 6)), 0).astype(np.float64)
    run_both("max_pool2d", x, return_indices=True, **kwargs)


def test_max_pool2d_nan_wins_like_pytorch():
    x = data((1, 2, 6, 6))
    x[0, 0, 1, 1] = x[0, 1, 4, 5] = x[0, 1, 5, 5] = np.nan
    ours, ours_idx = F.max_pool2d(hl.tensor(x), 2, return_indices=True)
    theirs, theirs_idx = TF.max_pool2d(torch.tensor(x), 2, return_indices=True)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())  # NaN positions equal too
    np.testing.assert_array_equal(ours_idx.numpy(), theirs_idx.numpy())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,args,kwargs", [
    ((2, 3, 8, 8), (2,), {}),
    ((2, 3, 9, 7), (3, 2, 1), dict(ceil_mode=True)),
    ((2, 3, 9, 7), (3, 2, 1), dict(ceil_mode=True, count_include_pad=False)),
    ((2, 3, 9, 7), ((3, 2), (2, 3), (1, 1)), dict(divisor_override=5)),
    ((1, 2, 10, 11), (3,), dict(stride=1, padding=1, count_include_pad=False)),
    ((3, 5, 5), (2,), {}),
])
def test_avg_pool2d(shape, args, kwargs, dtype):
    run_both("avg_pool2d", data(shape, dtype), *args, grad_fn="AvgPool2DBackward0", **kwargs)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,size", [
    ((2, 3, 8, 8), (4, 4)),       # windows that tile
    ((2, 3, 9, 7), (4, 3)),       # overlapping windows
    ((2, 3, 3, 4), (5, 7)),       # more outputs than inputs
    ((1, 2, 7, 7), 1),            # global pooling
    ((3, 9, 7), (None, 2)),       # None keeps a dim; unbatched
])
def test_adaptive_pools(shape, size, dtype):
    run_both("adaptive_avg_pool2d", data(shape, dtype), size,
             grad_fn="AdaptiveAvgPool2DBackward0")
    run_both("adaptive_max_pool2d", data(shape, dtype), size, return_indices=True,
             grad_fn="AdaptiveMaxPool2DBackward0")


def test_one_dimensional_pools():
    x = data((2, 3, 11))
    run_both("max_pool1d", x, 3, 2, 1, ceil_mode=True, return_indices=True)
    run_both("avg_pool1d", x, 3, 2, 1, ceil_mode=True, count_include_pad=False)
    run_both("adaptive_avg_pool1d", x, 4)
    run_both("adaptive_max_pool1d", x, 4, return_indices=True)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,kwargs", [
    ((2, 3, 5, 7), dict(scale_factor=2)),
    ((2, 3, 5, 7), dict(size=(7, 4))),
    ((2, 3, 5, 7), dict(scale_factor=(1.7, 0.6))),
    ((2, 3, 5, 7), dict(size=(9, 4), mode="bilinear", align_corners=True)),
    ((2, 3, 5, 7), dict(size=(9, 4), mode="bilinear", align_corners=False)),
    ((2, 3, 5, 7), dict(scale_factor=(2.5, 1.3), mode="bilinear")),
    ((1, 1, 4, 4), dict(size=1, mode="bilinear", align_corners=True)),
    ((2, 3, 5, 7), dict(scale_factor=0.5, mode="bilinear", recompute_scale_factor=True)),
    ((2, 3, 5), dict(scale_factor=2.5, mode="linear")),
    ((2, 3, 5), dict(size=8, mode="linear", align_corners=True)),
    ((2, 3, 5), dict(size=3)),
])
def test_interpolate(shape, kwargs, dtype):
    run_both("interpolate", data(shape, dtype), **kwargs)


def test_interpolate_node_names():
    x = hl.randn(1, 1, 3, 3, requires_grad=True)
    assert F.interpolate(x, scale_factor=2).grad_fn.name() == "UpsampleNearest2DBackward0"
    assert F.interpolate(x, scale_factor=2, mode="bilinear").grad_fn.name() == \
        "UpsampleBilinear2DBackward0"


def test_max_unpool2d_inverts_max_pool2d():
    x = data((2, 3, 6, 7))
    pooled, indices = TF.max_pool2d(torch.tensor(x), 2, return_indices=True)
    p = pooled.numpy()
    ours_in = hl.tensor(p, requires_grad=True)
    theirs_in = torch.tensor(p, requires_grad=True)
    out = F.max_unpool2d(ours_in, hl.tensor(indices.numpy()), 2, output_size=(6, 7))
    expected = TF.max_unpool2d(theirs_in, indices, 2, output_size=(6, 7))
    np.testing.assert_array_equal(out.detach().numpy(), expected.detach().numpy())
    g = data((2, 3, 6, 7), seed=5)
    out.backward(hl.tensor(g))
    expected.backward(torch.tensor(g))
    np.testing.assert_array_equal(ours_in.grad.numpy(), theirs_in.grad.numpy())


@pytest.mark.parametrize("name,args,kwargs", [
    ("max_pool2d", (3, 2, 1), dict(dilation=2, ceil_mode=True)),
    ("max_pool2d", (3, 1, 1), {}),
    ("avg_pool2d", (3, 2, 1), dict(ceil_mode=True, count_include_pad=False)),
    ("adaptive_avg_pool2d", ((3, 2),), {}),
    ("adaptive_max_pool2d", ((3, 4),), {}),
    ("interpolate", (), dict(size=(4, 7), mode="bilinear")),
    ("interpolate", (), dict(scale_factor=1.5)),
])
def test_gradcheck(name, args, kwargs):
    # distinct, well separated values: a small step never changes which element is the maximum
    values = np.random.default_rng(6).permutation(2 * 2 * 5 * 6).reshape(2, 2, 5, 6) / 7.0
    x = hl.tensor(values, requires_grad=True)
    assert gradcheck(lambda t: getattr(F, name)(t, *args, **kwargs), (x,))


ERROR_CASES = [
    ("kernel too big", lambda F, x: F.max_pool2d(x, 7)),
    ("pad too big", lambda F, x: F.max_pool2d(x, 3, padding=2)),
    ("avg kernel too big", lambda F, x: F.avg_pool2d(x, 7)),
    ("avg pad too big", lambda F, x: F.avg_pool2d(x, 3, padding=2)),
    ("zero stride", lambda F, x: F.max_pool2d(x, 2, stride=0)),
    ("both size and scale", lambda F, x: F.interpolate(x, size=(3, 3), scale_factor=2)),
    ("neither", lambda F, x: F.interpolate(x)),
    ("unknown mode", lambda F, x: F.interpolate(x, size=3, mode="bicubicx")),
    ("align_corners with nearest", lambda F, x: F.interpolate(x, size=3, align_corners=True)),
    ("bilinear on 3-D", lambda F, x: F.interpolate(x[0], size=3, mode="bilinear")),
    ("adaptive rank", lambda F, x: F.adaptive_avg_pool2d(x[0, 0], 2)),
    ("unpool index", lambda F, x: F.max_unpool2d(x, (x * 0 + 100).long(), 2)),
]


@pytest.mark.parametrize("case,fn", ERROR_CASES, ids=[c for c, _ in ERROR_CASES])
def test_errors_match_pytorch(case, fn):
    ours = error_of(lambda: fn(F, hl.zeros(2, 4, 5, 5)))
    theirs = error_of(lambda: fn(TF, torch.zeros(2, 4, 5, 5)))
    assert theirs is not None and ours == theirs


def test_wrong_rank_is_an_error():
    with pytest.raises(RuntimeError, match="3D or 4D"):
        F.max_pool2d(hl.zeros(5), 2)
    with pytest.raises(RuntimeError, match="3D or 4D"):
        TF.max_pool2d(torch.zeros(5), 2)


def test_double_backward_is_refused():
    x = hl.randn(1, 1, 4, 4, dtype=hl.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match="double backward through max_pool2d"):
        hl.autograd.grad(F.max_pool2d(x, 2).sum(), (x,), create_graph=True)


# --- layers ----------------------------------------------------------------------------------
LAYERS = [
    ("MaxPool2d", (2,), {}),
    ("MaxPool2d", (3, 2, 1), dict(ceil_mode=True, return_indices=True)),
    ("MaxPool1d", (2,), {}),
    ("AvgPool2d", (2,), {}),
    ("AvgPool2d", (3, 2, 1), dict(ceil_mode=True, count_include_pad=False, divisor_override=2)),
    ("AvgPool1d", (3,), {}),
    ("AdaptiveAvgPool2d", ((6, 6),), {}),
    ("AdaptiveAvgPool2d", ((None, 3),), {}),
    ("AdaptiveMaxPool2d", (1,), {}),
    ("AdaptiveAvgPool1d", (4,), {}),
    ("MaxUnpool2d", (2,), {}),
    ("Upsample", (), dict(scale_factor=2)),
    ("Upsample", (), dict(size=(4, 5), mode="bilinear", align_corners=True)),
    ("UpsamplingNearest2d", (), dict(scale_factor=3)),
    ("UpsamplingBilinear2d", (), dict(size=(4, 5))),
]


@pytest.mark.parametrize("name,args,kwargs", LAYERS)
def test_layer_reprs_match_pytorch(name, args, kwargs):
    theirs = getattr(torch.nn, name)(*args, **kwargs)
    assert repr(getattr(nn, name)(*args, **kwargs)) == repr(theirs)


@pytest.mark.parametrize("name,args,kwargs", [
    ("MaxPool2d", (3, 2, 1), dict(ceil_mode=True)), ("AvgPool2d", (3, 2), {}),
    ("AdaptiveAvgPool2d", ((3, 2),), {}), ("AdaptiveMaxPool2d", (2,), {}),
    ("Upsample", (), dict(scale_factor=2, mode="bilinear")),
    ("UpsamplingBilinear2d", (), dict(scale_factor=2)),
])
def test_layers_compute_like_pytorch(name, args, kwargs):
    x = data((2, 3, 7, 8))
    out = getattr(nn, name)(*args, **kwargs)(hl.tensor(x))
    expected = getattr(torch.nn, name)(*args, **kwargs)(torch.tensor(x))
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-10, atol=1e-12)
