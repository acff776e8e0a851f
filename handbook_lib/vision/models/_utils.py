"""Pieces the model definitions share: torchvision's initialisation and preprocessing presets."""
from __future__ import annotations

from functools import partial

from ... import nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def init_torchvision(m: nn.Module, linear_std: float | None = None,
                     conv_mode: str = "fan_out") -> None:
    """torchvision's initialisation: He-normal convolutions (``conv_mode`` fan), BatchNorm γ=1
    β=0, and N(0, linear_std²) linear layers with zero bias when ``linear_std`` is given."""
    if isinstance(m, nn.Conv2d):
        nn.init.kaiming_normal_(m.weight, mode=conv_mode, nonlinearity="relu")
        if m.bias is not None:
            nn.init.constant_(m.bias, 0)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.constant_(m.weight, 1)
        nn.init.constant_(m.bias, 0)
    elif isinstance(m, nn.Linear) and linear_std is not None:
        nn.init.normal_(m.weight, 0, linear_std)
        nn.init.constant_(m.bias, 0)


def imagenet_transforms(crop_size: int = 224, resize_size: int = 256):
    """torchvision's ``ImageClassification`` preset: resize, centre crop, to tensor, normalise."""
    from .. import transforms as T

    return T.Compose([T.Resize(resize_size), T.CenterCrop(crop_size), T.ToTensor(),
                      T.Normalize(IMAGENET_MEAN, IMAGENET_STD)])


def imagenet_preset(crop_size: int = 224, resize_size: int = 256):
    """A ``Weights.transforms`` entry: called with no arguments it builds the preset."""
    return partial(imagenet_transforms, crop_size, resize_size)


def imagenet_meta(num_params: int, acc1: float, acc5: float, **extra) -> dict:
    from ._meta import IMAGENET_CATEGORIES

    return {"categories": IMAGENET_CATEGORIES, "num_params": num_params,
            "min_size": (1, 1), "dataset": "ImageNet-1k",
            "metrics": {"acc@1": acc1, "acc@5": acc5}, **extra}
