"""nn.utils against torch.nn.utils: gradient clipping and parameter/vector conversion."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import handbook_lib as hl
from handbook_lib import nn
from nn_helpers import close


def params_with_grads(seed: int = 0, scale: float = 1.0):
    rng = np.random.default_rng(seed)
    shapes = [(3, 4), (4,), (2, 2, 2)]
    ours, theirs = [], []
    for shape in shapes:
        data, grad = rng.standard_normal(shape), rng.standard_normal(shape) * scale
        p, q = nn.Parameter(hl.tensor(data)), torch.nn.Parameter(torch.tensor(data))
        p.grad, q.grad = hl.tensor(grad), torch.tensor(grad)
        ours.append(p)
        theirs.append(q)
    return ours, theirs


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    ours, theirs = params_with_grads()
    total_ours = nn.utils.clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    total_theirs = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    close(total_ours, total_theirs)
    for p, q in zip(ours, theirs):
        close(p.grad, q.grad)


def test_clip_grad_norm_single_tensor_skips_missing_grads_and_float32():
    p = nn.Parameter(hl.ones(4))
    p.grad = hl.full((4,), 3.0)
    unused = nn.Parameter(hl.ones(2))
    total = nn.utils.clip_grad_norm_([p, unused], 1.0)
    assert total.item() == pytest.approx(6.0) and unused.grad is None
    assert p.grad.dtype == hl.float32
    np.testing.assert_allclose(p.grad.numpy(), np.full(4, 0.5), rtol=1e-5)
    assert nn.utils.clip_grad_norm_([unused], 1.0).item() == 0.0


def test_clip_grad_norm_nonfinite():
    ours, _ = params_with_grads()
    ours[0].grad[0, 0] = float("nan")
    with pytest.raises(RuntimeError, match="The total norm of order 2.0 for gradients from "
                                           "`parameters` is non-finite"):
        nn.utils.clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)
    assert math.isnan(nn.utils.clip_grad_norm_(ours, 1.0).item())


def test_clip_grad_value_matches_torch():
    ours, theirs = params_with_grads(scale=3.0)
    nn.utils.clip_grad_value_(ours, 1.5)
    torch.nn.utils.clip_grad_value_(theirs, 1.5)
    for p, q in zip(ours, theirs):
        close(p.grad, q.grad)


def test_parameters_to_vector_and_back():
    model = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    ref = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Linear(2, 1))
    model.load_state_dict({k: hl.tensor(v.numpy()) for k, v in ref.state_dict().items()})
    vec = nn.utils.parameters_to_vector(model.parameters())
    close(vec, torch.nn.utils.parameters_to_vector(ref.parameters()), np.float32)
    assert vec.shape == (11,)
    vec.sum().backward()  # differentiable
    assert float(model[0].weight.grad.sum()) == 6.0
    weight = model[0].weight
    nn.utils.vector_to_parameters(hl.arange(11, dtype=hl.float32), model.parameters())
    assert model[0].weight is weight
    np.testing.assert_array_equal(weight.detach().numpy().ravel(), np.arange(6))
    np.testing.assert_array_equal(model[1].bias.detach().numpy(), [10])
    with pytest.raises(RuntimeError, match="the vector has 3 elements but the parameters need 11"):
        nn.utils.vector_to_parameters(hl.zeros(3), model.parameters())
    with pytest.raises(TypeError, match="expected torch.Tensor"):
        nn.utils.vector_to_parameters([1.0], model.parameters())
