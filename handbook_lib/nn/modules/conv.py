"""Convolution layers: ``Conv1d``, ``Conv2d`` and ``ConvTranspose2d`` (kernels in ops/conv.py)."""
from __future__ import annotations

import math

from ..._tensor import Tensor
from ...ops.conv import conv1d, conv2d, conv_transpose2d
from ...ops.creation import empty
from ...ops.layers import pad
from .. import init
from ..parameter import Parameter
from .module import Module

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _ntuple(value, n: int) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * n


class _ConvNd(Module):
    """What every convolution layer shares: arguments, parameters, PyTorch's init and repr.

    ``weight`` is (out_channels, in_channels / groups, *kernel_size) for a convolution and
    (in_channels, out_channels / groups, *kernel_size) for a transposed one. Initialisation is
    PyTorch's: Kaiming-uniform with a = √5, i.e. U(−1/√fan_in, 1/√fan_in), bias from the same range.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride, padding,
                 dilation, transposed: bool, output_padding, groups: int, bias: bool,
                 padding_mode: str, n: int, device=None, dtype=None) -> None:
        super().__init__()
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size, self.stride = _ntuple(kernel_size, n), _ntuple(stride, n)
        self.dilation, self.output_padding = _ntuple(dilation, n), _ntuple(output_padding, n)
        self.padding = self._check_padding(padding, n)
        self.transposed = transposed
        self.padding_mode = self._check_padding_mode(padding_mode, transposed)
        shape = ((in_channels, out_channels // groups) if transposed
                 else (out_channels, in_channels // groups)) + self.kernel_size
        self.weight = Parameter(empty(shape, device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_channels, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def _check_padding(self, padding, n: int):
        if not isinstance(padding, str):
            return _ntuple(padding, n)
        if padding not in ("same", "valid"):
            raise ValueError(f"Invalid padding string {padding!r}, should be one of "
                             "{'valid', 'same'}")
        if padding == "same" and any(s != 1 for s in self.stride):
            raise ValueError("padding='same' is not supported for strided convolutions")
        return padding

    @staticmethod
    def _check_padding_mode(padding_mode: str, transposed: bool) -> str:
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {list(_PADDING_MODES)}, but got "
                             f"padding_mode='{padding_mode}'")
        if transposed and padding_mode != "zeros":
            raise ValueError('Only "zeros" padding mode is supported for ConvTranspose2d')
        return padding_mode

    def _padded_input(self, input: Tensor) -> tuple:
        """``(input, padding)`` for the convolution call. With ``padding_mode`` other than
        'zeros' the input is padded first (reflect, replicate or circular), as PyTorch does,
        and the convolution itself then pads nothing."""
        if self.padding_mode == "zeros":
            return input, self.padding
        amounts = []
        for i in reversed(range(len(self.kernel_size))):  # F.pad lists the last dim first
            if self.padding == "same":
                total = self.dilation[i] * (self.kernel_size[i] - 1)
                amounts += [total // 2, total - total // 2]
            elif self.padding != "valid":
                amounts += [self.padding[i], self.padding[i]]
            else:
                amounts += [0, 0]
        return pad(input, amounts, mode=self.padding_mode), 0

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * len(self.kernel_size):
            s += f", padding={self.padding}"
        if self.dilation != (1,) * len(self.dilation):
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * len(self.output_padding):
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv1d(_ConvNd):
    """1-D convolution over (N, C_in, L) → (N, C_out, L_out)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device=None, dtype=None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         False, 0, groups, bias, padding_mode, 1, device, dtype)

    def forward(self, input: Tensor) -> Tensor:
        input, padding = self._padded_input(input)
        return conv1d(input, self.weight, self.bias, self.stride, padding, self.dilation,
                      self.groups)


class Conv2d(_ConvNd):
    """2-D convolution over (N, C_in, H, W) → (N, C_out, H_out, W_out), with
    ``H_out = ⌊(H + 2·padding − dilation·(k − 1) − 1) / stride⌋ + 1``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device=None, dtype=None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         False, 0, groups, bias, padding_mode, 2, device, dtype)

    def forward(self, input: Tensor) -> Tensor:
        input, padding = self._padded_input(input)
        return conv2d(input, self.weight, self.bias, self.stride, padding, self.dilation,
                      self.groups)


class ConvTranspose2d(_ConvNd):
    """Transposed 2-D convolution (the gradient of ``Conv2d`` with respect to its input), used
    to upsample: ``H_out = (H − 1)·stride − 2·padding + dilation·(k − 1) + output_padding + 1``.
    ``forward(input, output_size)`` picks ``output_padding`` to reach ``output_size``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                 padding_mode: str = "zeros", device=None, dtype=None) -> None:
        if isinstance(padding, str):
            raise ValueError(f"padding={padding!r} is not supported for ConvTranspose2d")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         True, output_padding, groups, bias, padding_mode, 2, device, dtype)

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        extra = self._output_padding(input, output_size)
        return conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding, extra,
                                self.groups, self.dilation)

    def _output_padding(self, input: Tensor, output_size) -> tuple:
        if output_size is None:
            return self.output_padding
        sizes = [int(s) for s in output_size][-2:]
        if len(sizes) != 2:
            raise ValueError(f"ConvTranspose2D: for {input.ndim}D input, output_size must have 2 "
                             f"or 4 elements (got {len(list(output_size))})")
        extra = []
        for d in range(2):
            smallest = ((input.shape[d - 2] - 1) * self.stride[d] - 2 * self.padding[d]
                        + self.dilation[d] * (self.kernel_size[d] - 1) + 1)
            largest = smallest + self.stride[d] - 1
            if not smallest <= sizes[d] <= largest:
                raise ValueError(f"requested an output size of {sizes}, but valid sizes range "
                                 f"from {[smallest, smallest]} to {[largest, largest]} (for an "
                                 f"input of {list(input.shape[2:])})")
            extra.append(sizes[d] - smallest)
        return tuple(extra)
