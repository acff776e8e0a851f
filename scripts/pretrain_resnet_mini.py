"""Pretrain the book's small ResNet on the digits 0-4 of MNIST5k (CPU, about a minute).

Chapter 4.1 fine-tunes this network on the digits 5-9, chapter 4.2 looks inside it. The weights
go to ``data/resnet_mini_digits04.pt`` (``hl.save`` format) and a description of them, with the
file's SHA-256, to ``data/resnet_mini_digits04.json``; the chapters check the hash before they
load the weights, and run this script when the file is missing::

    python scripts/pretrain_resnet_mini.py            # writes data/resnet_mini_digits04.*
    python scripts/pretrain_resnet_mini.py --epochs 2 --out /tmp/w.pt

Training is seeded, so a rerun gives the same accuracy; the bits (and so the hash) can differ
between machines whose BLAS sums in another order.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

import handbook_lib as hl  # noqa: E402
import handbook_lib.nn.functional as F  # noqa: E402
from handbook_lib.utils.data import DataLoader, Subset  # noqa: E402
from handbook_lib.vision import transforms  # noqa: E402
from handbook_lib.vision.datasets import MNIST5k  # noqa: E402
from handbook_lib.vision.models import resnet_mini  # noqa: E402

CLASSES = (0, 1, 2, 3, 4)
MEAN, STD = 0.1307, 0.3081  # MNIST's pixel statistics, the usual normalisation
DEFAULT_OUT = os.path.join(REPO, "data", "resnet_mini_digits04.pt")


def digits_subset(train: bool, transform) -> Subset:
    """The images of MNIST5k whose label is in CLASSES (labels stay 0-4)."""
    dataset = MNIST5k(train=train, transform=transform)
    keep = [i for i, label in enumerate(dataset.targets.tolist()) if label in CLASSES]
    return Subset(dataset, keep)


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def accuracy(model, loader) -> float:
    model.eval()
    correct = total = 0
    with hl.no_grad():
        for images, labels in loader:
            correct += (model(images).argmax(1) == labels).sum().item()
            total += len(labels)
    return correct / total


def train(epochs: int, seed: int = 0) -> tuple:
    hl.manual_seed(seed)
    normalize = transforms.Normalize((MEAN,), (STD,))
    train_set = digits_subset(True, transforms.Compose([
        transforms.RandomCrop(28, padding=2), transforms.ToTensor(), normalize]))
    test_set = digits_subset(False, transforms.Compose([transforms.ToTensor(), normalize]))
    train_loader = DataLoader(train_set, batch_size=64, shuffle=True,
                              generator=hl.Generator().manual_seed(seed))
    test_loader = DataLoader(test_set, batch_size=500)
    model = resnet_mini(num_classes=len(CLASSES))
    optimizer = hl.optim.Adam(model.parameters(), lr=2e-3)
    scheduler = hl.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs * len(train_loader))
    for epoch in range(1, epochs + 1):
        model.train()
        for images, labels in train_loader:
            loss = F.cross_entropy(model(images), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
        print(f"epoch {epoch}: loss {loss.item():.4f}, "
              f"test accuracy {accuracy(model, test_loader):.2%}", flush=True)
    return model, accuracy(model, test_loader), len(train_set), len(test_set)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--out", default=DEFAULT_OUT, help="weights file (.pt); the .json "
                        "description goes beside it")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    model, test_accuracy, n_train, n_test = train(args.epochs)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    partial = args.out + ".partial"
    hl.save(model.state_dict(), partial)
    os.replace(partial, args.out)  # never a half-written weights file
    meta = {
        "architecture": "resnet_mini", "num_classes": len(CLASSES),
        "categories": [str(c) for c in CLASSES],
        "dataset": "MNIST5k, digits 0-4", "train_images": n_train, "test_images": n_test,
        "epochs": args.epochs, "test_accuracy": round(test_accuracy, 4),
        "normalize": {"mean": [MEAN], "std": [STD]},
        "sha256": sha256_of(args.out),
    }
    with open(os.path.splitext(args.out)[0] + ".json", "w", encoding="utf-8") as file:
        json.dump(meta, file, indent=2)
        file.write("\n")
    print(f"wrote {args.out} (sha256 {meta['sha256'][:12]}...) in "
          f"{time.perf_counter() - start:.0f} s, test accuracy {test_accuracy:.2%}")


if __name__ == "__main__":
    main()
