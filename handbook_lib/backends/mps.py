"""Apple's Metal (MPS) backend: handbook_lib has none."""
from __future__ import annotations


def is_available() -> bool:
    return False


def is_built() -> bool:
    return False
