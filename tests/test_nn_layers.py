"""Layers and activations against torch.nn with the same weights: outputs, input gradients and
parameter gradients (float64 tight, float32 loose), plus train/eval behaviour."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import handbook_lib as hl
import handbook_lib.nn.functional as F
from handbook_lib import nn
from handbook_lib.autograd import gradcheck
from nn_helpers import close, compare_module, copy_weights, pair

DTYPES = [np.float64, np.float32]


def randn(*shape, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def build(factory, dtype):
    """The same layer in both libraries, ours holding torch's initial weights."""
    torch.manual_seed(0)
    theirs = factory(torch.nn)
    ours = factory(nn)
    if dtype == np.float64:
        theirs.double()
        ours.double()
    copy_weights(ours, theirs)
    return ours, theirs


LAYERS = {
    "linear": (lambda n: n.Linear(5, 3), [(4, 5)]),
    "linear_3d": (lambda n: n.Linear(5, 3), [(2, 4, 5)]),
    "linear_1d": (lambda n: n.Linear(5, 3), [(5,)]),
    "linear_nobias": (lambda n: n.Linear(5, 3, bias=False), [(4, 5)]),
    "bilinear": (lambda n: n.Bilinear(3, 4, 2), [(5, 3), (5, 4)]),
    "identity": (lambda n: n.Identity(7, k=1), [(2, 3)]),
    "flatten": (lambda n: n.Sequential(n.Flatten(), n.Linear(12, 2)), [(2, 3, 2, 2)]),
    "unflatten": (lambda n: n.Unflatten(1, (2, 3)), [(4, 6)]),
    "bn1d": (lambda n: n.BatchNorm1d(3), [(6, 3)]),
    "bn1d_3d": (lambda n: n.BatchNorm1d(3), [(4, 3, 5)]),
    "bn1d_noaffine": (lambda n: n.BatchNorm1d(3, affine=False), [(6, 3)]),
    "bn2d": (lambda n: n.BatchNorm2d(3), [(2, 3, 4, 4)]),
    "bn2d_nostats": (lambda n: n.BatchNorm2d(3, track_running_stats=False), [(2, 3, 2, 2)]),
    "layernorm": (lambda n: n.LayerNorm(6), [(3, 6)]),
    "layernorm_2d": (lambda n: n.LayerNorm((4, 5)), [(2, 3, 4, 5)]),
    "layernorm_noaffine": (lambda n: n.LayerNorm(4, elementwise_affine=False), [(3, 4)]),
    "layernorm_nobias": (lambda n: n.LayerNorm(4, bias=False), [(3, 4)]),
    "relu": (lambda n: n.ReLU(), [(3, 4)]),
    "leaky_relu": (lambda n: n.LeakyReLU(0.2), [(3, 4)]),
    "elu": (lambda n: n.ELU(alpha=0.7), [(3, 4)]),
    "gelu": (lambda n: n.GELU(), [(3, 4)]),
    "gelu_tanh": (lambda n: n.GELU(approximate="tanh"), [(3, 4)]),
    "sigmoid": (lambda n: n.Sigmoid(), [(3, 4)]),
    "tanh": (lambda n: n.Tanh(), [(3, 4)]),
    "silu": (lambda n: n.SiLU(), [(3, 4)]),
    "hardtanh": (lambda n: n.Hardtanh(-0.5, 0.5), [(3, 4)]),
    "relu6": (lambda n: n.ReLU6(), [(3, 4)]),
    "softplus": (lambda n: n.Softplus(), [(3, 4)]),
    "softplus_beta": (lambda n: n.Softplus(beta=2, threshold=1), [(3, 4)]),
    "softmax": (lambda n: n.Softmax(dim=1), [(3, 4)]),
    "softmax_dim0": (lambda n: n.Softmax(dim=0), [(3, 4)]),
    "log_softmax": (lambda n: n.LogSoftmax(dim=-1), [(3, 4)]),
    "mlp": (lambda n: n.Sequential(n.Linear(6, 8), n.BatchNorm1d(8), n.GELU(), n.Linear(8, 2),
                                   n.LayerNorm(2)), [(5, 6)]),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("name", LAYERS)
def test_layer_matches_torch(name, dtype, device):
    factory, shapes = LAYERS[name]
    ours, theirs = build(factory, dtype)
    inputs = [randn(*s, dtype=dtype, seed=i) * 2 for i, s in enumerate(shapes)]
    compare_module(ours, theirs, inputs, dtype, device=device)
    for (n1, b1), (n2, b2) in zip(ours.named_buffers(), theirs.named_buffers()):
        assert n1 == n2
        close(b1, b2, dtype)


@pytest.mark.parametrize("name", ["bn1d", "bn2d", "layernorm_2d", "mlp"])
def test_layer_eval_mode_matches_torch(name):
    factory, shapes = LAYERS[name]
    ours, theirs = build(factory, np.float64)
    for step in range(3):  # a few training steps move the running statistics
        x = randn(*shapes[0], seed=step)
        ours(hl.tensor(x)), theirs(torch.tensor(x))
    ours.eval(), theirs.eval()
    compare_module(ours, theirs, [randn(*shapes[0], seed=9)], np.float64)


def test_activation_extremes_stay_finite():
    x = np.array([-1e4, -50.0, -1.0, 0.0, 1.0, 50.0, 1e4], dtype=np.float32)
    for fn in ("softplus", "sigmoid", "elu", "gelu", "silu", "logsigmoid"):
        a, b = pair(x)
        out_ours = getattr(F, fn)(a)
        out_theirs = getattr(torch.nn.functional, fn)(b)
        close(out_ours, out_theirs, np.float32)
        out_ours.sum().backward()
        out_theirs.sum().backward()
        close(a.grad, b.grad, np.float32)
        assert np.isfinite(a.grad.numpy()).all()


@pytest.mark.parametrize("fn,kwargs", [
    ("leaky_relu", {"negative_slope": 0.1}), ("elu", {}), ("gelu", {}),
    ("gelu", {"approximate": "tanh"}), ("softplus", {"beta": 0.5}), ("silu", {}),
    ("softmax", {"dim": 1}), ("log_softmax", {"dim": 0}), ("logsigmoid", {}),
])
def test_activation_second_derivatives(fn, kwargs):
    x = hl.tensor(randn(3, 4) + 0.05, requires_grad=True)
    assert gradcheck(lambda t: getattr(F, fn)(t, **kwargs), (x,))
    from handbook_lib.autograd import gradgradcheck

    assert gradgradcheck(lambda t: getattr(F, fn)(t, **kwargs), (x,))


def test_functional_linear_and_errors():
    x, w, b = (hl.tensor(randn(2, 3)), hl.tensor(randn(4, 3)), hl.tensor(randn(4)))
    out = F.linear(x, w, b)
    assert out.grad_fn is None
    np.testing.assert_allclose(out.numpy(), x.numpy() @ w.numpy().T + b.numpy())
    with pytest.raises(RuntimeError,
                       match=r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x4\)"):
        F.linear(x, hl.tensor(randn(4, 4)))
    with pytest.raises(RuntimeError, match="mat1 and mat2 must have the same dtype, but got "
                                           "Float and Double"):
        F.linear(x.float(), w)
    xg = hl.tensor(randn(2, 3), requires_grad=True)
    assert F.linear(xg, w, b).grad_fn.name() == "AddmmBackward0"
    assert gradcheck(lambda a, c, d: F.linear(a, c, d),
                     (xg, hl.tensor(randn(4, 3), requires_grad=True),
                      hl.tensor(randn(4), requires_grad=True)))


def test_linear_default_init_bounds_and_float32():
    layer = nn.Linear(400, 120)
    assert layer.weight.dtype == hl.float32 and layer.bias.dtype == hl.float32
    bound = 1 / np.sqrt(400)
    w, b = layer.weight.detach().numpy(), layer.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert abs(w.std() - bound / np.sqrt(3)) < 0.02 * bound  # U(-a, a) has std a/√3
    assert np.abs(b).max() <= bound
    assert layer(hl.randn(2, 400)).dtype == hl.float32


# --- Embedding ---------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs", [{}, {"padding_idx": 0}, {"padding_idx": -1},
                                    {"max_norm": 1.0}, {"max_norm": 0.5, "norm_type": 1.0},
                                    {"scale_grad_by_freq": True, "padding_idx": 1}],
                         ids=lambda k: "-".join(f"{a}={b}" for a, b in k.items()) or "plain")
def test_embedding_matches_torch(kwargs):
    ours, theirs = build(lambda n: n.Embedding(6, 3, **kwargs), np.float64)
    assert repr(ours) == repr(theirs)
    idx = np.array([[0, 2, 5], [5, 5, 1]])
    out_ours, out_theirs = ours(hl.tensor(idx)), theirs(torch.tensor(idx))
    close(out_ours, out_theirs)
    close(ours.weight, theirs.weight)  # max_norm renormalises looked-up rows in place
    g = randn(2, 3, 3)
    out_ours.backward(hl.tensor(g))
    out_theirs.backward(torch.tensor(g))
    close(ours.weight.grad, theirs.weight.grad)


def test_embedding_padding_row_starts_at_zero_and_from_pretrained():
    emb = nn.Embedding(5, 4, padding_idx=2)
    assert float(emb.weight[2].abs().sum()) == 0
    assert float(emb.weight[1].abs().sum()) > 0
    table = hl.tensor(randn(3, 2))
    frozen = nn.Embedding.from_pretrained(table)
    assert not frozen.weight.requires_grad
    np.testing.assert_array_equal(frozen(hl.tensor([2])).numpy(), table.numpy()[[2]])
    assert nn.Embedding.from_pretrained(table, freeze=False).weight.requires_grad
    with pytest.raises(IndexError, match="index out of range in self"):
        frozen(hl.tensor([3]))
    with pytest.raises(RuntimeError, match="indices"):
        frozen(hl.tensor([1.0]))
    with pytest.raises(NotImplementedError, match="sparse=True"):
        nn.Embedding(3, 2, sparse=True)(hl.tensor([1]))


# --- Dropout -----------------------------------------------------------------------------------

def test_dropout_train_statistics_and_gradient():
    hl.manual_seed(0)
    drop = nn.Dropout(0.3)
    x = hl.ones(200, 500, requires_grad=True)
    y = drop(x)
    kept = y.detach().numpy() != 0
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(y.detach().numpy()[kept], 1 / 0.7, rtol=1e-6)
    assert y.dtype == hl.float32
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.detach().numpy())  # same mask, same scale


def test_dropout_eval_and_edge_probabilities():
    x = hl.randn(4, 5)
    drop = nn.Dropout(0.5).eval()
    assert drop(x) is x
    assert float(F.dropout(x, 1.0).abs().sum()) == 0
    assert F.dropout(x, 0.0) is x
    for lib in (nn, torch.nn):
        with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, "
                                             "but got 1.5"):
            lib.Dropout(1.5)


def test_dropout2d_zeroes_whole_channels():
    hl.manual_seed(1)
    y = nn.Dropout2d(0.5)(hl.ones(8, 16, 3, 3)).numpy()
    per_channel = y.reshape(8, 16, 9)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2).all(-1))
    assert 0.3 < (per_channel[..., 0] == 0).mean() < 0.7
    three_d = nn.Dropout2d(0.5)(hl.ones(4, 3, 3)).numpy().reshape(4, 9)
    assert np.all((three_d == 0).all(-1) | (three_d == 2).all(-1))
    assert nn.Dropout2d(0.5).eval()(hl.ones(2, 2, 2, 2)).numpy().min() == 1


def test_dropout_inplace_writes_into_input():
    x = hl.ones(10, 10)
    out = F.dropout(x, 0.5, inplace=True)
    assert out is x and set(np.unique(x.numpy())) <= {0.0, 2.0}


# --- BatchNorm running statistics ----------------------------------------------------------------

@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
def test_batchnorm_running_stats_follow_torch(momentum):
    ours, theirs = build(lambda n: n.BatchNorm1d(3, momentum=momentum), np.float32)
    for step in range(4):
        x = randn(8, 3, dtype=np.float32, seed=step) * (step + 1) + step
        ours(hl.tensor(x)), theirs(torch.tensor(x))
    for name in ("running_mean", "running_var"):
        close(getattr(ours, name), getattr(theirs, name), np.float32)
    assert ours.num_batches_tracked.item() == 4 and ours.num_batches_tracked.dtype == hl.int64


def test_batchnorm_eval_without_running_stats_uses_batch():
    ours, theirs = build(lambda n: n.BatchNorm1d(3, track_running_stats=False), np.float64)
    ours.eval(), theirs.eval()
    x = randn(5, 3)
    close(ours(hl.tensor(x)), theirs(torch.tensor(x)))
    assert ours.running_mean is None and "running_mean" not in ours.state_dict()


def test_batchnorm_errors():
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        nn.BatchNorm1d(3)(hl.randn(1, 3))
    with pytest.raises(ValueError, match=r"expected 4D input \(got 2D input\)"):
        nn.BatchNorm2d(3)(hl.randn(2, 3))
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        nn.BatchNorm1d(3)(hl.randn(2, 3, 1, 1))
    x = hl.randn(4, 3, requires_grad=True)
    y = nn.BatchNorm1d(3)(x)
    with pytest.raises(RuntimeError, match="double backward through NativeBatchNormBackward0"):
        hl.autograd.grad(y.pow(2).sum(), x, create_graph=True)


def test_layernorm_shape_error():
    with pytest.raises(RuntimeError, match=r"Given normalized_shape=\[4\], expected input with "
                                           r"shape \[\*, 4\], but got input of size\[2, 3\]"):
        nn.LayerNorm(4)(hl.randn(2, 3))


# --- pad and one_hot ----------------------------------------------------------------------------

@pytest.mark.parametrize("pads,value", [((1, 2), 0.0), ((1, 1, 2, 0), 3.5), ((-1, 2, 0, 1), 0.0),
                                        ((0, 0, 0, 0, 1, 1), -1.0)])
def test_pad_constant_matches_torch(pads, value):
    x = randn(2, 3, 4)
    a, b = pair(x)
    out_ours = F.pad(a, pads, value=value)
    out_theirs = torch.nn.functional.pad(b, pads, value=value)
    close(out_ours, out_theirs)
    g = randn(*out_theirs.shape, seed=3)
    out_ours.backward(hl.tensor(g)), out_theirs.backward(torch.tensor(g))
    close(a.grad, b.grad)


def test_pad_errors_and_one_hot():
    with pytest.raises(NotImplementedError, match="Unrecognised padding mode"):
        F.pad(hl.zeros(2, 2), (1, 1), mode="mirror")
    with pytest.raises(RuntimeError, match="divisible by 2"):
        F.pad(hl.zeros(2, 2), (1,))
    np.testing.assert_array_equal(F.one_hot(hl.tensor([0, 2]), 3).numpy(),
                                  torch.nn.functional.one_hot(torch.tensor([0, 2]), 3).numpy())


# --- init ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [("linear",), ("conv2d",), ("sigmoid",), ("tanh",), ("relu",),
                                  ("leaky_relu",), ("leaky_relu", 0.2), ("selu",)])
def test_calculate_gain_equals_torch(args):
    assert nn.init.calculate_gain(*args) == pytest.approx(torch.nn.init.calculate_gain(*args))


def test_calculate_gain_errors():
    with pytest.raises(ValueError, match="Unsupported nonlinearity foo"):
        nn.init.calculate_gain("foo")
    with pytest.raises(ValueError, match="negative_slope True not a valid number"):
        nn.init.calculate_gain("leaky_relu", True)


@pytest.mark.parametrize("shape", [(5, 3), (6, 4, 3, 3), (2, 7, 5)])
def test_fans_equal_torch(shape):
    ours = nn.init._calculate_fan_in_and_fan_out(hl.zeros(*shape))
    assert ours == torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(*shape))
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        nn.init._calculate_fan_in_and_fan_out(hl.zeros(3))


def _std(t):
    return float(t.detach().numpy().std())


@pytest.mark.parametrize("name,kwargs,expected_std", [
    ("xavier_uniform_", {}, np.sqrt(2 / (200 + 300))),
    ("xavier_normal_", {"gain": 2.0}, 2 * np.sqrt(2 / (200 + 300))),
    ("kaiming_uniform_", {"nonlinearity": "relu"}, np.sqrt(2 / 300)),
    ("kaiming_normal_", {"mode": "fan_out", "nonlinearity": "relu"}, np.sqrt(2 / 200)),
    ("kaiming_uniform_", {"a": np.sqrt(5)}, 1 / np.sqrt(300) / np.sqrt(3)),
    ("normal_", {"mean": 0.0, "std": 0.02}, 0.02),
    ("uniform_", {"a": -1.0, "b": 1.0}, 1 / np.sqrt(3)),
])
def test_init_statistics(name, kwargs, expected_std):
    w = nn.Parameter(hl.empty(200, 300))
    assert getattr(nn.init, name)(w, **kwargs) is w
    assert w.dtype == hl.float32 and w.requires_grad and w.grad_fn is None
    assert abs(_std(w) - expected_std) < 0.03 * expected_std
    if "uniform" in name:
        bound = np.sqrt(3) * expected_std
        assert np.abs(w.detach().numpy()).max() <= bound * (1 + 1e-6)


def test_init_fills_and_errors():
    w = hl.empty(3, 4)
    assert nn.init.constant_(w, 0.5).numpy().min() == 0.5
    assert nn.init.ones_(w).numpy().sum() == 12 and nn.init.zeros_(w).numpy().sum() == 0
    np.testing.assert_array_equal(nn.init.eye_(w).numpy(), np.eye(3, 4))
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions are supported"):
        nn.init.eye_(hl.empty(2, 2, 2))
    with pytest.raises(ValueError, match="Mode fan_avg not supported, please use one of"):
        nn.init.kaiming_uniform_(w, mode="fan_avg")
    t = nn.init.trunc_normal_(hl.empty(10000), std=1.0, a=-0.5, b=1.0)
    values = t.numpy()
    assert values.min() >= -0.5 and values.max() <= 1.0 and values.std() > 0.3
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        nn.init.kaiming_uniform_(hl.empty(0, 3))


def test_init_generator_is_reproducible():
    a = nn.init.xavier_uniform_(hl.empty(4, 4), generator=hl.Generator().manual_seed(3))
    b = nn.init.xavier_uniform_(hl.empty(4, 4), generator=hl.Generator().manual_seed(3))
    np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("name,kwargs", [("relu", {}), ("leaky_relu", {"negative_slope": 0.2}),
                                         ("elu", {}), ("hardtanh", {}), ("relu6", {}),
                                         ("silu", {})])
def test_inplace_activations_match_torch(name, kwargs):
    x = randn(3, 4) * 4
    a, b = pair(x)
    ha, tb = a * 1, b * 1  # non-leaf inputs may be overwritten
    out_ours = getattr(F, name)(ha, inplace=True, **kwargs)
    out_theirs = getattr(torch.nn.functional, name)(tb, inplace=True, **kwargs)
    assert out_ours is ha
    close(ha, tb)
    out_ours.sum().backward()
    out_theirs.sum().backward()
    close(a.grad, b.grad)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        getattr(F, name)(hl.tensor(x, requires_grad=True), inplace=True, **kwargs)


@pytest.mark.parametrize("name", ["linear", "bn2d", "layernorm_2d", "gelu", "log_softmax"])
def test_layers_on_non_contiguous_input(name):
    factory, shapes = LAYERS[name]
    ours, theirs = build(factory, np.float64)
    shape = shapes[0]
    base = randn(*reversed(shape))  # transpose back to ``shape``: a non-contiguous view
    a = hl.tensor(base, requires_grad=True)
    b = torch.tensor(base, requires_grad=True)
    dims = tuple(reversed(range(len(shape))))
    view_ours, view_theirs = a.permute(*dims), b.permute(*dims)
    assert not view_ours.is_contiguous()
    out_ours, out_theirs = ours(view_ours), theirs(view_theirs)
    close(out_ours, out_theirs)
    g = randn(*out_theirs.shape, seed=4)
    out_ours.backward(hl.tensor(g)), out_theirs.backward(torch.tensor(g))
    close(a.grad, b.grad)


def test_cross_entropy_on_non_contiguous_logits():
    base = randn(5, 4)
    a, b = pair(base)
    loss_ours = F.cross_entropy(a.t(), hl.tensor([0, 3, 1, 4]))
    loss_theirs = torch.nn.functional.cross_entropy(b.t(), torch.tensor([0, 3, 1, 4]))
    close(loss_ours, loss_theirs)
    loss_ours.backward(), loss_theirs.backward()
    close(a.grad, b.grad)


def test_normalization_gradcheck():
    """Finite differences as a second oracle for the fused closed-form backwards."""
    x = hl.tensor(randn(4, 3, 2), requires_grad=True)
    w = hl.tensor(randn(3, seed=1), requires_grad=True)
    b = hl.tensor(randn(3, seed=2), requires_grad=True)
    assert gradcheck(lambda a, c, d: F.batch_norm(a, None, None, c, d, training=True), (x, w, b))
    rm, rv = hl.tensor(randn(3, seed=3)), hl.tensor(np.abs(randn(3, seed=4)) + 0.5)
    assert gradcheck(lambda a, c, d: F.batch_norm(a, rm, rv, c, d, training=False), (x, w, b))
    lw = hl.tensor(randn(3, 2, seed=5), requires_grad=True)
    lb = hl.tensor(randn(3, 2, seed=6), requires_grad=True)
    assert gradcheck(lambda a, c, d: F.layer_norm(a, (3, 2), c, d), (x, lw, lb))
    assert gradcheck(lambda a: F.layer_norm(a, (2,)), (x,))
