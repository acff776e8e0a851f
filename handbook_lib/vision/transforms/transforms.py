"""Image transforms in the manner of ``torchvision.transforms``.

Each transform is a callable object that takes a PIL image, a tensor image ``(..., C, H, W)``
or a numpy image ``H×W(×C)`` (what ``datasets.MNIST`` gives) and returns the same form, through
:mod:`.functional`. The random ones draw their parameters from handbook_lib's global generator,
so ``handbook_lib.manual_seed`` makes them repeatable (the draws are not torch's, so a seed does
not give torchvision's crops; the same parameters give torchvision's pixels).
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any, Callable

import handbook_lib as hl

from . import functional as F
from .functional import InterpolationMode

__all__ = ["CenterCrop", "ColorJitter", "Compose", "Grayscale", "InterpolationMode", "Lambda",
           "Normalize", "PILToTensor", "Pad", "RandomAffine", "RandomApply", "RandomChoice",
           "RandomCrop", "RandomErasing", "RandomGrayscale", "RandomHorizontalFlip",
           "RandomResizedCrop", "RandomRotation", "RandomVerticalFlip", "Resize", "ToPILImage",
           "ToTensor"]


def _uniform(low: float, high: float) -> float:
    return float(low + (high - low) * hl.rand(1).item())


def _randint(low: int, high: int) -> int:
    return int(hl.randint(low, high, size=(1,)).item())


def _setup_size(size: int | Sequence[int], error: str = "Please provide only two dimensions "
                "(h, w) for size.") -> tuple[int, int]:
    if isinstance(size, numbers.Number):
        return int(size), int(size)
    if isinstance(size, Sequence) and len(size) == 1:
        return size[0], size[0]
    if not isinstance(size, Sequence) or len(size) != 2:
        raise ValueError(error)
    return tuple(size)


def _range(value: float | Sequence[float], name: str, center: float = 0.0,
           bound: tuple[float, float] = (0, float("inf"))) -> list[float] | None:
    """A number ``v`` → ``[center - v, center + v]`` (clipped at the bound's low end for
    non-negative factors); a pair is checked against ``bound``. ``None`` when it does nothing."""
    if isinstance(value, numbers.Number):
        if value < 0:
            raise ValueError(f"If {name} is a single number, it must be non negative.")
        value = [center - float(value), center + float(value)]
        if center == 1.0:
            value[0] = max(value[0], 0.0)
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        value = [float(value[0]), float(value[1])]
    else:
        raise TypeError(f"{name} should be a single number or a list/tuple with length 2.")
    if not bound[0] <= value[0] <= value[1] <= bound[1]:
        raise ValueError(f"{name} values should be between {bound}, but got {value}.")
    return None if value[0] == value[1] == center else value


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


class _Transform:
    """Base of the simple transforms: ``repr`` lists the attributes named in ``_repr``."""

    _repr: tuple[str, ...] = ()

    def __repr__(self) -> str:
        def show(value: Any) -> Any:
            return value.value if isinstance(value, InterpolationMode) else value
        args = ", ".join(f"{name}={show(getattr(self, name))}" for name in self._repr)
        return f"{self.__class__.__name__}({args})"


class ToTensor(_Transform):
    """A PIL image or numpy ``H×W(×C)`` → a ``C×H×W`` tensor; 8-bit pixels 0–255 become the
    default float dtype in [0, 1]; other dtypes keep their values."""

    def __call__(self, pic: Any) -> hl.Tensor:
        return F.to_tensor(pic)


class PILToTensor(_Transform):
    """A PIL image → a ``C×H×W`` tensor of the same values and dtype (``uint8`` stays ``uint8``)."""

    def __call__(self, pic: Any) -> hl.Tensor:
        return F.pil_to_tensor(pic)


class ToPILImage(_Transform):
    """A tensor ``C×H×W`` or numpy ``H×W×C`` → a PIL image (float pixels ×255)."""

    _repr = ("mode",)

    def __init__(self, mode: str | None = None) -> None:
        self.mode = mode

    def __call__(self, pic: Any) -> Any:
        return F.to_pil_image(pic, self.mode)


class Normalize(_Transform):
    """``output[c] = (input[c] - mean[c]) / std[c]`` for each channel of a float tensor image."""

    _repr = ("mean", "std")

    def __init__(self, mean: Sequence[float] | float, std: Sequence[float] | float,
                 inplace: bool = False) -> None:
        self.mean, self.std, self.inplace = mean, std, inplace

    def __call__(self, tensor: hl.Tensor) -> hl.Tensor:
        return F.normalize(tensor, self.mean, self.std, self.inplace)


class Lambda(_Transform):
    """Use a function as a transform: ``Lambda(lambda x: x * 2)``."""

    def __init__(self, lambd: Callable[[Any], Any]) -> None:
        if not callable(lambd):
            raise TypeError(f"Argument lambd should be callable, got {type(lambd).__name__!r}")
        self.lambd = lambd

    def __call__(self, img: Any) -> Any:
        return self.lambd(img)


class Resize(_Transform):
    """Resize to ``size``: ``(h, w)``, or one number for the shorter side (aspect kept)."""

    _repr = ("size", "interpolation", "max_size", "antialias")

    def __init__(self, size: int | Sequence[int], interpolation: InterpolationMode | int =
                 InterpolationMode.BILINEAR, max_size: int | None = None,
                 antialias: bool | None = True) -> None:
        if not isinstance(size, (int, Sequence)) or (isinstance(size, Sequence)
                                                     and len(size) not in (1, 2)):
            raise TypeError(f"Size should be int or sequence. Got {type(size)}")
        self.size, self.max_size, self.antialias = size, max_size, antialias
        self.interpolation = F._mode(interpolation)

    def __call__(self, img: Any) -> Any:
        return F.resize(img, self.size, self.interpolation, self.max_size, self.antialias)


class CenterCrop(_Transform):
    """The central ``size`` window (``(h, w)`` or one number)."""

    _repr = ("size",)

    def __init__(self, size: int | Sequence[int]) -> None:
        self.size = _setup_size(size)

    def __call__(self, img: Any) -> Any:
        return F.center_crop(img, self.size)


class Pad(_Transform):
    """Pad the borders; see :func:`functional.pad`."""

    _repr = ("padding", "fill", "padding_mode")

    def __init__(self, padding: int | Sequence[int], fill: float | Sequence[float] = 0,
                 padding_mode: str = "constant") -> None:
        if isinstance(padding, Sequence) and len(padding) not in (1, 2, 4):
            raise ValueError("Padding must be an int or a 1, 2, or 4 element tuple, not a "
                             f"{len(padding)} element tuple")
        if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
            raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")
        self.padding, self.fill, self.padding_mode = padding, fill, padding_mode

    def __call__(self, img: Any) -> Any:
        return F.pad(img, self.padding, self.fill, self.padding_mode)


class RandomCrop(_Transform):
    """Cut out a ``size`` patch at a random place, after optional ``padding`` (and, with
    ``pad_if_needed``, padding an image smaller than ``size`` up to it)."""

    _repr = ("size", "padding")

    def __init__(self, size: int | Sequence[int], padding: int | Sequence[int] | None = None,
                 pad_if_needed: bool = False, fill: float = 0,
                 padding_mode: str = "constant") -> None:
        self.size = _setup_size(size)
        if padding is not None:
            Pad(padding, fill, padding_mode)  # checks the arguments
        elif padding_mode not in ("constant", "edge", "reflect", "symmetric"):
            raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")
        self.padding, self.pad_if_needed = padding, pad_if_needed
        self.fill, self.padding_mode = fill, padding_mode

    @staticmethod
    def get_params(img: Any, output_size: tuple[int, int]) -> tuple[int, int, int, int]:
        """A random ``(top, left, height, width)`` for a crop of ``output_size``."""
        _, h, w = F.get_dimensions(img)
        th, tw = output_size
        if h < th or w < tw:
            raise ValueError(f"Required crop size {(th, tw)} is larger than input image size "
                             f"{(h, w)}")
        if (h, w) == (th, tw):
            return 0, 0, h, w
        return _randint(0, h - th + 1), _randint(0, w - tw + 1), th, tw

    def __call__(self, img: Any) -> Any:
        if self.padding is not None:
            img = F.pad(img, self.padding, self.fill, self.padding_mode)
        _, h, w = F.get_dimensions(img)
        if self.pad_if_needed and w < self.size[1]:
            img = F.pad(img, [self.size[1] - w, 0], self.fill, self.padding_mode)
        if self.pad_if_needed and h < self.size[0]:
            img = F.pad(img, [0, self.size[0] - h], self.fill, self.padding_mode)
        return F.crop(img, *self.get_params(img, self.size))


class RandomResizedCrop(_Transform):
    """A random window covering ``scale`` of the area with aspect ratio in ``ratio``, resized
    to ``size`` (the usual ImageNet training augmentation)."""

    _repr = ("size", "scale", "ratio", "interpolation")

    def __init__(self, size: int | Sequence[int], scale: tuple[float, float] = (0.08, 1.0),
                 ratio: tuple[float, float] = (3.0 / 4.0, 4.0 / 3.0),
                 interpolation: InterpolationMode | int = InterpolationMode.BILINEAR,
                 antialias: bool | None = True) -> None:
        self.size = _setup_size(size)
        if scale[0] > scale[1] or ratio[0] > ratio[1]:
            raise ValueError("Scale and ratio should be of kind (min, max)")
        self.scale, self.ratio = tuple(scale), tuple(ratio)
        self.interpolation, self.antialias = F._mode(interpolation), antialias

    @staticmethod
    def get_params(img: Any, scale: Sequence[float], ratio: Sequence[float]
                   ) -> tuple[int, int, int, int]:
        """torchvision's sampling: ten tries, then the central crop of the nearest ratio."""
        _, height, width = F.get_dimensions(img)
        area = height * width
        log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
        for _ in range(10):
            target_area = area * _uniform(scale[0], scale[1])
            aspect_ratio = math.exp(_uniform(*log_ratio))
            w = int(round(math.sqrt(target_area * aspect_ratio)))
            h = int(round(math.sqrt(target_area / aspect_ratio)))
            if 0 < w <= width and 0 < h <= height:
                return _randint(0, height - h + 1), _randint(0, width - w + 1), h, w
        in_ratio = width / height
        if in_ratio < min(ratio):
            w, h = width, int(round(width / min(ratio)))
        elif in_ratio > max(ratio):
            h, w = height, int(round(height * max(ratio)))
        else:
            w, h = width, height
        return (height - h) // 2, (width - w) // 2, h, w

    def __call__(self, img: Any) -> Any:
        i, j, h, w = self.get_params(img, self.scale, self.ratio)
        return F.resized_crop(img, i, j, h, w, self.size, self.interpolation, self.antialias)


class RandomHorizontalFlip(_Transform):
    """Mirror the image left to right with probability ``p``."""

    _repr = ("p",)

    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def __call__(self, img: Any) -> Any:
        return F.hflip(img) if hl.rand(1).item() < self.p else img


class RandomVerticalFlip(RandomHorizontalFlip):
    """Mirror the image top to bottom with probability ``p``."""

    def __call__(self, img: Any) -> Any:
        return F.vflip(img) if hl.rand(1).item() < self.p else img


def _degrees(degrees: float | Sequence[float], name: str = "degrees") -> list[float]:
    if isinstance(degrees, numbers.Number):
        if degrees < 0:
            raise ValueError(f"If {name} is a single number, it must be positive.")
        return [-float(degrees), float(degrees)]
    if len(degrees) != 2:
        raise ValueError(f"If {name} is a sequence, it must be of len 2.")
    return [float(d) for d in degrees]


def _tensor_fill(img: Any, fill: Any) -> Any:
    """Random geometric transforms fill tensors per channel, as torchvision does."""
    if isinstance(img, hl.Tensor) and isinstance(fill, (int, float)):
        return [float(fill)] * F.get_image_num_channels(img)
    return fill


class RandomRotation(_Transform):
    """Rotate by an angle drawn from ``degrees`` (``d`` means ``(-d, d)``)."""

    _repr = ("degrees", "interpolation", "expand", "fill")

    def __init__(self, degrees: float | Sequence[float], interpolation: InterpolationMode | int =
                 InterpolationMode.NEAREST, expand: bool = False,
                 center: Sequence[int] | None = None, fill: float | Sequence[float] = 0) -> None:
        self.degrees = _degrees(degrees)
        self.interpolation, self.expand = F._mode(interpolation), expand
        self.center, self.fill = center, fill

    @staticmethod
    def get_params(degrees: Sequence[float]) -> float:
        return _uniform(degrees[0], degrees[1])

    def __call__(self, img: Any) -> Any:
        angle = self.get_params(self.degrees)
        return F.rotate(img, angle, self.interpolation, self.expand, self.center,
                        _tensor_fill(img, self.fill))


class RandomAffine(_Transform):
    """A random rotation (``degrees``), translation (fractions ``translate`` of the width and
    height), scaling (``scale`` range) and shear (``shear`` degrees), keeping the size."""

    _repr = ("degrees", "translate", "scale", "shear")

    def __init__(self, degrees: float | Sequence[float],
                 translate: tuple[float, float] | None = None,
                 scale: tuple[float, float] | None = None,
                 shear: float | Sequence[float] | None = None,
                 interpolation: InterpolationMode | int = InterpolationMode.NEAREST,
                 fill: float | Sequence[float] = 0, center: Sequence[int] | None = None) -> None:
        self.degrees = _degrees(degrees)
        if translate is not None and not all(0.0 <= t <= 1.0 for t in translate):
            raise ValueError("translation values should be between 0 and 1")
        if scale is not None and any(s <= 0 for s in scale):
            raise ValueError("scale values should be positive")
        if shear is not None:
            shear = _degrees(shear, "shear") if isinstance(shear, numbers.Number) or \
                len(shear) == 2 else [float(s) for s in shear]
            if len(shear) not in (2, 4):
                raise ValueError("shear should be a sequence of length 2 or 4.")
        self.translate, self.scale, self.shear = translate, scale, shear
        self.interpolation, self.fill, self.center = F._mode(interpolation), fill, center

    @staticmethod
    def get_params(degrees: Sequence[float], translate: Sequence[float] | None,
                   scale_ranges: Sequence[float] | None, shears: Sequence[float] | None,
                   img_size: Sequence[int]) -> tuple[float, tuple[int, int], float,
                                                     tuple[float, float]]:
        """``(angle, (tx, ty), scale, (shear_x, shear_y))``; ``img_size`` is ``[w, h]``."""
        angle = _uniform(degrees[0], degrees[1])
        if translate is not None:
            max_dx, max_dy = translate[0] * img_size[0], translate[1] * img_size[1]
            translations = (int(round(_uniform(-max_dx, max_dx))),
                            int(round(_uniform(-max_dy, max_dy))))
        else:
            translations = (0, 0)
        scale = _uniform(*scale_ranges) if scale_ranges is not None else 1.0
        shear_x = shear_y = 0.0
        if shears is not None:
            shear_x = _uniform(shears[0], shears[1])
            if len(shears) == 4:
                shear_y = _uniform(shears[2], shears[3])
        return angle, translations, scale, (shear_x, shear_y)

    def __call__(self, img: Any) -> Any:
        params = self.get_params(self.degrees, self.translate, self.scale, self.shear,
                                 F.get_image_size(img))
        return F.affine(img, *params, interpolation=self.interpolation,
                        fill=_tensor_fill(img, self.fill), center=self.center)


class ColorJitter(_Transform):
    """Random brightness, contrast, saturation and hue changes, in a random order.

    ``brightness=b`` draws a factor from ``[max(0, 1 - b), 1 + b]`` (likewise contrast and
    saturation); ``hue=h`` a shift from ``[-h, h]`` with ``0 <= h <= 0.5``.
    """

    _repr = ("brightness", "contrast", "saturation", "hue")

    def __init__(self, brightness: float | Sequence[float] = 0,
                 contrast: float | Sequence[float] = 0,
                 saturation: float | Sequence[float] = 0,
                 hue: float | Sequence[float] = 0) -> None:
        self.brightness = _range(brightness, "brightness", 1.0)
        self.contrast = _range(contrast, "contrast", 1.0)
        self.saturation = _range(saturation, "saturation", 1.0)
        self.hue = _range(hue, "hue", 0.0, (-0.5, 0.5))

    @staticmethod
    def get_params(brightness, contrast, saturation, hue) -> tuple:
        """``(order, b, c, s, h)``: a permutation of the four adjustments and their factors
        (``None`` for the ones not asked for)."""
        order = hl.randperm(4).tolist()
        draw = [None if r is None else _uniform(r[0], r[1])
                for r in (brightness, contrast, saturation, hue)]
        return (order, *draw)

    def __call__(self, img: Any) -> Any:
        order, *factors = self.get_params(self.brightness, self.contrast, self.saturation,
                                          self.hue)
        adjust = (F.adjust_brightness, F.adjust_contrast, F.adjust_saturation, F.adjust_hue)
        for k in order:
            if factors[k] is not None:
                img = adjust[k](img, factors[k])
        return img


class Grayscale(_Transform):
    """Convert to grey, with 1 or 3 output channels."""

    _repr = ("num_output_channels",)

    def __init__(self, num_output_channels: int = 1) -> None:
        self.num_output_channels = num_output_channels

    def __call__(self, img: Any) -> Any:
        return F.rgb_to_grayscale(img, self.num_output_channels)


class RandomGrayscale(_Transform):
    """Convert to grey (keeping the number of channels) with probability ``p``."""

    _repr = ("p",)

    def __init__(self, p: float = 0.1) -> None:
        self.p = p

    def __call__(self, img: Any) -> Any:
        if hl.rand(1).item() < self.p:
            return F.rgb_to_grayscale(img, F.get_image_num_channels(img))
        return img


class RandomErasing(_Transform):
    """Erase a random rectangle of a tensor image with probability ``p`` (Zhong et al., 2017):
    its area a fraction ``scale`` of the image, its aspect ratio in ``ratio``, filled with
    ``value`` (a number, one per channel, or ``"random"`` for normal noise)."""

    _repr = ("p", "scale", "ratio", "value", "inplace")

    def __init__(self, p: float = 0.5, scale: tuple[float, float] = (0.02, 0.33),
                 ratio: tuple[float, float] = (0.3, 3.3), value: Any = 0,
                 inplace: bool = False) -> None:
        if not isinstance(value, (numbers.Number, str, tuple, list)):
            raise TypeError("Argument value should be either a number or str or a sequence")
        if isinstance(value, str) and value != "random":
            raise ValueError("If value is str, it should be 'random'")
        if scale[0] > scale[1] or ratio[0] > ratio[1]:
            raise ValueError("Scale and ratio should be of kind (min, max)")
        if scale[0] < 0 or scale[1] > 1:
            raise ValueError("Scale should be between 0 and 1")
        if p < 0 or p > 1:
            raise ValueError("Random erasing probability should be between 0 and 1")
        self.p, self.scale, self.ratio, self.value, self.inplace = p, scale, ratio, value, inplace

    @staticmethod
    def get_params(img: hl.Tensor, scale: Sequence[float], ratio: Sequence[float],
                   value: Sequence[float] | None = None) -> tuple[int, int, int, int, Any]:
        """``(top, left, h, w, fill)``; the whole image and itself when ten tries fail."""
        img_c, img_h, img_w = img.shape[-3], img.shape[-2], img.shape[-1]
        area = img_h * img_w
        log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
        for _ in range(10):
            erase_area = area * _uniform(scale[0], scale[1])
            aspect_ratio = math.exp(_uniform(*log_ratio))
            h = int(round(math.sqrt(erase_area * aspect_ratio)))
            w = int(round(math.sqrt(erase_area / aspect_ratio)))
            if not (h < img_h and w < img_w):
                continue
            if value is None:
                fill = hl.randn(img_c, h, w, dtype=img.dtype, device=img.device)
            else:
                fill = hl.tensor(value, dtype=img.dtype, device=img.device)[:, None, None]
            return _randint(0, img_h - h + 1), _randint(0, img_w - w + 1), h, w, fill
        return 0, 0, img_h, img_w, img

    def __call__(self, img: hl.Tensor) -> hl.Tensor:
        if not isinstance(img, hl.Tensor):
            raise TypeError(f"img should be Tensor Image. Got {type(img)}")
        if hl.rand(1).item() >= self.p:
            return img
        value = self.value
        if isinstance(value, numbers.Number):
            value = [float(value)]
        elif isinstance(value, str):
            value = None
        elif isinstance(value, (list, tuple)):
            value = [float(v) for v in value]
        channels = img.shape[-3]
        if value is not None and len(value) not in (1, channels):
            raise ValueError("If value is a sequence, it should have either a single value or "
                             f"{channels} (number of input channels)")
        i, j, h, w, v = self.get_params(img, self.scale, self.ratio, value)
        return F.erase(img, i, j, h, w, v, self.inplace)


class RandomApply(_Transform):
    """Apply all of ``transforms`` with probability ``p``, else none."""

    _repr = ("p",)

    def __init__(self, transforms: Sequence[Callable], p: float = 0.5) -> None:
        self.transforms, self.p = list(transforms), p

    def __call__(self, img: Any) -> Any:
        if self.p < hl.rand(1).item():
            return img
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self) -> str:
        lines = "".join(f"\n    {t}" for t in self.transforms)
        return f"{self.__class__.__name__}(\n    p={self.p}{lines}\n)"


class RandomChoice(_Transform):
    """Apply one of ``transforms``, picked with weights ``p`` (uniformly by default)."""

    _repr = ("transforms", "p")

    def __init__(self, transforms: Sequence[Callable], p: Sequence[float] | None = None) -> None:
        if not isinstance(transforms, Sequence):
            raise TypeError("Argument transforms should be a sequence")
        if p is not None and len(p) != len(transforms):
            raise ValueError(f"Length of p doesn't match the number of transforms: {len(p)} != "
                             f"{len(transforms)}")
        self.transforms, self.p = list(transforms), p

    def __call__(self, *args: Any) -> Any:
        weights = [1.0] * len(self.transforms) if self.p is None else list(self.p)
        total, draw = sum(weights), hl.rand(1).item()
        cumulative = 0.0
        for t, weight in zip(self.transforms, weights):
            cumulative += weight / total
            if draw < cumulative:
                return t(*args)
        return self.transforms[-1](*args)
