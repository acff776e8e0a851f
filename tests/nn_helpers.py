"""Helpers shared by the nn tests: run the same module in handbook_lib and PyTorch."""
from __future__ import annotations

import numpy as np
import torch

import handbook_lib as hl

TOL = {np.float64: dict(rtol=1e-10, atol=1e-10), np.float32: dict(rtol=1e-4, atol=1e-5)}


def copy_weights(ours: hl.nn.Module, theirs: torch.nn.Module) -> None:
    """Give ``ours`` exactly the parameters and buffers of ``theirs``."""
    state = {k: hl.tensor(v.detach().numpy().copy()) for k, v in theirs.state_dict().items()}
    ours.load_state_dict(state)


def pair(array: np.ndarray, requires_grad: bool = True, device: str = "cpu") -> tuple:
    """The same data as a handbook_lib tensor (on ``device``) and a torch tensor."""
    ours = hl.tensor(array.copy(), requires_grad=requires_grad, device=device)
    theirs = torch.tensor(array.copy(), requires_grad=requires_grad)
    return ours, theirs


def close(ours, theirs, dtype=np.float64, **tol) -> None:
    """Assert equal values, shapes and dtype (float32 stays float32)."""
    expected = theirs.detach().numpy() if isinstance(theirs, torch.Tensor) else np.asarray(theirs)
    got = ours.detach().cpu().numpy() if isinstance(ours, hl.Tensor) else np.asarray(ours)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    assert got.dtype == expected.dtype, (got.dtype, expected.dtype)
    np.testing.assert_allclose(got, expected, **(tol or TOL[dtype]))


def compare_module(ours, theirs, inputs: list, dtype=np.float64, grad_out_seed: int = 0,
                   device: str = "cpu", **tol) -> None:
    """Forward the same inputs through both modules (ours on ``device``), backward the same
    random output gradient, and compare outputs, input gradients and parameter gradients."""
    ours.to(device)
    pairs = [pair(x, x.dtype.kind == "f", device) for x in inputs]
    out_ours = ours(*[p[0] for p in pairs])
    assert out_ours.device == hl.device(device), out_ours.device
    out_theirs = theirs(*[p[1] for p in pairs])
    close(out_ours, out_theirs, dtype, **tol)
    g = np.random.default_rng(grad_out_seed).standard_normal(tuple(out_theirs.shape)).astype(dtype)
    out_ours.backward(hl.tensor(g, device=device))
    out_theirs.backward(torch.tensor(g))
    for (a, b), x in zip(pairs, inputs):
        if x.dtype.kind == "f":
            close(a.grad, b.grad, dtype, **tol)
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        q = theirs_params[name]
        if q.grad is None:
            assert p.grad is None, name
        else:
            assert p.grad.device == p.device == hl.device(device), name
            close(p.grad, q.grad, dtype, **tol)


def error_of(fn) -> tuple | None:
    """``(exception type, message)`` that ``fn()`` raises, or None; to compare with PyTorch's."""
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - the tests compare whatever was raised
        return type(exc), str(exc)
    return None
