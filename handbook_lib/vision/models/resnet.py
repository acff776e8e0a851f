"""ResNet (He et al., 2015) in torchvision's layout, and ``resnet_mini``, the book's small one.

Module names follow torchvision, so ``state_dict`` keys, parameter counts and initialisation
match ``torchvision.models.resnet*``.

================  ============
network           parameters
================  ============
ResNet-18         11,689,512
ResNet-34         21,797,672
ResNet-50         25,557,032
ResNet-101        44,549,160
ResNet-152        60,192,808
resnet_mini       77,754 (1×28×28 input, 10 classes)
================  ============
"""
from __future__ import annotations

from typing import Any, Sequence

from ... import nn
from ..._tensor import Tensor
from ._api import Weights, WeightsEnum, handle_weights, load_weights, register_model
from ._utils import init_torchvision
from ._weights import imagenet_weights

__all__ = ["BasicBlock", "Bottleneck", "ResNet", "ResNetMini", "ResNet18_Weights",
           "ResNet34_Weights", "ResNet50_Weights", "ResNet101_Weights", "ResNet152_Weights",
           "ResNetMini_Weights", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
           "resnet_mini", "conv1x1", "conv3x3"]


def conv3x3(in_planes: int, out_planes: int, stride: int = 1, groups: int = 1,
            dilation: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=dilation,
                     groups=groups, bias=False, dilation=dilation)


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


class Bottleneck(nn.Module):
    """1×1 (narrow) → 3×3 (strided) → 1×1 (4× wider) convolutions plus the shortcut, the
    block of ResNet-50 and deeper (the stride on the 3×3, as torchvision's "ResNet v1.5")."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = conv1x1(inplanes, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


def _zero_init_last_bn(model: nn.Module) -> None:
    """Each residual block then starts as the identity."""
    for m in model.modules():
        if isinstance(m, Bottleneck):
            nn.init.constant_(m.bn3.weight, 0)
        elif isinstance(m, BasicBlock):
            nn.init.constant_(m.bn2.weight, 0)


class ResNet(nn.Module):
    """ResNet in torchvision's layout: a 7×7 stem, four stages of blocks (64, 128, 256, 512
    channels, times the block's ``expansion``; each later stage halves the resolution), global
    average pooling and one linear layer."""

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
            init_torchvision(m)
        if zero_init_residual:
            _zero_init_last_bn(self)

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


class ResNetMini(nn.Module):
    """A small ResNet for 28×28 (or any size ≥ 8) images, for training on a CPU in minutes.

    A 3×3 stem (no max-pool), then stages of :class:`BasicBlock` with ``widths`` channels (the
    first keeps the resolution, each later one halves it), global average pooling and ``fc``.
    Names follow :class:`ResNet` (``conv1``, ``bn1``, ``layer1``..., ``fc``), so the same
    fine-tuning code (``model.fc = nn.Linear(...)``, freezing ``layer1``) works on both. With the
    defaults (1 channel in, widths 16-32-64, one block per stage, 10 classes): 77,754 parameters.
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 10,
                 widths: Sequence[int] = (16, 32, 64), blocks: Sequence[int] = (1, 1, 1),
                 zero_init_residual: bool = False) -> None:
        super().__init__()
        if len(widths) != len(blocks) or not widths:
            raise ValueError(f"widths and blocks need one entry per stage, got {list(widths)} "
                             f"and {list(blocks)}")
        self.inplanes = widths[0]
        self.conv1 = conv3x3(in_channels, widths[0])
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        for i, (width, count) in enumerate(zip(widths, blocks)):
            layer = ResNet._make_layer(self, BasicBlock, width, count, stride=1 if i == 0 else 2)
            self.add_module(f"layer{i + 1}", layer)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(widths[-1], num_classes)
        self.num_stages = len(widths)
        for m in self.modules():
            init_torchvision(m)
        if zero_init_residual:
            _zero_init_last_bn(self)

    def forward(self, x: Tensor) -> Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        for i in range(self.num_stages):
            x = getattr(self, f"layer{i + 1}")(x)
        return self.fc(self.avgpool(x).flatten(1))


class ResNet18_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights("resnet18-f37072fd.pth", 11_689_512, 69.758, 89.078)
    DEFAULT = IMAGENET1K_V1


class ResNet34_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights("resnet34-b627a593.pth", 21_797_672, 73.314, 91.42)
    DEFAULT = IMAGENET1K_V1


class ResNet50_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights("resnet50-0676ba61.pth", 25_557_032, 76.13, 92.862)
    IMAGENET1K_V2 = imagenet_weights("resnet50-11ad3fa6.pth", 25_557_032, 80.858, 95.434, 232)
    DEFAULT = IMAGENET1K_V2


class ResNet101_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights("resnet101-63fe2227.pth", 44_549_160, 77.374, 93.546)
    IMAGENET1K_V2 = imagenet_weights("resnet101-cd907fc2.pth", 44_549_160, 81.886, 95.78, 232)
    DEFAULT = IMAGENET1K_V2


class ResNet152_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights("resnet152-394f9c45.pth", 60_192_808, 78.312, 94.046)
    IMAGENET1K_V2 = imagenet_weights("resnet152-f82ba261.pth", 60_192_808, 82.284, 96.002, 232)
    DEFAULT = IMAGENET1K_V2


class ResNetMini_Weights(WeightsEnum):
    """No published weights: the book trains its own and passes them as a :class:`Weights`."""


def _resnet(enum: type[WeightsEnum], block: type, layers: Sequence[int], weights: Any,
            progress: bool, pretrained: bool | None, kwargs: dict) -> ResNet:
    weights = handle_weights(enum, weights, pretrained, kwargs)
    return load_weights(ResNet(block, layers, **kwargs), weights, progress)


def _builder(enum: type[WeightsEnum], block: type, layers: Sequence[int], name: str, doc: str):
    def build(*, weights: Any = None, progress: bool = True, pretrained: bool | None = None,
              **kwargs: Any) -> ResNet:
        return _resnet(enum, block, layers, weights, progress, pretrained, kwargs)

    build.__name__ = build.__qualname__ = name
    build.__doc__ = (f"{doc}\n\n    Args:\n        weights: ``None`` (random), a "
                     f"``{enum.__name__}`` member or its name.\n        progress: show the "
                     "download.\n        pretrained: the older form, ``True`` for "
                     "``weights='DEFAULT'``.\n        **kwargs: passed to :class:`ResNet` "
                     "(``num_classes``, ``zero_init_residual``).")
    build.weights_enum = enum
    return register_model(name)(build)


resnet18 = _builder(ResNet18_Weights, BasicBlock, (2, 2, 2, 2), "resnet18",
                    "ResNet-18: BasicBlocks in stages of [2, 2, 2, 2].")
resnet34 = _builder(ResNet34_Weights, BasicBlock, (3, 4, 6, 3), "resnet34",
                    "ResNet-34: BasicBlocks in stages of [3, 4, 6, 3].")
resnet50 = _builder(ResNet50_Weights, Bottleneck, (3, 4, 6, 3), "resnet50",
                    "ResNet-50: Bottlenecks in stages of [3, 4, 6, 3].")
resnet101 = _builder(ResNet101_Weights, Bottleneck, (3, 4, 23, 3), "resnet101",
                     "ResNet-101: Bottlenecks in stages of [3, 4, 23, 3].")
resnet152 = _builder(ResNet152_Weights, Bottleneck, (3, 8, 36, 3), "resnet152",
                     "ResNet-152: Bottlenecks in stages of [3, 8, 36, 3].")


@register_model()
def resnet_mini(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ResNetMini:
    """The book's small ResNet (:class:`ResNetMini`). ``weights``: ``None`` (random), or a
    :class:`Weights` entry (or ``WeightsEnum`` member) made for this architecture, such as the
    weights the book trains itself; ``num_classes`` then defaults to its categories."""
    if isinstance(weights, (Weights, WeightsEnum)):
        kwargs.setdefault("num_classes", len(weights.meta.get("categories", range(10))))
    else:
        weights = ResNetMini_Weights.verify(weights)
    return load_weights(ResNetMini(**kwargs), weights, progress)


resnet_mini.weights_enum = ResNetMini_Weights
