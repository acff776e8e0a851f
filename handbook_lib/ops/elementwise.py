"""Elementwise math on one tensor. Each op: a numpy forward and a backward written with tensor
ops (so it can be differentiated again). Ops whose derivative is easiest from their result
(exp, tanh, sigmoid, sqrt) save the output instead of the input."""
from __future__ import annotations

from typing import Callable

import numpy as np

from .._device import xp_of
from .._tensor import Tensor
from ..autograd.graph import Node
from ._util import OUTPUT, inplace, record, wrap, write_out


def _unary(name: str, forward: Callable, node_cls: type | None, save_output: bool = False,
           float_only: bool = True) -> Callable:
    """Build ``op(input, *, out=None)`` from a numpy ``forward`` and a backward node class."""

    def op(input: Tensor, *, out: Tensor | None = None) -> Tensor:
        data = input._data
        if float_only and data.dtype.kind != "f":
            from .._dtype import get_default_dtype

            data = data.astype(get_default_dtype().np_dtype)
        result = wrap(forward(data))  # inf/nan come silently (see the warning filter in __init__)
        if node_cls is not None:
            record(result, node_cls, (input,), saved=(OUTPUT if save_output else input,))
        return write_out(result, out)

    op.__name__ = name
    op.__doc__ = f"Elementwise ``{name}``."
    return op


class NegBackward0(Node):
    def backward(self, grad):
        return -grad


class AbsBackward0(Node):
    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad * sign(x)


class ExpBackward0(Node):
    def backward(self, grad):
        (out,) = self.saved_tensors
        return grad * out


class Expm1Backward0(Node):
    def backward(self, grad):
        (out,) = self.saved_tensors
        return grad * (out + 1)


class LogBackward0(Node):
    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad / x


class Log2Backward0(Node):
    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad / (x * float(np.log(2.0)))


class Log10Backward0(Node):
    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad / (x * float(np.log(10.0)))


class Log1PBackward0(Node):
    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad / (x + 1)


class SqrtBackward0(Node):
    def backward(self, grad):
        (out,) = self.saved_tensors
        return grad / (2 * out)


class RsqrtBackward0(Node):
    def backward(self, grad):
        (out,) = self.saved_tensors
        return -0.5 * grad * out * out * out


class ReciprocalBackward0(Node):
    def backward(self, grad):
        (out,) = self.saved_tensors
        return -grad * out * out


class SinBackward0(Node):
    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad * cos(x)


class CosBackward0(Node):
    def backward(self, grad):
        (x,) = self.saved_tensors
        return -grad * sin(x)


class TanhBackward0(Node):
    def backward(self, grad):
        (out,) = self.saved_tensors
        return tanh_backward(grad, out)


class SigmoidBackward0(Node):
    def backward(self, grad):
        (out,) = self.saved_tensors
        return sigmoid_backward(grad, out)


class ReluBackward0(Node):
    def backward(self, grad):
        (out,) = self.saved_tensors
        return threshold_backward(grad, out)


# The three backward formulas above are ops of their own, as in PyTorch: one array expression
# instead of three tensor ops on the hot path, and still differentiable for create_graph.
class TanhBackwardBackward0(Node):
    def backward(self, grad):
        upstream, out = self.saved_tensors
        return grad * (1 - out * out), -2 * grad * upstream * out


def tanh_backward(grad: Tensor, out: Tensor) -> Tensor:
    """``grad · (1 − out²)``: the gradient through ``out = tanh(x)``."""
    data = grad._data * (1 - out._data * out._data)
    return record(wrap(data), TanhBackwardBackward0, (grad, out), saved=(grad, out))


class SigmoidBackwardBackward0(Node):
    def backward(self, grad):
        upstream, out = self.saved_tensors
        return grad * out * (1 - out), grad * upstream * (1 - 2 * out)


def sigmoid_backward(grad: Tensor, out: Tensor) -> Tensor:
    """``grad · out · (1 − out)``: the gradient through ``out = sigmoid(x)``."""
    data = grad._data * out._data * (1 - out._data)
    return record(wrap(data), SigmoidBackwardBackward0, (grad, out), saved=(grad, out))


class ThresholdBackwardBackward0(Node):
    def backward(self, grad):
        (out,) = self.saved_tensors
        return threshold_backward(grad, out), None


def threshold_backward(grad: Tensor, out: Tensor) -> Tensor:
    """``grad`` where ``out > 0``, else 0: the gradient through ``out = relu(x)``."""
    data = grad._data * (out._data > 0)
    return record(wrap(data), ThresholdBackwardBackward0, (grad, None), saved=(out,))


class ErfBackward0(Node):
    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad * (2.0 / np.sqrt(np.pi)) * exp(-x * x)


class ZeroGradBackward(Node):
    """Piecewise-constant ops (sign, floor, round...): the gradient is zero almost everywhere."""

    def backward(self, grad):
        return grad * 0


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-x) without overflow warnings for large |x|."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0)


def _erf(x: np.ndarray) -> np.ndarray:
    """The error function, from scipy (numpy has none)."""
    from scipy.special import erf as scipy_erf

    return scipy_erf(x).astype(x.dtype, copy=False)


def _round(x: np.ndarray) -> np.ndarray:
    return np.round(x)


def _negative(x):
    if x.dtype.kind == "b":
        raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If you "
                           "are trying to invert a mask, use the `~` or `logical_not()` operator "
                           "instead.")
    return xp_of(x).negative(x)


neg = _unary("neg", _negative, NegBackward0, float_only=False)
abs = _unary("abs", np.abs, AbsBackward0, float_only=False)
exp = _unary("exp", np.exp, ExpBackward0, save_output=True)
expm1 = _unary("expm1", np.expm1, Expm1Backward0, save_output=True)
log = _unary("log", np.log, LogBackward0)
log2 = _unary("log2", np.log2, Log2Backward0)
log10 = _unary("log10", np.log10, Log10Backward0)
log1p = _unary("log1p", np.log1p, Log1PBackward0)
sqrt = _unary("sqrt", np.sqrt, SqrtBackward0, save_output=True)
rsqrt = _unary("rsqrt", lambda x: 1 / np.sqrt(x), RsqrtBackward0, save_output=True)
reciprocal = _unary("reciprocal", np.reciprocal, ReciprocalBackward0, save_output=True)
sin = _unary("sin", np.sin, SinBackward0)
cos = _unary("cos", np.cos, CosBackward0)
tanh = _unary("tanh", np.tanh, TanhBackward0, save_output=True)
sigmoid = _unary("sigmoid", _sigmoid, SigmoidBackward0, save_output=True)
relu = _unary("relu", _relu, ReluBackward0, save_output=True, float_only=False)
erf = _unary("erf", _erf, ErfBackward0)
sign = _unary("sign", np.sign, ZeroGradBackward, float_only=False)
floor = _unary("floor", np.floor, ZeroGradBackward, float_only=False)
ceil = _unary("ceil", np.ceil, ZeroGradBackward, float_only=False)
round = _unary("round", _round, ZeroGradBackward, float_only=False)
trunc = _unary("trunc", np.trunc, ZeroGradBackward, float_only=False)
negative = neg
absolute = abs


def isnan(input: Tensor) -> Tensor:
    return wrap(np.isnan(input._data))


def isinf(input: Tensor) -> Tensor:
    return wrap(np.isinf(input._data))


def isfinite(input: Tensor) -> Tensor:
    return wrap(np.isfinite(input._data))


def nan_to_num(input: Tensor, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None) -> Tensor:
    return wrap(np.nan_to_num(input._data, nan=nan, posinf=posinf, neginf=neginf))


def _make_inplace(op: Callable) -> Callable:
    def op_(self: Tensor) -> Tensor:
        return inplace(self, op)

    op_.__name__ = op.__name__ + "_"
    op_.__doc__ = f"In-place ``{op.__name__}``."
    return op_


neg_, abs_, exp_, log_, sqrt_, sin_, cos_, tanh_, sigmoid_, relu_, floor_, ceil_, round_ = (
    _make_inplace(f) for f in (neg, abs, exp, log, sqrt, sin, cos, tanh, sigmoid, relu, floor,
                               ceil, round))

__all__ = [name for name in dir() if not name.startswith("_") and name not in (
    "Callable", "Node", "Tensor", "np", "annotations", "inplace", "record", "wrap", "write_out",
    "OUTPUT")]
