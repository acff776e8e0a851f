"""The cuda surface of handbook_lib, on the device axis (stand-in in `make test`, GPU in
`make test-gpu`): creating and moving tensors, devices, and the ops on them."""
from __future__ import annotations

import numpy as np
import pytest

import handbook_lib as hl


def test_tensors_move_to_the_device_and_back(device) -> None:
    x = hl.tensor([1.0, 2.0], device=device)
    assert x.device == hl.device(device) and x.is_cuda == (device == "cuda")
    assert x.cpu().device == hl.device("cpu") and x.tolist() == [1.0, 2.0]
    assert hl.zeros(2, device=device).to("cpu").numpy().tolist() == [0.0, 0.0]


def test_arithmetic_runs_on_the_device(device) -> None:
    x = hl.tensor([1.0, -2.0], device=device, requires_grad=True)
    y = (x * 2 + 1).relu().sum()
    y.backward()
    assert y.device == x.device and x.grad.cpu().numpy().tolist() == [2.0, 0.0]
