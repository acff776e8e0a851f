"""``DatasetFolder`` and ``ImageFolder``: one sub-folder per class, as in torchvision.

    root/dog/xxx.png
    root/dog/xxy.jpeg
    root/cat/123.png

Classes are the sub-folders in sorted order; samples are walked in sorted order too, so the
indices are the same on every machine.
"""
from __future__ import annotations

import os
from typing import Any, Callable

from PIL import Image

from .vision import Transform, VisionDataset

IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


def has_file_allowed_extension(filename: str, extensions: str | tuple[str, ...]) -> bool:
    return filename.lower().endswith(extensions if isinstance(extensions, str)
                                     else tuple(extensions))


def is_image_file(filename: str) -> bool:
    return has_file_allowed_extension(filename, IMG_EXTENSIONS)


def find_classes(directory: str | os.PathLike) -> tuple[list[str], dict[str, int]]:
    """The class folders of ``directory``, sorted, and their indices."""
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"{directory} is not a folder")
    classes = sorted(entry.name for entry in os.scandir(directory) if entry.is_dir())
    if not classes:
        raise FileNotFoundError(f"Couldn't find any class folder in {directory}.")
    return classes, {name: i for i, name in enumerate(classes)}


def make_dataset(directory: str | os.PathLike, class_to_idx: dict[str, int],
                 extensions: str | tuple[str, ...] | None = None,
                 is_valid_file: Callable[[str], bool] | None = None,
                 allow_empty: bool = False) -> list[tuple[str, int]]:
    """``(path, class index)`` for every accepted file under each class folder.

    Raises:
        ValueError: both or neither of ``extensions`` and ``is_valid_file`` given.
        FileNotFoundError: a class folder holds no accepted file (unless ``allow_empty``).
    """
    directory = os.path.expanduser(os.fspath(directory))
    if (extensions is None) == (is_valid_file is None):
        raise ValueError("Both extensions and is_valid_file cannot be None or not None at the "
                         "same time")
    if is_valid_file is None:
        def is_valid_file(path: str) -> bool:
            return has_file_allowed_extension(path, extensions)
    instances, found = [], set()
    for target_class in sorted(class_to_idx):
        target_dir = os.path.join(directory, target_class)
        if not os.path.isdir(target_dir):
            continue
        for folder, _, names in sorted(os.walk(target_dir, followlinks=True)):
            for name in sorted(names):
                path = os.path.join(folder, name)
                if is_valid_file(path):
                    instances.append((path, class_to_idx[target_class]))
                    found.add(target_class)
    empty = sorted(set(class_to_idx) - found)
    if empty and not allow_empty:
        message = f"Found no valid file for the classes {', '.join(empty)}. "
        if extensions is not None:
            exts = extensions if isinstance(extensions, str) else ", ".join(extensions)
            message += f"Supported extensions are: {exts}"
        raise FileNotFoundError(message)
    return instances


def pil_loader(path: str) -> Image.Image:
    """Open an image file as RGB; an unreadable, corrupt or truncated file is an ``OSError``
    that names it."""
    try:
        with open(path, "rb") as fp:
            img = Image.open(fp)
            return img.convert("RGB")
    except OSError as exc:
        raise OSError(f"cannot read the image file {path}: {exc}") from exc


def default_loader(path: str) -> Image.Image:
    return pil_loader(path)


class DatasetFolder(VisionDataset):
    """Samples ``(loader(path), class index)`` from ``root/<class>/**/<file>``.

    Attributes:
        classes, class_to_idx: the class names (sorted) and their indices.
        samples: ``(path, class index)`` pairs; ``targets`` the indices alone.
    """

    def __init__(self, root: str | os.PathLike, loader: Callable[[str], Any],
                 extensions: tuple[str, ...] | None = None, transform: Transform = None,
                 target_transform: Transform = None,
                 is_valid_file: Callable[[str], bool] | None = None,
                 allow_empty: bool = False) -> None:
        super().__init__(root, transform, target_transform)
        self.classes, self.class_to_idx = self.find_classes(self.root)
        self.samples = self.make_dataset(self.root, self.class_to_idx, extensions,
                                         is_valid_file, allow_empty)
        self.loader, self.extensions = loader, extensions
        self.imgs = self.samples
        self.targets = [target for _, target in self.samples]

    @staticmethod
    def make_dataset(directory: str, class_to_idx: dict[str, int],
                     extensions: tuple[str, ...] | None = None,
                     is_valid_file: Callable[[str], bool] | None = None,
                     allow_empty: bool = False) -> list[tuple[str, int]]:
        return make_dataset(directory, class_to_idx, extensions, is_valid_file, allow_empty)

    def find_classes(self, directory: str) -> tuple[list[str], dict[str, int]]:
        return find_classes(directory)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        path, target = self.samples[index]
        return self._apply(self.loader(path), target)


class ImageFolder(DatasetFolder):
    """A :class:`DatasetFolder` of image files (``IMG_EXTENSIONS``), opened as RGB PIL images."""

    def __init__(self, root: str | os.PathLike, transform: Transform = None,
                 target_transform: Transform = None,
                 loader: Callable[[str], Any] = default_loader,
                 is_valid_file: Callable[[str], bool] | None = None,
                 allow_empty: bool = False) -> None:
        super().__init__(root, loader, IMG_EXTENSIONS if is_valid_file is None else None,
                         transform, target_transform, is_valid_file, allow_empty)
