"""The GPU check of chapter 1.2 (handbook_lib.utils.gpu_check) stops at the first missing step
and says what to install: no cupy, no GPU behind it, no CUDA libraries; on the stand-in it
reports the GPU."""
from __future__ import annotations

import importlib.util

import pytest

from handbook_lib.utils import gpu_check


def test_without_cupy_it_says_to_install_the_gpu_requirements(monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "cupy" else real_find_spec(name, *a))
    status = gpu_check.gpu_status()
    assert not status.available and status.problem == "cupy is not installed"
    assert "pip install -r requirements-gpu.txt" in status.fix and "[ctk]" in status.fix


def test_on_the_stand_in_it_reports_the_gpu(stand_in):
    status = gpu_check.gpu_status()
    assert status.available, status
    assert status.name == "CPU stand-in for cupy" and status.cupy_version == stand_in.__version__
    assert status.memory_total >= status.memory_free > 0 and not status.problem


def test_cupy_without_a_gpu_points_at_the_driver(stand_in, monkeypatch):
    def no_device():
        raise stand_in.cuda.runtime.CUDARuntimeError(100, "cudaErrorNoDevice",
                                                     "no CUDA-capable device is detected")

    monkeypatch.setattr(stand_in.cuda.runtime, "getDeviceCount", no_device)
    status = gpu_check.gpu_status()
    assert not status.available and "cudaErrorNoDevice" in status.problem
    assert "nvidia-smi" in status.fix and "525" in status.fix


def test_cupy_without_cublas_says_to_install_the_cuda_libraries(stand_in, monkeypatch):
    def no_cublas():
        raise ImportError("libcublas.so.12: cannot open shared object file")

    monkeypatch.setattr(gpu_check, "multiply_on_the_gpu", no_cublas)
    status = gpu_check.gpu_status()
    assert not status.available and "libcublas.so.12" in status.problem
    assert "cupy-cuda12x[ctk]==14.2.0" in status.fix


def test_a_wrong_product_on_the_gpu_is_a_failed_check(stand_in, monkeypatch):
    import numpy as np

    real_allclose = np.allclose
    monkeypatch.setattr(np, "allclose", lambda *a, **k: False)
    with pytest.raises(RuntimeError, match="differs from numpy"):
        gpu_check.multiply_on_the_gpu()
    monkeypatch.setattr(np, "allclose", real_allclose)
    gpu_check.multiply_on_the_gpu()
