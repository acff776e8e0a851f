"""Model definitions in the manner of ``torchvision.models``."""
from .classic import *  # noqa: F401,F403
from .classic import __all__, VGG_CONFIGS, make_vgg_layers  # noqa: F401
