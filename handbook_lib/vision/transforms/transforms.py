"""Image transforms in the manner of ``torchvision.transforms``.

Images come in two forms, as in torchvision: a numpy ``uint8`` array of shape ``H×W`` or
``H×W×C`` plays the part of torchvision's PIL image (it is what ``datasets.MNIST`` returns), and a
tensor of shape ``(..., C, H, W)`` is a tensor image. ``ToTensor`` turns the first into the
second. The random transforms draw from handbook_lib's global generator, so
``handbook_lib.manual_seed`` makes them repeatable. Flips and crops treat tensors as data:
their results do not record autograd history.
"""
from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any, Callable

import numpy as np

import handbook_lib as hl

from ..._device import xp_of

__all__ = ["Compose", "ToTensor", "Normalize", "Lambda", "RandomHorizontalFlip", "RandomCrop"]


class Compose:
    """Apply several transforms in turn: ``Compose([RandomCrop(28, 2), ToTensor()])``."""

    def __init__(self, transforms: Sequence[Callable[[Any], Any]]) -> None:
        self.transforms = list(transforms)

    def __call__(self, img: Any) -> Any:
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self) -> str:
        lines = "".join(f"\n    {t}" for t in self.transforms)
        return f"{self.__class__.__name__}({lines}\n)"


class ToTensor:
    """A numpy image ``H×W`` or ``H×W×C`` → a tensor ``C×H×W``.

    ``uint8`` pixels 0–255 become the default float dtype (float32) scaled to [0, 1]; arrays
    of other dtypes keep their dtype and values, as in torchvision.
    """

    def __call__(self, pic: np.ndarray) -> hl.Tensor:
        if not isinstance(pic, np.ndarray):
            raise TypeError(f"pic should be PIL Image or ndarray. Got {type(pic)}")
        if pic.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        chw = np.ascontiguousarray((pic[:, :, None] if pic.ndim == 2 else pic).transpose(2, 0, 1))
        if chw.dtype == np.uint8:
            scale = hl.get_default_dtype().np_dtype.type(255)
            chw = chw.astype(scale.dtype) / scale
        return hl.from_numpy(chw)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}()"


class Normalize:
    """``output[c] = (input[c] - mean[c]) / std[c]`` for each channel of a float tensor image.

    Args:
        mean, std: one value per channel (or one for all).
        inplace: overwrite the input tensor instead of making a new one.
    """

    def __init__(self, mean: Sequence[float] | float, std: Sequence[float] | float,
                 inplace: bool = False) -> None:
        self.mean = mean
        self.std = std
        self.inplace = inplace
        self._stats: dict = {}  # (dtype, device) -> (mean, std) shaped to broadcast over C×H×W

    def __call__(self, tensor: hl.Tensor) -> hl.Tensor:
        if not isinstance(tensor, hl.Tensor):
            raise TypeError(f"img should be Tensor Image. Got {type(tensor)}")
        if not tensor.is_floating_point():
            raise TypeError(f"Input tensor should be a float tensor. Got {tensor.dtype}.")
        if tensor.ndim < 3:
            raise ValueError("Expected tensor to be a tensor image of size (..., C, H, W). Got "
                             f"tensor.size() = {tensor.size()}")
        mean, std = self._statistics(tensor.dtype, tensor.device)
        if self.inplace:
            return tensor.sub_(mean).div_(std)
        return (tensor - mean) / std

    def _statistics(self, dtype: hl.dtype, device: hl.device) -> tuple[hl.Tensor, hl.Tensor]:
        """``mean`` and ``std`` as tensors of shape (C, 1, 1), made once per dtype and device."""
        key = (dtype, device)
        if key not in self._stats:
            mean = hl.tensor(self.mean, dtype=dtype, device=device)
            std = hl.tensor(self.std, dtype=dtype, device=device)
            if (std == 0).any():
                raise ValueError(f"std evaluated to zero after conversion to {dtype}, "
                                 "leading to division by zero.")
            self._stats[key] = (mean.view(-1, 1, 1) if mean.ndim == 1 else mean,
                                std.view(-1, 1, 1) if std.ndim == 1 else std)
        return self._stats[key]

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(mean={self.mean}, std={self.std})"


class Lambda:
    """Use a function as a transform: ``Lambda(lambda x: x * 2)``."""

    def __init__(self, lambd: Callable[[Any], Any]) -> None:
        if not callable(lambd):
            raise TypeError(f"Argument lambd should be callable, got {type(lambd).__name__!r}")
        self.lambd = lambd

    def __call__(self, img: Any) -> Any:
        return self.lambd(img)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}()"


class RandomHorizontalFlip:
    """Mirror the image left to right with probability ``p``."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def __call__(self, img: np.ndarray | hl.Tensor) -> np.ndarray | hl.Tensor:
        if hl.rand(1).item() < self.p:
            array, (_, w_axis) = _pixels(img)
            return _like(img, xp_of(array).flip(array, axis=w_axis))
        return img

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(p={self.p})"


class RandomCrop:
    """Cut out a ``size`` patch at a random place, after optional padding.

    Args:
        size: ``(h, w)``, or one int for a square.
        padding: added on each border first: an int for all four, ``(left/right, top/bottom)``
            or ``(left, top, right, bottom)``.
        pad_if_needed: pad an image smaller than ``size`` up to it (on both sides, as
            torchvision does).
        fill: the value of constant padding.
        padding_mode: ``'constant'``, ``'edge'``, ``'reflect'`` or ``'symmetric'`` (numpy's
            ``np.pad`` modes of the same names).
    """

    def __init__(self, size: int | Sequence[int], padding: int | Sequence[int] | None = None,
                 pad_if_needed: bool = False, fill: float = 0,
                 padding_mode: str = "constant") -> None:
        self.size = _setup_size(size)
        if padding is not None and not isinstance(padding, numbers.Number) and \
                len(padding) not in (1, 2, 4):
            raise ValueError("Padding must be an int or a 1, 2, or 4 element tuple, not a "
                             f"{len(padding)} element tuple")
        if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
            raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")
        self.padding = padding
        self.pad_if_needed = pad_if_needed
        self.fill = fill
        self.padding_mode = padding_mode

    @staticmethod
    def get_params(img: np.ndarray | hl.Tensor, output_size: tuple[int, int]
                   ) -> tuple[int, int, int, int]:
        """A random ``(top, left, height, width)`` for a crop of ``output_size``."""
        array, (h_axis, w_axis) = _pixels(img)
        h, w = array.shape[h_axis], array.shape[w_axis]
        th, tw = output_size
        if h < th or w < tw:
            raise ValueError(f"Required crop size {(th, tw)} is larger than input image size "
                             f"{(h, w)}")
        if (h, w) == (th, tw):
            return 0, 0, h, w
        i = hl.randint(0, h - th + 1, size=(1,)).item()
        j = hl.randint(0, w - tw + 1, size=(1,)).item()
        return i, j, th, tw

    def __call__(self, img: np.ndarray | hl.Tensor) -> np.ndarray | hl.Tensor:
        if self.padding is not None:
            img = self._pad(img, self.padding)
        array, (h_axis, w_axis) = _pixels(img)
        if self.pad_if_needed and array.shape[w_axis] < self.size[1]:
            img = self._pad(img, (self.size[1] - array.shape[w_axis], 0))
        array, _ = _pixels(img)
        if self.pad_if_needed and array.shape[h_axis] < self.size[0]:
            img = self._pad(img, (0, self.size[0] - array.shape[h_axis]))
        i, j, h, w = self.get_params(img, self.size)
        array, (h_axis, w_axis) = _pixels(img)
        window = [slice(None)] * array.ndim
        window[h_axis], window[w_axis] = slice(i, i + h), slice(j, j + w)
        return _like(img, array[tuple(window)])

    def _pad(self, img: np.ndarray | hl.Tensor, padding: int | Sequence[int]
             ) -> np.ndarray | hl.Tensor:
        array, (h_axis, w_axis) = _pixels(img)
        left, top, right, bottom = _ltrb(padding)
        widths = [(0, 0)] * array.ndim
        widths[h_axis], widths[w_axis] = (top, bottom), (left, right)
        xp = xp_of(array)
        if self.padding_mode != "constant":
            return _like(img, xp.pad(array, widths, mode=self.padding_mode))
        padded = xp.full([n + a + b for n, (a, b) in zip(array.shape, widths)], self.fill,
                         dtype=array.dtype)  # what np.pad does, without its overhead
        padded[tuple(slice(a, a + n) for n, (a, _) in zip(array.shape, widths))] = array
        return _like(img, padded)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(size={self.size}, padding={self.padding})"


def _setup_size(size: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(size, numbers.Number):
        return int(size), int(size)
    if isinstance(size, Sequence) and len(size) == 1:
        return size[0], size[0]
    if not isinstance(size, Sequence) or len(size) != 2:
        raise ValueError("Please provide only two dimensions (h, w) for size.")
    return tuple(size)


def _ltrb(padding: int | Sequence[int]) -> tuple[int, int, int, int]:
    """torchvision's padding forms as (left, top, right, bottom)."""
    if isinstance(padding, numbers.Number):
        return (int(padding),) * 4
    if len(padding) == 1:
        return (int(padding[0]),) * 4
    if len(padding) == 2:
        return padding[0], padding[1], padding[0], padding[1]
    return tuple(padding)


def _pixels(img: np.ndarray | hl.Tensor) -> tuple[Any, tuple[int, int]]:
    """The image's array and its (height, width) axes: 0, 1 for numpy, the last two for tensors."""
    if isinstance(img, hl.Tensor):
        if img.ndim < 2:
            raise ValueError(f"Expected a tensor image of size (..., H, W), got {img.ndim} dims")
        return img.detach()._data, (img.ndim - 2, img.ndim - 1)
    if isinstance(img, np.ndarray) and img.ndim in (2, 3):
        return img, (0, 1)
    raise TypeError(f"img should be a numpy array of shape H×W or H×W×C, or a Tensor. "
                    f"Got {type(img).__name__}" + (f" with {img.ndim} dims"
                                                    if isinstance(img, np.ndarray) else ""))


def _like(img: np.ndarray | hl.Tensor, array: Any) -> np.ndarray | hl.Tensor:
    """A contiguous copy of ``array`` in the form ``img`` came in."""
    array = array.copy()
    return hl.as_tensor(array, device=img.device) if isinstance(img, hl.Tensor) else array
