"""handbook_lib.models against torchvision's definitions, rebuilt here in plain torch.nn
(torchvision is not a dependency): parameter counts, state_dict keys and shapes, output shapes;
LeNet-5 and ResNet-18 also compute the same numbers with the same weights."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn as tnn

import handbook_lib as hl
from handbook_lib.vision import models

torch.set_num_threads(1)

# torchvision's published parameter counts (1000 classes)
ALEXNET_PARAMS, VGG16_PARAMS, RESNET18_PARAMS = 61_100_840, 138_357_544, 11_689_512


# --- the reference networks, as torchvision defines them ---------------------------------------
def torch_alexnet() -> tnn.Module:
    class AlexNet(tnn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = tnn.Sequential(
                tnn.Conv2d(3, 64, 11, 4, 2), tnn.ReLU(True), tnn.MaxPool2d(3, 2),
                tnn.Conv2d(64, 192, 5, padding=2), tnn.ReLU(True), tnn.MaxPool2d(3, 2),
                tnn.Conv2d(192, 384, 3, padding=1), tnn.ReLU(True),
                tnn.Conv2d(384, 256, 3, padding=1), tnn.ReLU(True),
                tnn.Conv2d(256, 256, 3, padding=1), tnn.ReLU(True), tnn.MaxPool2d(3, 2))
            self.avgpool = tnn.AdaptiveAvgPool2d((6, 6))
            self.classifier = tnn.Sequential(
                tnn.Dropout(), tnn.Linear(9216, 4096), tnn.ReLU(True), tnn.Dropout(),
                tnn.Linear(4096, 4096), tnn.ReLU(True), tnn.Linear(4096, 1000))

        def forward(self, x):
            return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))

    return AlexNet()


def torch_vgg_features(batch_norm: bool) -> tnn.Sequential:
    layers, channels = [], 3
    for v in models.VGG_CONFIGS["D"]:
        if v == "M":
            layers.append(tnn.MaxPool2d(2, 2))
        else:
            layers += [tnn.Conv2d(channels, v, 3, padding=1)] + \
                ([tnn.BatchNorm2d(v)] if batch_norm else []) + [tnn.ReLU(True)]
            channels = v
    return tnn.Sequential(*layers)


def torch_vgg16() -> tnn.Module:
    class VGG(tnn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = torch_vgg_features(False)
            self.avgpool = tnn.AdaptiveAvgPool2d((7, 7))
            self.classifier = tnn.Sequential(
                tnn.Linear(25088, 4096), tnn.ReLU(True), tnn.Dropout(),
                tnn.Linear(4096, 4096), tnn.ReLU(True), tnn.Dropout(), tnn.Linear(4096, 1000))

    return VGG()


class TorchBasicBlock(tnn.Module):
    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample=None) -> None:
        super().__init__()
        self.conv1 = tnn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(planes)
        self.relu = tnn.ReLU(inplace=True)
        self.conv2 = tnn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = tnn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class TorchResNet18(tnn.Module):
    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self.inplanes = 64
        self.conv1 = tnn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = tnn.BatchNorm2d(64)
        self.relu = tnn.ReLU(inplace=True)
        self.maxpool = tnn.MaxPool2d(3, 2, 1)
        self.layer1, self.layer2 = self._layer(64, 1), self._layer(128, 2)
        self.layer3, self.layer4 = self._layer(256, 2), self._layer(512, 2)
        self.avgpool = tnn.AdaptiveAvgPool2d((1, 1))
        self.fc = tnn.Linear(512, num_classes)

    def _layer(self, planes: int, stride: int) -> tnn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = tnn.Sequential(tnn.Conv2d(self.inplanes, planes, 1, stride, bias=False),
                                        tnn.BatchNorm2d(planes))
        first = TorchBasicBlock(self.inplanes, planes, stride, downsample)
        self.inplanes = planes
        return tnn.Sequential(first, TorchBasicBlock(planes, planes))

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class TorchLeNet5(tnn.Module):
    def __init__(self, side: int = 4) -> None:
        super().__init__()
        self.conv1, self.conv2 = tnn.Conv2d(1, 6, 5), tnn.Conv2d(6, 16, 5)
        self.fc1, self.fc2, self.fc3 = tnn.Linear(16 * side * side, 120), tnn.Linear(120, 84), \
            tnn.Linear(84, 10)

    def forward(self, x):
        F = tnn.functional
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2).flatten(1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


# --- helpers ---------------------------------------------------------------------------------
def shapes(state: dict) -> dict:
    return {k: tuple(v.shape) for k, v in state.items()}


def count(module) -> int:
    return sum(p.numel() for p in module.parameters())


def load_from(ours: hl.nn.Module, theirs: tnn.Module) -> None:
    ours.load_state_dict({k: hl.tensor(v.detach().numpy().copy())
                          for k, v in theirs.state_dict().items()})


@pytest.fixture(scope="module")
def vgg16():
    return models.vgg16()


# --- tests -----------------------------------------------------------------------------------
@pytest.mark.parametrize("input_size,params", [(28, 44_426), (32, 61_706)])
def test_lenet5_counts_and_shapes(input_size, params):
    net = models.LeNet5(input_size=input_size)
    theirs = TorchLeNet5(side=4 if input_size == 28 else 5)
    assert count(net) == count(theirs) == params
    assert shapes(net.state_dict()) == shapes(theirs.state_dict())
    assert tuple(net(hl.zeros(3, 1, input_size, input_size)).shape) == (3, 10)


def test_lenet5_computes_like_pytorch(device):
    theirs = TorchLeNet5().double()
    net = models.LeNet5().double()
    load_from(net, theirs)
    net.to(device)
    x = np.random.default_rng(0).standard_normal((4, 1, 28, 28))
    out, expected = net(hl.tensor(x, device=device)), theirs(torch.tensor(x))
    assert out.device == hl.device(device)
    np.testing.assert_allclose(out.detach().cpu().numpy(), expected.detach().numpy(), rtol=1e-10)
    out.sum().backward()
    expected.sum().backward()
    ours_grads = dict(net.named_parameters())
    for name, p in theirs.named_parameters():
        assert ours_grads[name].grad.device == hl.device(device)
        np.testing.assert_allclose(ours_grads[name].grad.cpu().numpy(), p.grad.numpy(),
                                   rtol=1e-9, atol=1e-12)


def test_lenet5_rejects_tiny_inputs():
    with pytest.raises(ValueError, match="input_size >= 16"):
        models.LeNet5(input_size=12)


def test_alexnet_matches_torchvision():
    net = models.AlexNet()
    with torch.device("meta"):
        theirs = torch_alexnet()
    assert count(net) == count(theirs) == ALEXNET_PARAMS
    assert shapes(net.state_dict()) == shapes(theirs.state_dict())
    assert repr(net) == repr(theirs)
    assert tuple(net(hl.zeros(1, 3, 64, 64)).shape) == (1, 1000)


def test_vgg16_matches_torchvision(vgg16):
    with torch.device("meta"):
        theirs = torch_vgg16()
    assert count(vgg16) == count(theirs) == VGG16_PARAMS
    assert list(vgg16.state_dict()) == list(theirs.state_dict())
    assert shapes(vgg16.state_dict()) == shapes(theirs.state_dict())
    assert tuple(vgg16(hl.zeros(1, 3, 32, 32)).shape) == (1, 1000)


def test_vgg16_init_is_torchvisions(vgg16):
    first = vgg16.features[0].weight.detach().numpy()  # He-normal, fan_out = 64·3·3
    assert abs(first.std() - np.sqrt(2 / (64 * 9))) < 0.1 * np.sqrt(2 / (64 * 9))
    assert not vgg16.features[0].bias.detach().numpy().any()
    assert abs(vgg16.classifier[6].weight.detach().numpy().std() - 0.01) < 0.001


def test_vgg16_bn_features_match_torchvision():
    features = models.make_vgg_layers(models.VGG_CONFIGS["D"], batch_norm=True)
    theirs = torch_vgg_features(batch_norm=True)
    assert list(features.state_dict()) == list(theirs.state_dict())
    assert shapes(features.state_dict()) == shapes(theirs.state_dict())
    assert repr(features) == repr(theirs)


def test_resnet18_matches_torchvision():
    net = models.resnet18()
    theirs = TorchResNet18()
    assert count(net) == count(theirs) == RESNET18_PARAMS
    assert list(net.state_dict()) == list(theirs.state_dict())
    assert shapes(net.state_dict()) == shapes(theirs.state_dict())
    assert repr(net.layer2[0]) == repr(theirs.layer2[0]).replace("TorchBasicBlock", "BasicBlock")


def test_resnet18_computes_like_pytorch():
    theirs = TorchResNet18(num_classes=10).eval()
    net = models.resnet18(num_classes=10).eval()
    load_from(net, theirs)
    x = np.random.default_rng(1).standard_normal((2, 3, 32, 32)).astype(np.float32)
    with hl.no_grad(), torch.no_grad():
        out, expected = net(hl.tensor(x)), theirs(torch.tensor(x))
    assert out.dtype == hl.float32
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-3, atol=1e-4)


def test_resnet18_trains_a_step():
    """Training mode end to end: BatchNorm statistics, residual sums, one gradient per weight."""
    net = models.resnet18(num_classes=3)
    loss = hl.nn.functional.cross_entropy(net(hl.randn(2, 3, 32, 32)), hl.tensor([0, 2]))
    loss.backward()
    assert all(p.grad is not None and p.grad.dtype == hl.float32 for p in net.parameters())
    assert net.bn1.num_batches_tracked.item() == 1


def test_zero_init_residual_starts_blocks_as_identity():
    net = models.resnet18(zero_init_residual=True)
    assert not net.layer1[0].bn2.weight.detach().numpy().any()
