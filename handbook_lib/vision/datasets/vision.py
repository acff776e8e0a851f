"""The base of the image datasets: ``root``, ``transform``, ``target_transform`` and
torchvision's ``repr``."""
from __future__ import annotations

import os
from typing import Any, Callable

from ...utils.data import Dataset

Transform = Callable[[Any], Any] | None


class VisionDataset(Dataset):
    """An image dataset: ``dataset[i]`` is ``(transform(image), target_transform(target))``."""

    _repr_indent = 4

    def __init__(self, root: str | os.PathLike | None = None, transform: Transform = None,
                 target_transform: Transform = None) -> None:
        self.root = None if root is None else os.fspath(root)
        self.transform = transform
        self.target_transform = target_transform

    def _apply(self, image: Any, target: Any) -> tuple[Any, Any]:
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        body = [f"Number of datapoints: {len(self)}"]
        if self.root is not None:
            body.append(f"Root location: {self.root}")
        body += self.extra_repr().splitlines()
        for head, transform in (("Transform: ", self.transform),
                                ("Target transform: ", self.target_transform)):
            if transform is not None:
                lines = repr(transform).splitlines()
                body += [head + lines[0]] + [" " * len(head) + line for line in lines[1:]]
        return "\n".join([f"Dataset {type(self).__name__}"] +
                         [" " * self._repr_indent + line for line in body])
