"""cuDNN flags. handbook_lib does not call cuDNN (convolution is im2col and one matrix product
on every device), so ``is_available()`` is False and these settings change no result: a
convolution here is as deterministic as the matrix product under it."""
from __future__ import annotations

enabled: bool = True
benchmark: bool = False
deterministic: bool = False
allow_tf32: bool = True  # PyTorch's default; no TF32 is used here either way


def is_available() -> bool:
    return False


def version() -> None:
    return None
