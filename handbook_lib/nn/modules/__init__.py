"""The layers of ``handbook_lib.nn``, one family per file as in PyTorch."""
from .module import Module

__all__ = ["Module"]
