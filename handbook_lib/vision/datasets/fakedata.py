"""``FakeData``: random images, for trying a pipeline without any data."""
from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from .vision import Transform, VisionDataset


class FakeData(VisionDataset):
    """``size`` random PIL images of ``image_size`` (C, H, W) with random labels.

    Item ``i`` is the same every time (drawn from a generator seeded with
    ``i + random_offset``), though not the same pixels as torchvision's, which come from torch's
    generator.
    """

    def __init__(self, size: int = 1000, image_size: tuple[int, int, int] = (3, 224, 224),
                 num_classes: int = 10, transform: Transform = None,
                 target_transform: Transform = None, random_offset: int = 0) -> None:
        super().__init__(None, transform, target_transform)
        if len(image_size) != 3 or image_size[0] not in (1, 3, 4):
            raise ValueError(f"image_size should be (C, H, W) with 1, 3 or 4 channels, got "
                             f"{image_size}")
        self.size, self.image_size = size, tuple(image_size)
        self.num_classes, self.random_offset = num_classes, random_offset

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        if not -self.size <= index < self.size:
            raise IndexError(f"{self.__class__.__name__} index out of range")
        rng = np.random.default_rng((index % self.size) + self.random_offset)
        c, h, w = self.image_size
        pixels = rng.integers(0, 256, (h, w, c), dtype=np.uint8)
        image = Image.fromarray(pixels[:, :, 0] if c == 1 else pixels)
        return self._apply(image, int(rng.integers(0, self.num_classes)))
