"""Registry entries for torchvision's ImageNet weights (the files torchvision downloads)."""
from __future__ import annotations

from ._api import Weights
from ._utils import imagenet_meta, imagenet_preset

TORCHVISION_URL = "https://download.pytorch.org/models/"


def imagenet_weights(file_name: str, num_params: int, acc1: float, acc5: float,
                     resize_size: int = 256, **extra) -> Weights:
    """torchvision's ImageNet-1k weights: ``file_name`` ends in ``-<SHA-256 prefix>.pth``."""
    sha256 = file_name.rsplit("-", 1)[1].split(".")[0]
    return Weights(url=TORCHVISION_URL + file_name, sha256=sha256,
                   transforms=imagenet_preset(224, resize_size),
                   meta=imagenet_meta(num_params, acc1, acc5, **extra))
