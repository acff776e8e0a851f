"""Image transforms in the manner of ``torchvision.transforms``; ``functional`` holds the
operations with fixed parameters."""
from . import functional
from .transforms import *  # noqa: F401,F403
from .transforms import __all__ as _all

__all__ = ["functional", *_all]
