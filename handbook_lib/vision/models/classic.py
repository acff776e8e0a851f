"""Classic convolutional networks: LeNet-5, AlexNet, VGG and ResNet-18.

AlexNet, VGG and ResNet follow torchvision's definitions layer for layer (same module names, so
``state_dict`` keys match, the same parameter counts and output shapes, the same initialisation).
Weights start random: nothing is downloaded.

================  ============  ==========================
network           parameters    input
================  ============  ==========================
LeNet-5           44,426        1×28×28 (``input_size=32``: 61,706)
AlexNet           61,100,840    3×224×224 (any size ≥ 63)
VGG-16            138,357,544   3×224×224 (any size ≥ 32)
ResNet-18         11,689,512    3×224×224 (any size ≥ 32)
================  ============  ==========================
"""
from __future__ import annotations

from typing import Sequence

from ... import nn
from ..._tensor import Tensor
from ...nn import functional as F

__all__ = ["LeNet5", "AlexNet", "VGG", "vgg16", "vgg16_bn", "BasicBlock", "ResNet", "resnet18"]


class LeNet5(nn.Module):
    """LeNet-5 (LeCun et al., 1998) with ReLU and max pooling, as in most modern tutorials.

    conv 6@5×5 → ReLU → max-pool 2 → conv 16@5×5 → ReLU → max-pool 2 → 120 → 84 → ``num_classes``.
    For 28×28 MNIST digits the last feature map is 16×4×4; ``input_size=32`` gives the original
    paper's 32×32 input and a 16×5×5 map.
    """

    def __init__(self, num_classes: int = 10, input_size: int = 28) -> None:
        super().__init__()
        side = ((input_size - 4) // 2 - 4) // 2
        if side <= 0:
            raise ValueError(f"LeNet5 needs input_size >= 16, got {input_size}")
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * side * side, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.flatten(1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class AlexNet(nn.Module):
    """AlexNet (Krizhevsky et al., 2012) in torchvision's single-GPU form (64-192-384-256-256)."""

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
    """VGG (Simonyan & Zisserman, 2014): ``features`` from :func:`make_vgg_layers`, then
    adaptive pooling to 7×7 and three fully connected layers."""

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
                _init_torchvision(m, linear_std=0.01)

    def forward(self, x: Tensor) -> Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(x.flatten(1))


def _init_torchvision(m: nn.Module, linear_std: float | None = None) -> None:
    """torchvision's initialisation: He-normal (fan_out) convolutions, BatchNorm γ=1 β=0,
    and N(0, linear_std²) linear layers when ``linear_std`` is given."""
    if isinstance(m, nn.Conv2d):
        nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        if m.bias is not None:
            nn.init.constant_(m.bias, 0)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.constant_(m.weight, 1)
        nn.init.constant_(m.bias, 0)
    elif isinstance(m, nn.Linear) and linear_std is not None:
        nn.init.normal_(m.weight, 0, linear_std)
        nn.init.constant_(m.bias, 0)


def vgg16(num_classes: int = 1000, batch_norm: bool = False, **kwargs) -> VGG:
    """VGG-16 (configuration D): 13 convolutions and 3 linear layers."""
    return VGG(make_vgg_layers(VGG_CONFIGS["D"], batch_norm), num_classes, **kwargs)


def vgg16_bn(num_classes: int = 1000, **kwargs) -> VGG:
    return vgg16(num_classes, batch_norm=True, **kwargs)


def conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3×3 convolutions with BatchNorm, plus the input (the *residual* connection):
    ``relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))``. When the block changes the shape,
    ``downsample`` (a strided 1×1 convolution + BatchNorm) makes the shortcut match."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    """ResNet (He et al., 2015) in torchvision's layout: a 7×7 stem, four stages of blocks
    (64, 128, 256, 512 channels; each later stage halves the resolution), global average
    pooling and one linear layer."""

    def __init__(self, block: type = BasicBlock, layers: Sequence[int] = (2, 2, 2, 2),
                 num_classes: int = 1000, zero_init_residual: bool = False) -> None:
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        for m in self.modules():
            _init_torchvision(m)
        if zero_init_residual:  # each block then starts as the identity
            for m in self.modules():
                if isinstance(m, BasicBlock):
                    nn.init.constant_(m.bn2.weight, 0)

    def _make_layer(self, block: type, planes: int, blocks: int,
                    stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                       nn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))


def resnet18(num_classes: int = 1000, **kwargs) -> ResNet:
    """ResNet-18: BasicBlocks in stages of [2, 2, 2, 2]."""
    return ResNet(BasicBlock, (2, 2, 2, 2), num_classes, **kwargs)
