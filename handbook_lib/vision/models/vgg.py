"""VGG (Simonyan & Zisserman, 2014), configurations A, B, D, E (VGG-11/13/16/19), with or
without BatchNorm, in torchvision's layout (VGG-16: 138,357,544 parameters)."""
from __future__ import annotations

from typing import Any, Sequence

from ... import nn
from ..._tensor import Tensor
from ._api import WeightsEnum, handle_weights, load_weights, register_model
from ._utils import init_torchvision
from ._weights import imagenet_weights

__all__ = ["VGG", "VGG_CONFIGS", "make_vgg_layers", "VGG11_Weights", "VGG11_BN_Weights",
           "VGG13_Weights", "VGG13_BN_Weights", "VGG16_Weights", "VGG16_BN_Weights",
           "VGG19_Weights", "VGG19_BN_Weights", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn",
           "vgg16", "vgg16_bn", "vgg19", "vgg19_bn"]

VGG_CONFIGS = {  # numbers are 3×3 conv widths, "M" a 2×2 max-pool
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
          512, 512, 512, 512, "M"],
}


def make_vgg_layers(config: Sequence, batch_norm: bool = False) -> nn.Sequential:
    """The convolutional part of a VGG: 3×3 convolutions (+ BatchNorm) + ReLU, and max-pools."""
    layers: list[nn.Module] = []
    channels = 3
    for v in config:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        layers.append(nn.Conv2d(channels, v, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(v))
        layers.append(nn.ReLU(inplace=True))
        channels = v
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """``features`` from :func:`make_vgg_layers`, then adaptive pooling to 7×7 and three fully
    connected layers."""

    def __init__(self, features: nn.Module, num_classes: int = 1000, init_weights: bool = True,
                 dropout: float = 0.5) -> None:
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes),
        )
        if init_weights:
            for m in self.modules():
                init_torchvision(m, linear_std=0.01)

    def forward(self, x: Tensor) -> Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(x.flatten(1))


class VGG11_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights("vgg11-8a719046.pth", 132_863_336, 69.02, 88.628)
    DEFAULT = IMAGENET1K_V1


class VGG11_BN_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights("vgg11_bn-6002323d.pth", 132_868_840, 70.37, 89.81)
    DEFAULT = IMAGENET1K_V1


class VGG13_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights("vgg13-19584684.pth", 133_047_848, 69.928, 89.246)
    DEFAULT = IMAGENET1K_V1


class VGG13_BN_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights("vgg13_bn-abd245e5.pth", 133_053_736, 71.586, 90.374)
    DEFAULT = IMAGENET1K_V1


class VGG16_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights("vgg16-397923af.pth", 138_357_544, 71.592, 90.382)
    DEFAULT = IMAGENET1K_V1


class VGG16_BN_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights("vgg16_bn-6c64b313.pth", 138_365_992, 73.36, 91.516)
    DEFAULT = IMAGENET1K_V1


class VGG19_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights("vgg19-dcbb9e9d.pth", 143_667_240, 72.376, 90.876)
    DEFAULT = IMAGENET1K_V1


class VGG19_BN_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights("vgg19_bn-c79401a0.pth", 143_678_248, 74.218, 91.842)
    DEFAULT = IMAGENET1K_V1


def _builder(name: str, config: str, batch_norm: bool, enum: type[WeightsEnum]):
    def build(*, weights: Any = None, progress: bool = True, pretrained: bool | None = None,
              **kwargs: Any) -> VGG:
        weights = handle_weights(enum, weights, pretrained, kwargs)
        if weights is not None:
            kwargs["init_weights"] = False
        model = VGG(make_vgg_layers(VGG_CONFIGS[config], batch_norm), **kwargs)
        return load_weights(model, weights, progress)

    build.__name__ = build.__qualname__ = name
    build.__doc__ = (f"VGG configuration {config}{' with BatchNorm' if batch_norm else ''}; "
                     f"``weights``: ``None``, a ``{enum.__name__}`` member or its name.")
    build.weights_enum = enum
    return register_model(name)(build)


vgg11 = _builder("vgg11", "A", False, VGG11_Weights)
vgg11_bn = _builder("vgg11_bn", "A", True, VGG11_BN_Weights)
vgg13 = _builder("vgg13", "B", False, VGG13_Weights)
vgg13_bn = _builder("vgg13_bn", "B", True, VGG13_BN_Weights)
vgg16 = _builder("vgg16", "D", False, VGG16_Weights)
vgg16_bn = _builder("vgg16_bn", "D", True, VGG16_BN_Weights)
vgg19 = _builder("vgg19", "E", False, VGG19_Weights)
vgg19_bn = _builder("vgg19_bn", "E", True, VGG19_BN_Weights)
