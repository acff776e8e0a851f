"""``make_grid``, ``save_image`` and ``draw_bounding_boxes``, as in ``torchvision.utils``."""
from __future__ import annotations

import math
import os
from typing import IO, Any, Sequence

import numpy as np
from PIL import Image, ImageColor, ImageDraw, ImageFont

import handbook_lib as hl

__all__ = ["draw_bounding_boxes", "make_grid", "save_image"]


def _images(tensor: hl.Tensor | Sequence[hl.Tensor]) -> np.ndarray:
    """``B×C×H×W`` float array from a tensor (2-, 3- or 4-dim) or a list of ``C×H×W`` tensors."""
    if isinstance(tensor, (list, tuple)):
        array = np.stack([t.detach().cpu().numpy() for t in tensor])
    elif isinstance(tensor, hl.Tensor):
        array = tensor.detach().cpu().numpy()
    else:
        raise TypeError(f"tensor or list of tensors expected, got {type(tensor)}")
    if array.ndim == 2:
        array = array[None]
    if array.ndim == 3:
        array = array[None]
    if array.ndim != 4:
        raise ValueError(f"expected a tensor of 2 to 4 dims, got {array.ndim}")
    if array.shape[1] == 1:
        array = np.repeat(array, 3, axis=1)
    return array


def make_grid(tensor: hl.Tensor | Sequence[hl.Tensor], nrow: int = 8, padding: int = 2,
              normalize: bool = False, value_range: tuple[float, float] | None = None,
              scale_each: bool = False, pad_value: float = 0.0) -> hl.Tensor:
    """Tile a batch of images into one ``3×H×W`` image, ``nrow`` per row, ``padding`` pixels
    apart; ``normalize`` shifts each (``scale_each``) or all images into [0, 1]."""
    array = _images(tensor).copy()
    if normalize:
        def fit(x: np.ndarray) -> np.ndarray:
            low, high = value_range if value_range is not None else (x.min(), x.max())
            return (np.clip(x, low, high) - low) / max(high - low, 1e-5)
        array = np.stack([fit(a) for a in array]) if scale_each else fit(array)
    if array.shape[0] == 1:
        return hl.from_numpy(np.ascontiguousarray(array[0]))
    count, channels, h, w = array.shape
    xmaps = min(nrow, count)
    ymaps = int(math.ceil(count / xmaps))
    height, width = h + padding, w + padding
    grid = np.full((channels, height * ymaps + padding, width * xmaps + padding), pad_value,
                   dtype=array.dtype)
    for k in range(count):
        y, x = divmod(k, xmaps)
        grid[:, y * height + padding:(y + 1) * height, x * width + padding:(x + 1) * width] = \
            array[k]
    return hl.from_numpy(grid)


def save_image(tensor: hl.Tensor | Sequence[hl.Tensor], fp: str | os.PathLike | IO[bytes],
               format: str | None = None, **kwargs: Any) -> None:
    """Save a tensor (or a batch, through :func:`make_grid` and its ``kwargs``) as an image
    file; pixels in [0, 1] map to 0–255 as torchvision rounds them."""
    grid = make_grid(tensor, **kwargs).numpy()
    pixels = np.clip(grid * 255 + 0.5, 0, 255).astype(np.uint8).transpose(1, 2, 0)
    Image.fromarray(pixels).save(fp, format=format)


def _colors(colors: Any, count: int) -> list[tuple[int, int, int]]:
    """torchvision's palette (``None``), one colour for all, or one per box."""
    if colors is None:
        return [tuple(int(v) for v in (i * np.array([2**25 - 1, 2**15 - 1, 2**21 - 1])) % 255)
                for i in range(count)]
    if isinstance(colors, list):
        if len(colors) < count:
            raise ValueError(f"Number of colors must be equal or larger than the number of "
                             f"objects, but got {len(colors)} < {count}.")
    elif isinstance(colors, (tuple, str)):
        colors = [colors] * count
    else:
        raise ValueError(f"colors must be a tuple or a string, or a list thereof, but got "
                         f"{colors}.")
    return [ImageColor.getrgb(c) if isinstance(c, str) else tuple(c) for c in colors[:count]]


def draw_bounding_boxes(image: hl.Tensor, boxes: hl.Tensor, labels: Sequence[str] | None = None,
                        colors: Any = None, fill: bool = False, width: int = 1) -> hl.Tensor:
    """Draw ``(xmin, ymin, xmax, ymax)`` boxes (and ``labels``, in Pillow's default font) on a
    ``uint8`` ``C×H×W`` image; a grey image comes back with 3 channels, as in torchvision."""
    if not isinstance(image, hl.Tensor) or image.dtype != hl.uint8:
        raise ValueError(f"The image dtype must be uint8, got "
                         f"{getattr(image, 'dtype', type(image))}")
    if image.ndim != 3:
        raise ValueError("Pass individual images, not batches")
    if image.shape[0] not in (1, 3):
        raise ValueError("Only grayscale and RGB images are supported")
    box_array = (boxes.detach().cpu().numpy() if isinstance(boxes, hl.Tensor)
                 else np.asarray(boxes)).reshape(-1, 4)
    if ((box_array[:, 0] > box_array[:, 2]) | (box_array[:, 1] > box_array[:, 3])).any():
        raise ValueError("Boxes need to be in (xmin, ymin, xmax, ymax) format. Use "
                         "torchvision.ops.box_convert to convert them")
    if labels is not None and len(labels) != len(box_array):
        raise ValueError(f"Number of boxes ({len(box_array)}) and labels ({len(labels)}) "
                         "mismatch. Please specify labels for each box.")
    pixels = image.numpy().transpose(1, 2, 0)
    canvas = Image.fromarray(np.ascontiguousarray(np.repeat(pixels, 3, axis=2)
                                                  if pixels.shape[2] == 1 else pixels))
    draw = ImageDraw.Draw(canvas, "RGBA" if fill else None)
    font = ImageFont.load_default()
    for k, (box, color) in enumerate(zip(box_array.astype(np.int64).tolist(),
                                         _colors(colors, len(box_array)))):
        draw.rectangle(box, width=width, outline=color, fill=color + (100,) if fill else None)
        if labels is not None:
            margin = width + 1
            draw.text((box[0] + margin, box[1] + margin), labels[k], fill=color, font=font)
    return hl.from_numpy(np.ascontiguousarray(np.asarray(canvas).transpose(2, 0, 1)))
