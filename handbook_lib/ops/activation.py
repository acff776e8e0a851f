"""Activation functions beyond the core's ``relu``/``sigmoid``/``tanh``.

Each has a forward on its input's array module (numpy or cupy, from ``xp_of``) and a backward written with tensor ops (differentiable again).
"""
from __future__ import annotations

import math

import numpy as np

from .._device import xp_of
from .._tensor import Tensor
from ..autograd.graph import Node
from ._util import record, wrap
from .arithmetic import where
from .elementwise import erf, exp, sigmoid, tanh


def _float_data(input: Tensor, name: str) -> np.ndarray:
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"{name}: expected a floating point input, got {input.dtype}; "
                           "convert first, e.g. x.float()")
    return input._data


class LeakyReluBackward0(Node):
    def backward(self, grad):
        (x,) = self.saved_tensors
        return where(x > 0, grad, grad * self.negative_slope)


def leaky_relu(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """x for x > 0, ``negative_slope`` · x otherwise."""
    x = _float_data(input, "leaky_relu")
    data = xp_of(x).where(x > 0, x, x * x.dtype.type(negative_slope))
    return record(wrap(data), LeakyReluBackward0, (input,), saved=(input,),
                  negative_slope=negative_slope)


class EluBackward0(Node):
    def backward(self, grad):
        (x,) = self.saved_tensors
        return where(x > 0, grad, grad * self.alpha * exp(x))


def elu(input: Tensor, alpha: float = 1.0) -> Tensor:
    """x for x > 0, α(eˣ − 1) otherwise."""
    x = _float_data(input, "elu")
    xp = xp_of(x)
    data = xp.where(x > 0, x, x.dtype.type(alpha) * xp.expm1(xp.minimum(x, 0)))
    return record(wrap(data), EluBackward0, (input,), saved=(input,), alpha=alpha)


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


class GeluBackward0(Node):
    def backward(self, grad):
        (x,) = self.saved_tensors
        if self.approximate == "tanh":
            inner = _SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)
            t = tanh(inner)
            d_inner = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
            return grad * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * d_inner)
        cdf = 0.5 * (1 + erf(x * (1 / math.sqrt(2.0))))
        pdf = exp(-0.5 * x * x) * (1 / math.sqrt(2 * math.pi))
        return grad * (cdf + x * pdf)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x · Φ(x) (Φ: the standard normal CDF); ``approximate='tanh'`` uses the tanh formula."""
    if approximate not in ("none", "tanh"):
        raise RuntimeError(f"approximate argument must be either none or tanh, got {approximate}")
    x = _float_data(input, "gelu")
    if approximate == "tanh":
        data = 0.5 * x * (1 + xp_of(x).tanh(x.dtype.type(_SQRT_2_OVER_PI) * (x + 0.044715 * x ** 3)))
    else:
        data = x * 0.5 * (1 + erf(wrap(x * x.dtype.type(1 / math.sqrt(2.0))))._data)
    return record(wrap(data.astype(x.dtype, copy=False)), GeluBackward0, (input,),
                  saved=(input,), approximate=approximate)


class SoftplusBackward0(Node):
    def backward(self, grad):
        (x,) = self.saved_tensors
        scaled = x * self.beta
        return where(scaled > self.threshold, grad, grad * sigmoid(scaled))


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """(1/β) log(1 + e^{βx}); linear (x) where βx > ``threshold``, for numerical stability."""
    x = _float_data(input, "softplus")
    scaled = x * x.dtype.type(beta)
    xp = xp_of(x)
    smooth = (xp.logaddexp(0, scaled) / x.dtype.type(beta)).astype(x.dtype, copy=False)
    data = xp.where(scaled > threshold, x, smooth)
    return record(wrap(data), SoftplusBackward0, (input,), saved=(input,), beta=beta,
                  threshold=threshold)


class HardtanhBackward0(Node):
    def backward(self, grad):
        (x,) = self.saved_tensors
        return where((x > self.min_val) & (x < self.max_val), grad, grad * 0)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """x clipped to [min_val, max_val] (gradient 0 outside)."""
    x = _float_data(input, "hardtanh")
    return record(wrap(xp_of(x).clip(x, min_val, max_val)), HardtanhBackward0, (input,),
                  saved=(input,), min_val=min_val, max_val=max_val)


def relu6(input: Tensor) -> Tensor:
    """min(max(0, x), 6)."""
    return hardtanh(input, 0.0, 6.0)


class SiluBackward0(Node):
    def backward(self, grad):
        (x,) = self.saved_tensors
        s = sigmoid(x)
        return grad * s * (1 + x * (1 - s))


def silu(input: Tensor) -> Tensor:
    """x · σ(x) (also called swish)."""
    x = _float_data(input, "silu")
    return record(wrap(x * sigmoid(wrap(x))._data), SiluBackward0, (input,), saved=(input,))


__all__ = ["leaky_relu", "elu", "gelu", "softplus", "hardtanh", "relu6", "silu"]
