"""The same training steps in handbook_lib on its cuda device and in PyTorch on its GPU.

In `make test-gpu` the two run on the same GPU (real cupy, torch CUDA); in `make test` ours runs
on the CPU stand-in and PyTorch on the CPU, so the test runs, and can fail, everywhere.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

import handbook_lib as hl
import handbook_lib.nn.functional as F

TORCH_DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


def _both(build_hl, build_torch, rng_seed: int = 0):
    torch.manual_seed(rng_seed)
    theirs = build_torch().to(TORCH_DEVICE)
    ours = build_hl()
    ours.load_state_dict({k: hl.tensor(v.detach().cpu().numpy()) for k, v in
                          theirs.state_dict().items()})
    return ours.to("cuda"), theirs


@pytest.mark.parametrize("optimizer", ["SGD", "Adam", "AdamW"])
def test_training_steps_match_torch_on_the_gpu(optimizer: str, cuda_backend) -> None:
    ours, theirs = _both(lambda: hl.nn.Sequential(hl.nn.Conv2d(1, 4, 3), hl.nn.ReLU(),
                                                  hl.nn.MaxPool2d(2), hl.nn.Flatten(),
                                                  hl.nn.Linear(4 * 3 * 3, 5)),
                         lambda: torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(),
                                                     torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                                                     torch.nn.Linear(4 * 3 * 3, 5)))
    kwargs = {"lr": 0.05, "momentum": 0.9} if optimizer == "SGD" else {"lr": 0.01}
    opt_ours = getattr(hl.optim, optimizer)(ours.parameters(), **kwargs)
    opt_theirs = getattr(torch.optim, optimizer)(theirs.parameters(), **kwargs)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((8, 1, 8, 8)).astype(np.float32)
    y = rng.integers(0, 5, 8)
    for _ in range(5):
        for model, opt, lib, dev, fn in ((ours, opt_ours, hl, "cuda", F.cross_entropy),
                                         (theirs, opt_theirs, torch, TORCH_DEVICE,
                                          torch.nn.functional.cross_entropy)):
            opt.zero_grad()
            loss = fn(model(lib.tensor(x, device=dev)), lib.tensor(y, device=dev))
            loss.backward()
            opt.step()
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
        assert p.is_cuda, name
        np.testing.assert_allclose(p.detach().cpu().numpy(), q.detach().cpu().numpy(),
                                   rtol=2e-4, atol=2e-5, err_msg=name)


@pytest.mark.parametrize("op", ["matmul", "softmax", "conv2d", "logsumexp", "sort"])
def test_ops_match_torch_on_the_gpu(op: str, cuda_backend) -> None:
    rng = np.random.default_rng(2)
    a = rng.standard_normal((6, 6)).astype(np.float32)
    image = rng.standard_normal((2, 3, 7, 7)).astype(np.float32)
    kernel = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    run = {"matmul": lambda lib, t: t(a) @ t(a).T, "softmax": lambda lib, t: t(a).softmax(1),
           "conv2d": lambda lib, t: lib.nn.functional.conv2d(t(image), t(kernel), padding=1),
           "logsumexp": lambda lib, t: t(a).logsumexp(0),
           "sort": lambda lib, t: t(a).sort(1).values}[op]
    ours = run(hl, lambda v: hl.tensor(v, device="cuda"))
    theirs = run(torch, lambda v: torch.tensor(v, device=TORCH_DEVICE))
    assert ours.is_cuda
    np.testing.assert_allclose(ours.cpu().numpy(), theirs.cpu().numpy(), rtol=1e-4, atol=1e-5)
