"""The GPU check of chapter 1.2: which GPU handbook_lib would use, or what is missing and how
to install it.

``hl.cuda.is_available()`` only answers yes or no. :func:`gpu_status` goes through the steps a
working GPU needs, in order (cupy installed, a driver that reaches a GPU, CUDA libraries that
can multiply) and says at which one it stopped.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass

import numpy as np

INSTALL_CUPY = ("on a machine with an NVIDIA GPU: pip install -r requirements-gpu.txt "
                "(cupy-cuda12x[ctk]: CuPy and the CUDA libraries it loads, no CUDA Toolkit)")
CHECK_DRIVER = ("`nvidia-smi` must list the GPU, with a driver for CUDA 12 or newer (Linux: "
                "525 or newer; a newer driver runs CUDA 12 programs too): install or update it")
INSTALL_LIBRARIES = ("install the CUDA libraries as wheels: "
                     "pip install 'cupy-cuda12x[ctk]==14.2.0' (cuBLAS, NVRTC, cuRAND)")


@dataclass(frozen=True)
class GPUStatus:
    """What :func:`gpu_status` found. Without a usable GPU, ``problem`` says why and ``fix``
    what to do; with one, its name, memory in bytes and the cupy version are filled in."""

    available: bool
    name: str = ""
    memory_total: int = 0
    memory_free: int = 0
    cupy_version: str = ""
    problem: str = ""
    fix: str = ""


def gpu_status() -> GPUStatus:
    """Check the GPU path step by step; never raises."""
    if importlib.util.find_spec("cupy") is None:
        return GPUStatus(False, problem="cupy is not installed", fix=INSTALL_CUPY)
    try:
        import cupy

        cupy.cuda.runtime.getDeviceCount()
    except ImportError as error:
        return GPUStatus(False, problem=f"cupy does not import: {error}", fix=INSTALL_CUPY)
    except Exception as error:  # the CUDA runtime's errors: no device, driver too old
        return GPUStatus(False, problem=f"cupy finds no usable GPU: {error}", fix=CHECK_DRIVER)
    try:
        multiply_on_the_gpu()
    except Exception as error:  # e.g. libcublas.so.12 not found
        return GPUStatus(False, problem=f"cupy cannot multiply on the GPU: {error}",
                         fix=INSTALL_LIBRARIES)
    from .. import cuda

    free, total = cuda.mem_get_info()
    return GPUStatus(True, name=cuda.get_device_name(), memory_total=int(total),
                     memory_free=int(free), cupy_version=cupy.__version__)


def multiply_on_the_gpu() -> None:
    """A small matrix product on the GPU, checked against numpy (it loads cuBLAS)."""
    import handbook_lib as hl

    a = np.arange(64 * 64, dtype=np.float32).reshape(64, 64) / 4096
    product = (hl.tensor(a, device="cuda") @ hl.tensor(a.T, device="cuda")).cpu().numpy()
    if not np.allclose(product, a @ a.T, rtol=1e-4, atol=1e-4):
        raise RuntimeError("a 64×64 matrix product on the GPU differs from numpy's")
