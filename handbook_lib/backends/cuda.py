"""CUDA settings. Matrix products on the GPU are cupy's (cuBLAS in float32 compute): setting
``matmul.allow_tf32 = True`` is accepted and stored, but handbook_lib does not switch to TF32."""
from __future__ import annotations


class _MatmulSettings:
    """``backends.cuda.matmul``: stores what scripts set."""

    def __init__(self) -> None:
        self.allow_tf32 = False
        self.allow_fp16_reduced_precision_reduction = True
        self.allow_bf16_reduced_precision_reduction = True

    def __repr__(self) -> str:
        return f"matmul(allow_tf32={self.allow_tf32})"


matmul = _MatmulSettings()


def is_built() -> bool:
    """True when cupy can be imported: the GPU path is installed (a GPU may still be absent)."""
    import importlib.util

    return importlib.util.find_spec("cupy") is not None


def flash_sdp_enabled() -> bool:
    return False  # scaled_dot_product_attention here is the math formulation only


def math_sdp_enabled() -> bool:
    return True
