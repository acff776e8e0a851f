"""CIFAR-10 and CIFAR-100 in their real distribution format: a ``.tar.gz`` holding pickled
batches of 32×32 colour images (rows of 3,072 bytes: the red plane, then green, then blue)."""
from __future__ import annotations

import os
from typing import Any

import numpy as np
from PIL import Image

from .utils import calculate_md5, check_integrity, download_url, extract_archive_atomically, \
    load_array_pickle
from .vision import Transform, VisionDataset


class CIFAR10(VisionDataset):
    """CIFAR-10: 50,000 training and 10,000 test images of 10 classes, like torchvision's.

    The batches are looked for in ``root/cifar-10-batches-py``. With ``download=True`` the
    archive is fetched (MD5-checked, written atomically) and extracted into a temporary folder
    that is renamed into place once complete. Each batch is checked against its MD5 before it
    is read, and read without running pickled code.

    ``dataset[i]`` is ``(PIL image, class index)``; ``data`` is a ``uint8`` array
    ``(N, 32, 32, 3)``, ``targets`` a list of ints, ``classes`` the class names.
    """

    base_folder = "cifar-10-batches-py"
    url = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    filename = "cifar-10-python.tar.gz"
    tgz_md5 = "c58f30108f718f92721af3b95e74349a"
    train_list = [
        ["data_batch_1", "c99cafc152244af753f735de768cd75f"],
        ["data_batch_2", "d4bba439e000b95fd0a9bffe97cbabec"],
        ["data_batch_3", "54ebc095f3ab1f0389bbae665268c751"],
        ["data_batch_4", "634d18415352ddfa80567beed471001a"],
        ["data_batch_5", "482c414d41f54cd18b22e5b47cb7c3cb"],
    ]
    test_list = [["test_batch", "40351d587109b95175f43aff81a1287e"]]
    meta = {"filename": "batches.meta", "key": "label_names",
            "md5": "5ff9c542aee3614f3951f8cda6e48888"}
    labels_key = "labels"

    def __init__(self, root: str | os.PathLike, train: bool = True, transform: Transform = None,
                 target_transform: Transform = None, download: bool = False) -> None:
        super().__init__(root, transform, target_transform)
        self.train = train
        if download:
            self.download()
        if not self._check_integrity():
            raise RuntimeError(f"Dataset not found or corrupted: {self._problem()}. You can use "
                               "download=True to download it")
        batches, targets = [], []
        for name, _ in self.train_list if train else self.test_list:
            entry = self._load(name)
            batches.append(np.asarray(entry["data"], dtype=np.uint8))
            targets.extend(int(t) for t in entry[self.labels_key])
        self.data = np.vstack(batches).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy()
        self.targets = targets
        if len(self.targets) != len(self.data):
            raise RuntimeError(f"{self._folder()}: {len(self.data)} images but "
                               f"{len(self.targets)} labels")
        self.classes = list(self._load(self.meta["filename"])[self.meta["key"]])
        self.class_to_idx = {name: i for i, name in enumerate(self.classes)}

    def _folder(self) -> str:
        return os.path.join(self.root, self.base_folder)

    def _load(self, name: str) -> Any:
        entry = load_array_pickle(os.path.join(self._folder(), name))
        if not isinstance(entry, dict):
            raise RuntimeError(f"{os.path.join(self._folder(), name)} holds a "
                               f"{type(entry).__name__}, expected a dict")
        return entry

    def _files(self) -> list[tuple[str, str]]:
        return self.train_list + self.test_list + [[self.meta["filename"], self.meta["md5"]]]

    def _check_integrity(self) -> bool:
        return self._problem() is None

    def _problem(self) -> str | None:
        for name, md5 in self._files():
            path = os.path.join(self._folder(), name)
            if not os.path.isfile(path):
                return f"{path} is missing"
            if calculate_md5(path) != md5:
                return f"{path} has the wrong MD5 (expected {md5})"
        return None

    def download(self) -> None:
        """Download and extract the archive unless every batch is already there and intact."""
        if self._check_integrity():
            return
        archive = download_url(self.url, self.root, self.filename, self.tgz_md5)
        if not check_integrity(archive, self.tgz_md5):
            raise RuntimeError(f"{archive} has the wrong MD5 (expected {self.tgz_md5}); delete "
                               "it and download it again")
        extract_archive_atomically(archive, self.root, self.base_folder)

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        return self._apply(Image.fromarray(self.data[index]), self.targets[index])

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train else 'Test'}"


class CIFAR100(CIFAR10):
    """CIFAR-100: as :class:`CIFAR10`, with 100 fine classes (``targets``)."""

    base_folder = "cifar-100-python"
    url = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
    filename = "cifar-100-python.tar.gz"
    tgz_md5 = "eb9058c3a382ffc7106e4002c42a8d85"
    train_list = [["train", "16019d7e3df5f24257cddd939b257f8d"]]
    test_list = [["test", "f0ef6b0ae62326f3e7ffdfab6717acfc"]]
    meta = {"filename": "meta", "key": "fine_label_names",
            "md5": "7973b15100ade9c7d40fb424638fde48"}
    labels_key = "fine_labels"
