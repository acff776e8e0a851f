"""AlexNet (Krizhevsky et al., 2012) in torchvision's single-GPU form: 61,100,840 parameters."""
from __future__ import annotations

from typing import Any

from ... import nn
from ..._tensor import Tensor
from ._api import WeightsEnum, handle_weights, load_weights, register_model
from ._weights import imagenet_weights

__all__ = ["AlexNet", "AlexNet_Weights", "alexnet"]


class AlexNet(nn.Module):
    """Five convolutions (64-192-384-256-256) and three linear layers; adaptive pooling to 6×6
    lets any input of at least 63×63 through."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True),
            nn.Dropout(p=dropout), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(x.flatten(1))


class AlexNet_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights("alexnet-owt-7be5be79.pth", 61_100_840, 56.522, 79.066)
    DEFAULT = IMAGENET1K_V1


@register_model()
def alexnet(*, weights: Any = None, progress: bool = True, pretrained: bool | None = None,
            **kwargs: Any) -> AlexNet:
    """AlexNet; ``weights``: ``None``, an ``AlexNet_Weights`` member or its name."""
    weights = handle_weights(AlexNet_Weights, weights, pretrained, kwargs)
    return load_weights(AlexNet(**kwargs), weights, progress)


alexnet.weights_enum = AlexNet_Weights
