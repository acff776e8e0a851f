"""The counterpart of torchvision: ``datasets``, ``transforms``, ``models`` and ``utils``.

Laid out like torchvision, so that ``import handbook_lib.vision as torchvision`` runs
torchvision code on handbook_lib.
"""
from . import datasets, models, transforms, utils

__version__ = "0.28.0"  # the torchvision release whose API this follows

__all__ = ["datasets", "models", "transforms", "utils"]
