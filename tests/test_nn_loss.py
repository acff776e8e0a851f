"""Losses against torch.nn.functional: every option, both target kinds, extreme logits."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import handbook_lib as hl
import handbook_lib.nn.functional as F
from handbook_lib import nn
from handbook_lib.autograd import gradcheck, gradgradcheck
from nn_helpers import close, pair

REDUCTIONS = ["mean", "sum", "none"]
DTYPES = [np.float64, np.float32]


def randn(*shape, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def run_both(fn_name, inputs: list, kwargs_ours: dict, kwargs_theirs: dict | None = None,
             dtype=np.float64, grad_inputs=(0,), seed=1, device="cpu"):
    """Call F.<fn> in both libraries on the same data; compare loss and input gradients."""
    ours_t, theirs_t = [], []
    for i, x in enumerate(inputs):
        needs = i in grad_inputs and x.dtype.kind == "f"
        a, b = pair(x, needs, device)
        ours_t.append(a)
        theirs_t.append(b)
    on_device = {k: v.to(device) if isinstance(v, hl.Tensor) else v for k, v in kwargs_ours.items()}
    out_ours = getattr(F, fn_name)(*ours_t, **on_device)
    assert out_ours.device == hl.device(device)
    out_theirs = getattr(TF, fn_name)(*theirs_t, **(kwargs_theirs or _to_torch(kwargs_ours)))
    close(out_ours, out_theirs, dtype)
    g = randn(*out_theirs.shape, dtype=dtype, seed=seed) if out_theirs.ndim else np.array(
        1.7, dtype=dtype)
    out_ours.backward(hl.tensor(g, device=device))
    out_theirs.backward(torch.tensor(g))
    for i in grad_inputs:
        close(ours_t[i].grad, theirs_t[i].grad, dtype)
    return out_ours


def _to_torch(kwargs: dict) -> dict:
    return {k: torch.tensor(v.numpy()) if isinstance(v, hl.Tensor) else v
            for k, v in kwargs.items()}


# --- regression losses ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("fn,extra", [("mse_loss", {}), ("l1_loss", {}),
                                      ("smooth_l1_loss", {}), ("smooth_l1_loss", {"beta": 0.3}),
                                      ("smooth_l1_loss", {"beta": 0.0}),
                                      ("huber_loss", {"delta": 0.5})])
def test_regression_losses(fn, extra, reduction, dtype, device):
    x, y = randn(4, 5, dtype=dtype), randn(4, 5, dtype=dtype, seed=2)
    out = run_both(fn, [x, y], {"reduction": reduction, **extra}, dtype=dtype, grad_inputs=(0, 1),
                   device=device)
    assert out.dtype == (hl.float32 if dtype == np.float32 else hl.float64)


def test_regression_loss_shape_warning_and_bad_reduction():
    with pytest.warns(UserWarning, match="Using a target size"):
        F.mse_loss(hl.zeros(3, 1), hl.zeros(3))
    with pytest.raises(ValueError, match="elementwise is not a valid value for reduction"):
        F.l1_loss(hl.zeros(3), hl.zeros(3), reduction="elementwise")


# --- cross-entropy -----------------------------------------------------------------------------

CE_OPTIONS = [
    {},
    {"label_smoothing": 0.1},
    {"weight": "w"},
    {"weight": "w", "label_smoothing": 0.2},
    {"ignore_index": 1},
    {"ignore_index": 1, "weight": "w", "label_smoothing": 0.3},
]


def _options(opts: dict, C: int, dtype) -> dict:
    out = dict(opts)
    if out.get("weight") == "w":
        out["weight"] = hl.tensor(np.linspace(0.5, 2.0, C).astype(dtype))
    return out


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("opts", CE_OPTIONS, ids=lambda o: "-".join(o) or "plain")
@pytest.mark.parametrize("shape", [(6, 4), (3, 4, 2, 5), (4,)], ids=["NC", "NCHW", "C"])
def test_cross_entropy_class_indices(shape, opts, reduction, dtype, device):
    C = shape[1] if len(shape) > 1 else shape[0]
    target_shape = (shape[0],) + shape[2:] if len(shape) > 1 else ()
    target = np.random.default_rng(5).integers(0, C, target_shape)
    if "ignore_index" in opts and target.size > 1:
        target.flat[0] = opts["ignore_index"]
    run_both("cross_entropy", [randn(*shape, dtype=dtype) * 3, target],
             {"reduction": reduction, **_options(opts, C, dtype)}, dtype=dtype, device=device)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("opts", [{}, {"label_smoothing": 0.25}, {"weight": "w"},
                                  {"weight": "w", "label_smoothing": 0.1}],
                         ids=lambda o: "-".join(o) or "plain")
@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 4)], ids=["NC", "NCL"])
def test_cross_entropy_class_probabilities(shape, opts, reduction, dtype):
    probs = np.random.default_rng(2).dirichlet(np.ones(shape[1]), size=(shape[0],) + shape[2:])
    probs = np.moveaxis(probs, -1, 1).astype(dtype)
    run_both("cross_entropy", [randn(*shape, dtype=dtype), probs],
             {"reduction": reduction, **_options(opts, shape[1], dtype)}, dtype=dtype,
             grad_inputs=(0,))


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
def test_cross_entropy_extreme_logits(dtype):
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4], [5e3, 5e3, -1e4]], dtype=dtype)
    target = np.array([1, 2, 0])
    out = run_both("cross_entropy", [logits, target], {}, dtype=dtype)
    assert np.isfinite(out.item())
    run_both("cross_entropy", [logits, target], {"label_smoothing": 0.1}, dtype=dtype)


def test_cross_entropy_float32_gradient_is_softmax_minus_onehot():
    logits = randn(8, 10, dtype=np.float32)
    target = np.arange(8) % 10
    x = hl.tensor(logits, requires_grad=True)
    loss = F.cross_entropy(x, hl.tensor(target))
    assert loss.grad_fn.name() == "CrossEntropyLossBackward0"
    loss.backward()
    assert x.grad.dtype == hl.float32 and loss.dtype == hl.float32
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    np.testing.assert_allclose(x.grad.numpy(), (p - np.eye(10)[target]) / 8, rtol=1e-5, atol=1e-7)


def test_cross_entropy_all_ignored_gives_nan_like_torch():
    run_both("cross_entropy", [randn(2, 3), np.array([-100, -100])], {})


def test_cross_entropy_double_backward():
    x = hl.tensor(randn(3, 4), requires_grad=True)
    y = hl.tensor([0, 3, 1])
    w = hl.tensor([1.0, 2.0, 0.5, 1.5], dtype=hl.float64)
    assert gradcheck(lambda t: F.cross_entropy(t, y, weight=w, label_smoothing=0.1), (x,))
    assert gradgradcheck(lambda t: F.cross_entropy(t, y, weight=w, label_smoothing=0.1), (x,))
    assert gradgradcheck(lambda t: F.cross_entropy(t, y, reduction="none"), (x,))


def test_cross_entropy_errors():
    with pytest.raises(IndexError, match="Target 5 is out of bounds."):
        F.cross_entropy(hl.randn(2, 3), hl.tensor([0, 5]))
    with pytest.raises(ValueError, match=r"Expected input batch_size \(2\) to match target "
                                         r"batch_size \(3\)"):
        F.cross_entropy(hl.randn(2, 3), hl.tensor([0, 1, 2]))
    with pytest.raises(RuntimeError, match="weight tensor should be defined either for all 3 "
                                           "classes or no classes"):
        F.cross_entropy(hl.randn(2, 3), hl.tensor([0, 1]), weight=hl.ones(4))
    with pytest.raises(ValueError, match="label_smoothing must be between 0.0 and 1.0"):
        F.cross_entropy(hl.randn(2, 3), hl.tensor([0, 1]), label_smoothing=1.5)


def test_cross_entropy_module_options():
    w = hl.tensor([1.0, 2.0, 3.0])
    loss = nn.CrossEntropyLoss(weight=w, ignore_index=2, reduction="sum", label_smoothing=0.05)
    ref = torch.nn.CrossEntropyLoss(weight=torch.tensor([1.0, 2.0, 3.0]), ignore_index=2,
                                    reduction="sum", label_smoothing=0.05)
    x, y = randn(6, 3, dtype=np.float32), np.array([0, 1, 2, 2, 1, 0])
    close(loss(hl.tensor(x), hl.tensor(y)), ref(torch.tensor(x), torch.tensor(y)), np.float32)
    assert "weight" in loss.state_dict()


# --- NLL ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("opts", [{}, {"weight": "w"}, {"ignore_index": 0},
                                  {"weight": "w", "ignore_index": 2}],
                         ids=lambda o: "-".join(o) or "plain")
@pytest.mark.parametrize("shape", [(5, 4), (2, 4, 3)], ids=["NC", "NCL"])
def test_nll_loss(shape, opts, reduction):
    logp = torch.log_softmax(torch.tensor(randn(*shape)), 1).numpy()
    target = np.random.default_rng(1).integers(0, shape[1], (shape[0],) + shape[2:])
    run_both("nll_loss", [logp, target], {"reduction": reduction, **_options(opts, shape[1],
                                                                              np.float64)})


def test_log_softmax_then_nll_equals_cross_entropy():
    x, y = hl.tensor(randn(4, 5)), hl.tensor([0, 1, 4, 2])
    np.testing.assert_allclose(F.nll_loss(F.log_softmax(x, 1), y).item(),
                               F.cross_entropy(x, y).item(), rtol=1e-12)
    with pytest.raises(RuntimeError, match="expected scalar type Long"):
        F.nll_loss(x, hl.zeros(4))


# --- binary cross-entropy ------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_bce(weighted, reduction, dtype):
    rng = np.random.default_rng(0)
    p = rng.uniform(0.01, 0.99, (4, 3)).astype(dtype)
    t = rng.uniform(0, 1, (4, 3)).astype(dtype)
    kwargs = {"reduction": reduction}
    if weighted:
        kwargs["weight"] = hl.tensor(rng.uniform(0.5, 2, 3).astype(dtype))
    run_both("binary_cross_entropy", [p, t], kwargs, dtype=dtype, grad_inputs=(0, 1))


def test_bce_clamps_log_at_minus_100():
    p = np.array([0.0, 1.0, 0.0, 1.0, 0.5])
    t = np.array([1.0, 0.0, 0.0, 1.0, 1.0])
    out = run_both("binary_cross_entropy", [p, t], {"reduction": "none"})
    np.testing.assert_allclose(out.detach().numpy()[:2], [100.0, 100.0])
    with pytest.raises(RuntimeError, match="all elements of input should be between 0 and 1"):
        F.binary_cross_entropy(hl.tensor([1.5]), hl.tensor([1.0]))
    with pytest.raises(ValueError, match="Using a target size"):
        F.binary_cross_entropy(hl.tensor([0.5]), hl.tensor([1.0, 0.0]))


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("opts", [{}, {"weight": "w"}, {"pos_weight": "pw"},
                                  {"weight": "w", "pos_weight": "pw"}],
                         ids=lambda o: "-".join(o) or "plain")
def test_bce_with_logits(opts, reduction, dtype):
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((5, 3)) * 4).astype(dtype)
    t = rng.uniform(0, 1, (5, 3)).astype(dtype)
    kwargs = {"reduction": reduction}
    if "weight" in opts:
        kwargs["weight"] = hl.tensor(rng.uniform(0.5, 2, 3).astype(dtype))
    if "pos_weight" in opts:
        kwargs["pos_weight"] = hl.tensor(np.array([0.5, 1.0, 3.0], dtype=dtype))
    run_both("binary_cross_entropy_with_logits", [x, t], kwargs, dtype=dtype,
             grad_inputs=(0, 1))


def test_bce_with_logits_extreme_and_double_backward():
    x = np.array([-1e4, -30.0, 0.0, 30.0, 1e4], dtype=np.float32)
    t = np.array([1.0, 1.0, 0.5, 0.0, 0.0], dtype=np.float32)
    out = run_both("binary_cross_entropy_with_logits", [x, t], {"reduction": "sum"},
                   dtype=np.float32)
    assert np.isfinite(out.item())
    xs = hl.tensor(randn(4), requires_grad=True)
    ts = hl.tensor(np.array([0.0, 1.0, 0.3, 1.0]))
    pw = hl.tensor(np.array([2.0]))
    assert gradgradcheck(lambda a: F.binary_cross_entropy_with_logits(a, ts, pos_weight=pw), (xs,))
    with pytest.raises(ValueError, match=r"Target size \(torch.Size\(\[2\]\)\) must be the same "
                                         r"as input size"):
        F.binary_cross_entropy_with_logits(hl.zeros(3), hl.zeros(2))


def test_loss_modules_equal_functional():
    x, t = hl.tensor(randn(4, 3)), hl.tensor(np.random.default_rng(0).uniform(0, 1, (4, 3)))
    pairs = [(nn.MSELoss(reduction="sum"), F.mse_loss(x, t, reduction="sum")),
             (nn.L1Loss(), F.l1_loss(x, t)),
             (nn.SmoothL1Loss(beta=0.5), F.smooth_l1_loss(x, t, beta=0.5)),
             (nn.HuberLoss(delta=2.0), F.huber_loss(x, t, delta=2.0)),
             (nn.BCEWithLogitsLoss(pos_weight=hl.ones(3) * 2),
              F.binary_cross_entropy_with_logits(x, t, pos_weight=hl.ones(3) * 2)),
             (nn.BCELoss(), F.binary_cross_entropy(x.sigmoid(), t))]
    for module, expected in pairs:
        arg = x.sigmoid() if isinstance(module, nn.BCELoss) else x
        assert module(arg, t).item() == pytest.approx(expected.item(), rel=1e-12)


@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss"])
def test_masked_minus_inf_logits_outside_the_target(fn):
    logits = np.array([[2.0, -np.inf, 0.5], [-np.inf, 1.0, 3.0]])
    if fn == "nll_loss":
        logits = torch.log_softmax(torch.tensor(logits), 1).numpy()
    out = run_both(fn, [logits, np.array([0, 2])], {})
    assert np.isfinite(out.item())
