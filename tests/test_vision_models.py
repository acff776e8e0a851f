"""handbook_lib.vision.models against torchvision 0.28's own constructors (tests/torchvision_ref):
state_dict keys and shapes, parameter counts, the weights registry, and outputs with the same
weights."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import handbook_lib as hl
from handbook_lib.vision import models
from torchvision_ref import models as tv_models

BUILDERS = ["alexnet", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19",
            "vgg19_bn", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
            "googlenet", "mobilenet_v2", "densenet121"]


def shapes(state_dict) -> dict:
    return {k: tuple(v.shape) for k, v in state_dict.items()}


def theirs_on_meta(name: str, **kwargs) -> torch.nn.Module:
    with torch.device("meta"):  # shapes only: no memory, no random initialisation
        return getattr(tv_models, name)(weights=None, **kwargs)


@pytest.mark.parametrize("name", BUILDERS)
def test_state_dict_and_parameter_count_are_torchvisions(name):
    ours = getattr(models, name)(weights=None)
    theirs = theirs_on_meta(name)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert shapes(ours.state_dict()) == shapes(theirs.state_dict())
    count = sum(p.numel() for p in ours.parameters())
    assert count == sum(p.numel() for p in theirs.parameters())


@pytest.mark.parametrize("name", ["resnet18", "vgg11"])
def test_num_classes_replaces_the_head(name):
    ours = getattr(models, name)(num_classes=7)
    assert shapes(ours.state_dict()) == shapes(theirs_on_meta(name, num_classes=7).state_dict())


def test_the_registry_matches_torchvisions():
    left_out = []
    for name in BUILDERS:
        ours, theirs = models.get_model_weights(name), tv_models.get_model_weights(name)
        assert ours.DEFAULT.name == theirs.DEFAULT.name
        for member in theirs:
            if member.name not in ours.__members__:
                left_out.append(repr(member))
                continue
            mine = ours[member.name]
            assert mine.url == member.url
            assert mine.url.rsplit("-", 1)[1].startswith(mine.sha256)
            assert mine.meta["categories"] == member.meta["categories"]
            assert mine.meta["num_params"] == member.meta["num_params"]
            acc = member.meta["_metrics"]["ImageNet-1K"]
            assert mine.meta["metrics"] == {"acc@1": acc["acc@1"], "acc@5": acc["acc@5"]}
            assert mine.transforms.args == (224, member.transforms().resize_size[0])
    assert left_out == ["VGG16_Weights.IMAGENET1K_FEATURES"]  # a detection backbone, no head
    assert set(models.list_models()) == set(BUILDERS) | {"resnet_mini"}


def test_weights_by_name_and_errors():
    assert models.ResNet18_Weights.verify("IMAGENET1K_V1") is models.ResNet18_Weights.IMAGENET1K_V1
    assert models.get_weight("ResNet50_Weights.DEFAULT") is models.ResNet50_Weights.IMAGENET1K_V2
    with pytest.raises(ValueError, match="Failed to find Weights IMAGENET9K"):
        models.resnet18(weights="IMAGENET9K")
    with pytest.raises(TypeError, match="expected ResNet18_Weights but received"):
        models.resnet18(weights=models.VGG16_Weights.IMAGENET1K_V1)
    with pytest.raises(ValueError, match="'num_classes' expected value 1000 but got 10"):
        models.resnet18(weights="DEFAULT", num_classes=10)
    with pytest.raises(ValueError, match="Unknown model resnet7"):
        models.get_model("resnet7")


def copy_weights(ours: hl.nn.Module, theirs: torch.nn.Module) -> None:
    ours.load_state_dict({k: hl.tensor(v.detach().numpy()) for k, v in
                          theirs.state_dict().items()})


@pytest.mark.parametrize("name, size", [("alexnet", 64), ("vgg11_bn", 32), ("resnet50", 32),
                                        ("googlenet", 48), ("mobilenet_v2", 32),
                                        ("densenet121", 32)])
def test_outputs_with_the_same_weights_are_torchvisions(name, size):
    torch.manual_seed(0)
    theirs = getattr(tv_models, name)(weights=None).eval()
    for m in theirs.modules():  # running statistics away from 0 and 1 so that eval BN matters
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    ours = getattr(models, name)(weights=None).eval()
    copy_weights(ours, theirs)
    x = np.random.default_rng(0).standard_normal((2, 3, size, size)).astype(np.float32)
    with torch.no_grad():
        expected = theirs(torch.from_numpy(x)).numpy()
    with hl.no_grad():
        got = ours(hl.from_numpy(x)).numpy()
    scale = np.abs(expected).max()
    np.testing.assert_allclose(got / scale, expected / scale, atol=1e-4)


def test_googlenet_training_outputs_and_aux_logits():
    net = models.googlenet()
    out = net(hl.randn(2, 3, 64, 64))
    assert type(out).__name__ == "GoogLeNetOutputs"
    assert [tuple(o.shape) for o in out] == [(2, 1000)] * 3
    assert sum(p.numel() for p in models.googlenet(aux_logits=False).parameters()) == 6_624_904


def test_resnet_mini_for_the_book():
    net = models.resnet_mini()
    assert sum(p.numel() for p in net.parameters()) == 77_754
    assert tuple(net(hl.randn(4, 1, 28, 28)).shape) == (4, 10)
    wide = models.resnet_mini(in_channels=3, num_classes=5, widths=(8, 16), blocks=(2, 1))
    assert tuple(wide(hl.randn(2, 3, 32, 32)).shape) == (2, 5)
    assert [n for n, _ in net.named_children()] == ["conv1", "bn1", "relu", "layer1", "layer2",
                                                    "layer3", "avgpool", "fc"]
    with pytest.raises(ValueError, match="one entry per stage"):
        models.resnet_mini(widths=(8, 16), blocks=(1,))


def test_zero_init_residual_zeroes_the_last_bn_of_each_block():
    net = models.resnet50(zero_init_residual=True)
    assert all(not b.bn3.weight.detach().numpy().any() for layer in
               (net.layer1, net.layer4) for b in layer)
