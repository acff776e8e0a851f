"""Pooling and resizing of NCHW images: max/avg pooling, adaptive pooling, unpooling, interpolate.

Max and average pooling visit the kernel offsets, not the pixels: for offset (i, j) the strided
slice ``x[:, :, i·dh::sh, j·dw::sw]`` holds that offset's pixel of *every* window, so a k×k pool is
k·k whole-array operations. Max pooling keeps, per window, which offset won (the first maximum,
as PyTorch; NaN wins), and backward sends each gradient to that offset only.

Adaptive average pooling and interpolation (nearest, bilinear) are linear maps that act on rows
and columns separately: ``out = A_h · x · A_wᵀ`` with small matrices, so the backward is the same
map with the transposed matrices. Gradients run on raw arrays; double backward is not supported.
"""
from __future__ import annotations

import math

import numpy as np

from .._device import xp_of
from .._tensor import Tensor
from ..autograd.graph import Node
from ._util import record, wrap
from .conv import crop_array, no_double_backward, pad_array


# --- argument handling -----------------------------------------------------------------------
def _pair(value, name: str) -> tuple:
    if isinstance(value, int):
        return (value, value)
    values = tuple(int(v) for v in value)
    if len(values) == 1:
        return values * 2
    if len(values) != 2:
        raise RuntimeError(f"{name} must either be a single int, or a tuple of two ints")
    return values


def _as_4d(name: str, input: Tensor):
    """The array of a (C, H, W) or (N, C, H, W) input as 4-D, and whether a batch dim was added."""
    if input.ndim not in (3, 4) or input.numel() == 0:
        raise RuntimeError(f"{name}: non-empty 3D or 4D (batch mode) tensor expected for input, "
                           f"but got input of size {list(input.shape)}")
    return (input._data, False) if input.ndim == 4 else (input._data[None], True)


def _unbatch(array, added: bool):
    return array[0] if added else array


def pool_output_size(size: int, kernel: int, stride: int, pad: int, dilation: int,
                     ceil_mode: bool) -> int:
    """PyTorch's pooling output length; with ``ceil_mode`` the last window must start inside
    the input or its left padding."""
    span = size + 2 * pad - dilation * (kernel - 1) - 1
    out = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def _pool_geometry(name: str, shape: tuple, kernel, stride, padding, dilation,
                   ceil_mode: bool) -> tuple:
    """Checked (kernel, stride, pads, dilation, out_size) of a pooling over ``shape``'s H, W."""
    kernel = _pair(kernel, "kernel_size")
    no_stride = stride is None or (not isinstance(stride, int) and len(stride) == 0)
    stride = kernel if no_stride else _pair(stride, "stride")
    padding, dilation = _pair(padding, "padding"), _pair(dilation, "dilation")
    if any(k <= 0 for k in kernel):
        raise RuntimeError(f"{name}: kernel_size must be greater than zero, but got "
                           f"{list(kernel)}")
    if any(s <= 0 for s in stride):
        raise RuntimeError("stride should not be zero")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"{name}: dilation must be greater than zero, but got {list(dilation)}")
    for k, p, d in zip(kernel, padding, dilation):
        if p < 0 or p > (d * (k - 1) + 1) // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                               f"pad={p}, kernel_size={k} and dilation={d}")
    out = tuple(pool_output_size(s, k, st, p, d, ceil_mode)
                for s, k, st, p, d in zip(shape[2:], kernel, stride, padding, dilation))
    if any(o <= 0 for o in out):
        c, h, w = shape[1:]
        raise RuntimeError(f"Given input size: ({c}x{h}x{w}). Calculated output size: "
                           f"({c}x{out[0]}x{out[1]}). Output size is too small")
    # ceil_mode windows may run past the padding: pad those rows too (they never win/count)
    pads = tuple((p, max(p, (o - 1) * st + d * (k - 1) + 1 - s - p))
                 for s, k, st, p, d, o in zip(shape[2:], kernel, stride, padding, dilation, out))
    return kernel, stride, pads, dilation, out


def _offset_slices(kernel: tuple, stride: tuple, dilation: tuple, out: tuple) -> list:
    """For each kernel offset (i, j), the slices of the padded input it sees in every window."""
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = kernel, stride, dilation, out
    return [(slice(None), slice(None), slice(i * dh, i * dh + sh * (ho - 1) + 1, sh),
             slice(j * dw, j * dw + sw * (wo - 1) + 1, sw))
            for i in range(kh) for j in range(kw)]


def _non_overlapping(kernel: tuple, stride: tuple, dilation: tuple) -> bool:
    return all(s >= d * (k - 1) + 1 for k, s, d in zip(kernel, stride, dilation))


# --- max pooling -----------------------------------------------------------------------------
def _max_over_offsets(x, slices: list):
    """The maximum of each window and the (first) offset that holds it, as PyTorch picks it.

    Only fast arithmetic runs per offset (masked copies are several times slower): the running
    maximum, and ``arg = max(arg, better·k)``, which works because ``k`` only grows.
    """
    xp = xp_of(x)
    best = x[slices[0]].copy()
    arg = xp.zeros(best.shape, dtype=np.min_scalar_type(len(slices) - 1))
    for k in range(1, len(slices)):
        value = x[slices[k]]
        xp.maximum(arg, (value > best) * arg.dtype.type(k), out=arg)
        xp.maximum(best, value, out=best)  # NaN propagates into best
    # On the CPU a NaN check picks the slower NaN-aware pass only when needed; on a GPU that
    # check would read a flag back every forward, so the NaN-aware pass always runs there.
    if x.dtype.kind == "f" and (xp is not np or xp.isnan(best).any()):
        arg = _nan_aware_arg(x, slices, arg.dtype)
    return best, arg


def _nan_aware_arg(x, slices: list, dtype):
    """PyTorch's rule with NaN (``value > best or isnan(value)``): the last NaN wins."""
    xp = xp_of(x)
    best = x[slices[0]].copy()
    arg = xp.zeros(best.shape, dtype=dtype)
    for k in range(1, len(slices)):
        value = x[slices[k]]
        better = (value > best) | xp.isnan(value)
        xp.copyto(best, value, where=better)
        xp.copyto(arg, k, where=better)
    return arg


def _scatter_to_offsets(grad, arg, slices: list, padded_shape: tuple, overlapping: bool):
    """Send each window's gradient to the offset ``arg`` chose (the adjoint of the max)."""
    xp = xp_of(grad)
    out = xp.zeros(padded_shape, dtype=grad.dtype)
    for k, where in enumerate(slices):
        if overlapping:
            out[where] += grad * (arg == k)
        else:
            xp.multiply(grad, arg == k, out=out[where])
    return out


def _flat_indices(arg, kernel: tuple, stride: tuple, pads: tuple, dilation: tuple, width: int):
    """PyTorch's indices: the position ``h·W + w`` of each maximum in its (unpadded) plane."""
    xp = xp_of(arg)
    ho, wo = arg.shape[2:]
    i, j = xp.divmod(arg.astype(np.int64), kernel[1])
    rows = xp.arange(ho).reshape(-1, 1) * stride[0] - pads[0][0] + i * dilation[0]
    cols = xp.arange(wo) * stride[1] - pads[1][0] + j * dilation[1]
    return rows * width + cols


class MaxPool2DWithIndicesBackward0(Node):
    def backward(self, grad):
        no_double_backward("max_pool2d")
        g = grad._data if not self.unbatched else grad._data[None]
        padded = _scatter_to_offsets(g, self.arg, self.slices, self.padded_shape,
                                     self.overlapping)
        return wrap(_unbatch(crop_array(padded, self.pads), self.unbatched))


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """The maximum over each ``kernel_size`` window; with ``return_indices`` also where it was
    (flat ``h·W + w`` per plane, as :func:`max_unpool2d` takes them)."""
    x, unbatched = _as_4d("max_pool2d", input)
    kernel, stride, pads, dilation, out = _pool_geometry(
        "max_pool2d", x.shape, kernel_size, stride, padding, dilation, ceil_mode)
    fill = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
    padded = pad_array(x, pads, fill)
    slices = _offset_slices(kernel, stride, dilation, out)
    best, arg = _max_over_offsets(padded, slices)
    result = record(wrap(_unbatch(best, unbatched)), MaxPool2DWithIndicesBackward0, (input,),
                    arg=arg, slices=slices, pads=pads, padded_shape=padded.shape,
                    overlapping=not _non_overlapping(kernel, stride, dilation),
                    unbatched=unbatched)
    if not return_indices:
        return result
    indices = _flat_indices(arg, kernel, stride, pads, dilation, x.shape[3])
    return result, wrap(_unbatch(indices, unbatched))


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """1-D max pooling over the last dim of (N, C, L) or (C, L): a 2-D pool one pixel high."""
    pair = (lambda v: (1, v if isinstance(v, int) else int(v[0])))
    out = max_pool2d(input.unsqueeze(-2), pair(kernel_size),
                     None if stride is None else pair(stride), (0, _single(padding)),
                     pair(dilation), ceil_mode, return_indices)
    if return_indices:
        return out[0].squeeze(-2), out[1].squeeze(-2)
    return out.squeeze(-2)


def _single(value) -> int:
    return value if isinstance(value, int) else int(value[0])


class MaxUnpool2DBackward0(Node):
    def backward(self, grad):
        no_double_backward("max_unpool2d")
        g = grad._data.reshape(self.flat_shape)
        return wrap(xp_of(g).take_along_axis(g, self.indices, axis=1).reshape(self.input_shape))


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """Put each value back at the position ``indices`` names (from ``max_pool2d``); zeros
    elsewhere. ``output_size`` resolves the ambiguity when the pooled size was rounded."""
    x, unbatched = _as_4d("max_unpool2d", input)
    kernel, padding = _pair(kernel_size, "kernel_size"), _pair(padding, "padding")
    stride = kernel if stride is None else _pair(stride, "stride")
    if output_size is None:
        size = tuple((s - 1) * st - 2 * p + k
                     for s, st, p, k in zip(x.shape[2:], stride, padding, kernel))
    else:
        size = tuple(int(s) for s in tuple(output_size)[-2:])
    n, c = x.shape[:2]
    flat = indices._data.reshape(n * c, -1) if not unbatched else indices._data.reshape(c, -1)
    if flat.size and (flat.min() < 0 or flat.max() >= size[0] * size[1]):
        bad = int(flat.max() if flat.max() >= size[0] * size[1] else flat.min())
        raise RuntimeError(f"Found an invalid max index: {bad} (output volumes are of size "
                           f"{size[0]}x{size[1]})")
    xp = xp_of(x)
    out = xp.zeros((n * c, size[0] * size[1]), dtype=x.dtype)
    xp.put_along_axis(out, flat, x.reshape(n * c, -1), axis=1)
    result = wrap(_unbatch(out.reshape(n, c, *size), unbatched))
    return record(result, MaxUnpool2DBackward0, (input,), indices=flat,
                  flat_shape=(n * c, -1), input_shape=input.shape)


# --- average pooling -------------------------------------------------------------------------
def _window_counts(size: int, out: int, kernel: int, stride: int, pad: int,
                   count_include_pad: bool):
    """How many elements each window averages along one axis (PyTorch's rule)."""
    start = np.arange(out) * stride - pad
    end = np.minimum(start + kernel, size + pad)
    if count_include_pad:
        return end - start
    return np.minimum(end, size) - np.maximum(start, 0)


class AvgPool2DBackward0(Node):
    def backward(self, grad):
        no_double_backward("avg_pool2d")
        g = grad._data if not self.unbatched else grad._data[None]
        g = g / self.divisor
        xp = xp_of(g)
        out = xp.zeros(self.padded_shape, dtype=g.dtype)
        for where in self.slices:
            out[where] += g
        return wrap(_unbatch(crop_array(out, self.pads), self.unbatched))


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """The mean over each ``kernel_size`` window. Zero padding counts towards the mean unless
    ``count_include_pad=False``; ``divisor_override`` replaces the count."""
    x, unbatched = _as_4d("avg_pool2d", input)
    kernel, stride, pads, _, out = _pool_geometry(
        "avg_pool2d", x.shape, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    padded = pad_array(x, pads)
    slices = _offset_slices(kernel, stride, (1, 1), out)
    total = padded[slices[0]].copy()
    for where in slices[1:]:
        total += padded[where]
    divisor = _divisor(x, kernel, stride, pads, out, count_include_pad, divisor_override)
    total /= divisor
    return record(wrap(_unbatch(total, unbatched)), AvgPool2DBackward0, (input,),
                  divisor=divisor, slices=slices, pads=pads, padded_shape=padded.shape,
                  unbatched=unbatched)


def _divisor(x, kernel, stride, pads, out, count_include_pad: bool, divisor_override):
    """A number when every window has the same divisor, else an (Ho, Wo) array."""
    if divisor_override is not None:
        return int(divisor_override)
    rows, cols = (_window_counts(s, o, k, st, p[0], count_include_pad)
                  for s, o, k, st, p in zip(x.shape[2:], out, kernel, stride, pads))
    counts = np.outer(rows, cols)  # host: counts from the shapes, moved below if they vary
    if (counts == counts.flat[0]).all():
        return int(counts.flat[0])
    return xp_of(x).asarray(counts.astype(x.dtype))


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """1-D average pooling over the last dim of (N, C, L) or (C, L)."""
    kernel = (1, _single(kernel_size))
    stride = None if stride is None else (1, _single(stride))
    return avg_pool2d(input.unsqueeze(-2), kernel, stride, (0, _single(padding)), ceil_mode,
                      count_include_pad).squeeze(-2)


# --- separable linear maps: adaptive average pooling and interpolation -----------------------
def _apply_separable(x, a_h, a_w):
    """``A_h · x · A_wᵀ`` on the last two dims of ``x`` (N, C, H, W): two matrix products."""
    n, c, h, w = x.shape
    ho, wo = a_h.shape[0], a_w.shape[0]
    xp = xp_of(x)
    y = x.reshape(-1, w) @ a_w.T                                     # (N·C·H, Wo)
    y = xp.ascontiguousarray(y.reshape(n * c, h, wo).transpose(0, 2, 1)).reshape(-1, h)
    y = y @ a_h.T                                                    # (N·C·Wo, Ho)
    return xp.ascontiguousarray(y.reshape(n, c, wo, ho).transpose(0, 1, 3, 2))


class _SeparableBackward(Node):
    def backward(self, grad):
        no_double_backward(self.op_name)
        g = grad._data.reshape(self.out_shape)
        gx = _apply_separable(g, self.a_h.T, self.a_w.T)
        return wrap(gx.reshape(self.input_shape))


class AdaptiveAvgPool2DBackward0(_SeparableBackward):
    op_name = "adaptive_avg_pool2d"


class UpsampleNearest1DBackward0(_SeparableBackward):
    op_name = "interpolate"


class UpsampleNearest2DBackward0(_SeparableBackward):
    op_name = "interpolate"


class UpsampleLinear1DBackward0(_SeparableBackward):
    op_name = "interpolate"


class UpsampleBilinear2DBackward0(_SeparableBackward):
    op_name = "interpolate"


def _separable(input: Tensor, x, a_h, a_w, node: type, out_shape: tuple):
    xp = xp_of(x)
    a_h, a_w = xp.asarray(a_h, dtype=x.dtype), xp.asarray(a_w, dtype=x.dtype)
    out = _apply_separable(x, a_h, a_w)
    return record(wrap(out.reshape(out_shape)), node, (input,), a_h=a_h, a_w=a_w,
                  out_shape=out.shape, input_shape=input.shape)


def adaptive_window_matrix(size: int, out: int) -> np.ndarray:
    """(out, size) averaging matrix: row i averages ``[⌊i·size/out⌋, ⌈(i+1)·size/out⌉)``."""
    matrix = np.zeros((out, size))
    for i, (start, end) in enumerate(adaptive_windows(size, out)):
        matrix[i, start:end] = 1.0 / (end - start)
    return matrix


def adaptive_windows(size: int, out: int) -> list:
    """PyTorch's adaptive pooling windows along one axis."""
    return [((i * size) // out, -((-(i + 1) * size) // out)) for i in range(out)]


def _adaptive_size(output_size, shape: tuple) -> tuple:
    sizes = _pair(output_size, "output_size") if not isinstance(output_size, (tuple, list)) \
        else tuple(output_size)
    if len(sizes) != 2:
        raise RuntimeError("adaptive pooling: output_size must be 2")
    return tuple(s if o is None else int(o) for o, s in zip(sizes, shape[2:]))


def _adaptive_input(name: str, input: Tensor):
    if input.ndim not in (3, 4) or input.numel() == 0:
        raise RuntimeError(f"{name}(): Expected 3D or 4D tensor, but got {list(input.shape)}")
    return (input._data, False) if input.ndim == 4 else (input._data[None], True)


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Average pooling whose windows are chosen so that the output is ``output_size``
    (``None`` keeps that dim). ``(1, 1)`` is global average pooling."""
    x, unbatched = _adaptive_input("adaptive_avg_pool2d", input)
    ho, wo = _adaptive_size(output_size, x.shape)
    if ho <= 0 or wo <= 0:
        raise RuntimeError(f"adaptive_avg_pool2d(): output_size must be positive, got "
                           f"{[ho, wo]}")
    shape = x.shape[:2] + (ho, wo)
    return _separable(input, x, adaptive_window_matrix(x.shape[2], ho),
                      adaptive_window_matrix(x.shape[3], wo), AdaptiveAvgPool2DBackward0,
                      shape[1:] if unbatched else shape)


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    return adaptive_avg_pool2d(input.unsqueeze(-2), (1, _single(output_size))).squeeze(-2)


class AdaptiveMaxPool2DBackward0(Node):
    def backward(self, grad):
        no_double_backward("adaptive_max_pool2d")
        g = grad._data
        xp = xp_of(g)
        size = math.prod(self.input_shape)
        total = xp.bincount(self.flat.ravel(), weights=g.ravel(), minlength=size)
        return wrap(total.astype(g.dtype).reshape(self.input_shape))


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """Max pooling over PyTorch's adaptive windows (see :func:`adaptive_windows`)."""
    x, unbatched = _adaptive_input("adaptive_max_pool2d", input)
    (ho, wo), (n, c, h, w) = _adaptive_size(output_size, x.shape), x.shape
    xp = xp_of(x)
    rows_h, rows_w = adaptive_windows(h, ho), adaptive_windows(w, wo)
    best = arg_rows = arg_cols = None
    for di in range(max(e - s for s, e in rows_h)):
        # offsets past a window's end repeat its last pixel: a repeat never wins a strict >
        r = xp.asarray([min(s + di, e - 1) for s, e in rows_h]).reshape(-1, 1)
        for dj in range(max(e - s for s, e in rows_w)):
            col = xp.asarray([min(s + dj, e - 1) for s, e in rows_w])
            value = x[:, :, r, col]
            if best is None:
                best, arg_rows, arg_cols = value, xp.broadcast_to(r, value.shape).copy(), \
                    xp.broadcast_to(col, value.shape).copy()
                continue
            better = (value > best) | xp.isnan(value)
            xp.copyto(best, value, where=better)
            xp.copyto(arg_rows, r, where=better)
            xp.copyto(arg_cols, col, where=better)
    indices = arg_rows * w + arg_cols
    planes = xp.arange(n * c).reshape(n, c, 1, 1) * (h * w)
    result = record(wrap(_unbatch(best, unbatched)), AdaptiveMaxPool2DBackward0, (input,),
                    flat=indices + planes, input_shape=input.shape)
    if return_indices:
        return result, wrap(_unbatch(indices, unbatched))
    return result


def adaptive_max_pool1d(input: Tensor, output_size, return_indices: bool = False):
    out = adaptive_max_pool2d(input.unsqueeze(-2), (1, _single(output_size)), return_indices)
    if return_indices:
        return out[0].squeeze(-2), out[1].squeeze(-2)
    return out.squeeze(-2)


# --- interpolate -----------------------------------------------------------------------------
_MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact")


def _source_positions(size: int, out: int, scale: float | None, align_corners: bool):
    """Where output pixel i samples the input (PyTorch's area_pixel_compute_source_index)."""
    i = np.arange(out, dtype=np.float64)
    if align_corners:
        return i * ((size - 1) / (out - 1) if out > 1 else 0.0)
    ratio = 1.0 / scale if scale else size / out
    return np.maximum((i + 0.5) * ratio - 0.5, 0.0)


def linear_matrix(size: int, out: int, scale: float | None, align_corners: bool) -> np.ndarray:
    """(out, size) matrix of linear interpolation weights along one axis."""
    src = _source_positions(size, out, scale, align_corners)
    low = np.floor(src).astype(np.int64)
    high = np.minimum(low + 1, size - 1)
    frac = src - low
    matrix = np.zeros((out, size))
    matrix[np.arange(out), low] += 1.0 - frac
    matrix[np.arange(out), high] += frac
    return matrix


def nearest_matrix(size: int, out: int, scale: float | None) -> np.ndarray:
    """(out, size) 0/1 matrix: output i copies input ``⌊i·size/out⌋`` (PyTorch's 'nearest')."""
    ratio = np.float32(1.0 / scale) if scale else np.float32(size) / np.float32(out)
    src = np.minimum(np.floor(np.arange(out, dtype=np.float32) * ratio).astype(np.int64),
                     size - 1)
    matrix = np.zeros((out, size))
    matrix[np.arange(out), src] = 1.0
    return matrix


def _interpolate_sizes(shape: tuple, size, scale_factor) -> tuple:
    """Output sizes and the scales PyTorch's kernels use (None where ``size`` was given)."""
    spatial = len(shape) - 2
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is None and scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    if size is not None:
        sizes = (size,) * spatial if isinstance(size, int) else tuple(int(s) for s in size)
        if len(sizes) != spatial:
            raise ValueError(f"Input and output must have the same number of spatial dimensions, "
                             f"but got input with spatial dimensions of {list(shape[2:])} and "
                             f"output size of {list(sizes)}. Please provide input tensor in "
                             "(N, C, d1, d2, ...,dK) format and output size in (o1, o2, ...,oK) "
                             "format.")
        return sizes, (None,) * spatial
    scales = (float(scale_factor),) * spatial if isinstance(scale_factor, (int, float)) \
        else tuple(float(s) for s in scale_factor)
    if len(scales) != spatial:
        raise ValueError(f"Input and scale_factor must have the same number of spatial "
                         f"dimensions, but got input with spatial dimensions of "
                         f"{list(shape[2:])} and scale_factor of shape {list(scales)}. Please "
                         "provide input tensor in (N, C, d1, d2, ...,dK) format and scale_factor "
                         "in (s1, s2, ...,sK) format.")
    return tuple(math.floor(s * f) for s, f in zip(shape[2:], scales)), scales


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resize (N, C, L) or (N, C, H, W) input to ``size`` or by ``scale_factor``.

    Modes: ``'nearest'`` (3-D or 4-D), ``'linear'`` (3-D) and ``'bilinear'`` (4-D), with
    ``align_corners`` as in PyTorch (False by default: pixels are squares, not points).
    """
    if mode not in _MODES:
        raise NotImplementedError(
            f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.ndim}D) for the "
            f"modes: nearest | linear | bilinear | bicubic | trilinear | lanczos | area | "
            f"nearest-exact (got {mode})")
    if align_corners is not None and mode == "nearest":
        raise ValueError("align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")
    wanted = {"linear": 3, "bilinear": 4}.get(mode)
    if wanted is not None and input.ndim != wanted:
        raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs {wanted}D "
                                  "input")
    if mode not in ("nearest", "linear", "bilinear") or antialias:
        raise NotImplementedError(f"interpolate: mode '{mode}'"
                                  f"{' with antialias' if antialias else ''} is not implemented "
                                  "in handbook_lib; use 'nearest', 'linear' or 'bilinear'")
    if input.ndim not in (3, 4):
        raise NotImplementedError(f"Input Error: handbook_lib's interpolate supports 3D and 4D "
                                  f"input (got {input.ndim}D)")
    sizes, scales = _interpolate_sizes(input.shape, size, scale_factor)
    if recompute_scale_factor:
        scales = (None,) * len(sizes)
    x = input._data if input.ndim == 4 else input._data[:, :, None]
    sizes, scales = ((1,) + sizes, (None,) + scales) if input.ndim == 3 else (sizes, scales)
    if mode == "nearest":
        a_h, a_w = (nearest_matrix(s, o, f) for s, o, f in zip(x.shape[2:], sizes, scales))
        node = UpsampleNearest2DBackward0 if input.ndim == 4 else UpsampleNearest1DBackward0
    else:
        a_h, a_w = (linear_matrix(s, o, f, bool(align_corners))
                    for s, o, f in zip(x.shape[2:], sizes, scales))
        node = UpsampleBilinear2DBackward0 if input.ndim == 4 else UpsampleLinear1DBackward0
    out_shape = input.shape[:2] + tuple(sizes[-(input.ndim - 2):])
    return _separable(input, x, a_h, a_w, node, out_shape)


def upsample(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
             align_corners: bool | None = None) -> Tensor:
    """Deprecated alias of :func:`interpolate`, kept because old tutorials use it."""
    return interpolate(input, size, scale_factor, mode, align_corners)
