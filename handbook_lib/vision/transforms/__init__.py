"""Image transforms in the manner of ``torchvision.transforms``."""
from .transforms import *  # noqa: F401,F403
from .transforms import __all__
