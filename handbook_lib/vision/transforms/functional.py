"""Image operations with fixed parameters, in the manner of ``torchvision.transforms.functional``.

Each function takes an image in one of three forms and returns the same form:

- a PIL image: the operation is Pillow's, called as torchvision calls it (so the pixels are
  the same as torchvision's);
- a tensor of shape ``(..., C, H, W)``: the operation runs on the tensor's backend array
  (numpy or cupy) with torchvision's tensor formulas; resizing with a smoothing filter goes
  through Pillow's float (``"F"``) mode, channel by channel, which computes what torchvision's
  antialiased tensor resize computes;
- a numpy array ``H×W`` or ``H×W×C`` (what ``datasets.MNIST`` gives): handled like a PIL image
  (crops, flips and padding on the array itself, resampling through Pillow for ``uint8``).

Results never record autograd history: transforms prepare data.
"""
from __future__ import annotations

import math
import numbers
from enum import Enum
from typing import Any, Sequence

import numpy as np
from PIL import Image, ImageEnhance, ImageOps

import handbook_lib as hl

from ..._device import xp_of

__all__ = ["InterpolationMode", "adjust_brightness", "adjust_contrast", "adjust_hue",
           "adjust_saturation", "affine", "center_crop", "crop", "erase", "get_dimensions",
           "get_image_num_channels", "get_image_size", "hflip", "normalize", "pad",
           "pil_to_tensor", "resize", "resized_crop", "rgb_to_grayscale", "rotate",
           "to_grayscale", "to_pil_image", "to_tensor", "vflip"]

Img = Any  # a PIL image, a tensor image or a numpy image


class InterpolationMode(Enum):
    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


PIL_MODES = {
    InterpolationMode.NEAREST: Image.Resampling.NEAREST,
    InterpolationMode.NEAREST_EXACT: Image.Resampling.NEAREST,
    InterpolationMode.BILINEAR: Image.Resampling.BILINEAR,
    InterpolationMode.BICUBIC: Image.Resampling.BICUBIC,
    InterpolationMode.BOX: Image.Resampling.BOX,
    InterpolationMode.HAMMING: Image.Resampling.HAMMING,
    InterpolationMode.LANCZOS: Image.Resampling.LANCZOS,
}
_FROM_INT = {int(v): k for k, v in PIL_MODES.items() if k is not InterpolationMode.NEAREST_EXACT}


def _mode(interpolation: InterpolationMode | int) -> InterpolationMode:
    if isinstance(interpolation, int):
        return _FROM_INT[interpolation]
    if not isinstance(interpolation, InterpolationMode):
        raise TypeError("Argument interpolation should be a InterpolationMode or a corresponding "
                        "Pillow integer constant")
    return interpolation


# --- the three forms ---------------------------------------------------------------------------
def _is_pil(img: Img) -> bool:
    return isinstance(img, Image.Image)


def _is_numpy(img: Img) -> bool:
    return isinstance(img, np.ndarray) and img.ndim in (2, 3)


def _check_image(img: Img) -> None:
    if isinstance(img, hl.Tensor):
        if img.ndim < 2:
            raise TypeError(f"Tensor is not a torch image: expected (..., H, W), got {img.ndim} "
                            "dims")
    elif not (_is_pil(img) or _is_numpy(img)):
        dims = f" with {img.ndim} dims" if isinstance(img, np.ndarray) else ""
        raise TypeError("img should be PIL Image, Tensor or a numpy array of shape H×W or "
                        f"H×W×C. Got {type(img).__name__}{dims}")


def _array(img: hl.Tensor) -> Any:
    return img.detach()._data


def _tensor_like(img: hl.Tensor, array: Any) -> hl.Tensor:
    return hl.as_tensor(xp_of(array).ascontiguousarray(array), device=img.device)


def _via_pil(img: np.ndarray, op) -> np.ndarray:
    """Apply a PIL operation to a ``uint8`` numpy image."""
    if img.dtype != np.uint8:
        raise TypeError(f"resampling a numpy image needs uint8 pixels, got {img.dtype}; "
                        "use ToTensor first")
    return np.asarray(op(Image.fromarray(img))).copy()


def get_dimensions(img: Img) -> list[int]:
    """``[channels, height, width]``."""
    _check_image(img)
    if isinstance(img, hl.Tensor):
        channels = 1 if img.ndim == 2 else img.shape[-3]
        return [channels, img.shape[-2], img.shape[-1]]
    if _is_pil(img):
        return [len(img.getbands()), img.height, img.width]
    return [1 if img.ndim == 2 else img.shape[2], img.shape[0], img.shape[1]]


def get_image_size(img: Img) -> list[int]:
    """``[width, height]``."""
    _, h, w = get_dimensions(img)
    return [w, h]


def get_image_num_channels(img: Img) -> int:
    return get_dimensions(img)[0]


# --- conversions -------------------------------------------------------------------------------
def to_tensor(pic: Img) -> hl.Tensor:
    """A PIL image or numpy ``H×W(×C)`` → a ``C×H×W`` tensor; 8-bit pixels scale to [0, 1]."""
    if not (_is_pil(pic) or isinstance(pic, np.ndarray)):
        raise TypeError(f"pic should be PIL Image or ndarray. Got {type(pic)}")
    if isinstance(pic, np.ndarray):
        if pic.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        array, scale = pic, pic.dtype == np.uint8
    else:
        array = _pil_array(pic)
        scale = array.dtype == np.uint8
        if pic.mode == "1":
            array = array.astype(np.uint8) * np.uint8(255)
            scale = True
    chw = np.ascontiguousarray((array[:, :, None] if array.ndim == 2 else array)
                               .transpose(2, 0, 1))
    if scale:
        divisor = hl.get_default_dtype().np_dtype.type(255)
        chw = chw.astype(divisor.dtype) / divisor
    return hl.from_numpy(chw)


def _pil_array(pic: Image.Image) -> np.ndarray:
    """A PIL image's pixels in torchvision's dtypes (``I;16`` → int16 bits, as torchvision)."""
    dtypes = {"I": np.int32, "I;16": np.int16, "F": np.float32}
    if pic.mode in dtypes:
        return np.array(pic, dtype=dtypes[pic.mode], copy=True)
    return np.array(pic, copy=True)


def pil_to_tensor(pic: Image.Image) -> hl.Tensor:
    """A PIL image → a ``C×H×W`` tensor of the same pixel values and dtype (no scaling)."""
    if not _is_pil(pic):
        raise TypeError(f"pic should be PIL Image. Got {type(pic)}")
    array = _pil_array(pic)
    return hl.from_numpy(np.ascontiguousarray(
        (array[:, :, None] if array.ndim == 2 else array).transpose(2, 0, 1)))


_MODES_BY_CHANNELS = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}


def to_pil_image(pic: hl.Tensor | np.ndarray, mode: str | None = None) -> Image.Image:
    """A ``C×H×W`` tensor or ``H×W(×C)`` array → a PIL image. Float pixels are taken to lie in
    [0, 1] and become ``uint8`` (×255, truncated, as torchvision)."""
    if isinstance(pic, hl.Tensor):
        if pic.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        chw = pic.detach().cpu().numpy()
        if chw.ndim == 2:
            chw = chw[None]
        if np.issubdtype(chw.dtype, np.floating) and mode != "F":
            chw = (chw * 255).astype(np.uint8)
        array = chw.transpose(1, 2, 0)
    elif isinstance(pic, np.ndarray):
        if pic.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        array = pic[:, :, None] if pic.ndim == 2 else pic
    else:
        raise TypeError(f"pic should be Tensor or ndarray. Got {type(pic)}.")
    channels = array.shape[2]
    if channels == 1:
        array = array[:, :, 0]
        by_dtype = {np.uint8: "L", np.int16: "I;16", np.int32: "I", np.float32: "F"}
        expected = by_dtype.get(array.dtype.type)
        if mode is None and expected is None:
            raise TypeError(f"Input type {array.dtype} is not supported")
        mode = mode or expected
        if mode == "F":
            array = array.astype(np.float32)
    elif channels not in _MODES_BY_CHANNELS:
        raise ValueError(f"pic should not have > 4 channels. Got {channels} channels.")
    else:
        mode = mode or _MODES_BY_CHANNELS[channels]
        if array.dtype != np.uint8:
            raise TypeError(f"Input type {array.dtype} is not supported for {channels} channels")
    return Image.fromarray(np.ascontiguousarray(array), mode=mode)


def normalize(tensor: hl.Tensor, mean: Sequence[float], std: Sequence[float],
              inplace: bool = False) -> hl.Tensor:
    """``(tensor[c] - mean[c]) / std[c]`` for each channel of a float tensor image."""
    if not isinstance(tensor, hl.Tensor):
        raise TypeError(f"img should be Tensor Image. Got {type(tensor)}")
    if not tensor.is_floating_point():
        raise TypeError(f"Input tensor should be a float tensor. Got {tensor.dtype}.")
    if tensor.ndim < 3:
        raise ValueError("Expected tensor to be a tensor image of size (..., C, H, W). Got "
                         f"tensor.size() = {tensor.size()}")
    mean_t = hl.as_tensor(mean, dtype=tensor.dtype, device=tensor.device)
    std_t = hl.as_tensor(std, dtype=tensor.dtype, device=tensor.device)
    if (std_t == 0).any():
        raise ValueError(f"std evaluated to zero after conversion to {tensor.dtype}, leading to "
                         "division by zero.")
    if mean_t.ndim == 1:
        mean_t = mean_t.view(-1, 1, 1)
    if std_t.ndim == 1:
        std_t = std_t.view(-1, 1, 1)
    if inplace:
        return tensor.sub_(mean_t).div_(std_t)
    return (tensor - mean_t) / std_t


# --- geometry ----------------------------------------------------------------------------------
def _output_size(h: int, w: int, size: Sequence[int], max_size: int | None) -> list[int]:
    """torchvision's rule: one number is the shorter side (aspect kept), two are ``(h, w)``."""
    if len(size) == 2:
        if max_size is not None:
            raise ValueError("max_size should only be passed if size specifies the length of the "
                             "smaller edge, i.e. size should be an int or a sequence of length 1")
        return [int(size[0]), int(size[1])]
    short, long = min(h, w), max(h, w)
    new_short, new_long = int(size[0]), int(int(size[0]) * long / short)
    if max_size is not None:
        if max_size <= new_short:
            raise ValueError(f"max_size = {max_size} must be strictly greater than the requested "
                             f"size for the smaller edge size = {size}")
        if new_long > max_size:
            new_short, new_long = int(max_size * new_short / new_long), max_size
    return [new_short, new_long] if h <= w else [new_long, new_short]


def resize(img: Img, size: int | Sequence[int], interpolation: InterpolationMode | int =
           InterpolationMode.BILINEAR, max_size: int | None = None,
           antialias: bool | None = True) -> Img:
    """Resize to ``size``: ``(h, w)``, or one number for the shorter side."""
    _check_image(img)
    interpolation = _mode(interpolation)
    if isinstance(size, numbers.Number):
        size = [int(size)]
    if not isinstance(size, Sequence) or len(size) not in (1, 2):
        raise ValueError(f"If size is a sequence, it should have 1 or 2 values, got {size}")
    _, h, w = get_dimensions(img)
    out_h, out_w = _output_size(h, w, list(size), max_size)
    if [out_h, out_w] == [h, w]:
        return img
    if _is_pil(img):
        return img.resize((out_w, out_h), PIL_MODES[interpolation])
    if _is_numpy(img):
        return _via_pil(img, lambda p: p.resize((out_w, out_h), PIL_MODES[interpolation]))
    return _resize_tensor(img, out_h, out_w, interpolation, antialias)


def _resize_tensor(img: hl.Tensor, out_h: int, out_w: int, interpolation: InterpolationMode,
                   antialias: bool | None) -> hl.Tensor:
    array = _array(img)
    xp = xp_of(array)
    h, w = array.shape[-2:]
    if interpolation in (InterpolationMode.NEAREST, InterpolationMode.NEAREST_EXACT):
        offset = 0.5 if interpolation is InterpolationMode.NEAREST_EXACT else 0.0
        rows = np.minimum(np.floor((np.arange(out_h) + offset) * (h / out_h)), h - 1)
        cols = np.minimum(np.floor((np.arange(out_w) + offset) * (w / out_w)), w - 1)
        out = array[..., xp.asarray(rows.astype(np.int64))[:, None],
                    xp.asarray(cols.astype(np.int64))[None, :]]
        return _tensor_like(img, out)
    if interpolation not in (InterpolationMode.BILINEAR, InterpolationMode.BICUBIC):
        raise ValueError(f"Interpolation mode {interpolation.value} is unsupported with Tensor "
                         "input")
    if antialias is False and (out_h < h or out_w < w):
        raise ValueError("antialias=False is not supported for tensor images here: the "
                         "resampling is Pillow's, which always smooths when it shrinks")
    planes = array.reshape(-1, h, w)
    host = planes.get() if hasattr(planes, "get") else np.asarray(planes)
    mode = PIL_MODES[interpolation]
    out = np.stack([np.asarray(Image.fromarray(p.astype(np.float32), mode="F")
                               .resize((out_w, out_h), mode)) for p in host])
    if np.issubdtype(array.dtype, np.integer):
        info = np.iinfo(array.dtype)
        out = np.clip(np.round(out), info.min, info.max)
    out = out.astype(array.dtype).reshape(*array.shape[:-2], out_h, out_w)
    return _tensor_like(img, xp.asarray(out))


def crop(img: Img, top: int, left: int, height: int, width: int) -> Img:
    """The ``height × width`` window at ``(top, left)``; outside the image reads as zeros."""
    _check_image(img)
    if _is_pil(img):
        return img.crop((left, top, left + width, top + height))
    array = _array(img) if isinstance(img, hl.Tensor) else img
    xp = xp_of(array)
    h_axis = array.ndim - 2 if isinstance(img, hl.Tensor) else 0
    h, w = array.shape[h_axis], array.shape[h_axis + 1]
    out_shape = list(array.shape)
    out_shape[h_axis], out_shape[h_axis + 1] = height, width
    out = xp.zeros(out_shape, dtype=array.dtype)
    top0, left0 = max(top, 0), max(left, 0)
    bottom, right = min(top + height, h), min(left + width, w)
    if bottom > top0 and right > left0:
        src = [slice(None)] * array.ndim
        dst = [slice(None)] * array.ndim
        src[h_axis], src[h_axis + 1] = slice(top0, bottom), slice(left0, right)
        dst[h_axis] = slice(top0 - top, bottom - top)
        dst[h_axis + 1] = slice(left0 - left, right - left)
        out[tuple(dst)] = array[tuple(src)]
    return _tensor_like(img, out) if isinstance(img, hl.Tensor) else out


def center_crop(img: Img, output_size: int | Sequence[int]) -> Img:
    """The central ``output_size`` window (zero-padded first if the image is smaller)."""
    if isinstance(output_size, numbers.Number):
        output_size = (int(output_size), int(output_size))
    elif len(output_size) == 1:
        output_size = (output_size[0], output_size[0])
    _, h, w = get_dimensions(img)
    th, tw = output_size
    top, left = int(round((h - th) / 2.0)), int(round((w - tw) / 2.0))
    if th > h or tw > w:  # torchvision pads by (size - image) // 2 on the top/left first
        pad_top, pad_left = (th - h) // 2 if th > h else 0, (tw - w) // 2 if tw > w else 0
        pad_bottom = (th - h + 1) // 2 if th > h else 0
        pad_right = (tw - w + 1) // 2 if tw > w else 0
        img = pad(img, [pad_left, pad_top, pad_right, pad_bottom], fill=0)
        _, h, w = get_dimensions(img)
        top, left = int(round((h - th) / 2.0)), int(round((w - tw) / 2.0))
    return crop(img, top, left, th, tw)


def resized_crop(img: Img, top: int, left: int, height: int, width: int,
                 size: Sequence[int], interpolation: InterpolationMode | int =
                 InterpolationMode.BILINEAR, antialias: bool | None = True) -> Img:
    return resize(crop(img, top, left, height, width), size, interpolation,
                  antialias=antialias)


def hflip(img: Img) -> Img:
    """Mirror left to right."""
    _check_image(img)
    if _is_pil(img):
        return img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if _is_numpy(img):
        return img[:, ::-1].copy()
    return _tensor_like(img, _array(img)[..., ::-1])


def vflip(img: Img) -> Img:
    """Mirror top to bottom."""
    _check_image(img)
    if _is_pil(img):
        return img.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    if _is_numpy(img):
        return img[::-1].copy()
    return _tensor_like(img, _array(img)[..., ::-1, :])


def _ltrb(padding: int | Sequence[int]) -> tuple[int, int, int, int]:
    """torchvision's padding forms as (left, top, right, bottom)."""
    if isinstance(padding, numbers.Number):
        return (int(padding),) * 4
    if len(padding) == 1:
        return (int(padding[0]),) * 4
    if len(padding) == 2:
        return int(padding[0]), int(padding[1]), int(padding[0]), int(padding[1])
    return tuple(int(p) for p in padding)


def pad(img: Img, padding: int | Sequence[int], fill: float | Sequence[float] = 0,
        padding_mode: str = "constant") -> Img:
    """Pad each border: an int for all four, ``(left/right, top/bottom)`` or
    ``(left, top, right, bottom)``; ``padding_mode`` constant (``fill``), edge, reflect or
    symmetric."""
    _check_image(img)
    if not isinstance(padding, (numbers.Number, tuple, list)):
        raise TypeError("Got inappropriate padding arg")
    if isinstance(padding, (tuple, list)) and len(padding) not in (1, 2, 4):
        raise ValueError("Padding must be an int or a 1, 2, or 4 element tuple, not a "
                         f"{len(padding)} element tuple")
    if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
        raise ValueError("Padding mode should be either constant, edge, reflect or symmetric")
    left, top, right, bottom = _ltrb(padding)
    if _is_pil(img):
        if padding_mode == "constant" and min(left, top, right, bottom) >= 0:
            return ImageOps.expand(img, border=(left, top, right, bottom),
                                   **_pil_fill(fill, img, "fill"))
        array = pad(np.asarray(img), padding, fill, padding_mode)
        return Image.fromarray(array, mode=img.mode)
    array = _array(img) if isinstance(img, hl.Tensor) else img
    xp = xp_of(array)
    h_axis = array.ndim - 2 if isinstance(img, hl.Tensor) else 0
    crop_ = [slice(None)] * array.ndim  # negative padding crops
    crop_[h_axis] = slice(max(-top, 0), array.shape[h_axis] - max(-bottom, 0))
    crop_[h_axis + 1] = slice(max(-left, 0), array.shape[h_axis + 1] - max(-right, 0))
    array = array[tuple(crop_)]
    widths = [(0, 0)] * array.ndim
    widths[h_axis] = (max(top, 0), max(bottom, 0))
    widths[h_axis + 1] = (max(left, 0), max(right, 0))
    if padding_mode == "constant":
        out = xp.pad(array, widths, mode="constant", constant_values=fill)
    else:
        out = xp.pad(array, widths, mode=padding_mode)
    return _tensor_like(img, out) if isinstance(img, hl.Tensor) else out


def _pil_fill(fill: Any, img: Image.Image, name: str = "fillcolor") -> dict:
    """torchvision's ``_parse_fill``: one value per band, integers unless the mode is F."""
    channels = len(img.getbands())
    fill = 0 if fill is None else fill
    if isinstance(fill, (int, float)) and channels > 1:
        fill = tuple([fill] * channels)
    if isinstance(fill, (list, tuple)):
        if len(fill) == 1:
            fill = tuple(fill) * channels
        elif len(fill) != channels:
            raise ValueError("The number of elements in 'fill' does not match the number of "
                             f"channels of the image ({len(fill)} != {channels})")
        fill = tuple(fill)
    if img.mode != "F":
        fill = tuple(int(x) for x in fill) if isinstance(fill, tuple) else int(fill)
    return {name: fill}


def inverse_affine_matrix(center: Sequence[float], angle: float, translate: Sequence[float],
                          scale: float, shear: Sequence[float]) -> list[float]:
    """The 2×3 matrix (row-major) from output pixels back to input pixels: rotation by ``angle``
    degrees and shear around ``center``, scale, then translation (torchvision's formula)."""
    rot, sx, sy = math.radians(angle), math.radians(shear[0]), math.radians(shear[1])
    (cx, cy), (tx, ty) = center, translate
    a = math.cos(rot - sy) / math.cos(sy)
    b = -math.cos(rot - sy) * math.tan(sx) / math.cos(sy) - math.sin(rot)
    c = math.sin(rot - sy) / math.cos(sy)
    d = -math.sin(rot - sy) * math.tan(sx) / math.cos(sy) + math.cos(rot)
    m = [x / scale for x in (d, -b, 0.0, -c, a, 0.0)]
    m[2] += m[0] * (-cx - tx) + m[1] * (-cy - ty) + cx
    m[5] += m[3] * (-cx - tx) + m[4] * (-cy - ty) + cy
    return m


def _affine_tensor(img: hl.Tensor, matrix: list[float], out_w: int, out_h: int,
                   interpolation: InterpolationMode, fill: Any) -> hl.Tensor:
    """Sample the tensor at the affine grid torchvision builds (centre-origin pixel
    coordinates, ``grid_sample(align_corners=False, padding_mode="zeros")``)."""
    if interpolation not in (InterpolationMode.NEAREST, InterpolationMode.BILINEAR):
        raise ValueError(f"Interpolation mode '{interpolation.value}' is unsupported with "
                         "Tensor input")
    array = _array(img)
    xp = xp_of(array)
    h, w = array.shape[-2:]
    work = array if array.dtype.kind == "f" else array.astype(np.float32)
    xs = np.linspace(-out_w * 0.5 + 0.5, out_w * 0.5 - 0.5, out_w)
    ys = np.linspace(-out_h * 0.5 + 0.5, out_h * 0.5 - 0.5, out_h)[:, None]
    # input position in pixels, origin at the top-left corner of the first pixel
    src_x = matrix[0] * xs + matrix[1] * ys + matrix[2] + w * 0.5
    src_y = matrix[3] * xs + matrix[4] * ys + matrix[5] + h * 0.5
    planes = work.reshape(-1, h, w)
    values, inside = _sample(xp, planes, src_x - 0.5, src_y - 0.5, interpolation)
    if fill is not None:
        per_channel = np.resize(np.asarray(fill, dtype=np.float64).reshape(-1), _channels(img))
        fills = np.tile(per_channel, planes.shape[0] // _channels(img)).astype(work.dtype)
        fill_plane = xp.asarray(fills)[:, None, None]
        if interpolation is InterpolationMode.NEAREST:
            values = xp.where(inside[None] < 0.5, fill_plane, values)
        else:
            values = values * inside[None] + (1.0 - inside[None]) * fill_plane
    out = values.reshape(*array.shape[:-2], out_h, out_w)
    if array.dtype.kind != "f":
        out = xp.round(out)
    return _tensor_like(img, out.astype(array.dtype))


def _channels(img: hl.Tensor) -> int:
    return 1 if img.ndim == 2 else img.shape[-3]


def _sample(xp: Any, planes: Any, x: np.ndarray, y: np.ndarray,
            interpolation: InterpolationMode) -> tuple[Any, Any]:
    """Values of ``planes`` (N×H×W) at pixel positions ``(x, y)`` (pixel centres at integers),
    zero outside, and the weight of the image in each value (1 inside, 0 outside)."""
    n, h, w = planes.shape
    if interpolation is InterpolationMode.NEAREST:
        ix, iy = np.rint(x).astype(np.int64), np.rint(y).astype(np.int64)  # half to even
        ok = (ix >= 0) & (ix < w) & (iy >= 0) & (iy < h)
        values = planes[:, xp.asarray(np.clip(iy, 0, h - 1)), xp.asarray(np.clip(ix, 0, w - 1))]
        mask = xp.asarray(ok.astype(planes.dtype))
        return values * mask[None], mask
    x0, y0 = np.floor(x), np.floor(y)
    values = xp.zeros((n,) + x.shape, dtype=planes.dtype)
    weight = np.zeros(x.shape)
    for dy in (0, 1):
        for dx in (0, 1):
            cx, cy = (x0 + dx).astype(np.int64), (y0 + dy).astype(np.int64)
            wgt = (1 - np.abs(x - cx)) * (1 - np.abs(y - cy))
            ok = (cx >= 0) & (cx < w) & (cy >= 0) & (cy < h)
            wgt = np.where(ok, wgt, 0.0)
            weight += wgt
            picked = planes[:, xp.asarray(np.clip(cy, 0, h - 1)),
                            xp.asarray(np.clip(cx, 0, w - 1))]
            values = values + picked * xp.asarray(wgt.astype(planes.dtype))[None]
    return values, xp.asarray(weight.astype(planes.dtype))


def rotate(img: Img, angle: float, interpolation: InterpolationMode | int =
           InterpolationMode.NEAREST, expand: bool = False, center: Sequence[int] | None = None,
           fill: Any = None) -> Img:
    """Rotate by ``angle`` degrees counter-clockwise around ``center`` (the image centre by
    default); ``expand`` enlarges the output to hold the whole rotated image."""
    _check_image(img)
    interpolation = _mode(interpolation)
    if not isinstance(angle, (int, float)):
        raise TypeError("Argument angle should be int or float")
    if center is not None and not isinstance(center, (list, tuple)):
        raise TypeError("Argument center should be a sequence")
    if _is_pil(img):
        return img.rotate(angle, PIL_MODES[interpolation], expand, center, **_pil_fill(fill, img))
    if _is_numpy(img):
        return _via_pil(img, lambda p: rotate(p, angle, interpolation, expand, center, fill))
    _, h, w = get_dimensions(img)
    center_f = [0.0, 0.0] if center is None else [c - s * 0.5 for c, s in zip(center, (w, h))]
    matrix = inverse_affine_matrix(center_f, -angle, [0.0, 0.0], 1.0, [0.0, 0.0])
    out_w, out_h = _expanded_size(matrix, w, h) if expand else (w, h)
    return _affine_tensor(img, matrix, out_w, out_h, interpolation, fill)


def _expanded_size(matrix: list[float], w: int, h: int) -> tuple[int, int]:
    corners = np.array([[-0.5 * w, -0.5 * h, 1.0], [-0.5 * w, 0.5 * h, 1.0],
                        [0.5 * w, 0.5 * h, 1.0], [0.5 * w, -0.5 * h, 1.0]], dtype=np.float32)
    moved = corners @ np.array(matrix, dtype=np.float32).reshape(2, 3).T
    low = moved.min(axis=0) + np.array([w * 0.5, h * 0.5], dtype=np.float32)
    high = moved.max(axis=0) + np.array([w * 0.5, h * 0.5], dtype=np.float32)
    tol = 1e-4
    size = np.ceil(np.trunc(high / tol) * tol) - np.floor(np.trunc(low / tol) * tol)
    return int(size[0]), int(size[1])


def affine(img: Img, angle: float, translate: Sequence[int], scale: float,
           shear: float | Sequence[float], interpolation: InterpolationMode | int =
           InterpolationMode.NEAREST, fill: Any = None,
           center: Sequence[int] | None = None) -> Img:
    """Rotate (degrees, clockwise as torchvision's affine), translate (pixels), scale and
    shear (degrees) around ``center``, keeping the size."""
    _check_image(img)
    interpolation = _mode(interpolation)
    if not isinstance(translate, (list, tuple)) or len(translate) != 2:
        raise ValueError("Argument translate should be a sequence of length 2")
    if scale <= 0.0:
        raise ValueError("Argument scale should be positive")
    shear = [float(shear), 0.0] if isinstance(shear, numbers.Number) else list(shear)
    if len(shear) == 1:
        shear = [shear[0], shear[0]]
    if len(shear) != 2:
        raise ValueError(f"Shear should be a sequence containing two values. Got {shear}")
    _, h, w = get_dimensions(img)
    if _is_pil(img) or _is_numpy(img):
        pil_center = [w * 0.5, h * 0.5] if center is None else center
        matrix = inverse_affine_matrix(pil_center, float(angle), translate, scale, shear)

        def op(p: Image.Image) -> Image.Image:
            return p.transform(p.size, Image.Transform.AFFINE, matrix,
                               PIL_MODES[interpolation], **_pil_fill(fill, p))
        return op(img) if _is_pil(img) else _via_pil(img, op)
    center_f = [0.0, 0.0] if center is None else [c - s * 0.5 for c, s in zip(center, (w, h))]
    matrix = inverse_affine_matrix(center_f, float(angle), [float(t) for t in translate],
                                   scale, shear)
    return _affine_tensor(img, matrix, w, h, interpolation, fill)


# --- colour ------------------------------------------------------------------------------------
def _max_value(dtype: np.dtype) -> float:
    return float(np.iinfo(dtype).max) if np.issubdtype(dtype, np.integer) else 1.0


def _blend(xp: Any, img1: Any, img2: Any, ratio: float) -> Any:
    work = img1.dtype if img1.dtype.kind == "f" else np.float32  # torch's type promotion
    out = float(ratio) * img1.astype(work) + (1.0 - float(ratio)) * img2.astype(work)
    out = xp.clip(out, 0, _max_value(img1.dtype))
    return out.astype(img1.dtype)


def _check_tensor_channels(img: hl.Tensor, allowed: Sequence[int]) -> None:
    if img.ndim < 3 or img.shape[-3] not in allowed:
        raise TypeError(f"Input image tensor permitted channel values are {list(allowed)}, but "
                        f"found {img.shape[-3] if img.ndim >= 3 else 'none'}")


def _gray_array(xp: Any, array: Any) -> Any:
    r, g, b = array[..., 0, :, :], array[..., 1, :, :], array[..., 2, :, :]
    work = array.dtype if array.dtype.kind == "f" else np.float32
    gray = (0.2989 * r.astype(work) + 0.587 * g.astype(work) + 0.114 * b.astype(work))
    return gray.astype(array.dtype)[..., None, :, :]


def rgb_to_grayscale(img: Img, num_output_channels: int = 1) -> Img:
    """Luma ``0.2989 R + 0.587 G + 0.114 B`` (tensors) or Pillow's ``L`` conversion (PIL)."""
    if num_output_channels not in (1, 3):
        raise ValueError("num_output_channels should be either 1 or 3")
    if not isinstance(img, hl.Tensor):
        return to_grayscale(img, num_output_channels)
    _check_tensor_channels(img, (1, 3))
    array = _array(img)
    xp = xp_of(array)
    gray = _gray_array(xp, array) if array.shape[-3] == 3 else array.copy()
    if num_output_channels == 3:
        gray = xp.broadcast_to(gray, gray.shape[:-3] + (3,) + gray.shape[-2:])
    return _tensor_like(img, gray)


def to_grayscale(img: Img, num_output_channels: int = 1) -> Img:
    """A PIL (or numpy) image in grey: Pillow's ``convert("L")``, repeated to 3 bands if asked."""
    if num_output_channels not in (1, 3):
        raise ValueError("num_output_channels should be either 1 or 3")
    if isinstance(img, hl.Tensor):
        return rgb_to_grayscale(img, num_output_channels)
    if _is_numpy(img):
        return np.asarray(to_grayscale(Image.fromarray(img), num_output_channels)).copy()
    if not _is_pil(img):
        raise TypeError(f"img should be PIL Image. Got {type(img)}")
    gray = img.convert("L")
    if num_output_channels == 3:
        gray = Image.fromarray(np.dstack([np.asarray(gray)] * 3), "RGB")
    return gray


def _enhance(img: Img, enhancer: type, factor: float, name: str, tensor_op) -> Img:
    if factor < 0:
        raise ValueError(f"{name} ({factor}) is not non-negative.")
    _check_image(img)
    if _is_pil(img):
        return enhancer(img).enhance(factor)
    if _is_numpy(img):
        return _via_pil(img, lambda p: enhancer(p).enhance(factor))
    _check_tensor_channels(img, (1, 3))
    array = _array(img)
    return _tensor_like(img, tensor_op(xp_of(array), array))


def adjust_brightness(img: Img, brightness_factor: float) -> Img:
    """Blend with black: 0 gives black, 1 the image, 2 twice as bright."""
    return _enhance(img, ImageEnhance.Brightness, brightness_factor, "brightness_factor",
                    lambda xp, a: _blend(xp, a, xp.zeros_like(a), brightness_factor))


def adjust_contrast(img: Img, contrast_factor: float) -> Img:
    """Blend with the mean grey level: 0 gives a grey image, 1 the image."""
    def tensor_op(xp: Any, a: Any) -> Any:
        work = a.dtype if a.dtype.kind == "f" else np.float32
        gray = _gray_array(xp, a) if a.shape[-3] == 3 else a
        mean = gray.astype(work).mean(axis=(-3, -2, -1), keepdims=True)
        return _blend(xp, a, mean, contrast_factor)
    return _enhance(img, ImageEnhance.Contrast, contrast_factor, "contrast_factor", tensor_op)


def adjust_saturation(img: Img, saturation_factor: float) -> Img:
    """Blend with the grey image: 0 gives grey, 1 the image, 2 twice as saturated."""
    def tensor_op(xp: Any, a: Any) -> Any:
        return a.copy() if a.shape[-3] == 1 else _blend(xp, a, _gray_array(xp, a),
                                                        saturation_factor)
    return _enhance(img, ImageEnhance.Color, saturation_factor, "saturation_factor", tensor_op)


def adjust_hue(img: Img, hue_factor: float) -> Img:
    """Shift the hue by ``hue_factor`` turns of the colour wheel (in [-0.5, 0.5])."""
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f"hue_factor ({hue_factor}) is not in [-0.5, 0.5].")
    _check_image(img)
    if _is_pil(img) or _is_numpy(img):
        return _via_pil(img, lambda p: _hue_pil(p, hue_factor)) if _is_numpy(img) \
            else _hue_pil(img, hue_factor)
    _check_tensor_channels(img, (1, 3))
    array = _array(img)
    if array.shape[-3] == 1:
        return _tensor_like(img, array.copy())
    xp = xp_of(array)
    rgb = array.astype(np.float32) / 255 if array.dtype == np.uint8 else array
    h, s, v = _rgb_to_hsv(xp, rgb)
    out = _hsv_to_rgb(xp, (h + hue_factor) % 1.0, s, v)
    if array.dtype == np.uint8:  # torchvision's convert_image_dtype
        out = (out * (255 + 1.0 - 1e-3)).astype(np.uint8)
    return _tensor_like(img, out.astype(array.dtype))


def _hue_pil(img: Image.Image, hue_factor: float) -> Image.Image:
    mode = img.mode
    if mode in {"L", "1", "I", "F"}:
        return img
    h, s, v = img.convert("HSV").split()
    np_h = np.array(h, dtype=np.uint8)
    with np.errstate(over="ignore"):
        np_h += np.int32(hue_factor * 255).astype(np.uint8)
    return Image.merge("HSV", (Image.fromarray(np_h, "L"), s, v)).convert(mode)


def _rgb_to_hsv(xp: Any, img: Any) -> tuple[Any, Any, Any]:
    r, g, b = img[..., 0, :, :], img[..., 1, :, :], img[..., 2, :, :]
    maxc, minc = img.max(axis=-3), img.min(axis=-3)
    eqc = maxc == minc
    cr = maxc - minc
    ones = xp.ones_like(maxc)
    s = cr / xp.where(eqc, ones, maxc)
    cr_div = xp.where(eqc, ones, cr)
    rc, gc, bc = (maxc - r) / cr_div, (maxc - g) / cr_div, (maxc - b) / cr_div
    hr = (maxc == r) * (bc - gc)
    hg = ((maxc == g) & (maxc != r)) * (2.0 + rc - bc)
    hb = ((maxc != g) & (maxc != r)) * (4.0 + gc - rc)
    h = xp.fmod((hr + hg + hb) / 6.0 + 1.0, 1.0)
    return h.astype(img.dtype), s, maxc


def _hsv_to_rgb(xp: Any, h: Any, s: Any, v: Any) -> Any:
    i = xp.floor(h * 6.0)
    f = h * 6.0 - i
    i = i.astype(np.int32) % 6
    p = xp.clip(v * (1.0 - s), 0.0, 1.0)
    q = xp.clip(v * (1.0 - s * f), 0.0, 1.0)
    t = xp.clip(v * (1.0 - s * (1.0 - f)), 0.0, 1.0)
    table = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]
    channels = []
    for c in range(3):
        out = xp.zeros_like(v)
        for k, row in enumerate(table):
            out = xp.where(i == k, row[c], out)
        channels.append(out)
    return xp.stack(channels, axis=-3)


def erase(img: hl.Tensor, i: int, j: int, h: int, w: int, v: Any,
          inplace: bool = False) -> hl.Tensor:
    """Set the ``h × w`` window at ``(i, j)`` of a tensor image to ``v``."""
    if not isinstance(img, hl.Tensor):
        raise TypeError(f"img should be Tensor Image. Got {type(img)}")
    target = img if inplace else img.clone()
    array = target.detach()._data
    value = _array(v) if isinstance(v, hl.Tensor) else v
    array[..., i:i + h, j:j + w] = value
    return target
