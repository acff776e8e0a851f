"""What the CPU path runs on."""
from __future__ import annotations


def get_cpu_capability() -> str:
    """numpy's BLAS and kernels decide; handbook_lib itself has no SIMD code of its own."""
    return "DEFAULT"
