"""Model definitions and their weights, in the manner of ``torchvision.models``.

Builders (``resnet18(weights=None, num_classes=...)``) return networks whose module names,
``state_dict`` keys, parameter counts and initialisation match torchvision's; ``weights=``
loads a registered set of weights (see :mod:`._api`). ``LeNet5`` and ``resnet_mini`` are the
book's own.
"""
from ._api import (Weights, WeightsEnum, get_model, get_model_builder, get_model_weights,
                   get_weight, list_models, register_model)
from .alexnet import *  # noqa: F401,F403
from .densenet import *  # noqa: F401,F403
from .googlenet import *  # noqa: F401,F403
from .lenet import *  # noqa: F401,F403
from .mobilenetv2 import *  # noqa: F401,F403
from .resnet import *  # noqa: F401,F403
from .vgg import *  # noqa: F401,F403
import sys as _sys

__all__ = ["Weights", "WeightsEnum", "get_model", "get_model_builder", "get_model_weights",
           "get_weight", "list_models", "register_model"]
for _name in ("alexnet", "densenet", "googlenet", "lenet", "mobilenetv2", "resnet", "vgg"):
    __all__ += _sys.modules[f"{__name__}.{_name}"].__all__
