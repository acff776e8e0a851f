"""``import handbook_lib.vision as torchvision`` runs torchvision code: the patterns of the
original handbook's offline cells (3.2 MNIST, 4.1 fine-tuning, 4.2 visualisation), written as
they are for torch, on an ImageFolder and FakeData instead of downloads.

The cells say ``import torch.nn as nn`` and ``from torchvision import datasets``; to run them
unchanged, the test maps those module names onto handbook_lib's while the cell runs (a reader
writes ``import handbook_lib as torch`` and ``import handbook_lib.vision as torchvision``)."""
from __future__ import annotations

import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

import handbook_lib
import handbook_lib.nn.functional  # noqa: F401  (modules the cells import by torch's names)
import handbook_lib.optim.lr_scheduler  # noqa: F401
import handbook_lib.utils.data  # noqa: F401
import handbook_lib.vision


@pytest.fixture
def run(monkeypatch):
    for name, module in list(sys.modules.items()):
        if name == "handbook_lib.vision" or name.startswith("handbook_lib.vision."):
            monkeypatch.setitem(sys.modules, "torchvision" + name[len("handbook_lib.vision"):],
                                module)
        elif name == "handbook_lib" or name.startswith("handbook_lib."):
            monkeypatch.setitem(sys.modules, "torch" + name[len("handbook_lib"):], module)

    def execute(code: str, **names) -> dict:
        namespace = dict(names)
        exec("import torch\nimport torchvision\n" + textwrap.dedent(code), namespace)  # noqa
        assert namespace["torch"] is handbook_lib
        assert namespace["torchvision"] is handbook_lib.vision
        return namespace

    return execute


def make_tree(root) -> None:
    rng = np.random.default_rng(0)
    for split in ("train", "val"):
        for cls in ("ants", "bees"):
            (root / split / cls).mkdir(parents=True)
            for k in range(3):
                pixels = rng.integers(0, 256, (40 + 5 * k, 50, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(root / split / cls / f"{k}.jpg")


def test_fine_tuning_code_as_written_for_torchvision(tmp_path, run):
    make_tree(tmp_path)
    ns = run('''
        import torch.nn as nn
        import torch.optim as optim
        from torch.optim import lr_scheduler
        from torchvision import datasets, models, transforms

        data_transforms = {
            'train': transforms.Compose([
                transforms.RandomResizedCrop(64),
                transforms.RandomHorizontalFlip(),
                transforms.ToTensor(),
                transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
            ]),
            'val': transforms.Compose([
                transforms.Resize(72),
                transforms.CenterCrop(64),
                transforms.ToTensor(),
                transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
            ]),
        }
        image_datasets = {x: datasets.ImageFolder(f"{data_dir}/{x}", data_transforms[x])
                          for x in ['train', 'val']}
        dataloaders = {x: torch.utils.data.DataLoader(image_datasets[x], batch_size=4,
                                                      shuffle=True, num_workers=0)
                       for x in ['train', 'val']}
        dataset_sizes = {x: len(image_datasets[x]) for x in ['train', 'val']}
        class_names = image_datasets['train'].classes

        model_conv = models.resnet18(weights=None)
        for param in model_conv.parameters():
            param.requires_grad = False
        num_ftrs = model_conv.fc.in_features
        model_conv.fc = nn.Linear(num_ftrs, len(class_names))
        criterion = nn.CrossEntropyLoss()
        optimizer_conv = optim.SGD(model_conv.fc.parameters(), lr=0.001, momentum=0.9)
        exp_lr_scheduler = lr_scheduler.StepLR(optimizer_conv, step_size=7, gamma=0.1)

        model_conv.train()
        before = model_conv.fc.weight.detach().clone()
        for inputs, labels in dataloaders['train']:
            optimizer_conv.zero_grad()
            outputs = model_conv(inputs)
            _, preds = torch.max(outputs, 1)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer_conv.step()
        exp_lr_scheduler.step()
        model_conv.eval()
        with torch.no_grad():
            inputs, labels = next(iter(dataloaders['val']))
            val_out = model_conv(inputs)
        frozen = all(p.grad is None for n, p in model_conv.named_parameters()
                     if not n.startswith('fc.'))
    ''', data_dir=str(tmp_path))
    assert ns["class_names"] == ["ants", "bees"] and ns["dataset_sizes"] == {"train": 6,
                                                                            "val": 6}
    assert tuple(ns["val_out"].shape) == (4, 2) and ns["frozen"]
    assert not (ns["model_conv"].fc.weight.detach() == ns["before"]).all().item()


def test_mnist_and_visualisation_code_as_written_for_torchvision(tmp_path, run):
    ns = run('''
        import torch.nn.functional as F
        from torchvision import datasets, transforms, utils
        import torchvision.models as models

        transform = transforms.Compose([transforms.ToTensor(),
                                        transforms.Normalize((0.1307,), (0.3081,))])
        augment = transforms.Compose([transforms.RandomRotation(10),
                                      transforms.RandomAffine(0, translate=(0.1, 0.1)),
                                      transforms.ToTensor()])
        fake = datasets.FakeData(size=8, image_size=(1, 28, 28), num_classes=10,
                                 transform=transform)
        loader = torch.utils.data.DataLoader(fake, batch_size=4, shuffle=False)
        images, labels = next(iter(loader))
        grid = torchvision.utils.make_grid(images, nrow=2, normalize=True)
        utils.save_image(images, f"{out}/batch.png", nrow=4, normalize=True)
        augmented = augment(datasets.FakeData(1, (1, 28, 28))[0][0])
        vgg = models.vgg11_bn(weights=None, num_classes=10)
        names = [name for name, _ in vgg.named_children()]
        to_pil = transforms.ToPILImage()
        pil = to_pil(images[0] * 0.3081 + 0.1307)
    ''', out=str(tmp_path))
    assert tuple(ns["images"].shape) == (4, 1, 28, 28)
    assert tuple(ns["grid"].shape) == (3, 62, 62)
    assert (tmp_path / "batch.png").exists() and tuple(ns["augmented"].shape) == (1, 28, 28)
    assert ns["names"] == ["features", "avgpool", "classifier"] and ns["pil"].mode == "L"
