"""handbook_lib.optim against torch.optim: trajectories, state dicts, schedules and errors.

The same training code runs on both libraries (their APIs match): a softmax regression with
a bias in a second parameter group and one parameter that never gets a gradient.
"""
from __future__ import annotations

import copy
import math
import types
import warnings

import numpy as np
import pytest
import torch

import handbook_lib as hl
import handbook_lib.optim as optim
from handbook_lib.optim import lr_scheduler

torch.set_num_threads(1)  # many threads on a busy 2-core machine make tiny ops 20x slower
LIBS = {"hl": (hl, optim), "torch": (torch, torch.optim)}
STEPS = 100


# --- the problem -------------------------------------------------------------------------------
def _data(seed: int = 0) -> dict[str, np.ndarray]:
    """Linearly separable classes: the loss keeps falling, so no run settles into the
    sign-flipping oscillation around a minimum where adaptive methods amplify rounding."""
    rng = np.random.default_rng(seed)
    X, true_W = rng.standard_normal((32, 6)), rng.standard_normal((6, 4))
    return {"X": X, "Y": np.eye(4)[np.argmax(X @ true_W, axis=1)],
            "W": rng.standard_normal((6, 4)) * 0.5, "b": rng.standard_normal(4) * 0.1,
            "u": rng.standard_normal(3)}


def _params(lib, data: dict, dtype: str, device: str = "cpu") -> list:
    return [lib.tensor(data[k].astype(dtype), requires_grad=True, device=device)
            for k in ("W", "b", "u")]


def _loss(lib, data: dict, W, b, dtype: str, sign: float = 1.0):
    X, Y = (lib.tensor(data[k].astype(dtype), device=W.device) for k in ("X", "Y"))
    logp = (X @ W + b).log_softmax(dim=1)
    return sign * -(Y * logp).sum(dim=1).mean()


def _groups(params: list, lr: float) -> list[dict]:
    W, b, u = params
    return [{"params": [W]}, {"params": [b, u], "lr": lr * 0.5}]


def _train(lib_name: str, cls: str, kwargs: dict, dtype: str, steps: int = STEPS,
           params: list | None = None, optimizer=None, closure: bool = False,
           device: str = "cpu"):
    """Run ``steps`` updates; return the parameters after each step, the params and optimizer."""
    lib, lib_optim = LIBS[lib_name]
    data = _data()
    params = params if params is not None else _params(lib, data, dtype,
                                                       device if lib is hl else "cpu")
    if optimizer is None:
        optimizer = getattr(lib_optim, cls)(_groups(params, kwargs.get("lr", 0.01)), **kwargs)
    sign = -1.0 if kwargs.get("maximize") else 1.0
    W, b, _ = params

    def compute_loss():
        optimizer.zero_grad()
        loss = _loss(lib, data, W, b, dtype, sign)
        loss.backward()
        return loss

    trajectory = []
    for _ in range(steps):
        if closure:
            optimizer.step(compute_loss)
        else:
            compute_loss()
            optimizer.step()
        trajectory.append(np.concatenate([p.detach().cpu().numpy().ravel() for p in params]))
    return np.stack(trajectory), params, optimizer


CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.5)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.1, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.8, weight_decay=0.01, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.02, weight_decay=0.1, maximize=True)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6)),
    ("Adam", dict(lr=0.01, betas=(0.3, 0.999))),  # 1 - beta1 >= 0.5: lerp's other branch
    ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.005, momentum=0.9)),
    ("RMSprop", dict(lr=0.005, momentum=0.5, centered=True, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, maximize=True, eps=1e-4)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01)),
    ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.1, weight_decay=0.1)),
    ("Adagrad", dict(lr=0.1, maximize=True, eps=1e-6)),
]
IDS = [f"{cls}-{'-'.join(f'{k}={v}' for k, v in kw.items())}" for cls, kw in CONFIGS]


# --- trajectories ----------------------------------------------------------------------------
@pytest.mark.parametrize("cls,kwargs", CONFIGS, ids=IDS)
def test_trajectory_float64_matches_torch(cls, kwargs):
    ours, _, _ = _train("hl", cls, kwargs, "float64")
    theirs, _, _ = _train("torch", cls, kwargs, "float64")
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("cls,kwargs", CONFIGS, ids=IDS)
def test_trajectory_float32_matches_torch(cls, kwargs, device):
    ours, params, optimizer = _train("hl", cls, kwargs, "float32", device=device)
    theirs, _, _ = _train("torch", cls, kwargs, "float32")
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)
    assert ours.dtype == np.float32
    for p in params:
        assert p.dtype == hl.float32 and p.device == hl.device(device)
        for key, value in optimizer.state.get(p, {}).items():
            assert value.dtype == hl.float32, key
            if value.ndim:  # the moments live beside the parameter; a 0-d step may be a number
                assert value.device == p.device, key


def test_the_problem_moves_the_parameters():
    """Guard against a vacuous comparison: the optimizers really change W and b, not u."""
    trajectory, _, _ = _train("hl", "Adam", dict(lr=0.01), "float64")
    start = np.concatenate([_data()[k].ravel() for k in ("W", "b", "u")])
    moved = np.abs(trajectory[-1] - start)
    assert moved[:28].max() > 0.1 and moved[28:].max() == 0.0


def test_parameter_without_grad_is_skipped_and_has_no_state():
    _, params, optimizer = _train("hl", "Adam", dict(lr=0.01), "float32", steps=3)
    assert params[2].grad is None
    assert params[2] not in optimizer.state
    np.testing.assert_array_equal(params[2].detach().numpy(), _data()["u"].astype("float32"))


def test_closure_is_evaluated_with_grad_enabled():
    expected, _, _ = _train("hl", "SGD", dict(lr=0.1, momentum=0.9), "float64")
    with hl.no_grad():
        ours, _, _ = _train("hl", "SGD", dict(lr=0.1, momentum=0.9), "float64", closure=True)
    np.testing.assert_array_equal(ours, expected)


def test_step_returns_the_closure_loss():
    p = hl.tensor([3.0], requires_grad=True)
    optimizer = optim.SGD([p], lr=0.1)

    def closure():
        optimizer.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    assert optimizer.step(closure).item() == 9.0
    assert optimizer.step() is None
    assert p.item() == pytest.approx(3.0 - 0.6 - 0.6)


def test_step_bumps_the_version_so_stale_graphs_refuse_backward():
    p = hl.tensor([1.0, 2.0], requires_grad=True)
    optimizer = optim.SGD([p], lr=0.1)
    (p * p).sum().backward()
    stale = (p * p).sum()
    optimizer.step()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        stale.backward()


def test_step_records_no_graph():
    p = hl.tensor([1.0, 2.0], requires_grad=True)
    optimizer = optim.Adam([p])
    (p * p).sum().backward()
    optimizer.step()
    assert p.is_leaf and p.grad_fn is None and p.requires_grad


def test_numpy_float_hyperparameters_keep_float32():
    """A learning rate from numpy (np.logspace, ...) must not turn the update into float64."""
    ours, params, optimizer = _train("hl", "SGD", dict(lr=np.float64(0.1), momentum=0.9),
                                     "float32", steps=5)
    theirs, _, _ = _train("torch", "SGD", dict(lr=0.1, momentum=0.9), "float32", steps=5)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)
    assert optimizer.state[params[0]]["momentum_buffer"].dtype == hl.float32


# --- zero_grad ---------------------------------------------------------------------------------
def test_zero_grad_sets_to_none_by_default():
    _, params, optimizer = _train("hl", "SGD", dict(lr=0.1), "float32", steps=1)
    optimizer.zero_grad()
    assert all(p.grad is None for p in params)


def test_zero_grad_in_place_keeps_the_tensor():
    _, params, optimizer = _train("hl", "SGD", dict(lr=0.1), "float32", steps=1)
    grad = params[0].grad
    optimizer.zero_grad(set_to_none=False)
    assert params[0].grad is grad
    assert not grad.numpy().any()
    assert params[2].grad is None


# --- state dicts -----------------------------------------------------------------------------
def _assert_state_dicts_equal(ours: dict, theirs: dict) -> None:
    assert ours["param_groups"] == theirs["param_groups"]
    assert list(ours["state"]) == list(theirs["state"])
    for index, state in theirs["state"].items():
        assert list(ours["state"][index]) == list(state)
        for key, value in state.items():
            mine = ours["state"][index][key]
            assert str(mine.dtype) == str(value.dtype), key
            np.testing.assert_allclose(mine.numpy(), value.numpy(), rtol=1e-10, err_msg=key)


@pytest.mark.parametrize("cls,kwargs", CONFIGS, ids=IDS)
def test_state_dict_has_torch_structure(cls, kwargs):
    _, _, ours = _train("hl", cls, kwargs, "float64", steps=10)
    _, _, theirs = _train("torch", cls, kwargs, "float64", steps=10)
    _assert_state_dicts_equal(ours.state_dict(), theirs.state_dict())


@pytest.mark.parametrize("cls,kwargs", CONFIGS, ids=IDS)
def test_state_dict_round_trip_continues_the_trajectory(cls, kwargs):
    expected, _, uninterrupted = _train("hl", cls, kwargs, "float32")
    first, params, interrupted = _train("hl", cls, kwargs, "float32", steps=STEPS // 2)
    saved = interrupted.state_dict()
    resumed_params = [p.detach().clone().requires_grad_(True) for p in params]
    resumed = getattr(optim, cls)(_groups(resumed_params, 123.0), **kwargs)
    resumed.load_state_dict(saved)
    second, _, _ = _train("hl", cls, kwargs, "float32", steps=STEPS - STEPS // 2,
                          params=resumed_params, optimizer=resumed)
    np.testing.assert_array_equal(np.concatenate([first, second]), expected)
    _assert_state_dicts_equal(resumed.state_dict(), uninterrupted.state_dict())


def test_load_state_dict_copies_state_and_restores_hyperparameters():
    _, params, first = _train("hl", "Adam", dict(lr=0.01), "float32", steps=3)
    first.param_groups[1]["lr"] = 0.25
    second = optim.Adam(_groups(params, 0.5), lr=0.5)
    second.load_state_dict(first.state_dict())
    assert [g["lr"] for g in second.param_groups] == [0.01, 0.25]
    assert second.param_groups[0]["params"][0] is params[0]
    ours, theirs = first.state[params[0]]["exp_avg"], second.state[params[0]]["exp_avg"]
    assert ours is not theirs and np.array_equal(ours.numpy(), theirs.numpy())
    ours._data += 1  # the two optimizers do not share buffers
    assert not np.array_equal(ours.numpy(), theirs.numpy())


def test_load_state_dict_casts_to_the_parameter_dtype_but_keeps_step():
    _, _, saved_from = _train("hl", "Adam", dict(lr=0.01), "float64", steps=3)
    params = _params(hl, _data(), "float32")
    optimizer = optim.Adam(_groups(params, 0.01), lr=0.01)
    optimizer.load_state_dict(saved_from.state_dict())
    state = optimizer.state[params[0]]
    assert state["exp_avg"].dtype == hl.float32 and state["exp_avg_sq"].dtype == hl.float32
    assert state["step"].dtype == hl.float32 and state["step"].item() == 3.0


@pytest.mark.parametrize("groups", [
    lambda W, b, u: [{"params": [W, b, u]}],
    lambda W, b, u: [{"params": [W]}, {"params": [b]}],
], ids=["group-count", "group-size"])
def test_load_state_dict_checks_groups_like_torch(groups):
    messages = []
    for lib_name in ("hl", "torch"):
        lib, lib_optim = LIBS[lib_name]
        _, _, source = _train(lib_name, "SGD", dict(lr=0.1, momentum=0.9), "float32", steps=1)
        target = lib_optim.SGD(groups(*_params(lib, _data(), "float32")), lr=0.1)
        with pytest.raises(ValueError) as info:
            target.load_state_dict(source.state_dict())
        messages.append(str(info.value))
    assert messages[0] == messages[1]


def test_adagrad_state_exists_before_the_first_step():
    ours = optim.Adagrad(_groups(_params(hl, _data(), "float32"), 0.1), lr=0.1,
                         initial_accumulator_value=0.5)
    theirs = torch.optim.Adagrad(_groups(_params(torch, _data(), "float32"), 0.1), lr=0.1,
                                 initial_accumulator_value=0.5)
    _assert_state_dicts_equal(ours.state_dict(), theirs.state_dict())


def test_state_dict_with_named_parameters():
    for lib_name in ("hl", "torch"):
        lib, lib_optim = LIBS[lib_name]
        W, b, _ = _params(lib, _data(), "float32")
        optimizer = lib_optim.SGD([("weight", W), ("bias", b)], lr=0.1)
        assert optimizer.state_dict()["param_groups"][0]["param_names"] == ["weight", "bias"]


# --- parameter groups and errors --------------------------------------------------------------
def _error_of(build) -> tuple[type, str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            build()
        except Exception as exc:  # noqa: BLE001 - the exception itself is what is compared
            return type(exc), str(exc)
    raise AssertionError("no error raised")


HYPER_ERRORS = [
    ("SGD", dict(lr=-0.1)), ("SGD", dict(momentum=-0.5)), ("SGD", dict(weight_decay=-1e-3)),
    ("SGD", dict(nesterov=True)), ("SGD", dict(nesterov=True, momentum=0.9, dampening=0.1)),
    ("Adam", dict(lr=-0.1)), ("Adam", dict(eps=-1.0)), ("Adam", dict(betas=(1.0, 0.999))),
    ("Adam", dict(betas=(0.9, -0.1))), ("Adam", dict(weight_decay=-1.0)),
    ("AdamW", dict(lr=-1e-3)), ("AdamW", dict(betas=(0.9, 1.0))),
    ("RMSprop", dict(lr=-0.1)), ("RMSprop", dict(eps=-1.0)), ("RMSprop", dict(momentum=-1.0)),
    ("RMSprop", dict(weight_decay=-1.0)), ("RMSprop", dict(alpha=-0.5)),
    ("Adagrad", dict(lr=-0.1)), ("Adagrad", dict(lr_decay=-1.0)),
    ("Adagrad", dict(weight_decay=-1.0)), ("Adagrad", dict(initial_accumulator_value=-1.0)),
    ("Adagrad", dict(eps=-1.0)),
]


@pytest.mark.parametrize("cls,kwargs", HYPER_ERRORS,
                         ids=[f"{c}-{list(k.items())}" for c, k in HYPER_ERRORS])
def test_invalid_hyperparameters_raise_torch_errors(cls, kwargs):
    ours = _error_of(lambda: getattr(optim, cls)(_params(hl, _data(), "float32"), **kwargs))
    theirs = _error_of(lambda: getattr(torch.optim, cls)(_params(torch, _data(), "float32"),
                                                         **kwargs))
    assert ours == theirs


def test_invalid_learning_rate_message():
    with pytest.raises(ValueError, match=r"^Invalid learning rate: -0.1$"):
        optim.SGD(_params(hl, _data(), "float32"), lr=-0.1)


PARAM_ERRORS = {
    "tensor-not-iterable": lambda lib, o, W, b, u: o.SGD(W, lr=0.1),
    "empty": lambda lib, o, W, b, u: o.SGD([], lr=0.1),
    "not-a-tensor": lambda lib, o, W, b, u: o.SGD([W, 1], lr=0.1),
    "numpy-array": lambda lib, o, W, b, u: o.SGD([np.zeros(2)], lr=0.1),
    "non-leaf": lambda lib, o, W, b, u: o.SGD([W * 2], lr=0.1),
    "set-in-group": lambda lib, o, W, b, u: o.SGD([{"params": {W, b}}], lr=0.1),
    "two-groups": lambda lib, o, W, b, u: o.SGD([{"params": [W, b]}, {"params": [b]}], lr=0.1),
    "group-not-dict": lambda lib, o, W, b, u: o.SGD([W], lr=0.1).add_param_group([b]),
    "names-missing": lambda lib, o, W, b, u: o.SGD([("w", W), b], lr=0.1),
    "names-mixed-groups": lambda lib, o, W, b, u: o.SGD([("w", W)], lr=0.1).add_param_group(
        {"params": [b]}),
    "added-twice": lambda lib, o, W, b, u: o.SGD([W, b], lr=0.1).add_param_group(
        {"params": [u, W]}),
}


@pytest.mark.parametrize("case", list(PARAM_ERRORS))
def test_invalid_params_raise_torch_errors(case):
    ours = _error_of(lambda: PARAM_ERRORS[case](hl, optim, *_params(hl, _data(), "float32")))
    theirs = _error_of(lambda: PARAM_ERRORS[case](torch, torch.optim,
                                                  *_params(torch, _data(), "float32")))
    assert ours == theirs


def test_duplicate_parameters_warn():
    W, _, _ = _params(hl, _data(), "float32")
    with pytest.warns(UserWarning, match="duplicate parameters"):
        optim.SGD([W, W], lr=0.1)


def test_unsupported_options_are_refused_with_advice():
    params = _params(hl, _data(), "float32")
    with pytest.raises(RuntimeError, match="`differentiable=True` is not supported"):
        optim.SGD(params, differentiable=True)
    with pytest.raises(RuntimeError, match="`capturable=True` is not supported"):
        optim.Adam(params, capturable=True)


def test_add_param_group_fills_defaults_and_trains_the_new_group():
    W, b, u = _params(hl, _data(), "float32")
    optimizer = optim.SGD([W], lr=0.1, momentum=0.9)
    optimizer.add_param_group({"params": b, "lr": 0.5})
    group = optimizer.param_groups[1]
    assert group["momentum"] == 0.9 and len(group["params"]) == 1 and group["params"][0] is b
    b.grad = hl.ones(4)
    before = b.detach().clone()
    optimizer.step()
    np.testing.assert_allclose(b.detach().numpy(), before.numpy() - 0.5, rtol=1e-6)


@pytest.mark.parametrize("cls,kwargs", [("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", {}),
                                        ("AdamW", dict(amsgrad=True)), ("RMSprop", {}),
                                        ("Adagrad", dict(lr_decay=0.1))])
def test_repr_matches_torch(cls, kwargs):
    ours = getattr(optim, cls)(_groups(_params(hl, _data(), "float32"), 0.1), **kwargs)
    theirs = getattr(torch.optim, cls)(_groups(_params(torch, _data(), "float32"), 0.1), **kwargs)
    assert repr(ours) == repr(theirs)


def test_deepcopy_of_an_optimizer_is_independent():
    _, _, optimizer = _train("hl", "SGD", dict(lr=0.1, momentum=0.9), "float32", steps=2)
    copied = copy.deepcopy(optimizer)
    assert copied.state_dict()["param_groups"] == optimizer.state_dict()["param_groups"]
    assert copied.param_groups[0]["params"][0] is not optimizer.param_groups[0]["params"][0]


# --- learning-rate schedulers ---------------------------------------------------------------
def _scheduled(lib_name: str, make, steps: int, optimizer_cls: str = "SGD",
               metrics: list | None = None, **optimizer_kwargs):
    """The lr (and momentum/betas) of each group after construction and after each step."""
    lib, lib_optim = LIBS[lib_name]
    W, b, _ = _params(lib, _data(), "float32")
    optimizer = getattr(lib_optim, optimizer_cls)(
        [{"params": [W]}, {"params": [b], "lr": 0.05}], lr=0.1, **optimizer_kwargs)
    scheduler = make(lib_optim.lr_scheduler, optimizer)

    def record():
        return [(g["lr"], g.get("momentum"), g.get("betas")) for g in optimizer.param_groups]

    history = [record()]
    for i in range(steps):
        optimizer.step()
        scheduler.step(*([metrics[i]] if metrics is not None else []))
        history.append(record())
        assert scheduler.get_last_lr() == [g["lr"] for g in optimizer.param_groups]
    return history


SCHEDULERS = {
    "StepLR": (lambda s, o: s.StepLR(o, step_size=7, gamma=0.5), 40),
    "MultiStepLR": (lambda s, o: s.MultiStepLR(o, milestones=[5, 12, 12, 30], gamma=0.3), 40),
    "ExponentialLR": (lambda s, o: s.ExponentialLR(o, gamma=0.93), 60),
    "CosineAnnealingLR": (lambda s, o: s.CosineAnnealingLR(o, T_max=10, eta_min=0.001), 65),
    "CosineAnnealingLR-odd": (lambda s, o: s.CosineAnnealingLR(o, T_max=17), 60),
    "LambdaLR": (lambda s, o: s.LambdaLR(o, lr_lambda=lambda e: 0.95 ** e + 0.01 * (e % 3)), 40),
    "LambdaLR-list": (lambda s, o: s.LambdaLR(o, [lambda e: 1 / (e + 1), lambda e: 0.9 ** e]),
                      40),
    "OneCycleLR": (lambda s, o: s.OneCycleLR(o, max_lr=[1.0, 0.5], total_steps=100), 99),
    "OneCycleLR-linear": (lambda s, o: s.OneCycleLR(o, max_lr=0.8, epochs=5, steps_per_epoch=20,
                                                    anneal_strategy="linear", pct_start=0.25),
                          100),
    "OneCycleLR-three-phase": (lambda s, o: s.OneCycleLR(
        o, max_lr=1.0, total_steps=90, three_phase=True, div_factor=10.0, final_div_factor=100.0,
        base_momentum=[0.8, 0.7], max_momentum=0.9), 89),
    "OneCycleLR-no-momentum": (lambda s, o: s.OneCycleLR(o, max_lr=1.0, total_steps=50,
                                                         cycle_momentum=False), 49),
}


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_scheduler_matches_torch_exactly(name):
    make, steps = SCHEDULERS[name]
    ours = _scheduled("hl", make, steps, momentum=0.9)
    assert ours == _scheduled("torch", make, steps, momentum=0.9)
    assert len({lr for row in ours for lr, _, _ in row}) > 2  # the schedule really changes lr


@pytest.mark.parametrize("three_phase", [False, True])
def test_one_cycle_cycles_adam_betas_like_torch(three_phase):
    make = lambda s, o: s.OneCycleLR(o, max_lr=0.3, total_steps=60, three_phase=three_phase)
    ours = _scheduled("hl", make, 59, optimizer_cls="Adam")
    assert ours == _scheduled("torch", make, 59, optimizer_cls="Adam")
    assert ours[0][0][2] == (0.95, 0.999) and min(r[0][2][0] for r in ours) == pytest.approx(0.85)


def test_one_cycle_refuses_steps_past_the_end():
    for lib_name in ("hl", "torch"):
        make = lambda s, o: s.OneCycleLR(o, max_lr=1.0, total_steps=10)
        with pytest.raises(ValueError, match="Tried to step 11 times. The specified number of "
                                             "total steps is 10"):
            _scheduled(lib_name, make, 11, momentum=0.9)


ONE_CYCLE_ERRORS = [
    dict(max_lr=1.0), dict(max_lr=1.0, total_steps=0), dict(max_lr=1.0, epochs=0,
                                                           steps_per_epoch=3),
    dict(max_lr=1.0, epochs=2, steps_per_epoch=-1), dict(max_lr=1.0, total_steps=10, pct_start=2.0),
    dict(max_lr=1.0, total_steps=10, anneal_strategy="exp"),
    dict(max_lr=[1.0], total_steps=10),
]


@pytest.mark.parametrize("kwargs", ONE_CYCLE_ERRORS, ids=[str(k) for k in ONE_CYCLE_ERRORS])
def test_one_cycle_errors_match_torch(kwargs):
    errors = []
    for lib_name in ("hl", "torch"):
        lib, lib_optim = LIBS[lib_name]
        W, b, _ = _params(lib, _data(), "float32")
        opt = lib_optim.SGD([{"params": [W]}, {"params": [b]}], lr=0.1, momentum=0.9)
        errors.append(_error_of(lambda: lib_optim.lr_scheduler.OneCycleLR(opt, **kwargs)))
    assert errors[0] == errors[1]


def test_one_cycle_needs_momentum_when_cycling():
    errors = []
    for lib_name in ("hl", "torch"):
        lib, lib_optim = LIBS[lib_name]
        opt = lib_optim.Adagrad(_params(lib, _data(), "float32"))
        errors.append(_error_of(lambda: lib_optim.lr_scheduler.OneCycleLR(opt, 1.0, 10)))
    assert errors[0] == errors[1]


_rng = np.random.default_rng(3)
LOSSES = list(np.concatenate([np.linspace(1.0, 0.5, 10), 0.5 + 0.01 * _rng.standard_normal(30),
                              np.linspace(0.5, 0.2, 10), np.full(30, 0.2)]))
PLATEAU = {
    "min-rel": dict(),
    "min-abs-cooldown": dict(threshold_mode="abs", threshold=0.01, patience=3, cooldown=2,
                             factor=0.5),
    "max-rel": dict(mode="max", patience=2, factor=0.7),
    "max-abs-min-lr": dict(mode="max", threshold_mode="abs", patience=1, min_lr=[0.02, 0.01]),
    "min-lr-eps": dict(patience=0, factor=0.5, min_lr=0.003, eps=1e-3),
}


@pytest.mark.parametrize("name", list(PLATEAU))
def test_reduce_lr_on_plateau_matches_torch(name):
    make = lambda s, o: s.ReduceLROnPlateau(o, **PLATEAU[name])
    metrics = [-m if PLATEAU[name].get("mode") == "max" else m for m in LOSSES]
    ours = _scheduled("hl", make, len(metrics), metrics=metrics)
    assert ours == _scheduled("torch", make, len(metrics), metrics=metrics)
    assert ours[-1][0][0] < 0.1  # it did reduce


def test_reduce_lr_on_plateau_accepts_a_tensor_metric_and_checks_arguments():
    W, _, _ = _params(hl, _data(), "float32")
    opt = optim.SGD([W], lr=1.0)
    scheduler = lr_scheduler.ReduceLROnPlateau(opt, patience=0)
    scheduler.step(hl.tensor(1.0))
    scheduler.step(hl.tensor(2.0))
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1)
    for kwargs in (dict(factor=1.0), dict(mode="avg"), dict(threshold_mode="x"),
                   dict(min_lr=[0, 0])):
        ours = _error_of(lambda: lr_scheduler.ReduceLROnPlateau(opt, **kwargs))
        theirs = _error_of(lambda: torch.optim.lr_scheduler.ReduceLROnPlateau(
            torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0), **kwargs))
        assert ours == theirs


def _resume(lib_name: str, make, steps: int, split: int):
    """Run ``split`` steps, save optimizer and scheduler, restore into new ones, finish."""
    lib, lib_optim = LIBS[lib_name]

    def build():
        W, b, _ = _params(lib, _data(), "float32")
        opt = lib_optim.SGD([{"params": [W]}, {"params": [b], "lr": 0.05}], lr=0.1, momentum=0.9)
        return opt, make(lib_optim.lr_scheduler, opt)

    opt, scheduler = build()
    lrs = []
    for _ in range(split):
        opt.step()
        scheduler.step()
        lrs.append(scheduler.get_last_lr())
    saved_opt, saved_sched = copy.deepcopy(opt.state_dict()), copy.deepcopy(scheduler.state_dict())
    opt, scheduler = build()
    opt.load_state_dict(saved_opt)
    scheduler.load_state_dict(saved_sched)
    for _ in range(steps - split):
        opt.step()
        scheduler.step()
        lrs.append(scheduler.get_last_lr())
    return lrs


@pytest.mark.parametrize("name", ["StepLR", "MultiStepLR", "CosineAnnealingLR", "LambdaLR",
                                  "OneCycleLR-three-phase"])
def test_scheduler_state_dict_resumes_the_schedule(name):
    make, steps = SCHEDULERS[name]
    ours = _resume("hl", make, steps, steps // 3)
    uninterrupted = _scheduled("hl", make, steps, momentum=0.9)
    assert ours == [[lr for lr, _, _ in row] for row in uninterrupted[1:]]
    assert ours == _resume("torch", make, steps, steps // 3)


def test_lambda_lr_saves_callable_objects_but_not_functions():
    class Decay:
        def __init__(self, rate):
            self.rate = rate

        def __call__(self, epoch):
            return self.rate ** epoch

    W, b, _ = _params(hl, _data(), "float32")
    opt = optim.SGD([{"params": [W]}, {"params": [b]}], lr=0.1)
    scheduler = lr_scheduler.LambdaLR(opt, [Decay(0.5), lambda e: 1.0])
    state = scheduler.state_dict()
    assert state["lr_lambdas"] == [{"rate": 0.5}, None] and "optimizer" not in state
    other = lr_scheduler.LambdaLR(opt, [Decay(0.9), lambda e: 1.0])
    other.load_state_dict(state)
    assert other.lr_lambdas[0].rate == 0.5


def test_scheduler_step_with_epoch_uses_the_closed_form_and_warns():
    results = []
    for lib_name in ("hl", "torch"):
        lib, lib_optim = LIBS[lib_name]
        opt = lib_optim.SGD(_params(lib, _data(), "float32"), lr=0.1)
        scheduler = lib_optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)
        opt.step()
        with pytest.warns(UserWarning, match="epoch parameter in `scheduler.step\\(\\)`"):
            scheduler.step(7)
        results.append(scheduler.get_last_lr())
    assert results[0] == results[1] == [0.1 * (1 + math.cos(math.pi * 7 / 10)) / 2]


def test_scheduler_warns_when_stepped_before_the_optimizer():
    opt = optim.SGD(_params(hl, _data(), "float32"), lr=0.1)
    scheduler = lr_scheduler.StepLR(opt, step_size=2)
    with pytest.warns(UserWarning, match=r"Detected call of `lr_scheduler.step\(\)` before "
                                         r"`optimizer.step\(\)`"):
        scheduler.step()
    opt = optim.SGD(_params(hl, _data(), "float32"), lr=0.1)
    scheduler = lr_scheduler.StepLR(opt, step_size=2)
    opt.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scheduler.step()


def test_scheduler_errors_match_torch():
    cases = [
        lambda lib, o, W: o.lr_scheduler.StepLR("not an optimizer", step_size=2),
        lambda lib, o, W: o.lr_scheduler.StepLR(o.SGD([W], lr=0.1), step_size=2, last_epoch=3),
        lambda lib, o, W: o.lr_scheduler.LambdaLR(o.SGD([W], lr=0.1), [lambda e: 1, lambda e: 2]),
    ]
    for case in cases:
        errors = [_error_of(lambda: case(lib, o, _params(lib, _data(), "float32")[0]))
                  for lib, o in LIBS.values()]
        assert errors[0] == errors[1]


def test_lr_scheduler_module_layout():
    assert isinstance(lr_scheduler, types.ModuleType)
    assert optim.lr_scheduler is lr_scheduler
    assert issubclass(lr_scheduler.ReduceLROnPlateau, lr_scheduler.LRScheduler)
    assert lr_scheduler._LRScheduler is lr_scheduler.LRScheduler


# --- with nn modules -------------------------------------------------------------------------
def test_training_an_nn_module_matches_torch():
    """Parameters from ``model.named_parameters()``, a scheduler, 50 steps: same as torch."""
    import handbook_lib.nn as hl_nn

    rng = np.random.default_rng(1)
    x, target = rng.standard_normal((16, 5)), rng.integers(0, 3, 16)
    models, histories = {}, {}
    for lib_name, (lib, lib_optim) in LIBS.items():
        nn = hl_nn if lib is hl else torch.nn
        lib.manual_seed(0)
        models[lib_name] = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3)).double()
    models["hl"].load_state_dict({k: hl.tensor(v.numpy())
                                  for k, v in models["torch"].state_dict().items()})
    for lib_name, (lib, lib_optim) in LIBS.items():
        model = models[lib_name]
        optimizer = lib_optim.Adam(model.named_parameters(), lr=0.05, weight_decay=1e-3)
        scheduler = lib_optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=50)
        inputs, labels = lib.tensor(x), lib.tensor(target)
        for _ in range(50):
            optimizer.zero_grad()
            loss = (-model(inputs).log_softmax(dim=1).gather(1, labels[:, None])).mean()
            loss.backward()
            optimizer.step()
            scheduler.step()
        histories[lib_name] = (loss.item(), [p.detach().numpy() for p in model.parameters()],
                               optimizer.state_dict()["param_groups"])
    (loss_hl, params_hl, groups_hl), (loss_torch, params_torch, groups_torch) = histories.values()
    assert loss_hl == pytest.approx(loss_torch, rel=1e-9) and loss_hl < 0.5
    for ours, theirs in zip(params_hl, params_torch):
        np.testing.assert_allclose(ours, theirs, rtol=1e-8, atol=1e-10)
    assert groups_hl == groups_torch
