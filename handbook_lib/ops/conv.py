"""Convolutions (NCHW, as PyTorch) as im2col + one matrix product.

im2col ("image to columns") copies every receptive field of the input into one column::

    input  (N, C, H, W)    ──im2col──▶  col (C·kh·kw, N·Ho·Wo)
    weight (O, C, kh, kw)  ──reshape─▶  (O, C·kh·kw)
    weight @ col           ──────────▶  (O, N·Ho·Wo)  ──transpose──▶  output (N, O, Ho, Wo)

The copy is a single call: a strided *view* of the padded input whose axes are
(C, kh, kw, N, Ho, Wo) (``as_strided`` moves no data) is made contiguous. Backward is two more
products, ``grad_weight = grad @ colᵀ`` and ``grad_col = weightᵀ @ grad``, then col2im, which adds
the slice of ``grad_col`` that belongs to each kernel offset back where it was copied from (a loop
over the kh·kw offsets, never over pixels or the batch). With ``groups`` the matrices are split
into ``groups`` blocks and the product is batched over the blocks.

A transposed convolution is the adjoint of a convolution: its forward is the convolution's
input gradient and its backward is a convolution, so both share these pieces.
Gradients are computed on raw arrays for speed; double backward is not supported.
"""
from __future__ import annotations

import math
from typing import Sequence

from .._device import xp_of
from .._tensor import Tensor
from ..autograd.grad_mode import STATE
from ..autograd.graph import Node
from ._util import check_same_device, record, wrap

Pads = tuple  # ((top, bottom), (left, right))

_TYPE_NAMES = {"float16": "Half", "float32": "Float", "float64": "Double", "int64": "Long",
               "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}


# --- argument handling -----------------------------------------------------------------------
def _tuple(value, name: str, n: int) -> tuple:
    """An int or a sequence of ``n`` ints as an ``n``-tuple (PyTorch's error otherwise)."""
    if isinstance(value, int):
        return (value,) * n
    values = tuple(int(v) for v in value)
    if len(values) == 1:
        return values * n
    if len(values) != n:
        raise RuntimeError(
            f"expected {name} to be a single integer value or a list of {n} values to match the "
            f"convolution dimensions, but got {name}={list(values)}")
    return values


def _conv_pads(padding, kernel: tuple, stride: tuple, dilation: tuple) -> Pads:
    """Per-side padding for an int, a tuple, ``'valid'`` or ``'same'``."""
    if isinstance(padding, str):
        if padding == "valid":
            return tuple((0, 0) for _ in kernel)
        if padding != "same":
            raise RuntimeError(f"Invalid padding string: '{padding}'")
        if any(s != 1 for s in stride):
            raise RuntimeError("padding='same' is not supported for strided convolutions")
        totals = [d * (k - 1) for d, k in zip(dilation, kernel)]
        return tuple((t // 2, t - t // 2) for t in totals)  # the odd pixel goes on the far side
    pads = _tuple(padding, "padding", len(kernel))
    if any(p < 0 for p in pads):
        raise RuntimeError("negative padding is not supported")
    return tuple((p, p) for p in pads)


def _check_kernel_size(kernel: tuple) -> None:
    if any(k <= 0 for k in kernel):
        raise RuntimeError(f"kernel size should be greater than zero, but got kernel_height: "
                           f"{kernel[-2] if len(kernel) > 1 else 1} kernel_width: {kernel[-1]}")


def _check_geometry(stride: tuple, dilation: tuple) -> None:
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError("non-positive dilation is not supported")


def _type_name(array) -> str:
    return _TYPE_NAMES[array.dtype.name]


def _check_operands(name: str, input: Tensor, weight: Tensor, bias: Tensor | None,
                    out_channels: int) -> None:
    check_same_device(input, weight, *([bias] if bias is not None else []))
    if input._data.dtype != weight._data.dtype:
        raise RuntimeError(f"expected scalar type {_type_name(input._data)} but found "
                           f"{_type_name(weight._data)}")
    if input._data.dtype.kind != "f":
        raise RuntimeError(f'"{name}" not implemented for \'{_type_name(input._data)}\'')
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != out_channels):
        raise RuntimeError(
            f"Given weight of size {list(weight.shape)}, expected bias to be 1-dimensional with "
            f"{out_channels} elements, but got bias of size {list(bias.shape)} instead")


def _batched(name: str, input: Tensor, spatial: int) -> bool:
    """Whether ``input`` has a batch dim; PyTorch's error for a wrong rank."""
    if input.ndim == spatial + 2:
        return True
    if input.ndim == spatial + 1:
        return False
    raise RuntimeError(
        f"Expected {spatial + 1}D (unbatched) or {spatial + 2}D (batched) input to {name}, but "
        f"got input of size: {list(input.shape)}")


def _size_text(sizes: Sequence[int]) -> str:
    return " x ".join(str(s) for s in sizes)


# --- array kernels ---------------------------------------------------------------------------
def pad_array(x, pads: Pads, value: float = 0.0):
    """``x`` (N, C, H, W) with ``pads`` rows/columns of ``value`` added around H and W."""
    (top, bottom), (left, right) = pads
    if not (top or bottom or left or right):
        return x
    n, c, h, w = x.shape
    out = xp_of(x).empty((n, c, h + top + bottom, w + left + right), dtype=x.dtype)
    out.fill(value)
    out[:, :, top:top + h, left:left + w] = x
    return out


def crop_array(x, pads: Pads):
    """Remove ``pads`` from the borders of ``x`` (the inverse of :func:`pad_array`)."""
    (top, bottom), (left, right) = pads
    h, w = x.shape[2:]
    return x[:, :, top:h - bottom, left:w - right]


def output_size(size: int, kernel: int, stride: int, dilation: int) -> int:
    """Output length of a (padded) input of length ``size``."""
    return (size - dilation * (kernel - 1) - 1) // stride + 1


def im2col(x, kernel: tuple, stride: tuple, dilation: tuple):
    """Receptive fields of a padded ``x`` (N, C, H, W) as a (C, kh, kw, N, Ho, Wo) array.

    ``col[c, i, j, n, y, x] = x[n, c, y·sh + i·dh, x·sw + j·dw]``: a strided view, copied once.
    """
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    ho, wo = output_size(h, kh, sh, dh), output_size(w, kw, sw, dw)
    bn, bc, bh, bw = x.strides
    xp = xp_of(x)
    view = xp.lib.stride_tricks.as_strided(
        x, (c, kh, kw, n, ho, wo), (bc, bh * dh, bw * dw, bn, bh * sh, bw * sw))
    return xp.ascontiguousarray(view)


def col2im(col, shape: tuple, stride: tuple, dilation: tuple):
    """The adjoint of :func:`im2col`: add every entry of ``col`` to the pixel it came from.

    ``col`` is (C, kh, kw, Ho, Wo, N), batch *last*, and the sums go to a (C, H, W, N) buffer:
    then each kernel offset's addition runs over rows of Wo·N contiguous numbers instead of Wo.
    Returns an (N, C, H, W) view of that buffer.
    """
    c, kh, kw, ho, wo, n = col.shape
    (sh, sw), (dh, dw) = stride, dilation
    out = xp_of(col).zeros((shape[1], shape[2], shape[3], shape[0]), dtype=col.dtype)
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * dh, i * dh + sh * (ho - 1) + 1, sh)
            cols = slice(j * dw, j * dw + sw * (wo - 1) + 1, sw)
            out[:, rows, cols] += col[:, i, j]
    return out.transpose(3, 0, 1, 2)


def channels_first(x):
    """(N, C, H, W) → contiguous (C, N·H·W): the layout of im2col's columns."""
    n, c = x.shape[:2]
    pixels = math.prod(x.shape[2:])  # explicit sizes: an empty batch has no -1 to infer
    return xp_of(x).ascontiguousarray(x.reshape(n, c, pixels).transpose(1, 0, 2)).reshape(
        c, n * pixels)


def channels_first_batch_last(x):
    """(N, C, H, W) → contiguous (C, H·W·N): the layout :func:`col2im` takes."""
    return xp_of(x).ascontiguousarray(x.transpose(1, 2, 3, 0)).reshape(
        x.shape[1], math.prod(x.shape[2:]) * x.shape[0])


def _grouped(matrix, groups: int):
    """A (rows, cols) matrix as ``groups`` blocks of rows: (groups, rows/groups, cols)."""
    return matrix.reshape(groups, matrix.shape[0] // groups, matrix.shape[1])


def _matmul(a, b):
    """Blockwise product of (g, m, k) and (g, k, n) blocks; a single BLAS call when g == 1."""
    if a.shape[0] == 1:
        return (a[0] @ b[0])[None]
    return a @ b


def conv_forward(x, weight, bias, stride: tuple, dilation: tuple, groups: int):
    """Convolution of an already padded ``x``. Returns the output (N, O, Ho, Wo) and col."""
    n = x.shape[0]
    o, _, kh, kw = weight.shape
    col = im2col(x, (kh, kw), stride, dilation)
    ho, wo = col.shape[4:]
    product = _matmul(_grouped(weight.reshape(o, -1), groups),
                      _grouped(col.reshape(math.prod(col.shape[:3]), n * ho * wo), groups))
    return to_batch_first(product.reshape(o, n, ho, wo), bias), col


def to_batch_first(product, bias=None):
    """(O, N, H, W) → contiguous (N, O, H, W), adding ``bias`` in the same pass."""
    o, n, h, w = product.shape
    xp = xp_of(product)
    out = xp.empty((n, o, h, w), dtype=product.dtype)
    source = product.transpose(1, 0, 2, 3)
    if bias is None:
        xp.copyto(out, source)
    else:
        xp.add(source, bias.reshape(1, o, 1, 1), out=out)
    return out


def grad_weight(grad_t, col, groups: int, shape: tuple):
    """``grad @ colᵀ`` per group (grad_t is (O, M), col (C·kh·kw, M)), computed as
    ``(col @ gradᵀ)ᵀ``: the long M axis is then contiguous in both operands, which OpenBLAS
    runs faster."""
    g_col = _grouped(col.reshape(math.prod(col.shape[:3]), grad_t.shape[1]), groups)
    product = _matmul(g_col, _grouped(grad_t, groups).transpose(0, 2, 1))
    return product.transpose(0, 2, 1).reshape(shape)


def grad_col(weight, grad_t, groups: int, col_shape: tuple):
    """``weightᵀ @ grad`` per group, shaped (C, kh, kw, Ho, Wo, N) for :func:`col2im`;
    ``grad_t`` is (O, Ho·Wo·N)."""
    w = _grouped(weight.reshape(weight.shape[0], -1), groups)
    w_t = xp_of(w).ascontiguousarray(w.transpose(0, 2, 1))  # small; BLAS prefers it contiguous
    return _matmul(w_t, _grouped(grad_t, groups)).reshape(col_shape)


def no_double_backward(name: str) -> None:
    if STATE.enabled:
        raise RuntimeError(
            f"double backward through {name} is not supported by handbook_lib (its backward runs "
            "on raw arrays): call backward without create_graph=True")


class ConvolutionBackward0(Node):
    """Gradients of a convolution (``transposed=False``) or a transposed convolution."""

    def backward(self, grad):
        no_double_backward("convolution")
        weight, saved = self.saved_tensors
        g = grad._data.reshape(self.out_shape)  # 4-D even for conv1d
        w = weight._data.reshape(weight.shape[:2] + self.kernel)
        needs_input, needs_weight, needs_bias = self.needs_input_grad
        if self.transposed:
            gx, gw = self._transposed_grads(g, w, saved, needs_input, needs_weight)
        else:
            gx, gw = self._conv_grads(g, w, saved, needs_input, needs_weight)
        gb = wrap(g.sum(axis=(0, 2, 3))) if needs_bias else None
        return gx, gw, gb

    def _conv_grads(self, g, w, col, needs_input: bool, needs_weight: bool) -> tuple:
        gx = gw = None
        if needs_weight:
            gw = grad_weight(channels_first(g), col, self.groups, w.shape)
            gw = wrap(gw.reshape(self.weight_shape))
        if needs_input:
            n, c = self.padded_shape[:2]
            gcol = grad_col(w, channels_first_batch_last(g), self.groups,
                            (c,) + w.shape[2:] + g.shape[2:] + (n,))
            gx_padded = col2im(gcol, self.padded_shape, self.stride, self.dilation)
            gx = wrap(crop_array(gx_padded, self.pads).reshape(self.input_shape))
        return gx, gw

    def _transposed_grads(self, g, w, x_t, needs_input: bool, needs_weight: bool) -> tuple:
        rows, cols = self.conv_input_size  # output_padding may leave rows no window reaches
        padded = pad_array(g, self.pads)[:, :, :rows, :cols]
        col = im2col(padded, w.shape[2:], self.stride, self.dilation)
        gx = gw = None
        if needs_weight:
            gw = wrap(grad_weight(x_t, col, self.groups, w.shape).reshape(self.weight_shape))
        if needs_input:
            product = _matmul(_grouped(w.reshape(w.shape[0], -1), self.groups),
                              _grouped(col.reshape(math.prod(col.shape[:3]), math.prod(col.shape[3:])),
                                       self.groups))
            gx = to_batch_first(product.reshape((w.shape[0],) + col.shape[3:]))
            gx = wrap(gx.reshape(self.input_shape))
        return gx, gw


# --- public functions ------------------------------------------------------------------------
def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """2-D convolution (cross-correlation, as in PyTorch) of ``input`` (N, C, H, W) or (C, H, W).

    ``weight`` is (out_channels, in_channels / groups, kh, kw). ``padding`` is an int, a pair,
    ``'valid'`` (none) or ``'same'`` (output as large as the input; stride 1 only).
    """
    if weight.ndim != 4:
        raise RuntimeError(f"conv2d: expected a 4-D weight (out_channels, in_channels / groups, "
                           f"kH, kW), but got weight of size {list(weight.shape)}")
    return _convolution("conv2d", input, weight, bias, stride, padding, dilation, groups, 2)


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """1-D convolution of ``input`` (N, C, L) or (C, L); ``weight`` is (out, in / groups, k)."""
    if weight.ndim != 3:
        raise RuntimeError(f"conv1d: expected a 3-D weight (out_channels, in_channels / groups, "
                           f"kW), but got weight of size {list(weight.shape)}")
    return _convolution("conv1d", input, weight, bias, stride, padding, dilation, groups, 1)


def _convolution(name: str, input: Tensor, weight: Tensor, bias: Tensor | None, stride, padding,
                 dilation, groups: int, spatial: int) -> Tensor:
    batched = _batched(name, input, spatial)
    kernel = tuple(weight.shape[2:])
    _check_kernel_size(kernel)
    stride, dilation = _tuple(stride, "stride", spatial), _tuple(dilation, "dilation", spatial)
    _check_geometry(stride, dilation)
    pads = _conv_pads(padding, kernel, stride, dilation)
    out_channels = weight.shape[0]
    _check_operands(name, input, weight, bias, out_channels)
    x = input._data if batched else input._data[None]
    _check_channels(x.shape, weight.shape, groups, transposed=False)
    if spatial == 1:  # a 1-D signal is an image one pixel high
        x, kernel, stride, dilation = x[:, :, None], (1,) + kernel, (1,) + stride, (1,) + dilation
        pads = ((0, 0),) + pads
    _check_kernel_fits(x.shape[2:], pads, kernel, dilation, spatial)
    w = weight._data.reshape(weight.shape[:2] + kernel)
    padded = pad_array(x, pads)
    out, col = conv_forward(padded, w, None if bias is None else bias._data, stride, dilation,
                            groups)
    shape = out.shape if spatial == 2 else out.shape[:2] + out.shape[3:]
    result = wrap(out.reshape(shape if batched else shape[1:]))
    return record(result, ConvolutionBackward0, (input, weight, bias),
                  saved=(weight, col if weight._requires_grad else None), transposed=False,
                  kernel=kernel, stride=stride, dilation=dilation, pads=pads, groups=groups,
                  padded_shape=padded.shape, input_shape=input.shape, out_shape=out.shape,
                  weight_shape=weight.shape)


def _check_channels(x_shape: tuple, w_shape: tuple, groups: int, transposed: bool) -> None:
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    if w_shape[0] % groups:
        raise RuntimeError(
            f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
            f"but got weight of size [{list(w_shape)}] instead")
    expected = w_shape[0] if transposed else w_shape[1] * groups
    if x_shape[1] != expected:
        prefix = "transposed=1" if transposed else f"groups={groups}"
        raise RuntimeError(
            f"Given {prefix}, weight of size {list(w_shape)}, expected input{list(x_shape)} to "
            f"have {expected} channels, but got {x_shape[1]} channels instead")


def _check_kernel_fits(sizes: tuple, pads: Pads, kernel: tuple, dilation: tuple,
                       spatial: int) -> None:
    padded = [s + a + b for s, (a, b) in zip(sizes, pads)]
    effective = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    if any(e > p for e, p in zip(effective, padded)):
        shown_p, shown_k = (padded, effective) if spatial == 2 else (padded[1:], effective[1:])
        raise RuntimeError(
            f"Calculated padded input size per channel: ({_size_text(shown_p)}). Kernel size: "
            f"({_size_text(shown_k)}). Kernel size can't be greater than actual input size")


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """Transposed 2-D convolution ("deconvolution"): the adjoint of :func:`conv2d`.

    ``weight`` is (in_channels, out_channels / groups, kh, kw). The output height is
    ``(H - 1)·stride - 2·padding + dilation·(kh - 1) + output_padding + 1``.
    """
    batched = _batched("conv_transpose2d", input, 2)
    if weight.ndim != 4:
        raise RuntimeError(f"conv_transpose2d: expected a 4-D weight (in_channels, out_channels "
                           f"/ groups, kH, kW), but got weight of size {list(weight.shape)}")
    stride, dilation = _tuple(stride, "stride", 2), _tuple(dilation, "dilation", 2)
    _check_geometry(stride, dilation)
    pad = _tuple(padding, "padding", 2)
    extra = _tuple(output_padding, "output_padding", 2)
    if any(p < 0 for p in pad):
        raise RuntimeError("negative padding is not supported")
    if any(e >= s and e >= d for e, s, d in zip(extra, stride, dilation)):
        raise RuntimeError(
            "output padding must be smaller than either stride or dilation, but got "
            f"output_padding_height: {extra[0]} output_padding_width: {extra[1]} stride_height: "
            f"{stride[0]} stride_width: {stride[1]} dilation_height: {dilation[0]} "
            f"dilation_width: {dilation[1]}")
    out_channels = weight.shape[1] * groups
    _check_operands("conv_transpose2d", input, weight, bias, out_channels)
    x = input._data if batched else input._data[None]
    _check_channels(x.shape, weight.shape, groups, transposed=True)
    w = weight._data
    n, _, h, wd = x.shape
    kh, kw = w.shape[2:]
    reach = tuple((size - 1) * s + d * (k - 1) + 1  # rows/columns the windows cover
                  for size, s, d, k in zip((h, wd), stride, dilation, (kh, kw)))
    padded_shape = (n, out_channels) + tuple(r + e for r, e in zip(reach, extra))
    pads = tuple((p, p) for p in pad)
    if any(size - a - b <= 0 for size, (a, b) in zip(padded_shape[2:], pads)):
        raise RuntimeError(f"Given input size per channel: ({h} x {wd}). Calculated output "
                           "size is too small: reduce padding or increase the input size")
    cols = grad_col(w, channels_first_batch_last(x), groups, (out_channels, kh, kw, h, wd, n))
    out = crop_array(col2im(cols, padded_shape, stride, dilation), pads)
    out = xp_of(out).ascontiguousarray(out)
    if bias is not None:
        out += bias._data.reshape(1, -1, 1, 1)
    result = wrap(out if batched else out[0])
    x_t = channels_first(x) if weight._requires_grad else None
    return record(result, ConvolutionBackward0, (input, weight, bias),
                  saved=(weight, x_t), transposed=True,
                  kernel=(kh, kw), stride=stride, dilation=dilation, pads=pads, groups=groups,
                  conv_input_size=reach,
                  input_shape=input.shape, out_shape=out.shape, weight_shape=weight.shape)
