"""The fused chains of handbook_lib.ops.fused: one kernel each on cupy, the same results as the
numpy run of the same function, and a training step that launches them; device memory stays
flat over a long run. On the stand-in in `make test`, on the GPU in `make test-gpu`."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import handbook_lib as hl
from handbook_lib.ops import fused

RNG = np.random.default_rng(0)
SHAPE = (7, 5)


def _arrays(n: int, positive: tuple = ()) -> list[np.ndarray]:
    arrays = [RNG.standard_normal(SHAPE).astype(np.float32) for _ in range(n)]
    for i in positive:
        arrays[i] = np.abs(arrays[i]) + np.float32(0.1)
    return arrays


def _run_both(cupy, chain, flags: tuple, arrays: list[np.ndarray], hyper: tuple):
    """The chain on numpy copies and on device copies of ``arrays``; both sets afterwards
    (in-place updates) and both results."""
    host = [a.copy() for a in arrays]
    device = [cupy.asarray(a) for a in arrays]
    scalars = fused.scalars(host[0], *hyper)
    host_result = chain(np, *flags)(*host, *scalars)
    device_result = chain(cupy, *flags)(*device, *scalars)
    return host, [cupy.asnumpy(d) for d in device], host_result, device_result


def _close(device, host) -> None:
    np.testing.assert_allclose(device, host, rtol=2e-6, atol=1e-7)


def test_a_chain_is_one_cupy_fuse_kernel_built_once(cuda_backend) -> None:
    kernel = fused.adam_step(cuda_backend, False, True, True, False, False)
    assert type(kernel).__name__ == "Fusion"
    assert fused.adam_step(cuda_backend, False, True, True, False, False) is kernel
    assert fused.adam_step(np, False, True, True, False, False).__name__ == "update"


@pytest.mark.parametrize("maximize, decay", itertools.product([False, True], repeat=2))
def test_sgd_chain_matches_its_numpy_run(cuda_backend, maximize, decay) -> None:
    host, device, _, _ = _run_both(cuda_backend, fused.sgd_step, (maximize, decay),
                                   _arrays(2), (0.1, 0.01))
    _close(device[0], host[0])


@pytest.mark.parametrize("maximize, decay, first, nesterov",
                         itertools.product([False, True], repeat=4))
def test_sgd_momentum_chain_matches_its_numpy_run(cuda_backend, maximize, decay, first,
                                                  nesterov) -> None:
    host, device, _, _ = _run_both(cuda_backend, fused.sgd_momentum_step,
                                   (maximize, decay, first, nesterov), _arrays(3),
                                   (0.1, 0.9, 0.5, 0.01))
    for d, h in zip(device, host):
        _close(d, h)


@pytest.mark.parametrize("maximize, decay, decoupled, amsgrad, lerp_up",
                         itertools.product([False, True], repeat=5))
def test_adam_chain_matches_its_numpy_run(cuda_backend, maximize, decay, decoupled, amsgrad,
                                          lerp_up) -> None:
    arrays = _arrays(5 if amsgrad else 4, positive=(3, 4) if amsgrad else (3,))
    weight = 0.7 if lerp_up else 0.1
    hyper = (1 - 0.01 * 0.1, 0.1, weight, 1 - weight, 0.999, 0.001, 0.01 / 0.19, 0.0447, 1e-8)
    host, device, _, _ = _run_both(cuda_backend, fused.adam_step,
                                   (maximize, decay, decoupled, amsgrad, lerp_up), arrays, hyper)
    for d, h in zip(device, host):
        _close(d, h)


@pytest.mark.parametrize("chain", [fused.relu_grad, fused.sigmoid_grad, fused.tanh_grad])
def test_activation_gradient_chains_match_their_numpy_run(cuda_backend, chain) -> None:
    grad, out = _arrays(2)
    expected = chain(np)(grad, out)
    result = chain(cuda_backend)(cuda_backend.asarray(grad), cuda_backend.asarray(out))
    _close(cuda_backend.asnumpy(result), expected)


def test_cross_entropy_gradient_chain_broadcasts_like_numpy(cuda_backend) -> None:
    exp, q = (np.abs(a) for a in _arrays(2))
    sum_exp = exp.sum(axis=1, keepdims=True)
    q_sum = q.sum(axis=1, keepdims=True)
    for scale in (np.float32(0.25) * np.ones((), np.float32), RNG.random((7, 1), np.float32)):
        expected = fused.cross_entropy_grad(np)(exp, sum_exp, q, q_sum, scale)
        on_device = [cuda_backend.asarray(a) for a in (exp, sum_exp, q, q_sum, scale)]
        result = fused.cross_entropy_grad(cuda_backend)(*on_device)
        _close(cuda_backend.asnumpy(result), expected)


def _mlp_step(device: str, optimizer_cls=hl.optim.Adam, **kwargs):
    hl.manual_seed(0)
    model = hl.nn.Sequential(hl.nn.Linear(20, 16), hl.nn.ReLU(), hl.nn.Linear(16, 3),
                             hl.nn.Sigmoid()).to(device)
    optimizer = optimizer_cls(model.parameters(), lr=0.01, **kwargs)
    x, y = hl.randn(8, 20).to(device), hl.randint(0, 3, (8,)).to(device)  # the CPU's draws

    def step() -> None:
        optimizer.zero_grad()
        hl.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()

    return model, optimizer, step


@pytest.mark.parametrize("optimizer_cls, kwargs", [
    (hl.optim.Adam, {}), (hl.optim.AdamW, {"amsgrad": True}),
    (hl.optim.SGD, {"momentum": 0.9, "nesterov": True}), (hl.optim.SGD, {})])
def test_an_optimizer_step_is_one_kernel_per_parameter(stand_in, optimizer_cls, kwargs) -> None:
    model, optimizer, step = _mlp_step("cuda", optimizer_cls, **kwargs)
    step()
    optimizer.zero_grad()
    hl.nn.functional.cross_entropy(model(hl.randn(8, 20, device="cuda")),
                                   hl.zeros(8, dtype=hl.int64, device="cuda")).backward()
    before = stand_in._core.STATE.launches
    optimizer.step()
    assert stand_in._core.STATE.launches - before == len(list(model.parameters()))


def test_a_training_step_uses_the_fused_backward_chains(stand_in, monkeypatch) -> None:
    called = []
    fusion_call = stand_in._core.Fusion.__call__

    def spy(self, *args):
        called.append(self.name)
        return fusion_call(self, *args)

    monkeypatch.setattr(stand_in._core.Fusion, "__call__", spy)
    _, _, step = _mlp_step("cuda")
    step()
    assert {"relu_grad", "sigmoid_grad", "cross_entropy_grad", "adam_step"} <= set(called)


def test_a_training_step_on_the_device_matches_the_cpu(cuda_backend) -> None:
    trained = []
    for device in ("cpu", "cuda"):
        model, _, step = _mlp_step(device)
        for _ in range(5):
            step()
        trained.append([p.detach().cpu().numpy() for p in model.parameters()])
    for on_device, on_cpu in zip(*reversed(trained)):
        _close(on_device, on_cpu)


def test_device_memory_stays_flat_over_200_steps_and_empty_cache_frees_it(cuda_backend) -> None:
    hl.cuda.empty_cache()
    start = hl.cuda.memory_allocated()
    model, optimizer, step = _mlp_step("cuda")
    in_use = []
    for _ in range(200):
        step()
        in_use.append(hl.cuda.memory_allocated())
    assert in_use[0] > start
    assert max(in_use[2:]) == min(in_use[2:]), (
        f"device memory grew from {in_use[2]:,} to {max(in_use):,} bytes over 200 steps")
    del model, optimizer, step
    assert hl.cuda.memory_allocated() == start
    cached = hl.cuda.memory_reserved()
    assert cached > start  # the freed blocks stay in the pool for the next allocations
    hl.cuda.empty_cache()
    assert hl.cuda.memory_reserved() < cached
