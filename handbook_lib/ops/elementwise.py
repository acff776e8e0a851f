"""Elementwise math on one tensor. Each op: a forward on the array module of its input (numpy or
cupy, from ``xp_of``) and a backward written with tensor ops (so it can be differentiated again). Ops whose derivative is easiest from their result
(exp, tanh, sigmoid, sqrt) save the output instead of the input."""
from __future__ import annotations

import math
from typing import Callable

from .._device import special_functions, xp_of
from .._tensor import Tensor
from ..autograd.graph import Node
from . import fused
from ._util import OUTPUT, inplace, record, wrap, write_out


def _unary(name: str, forward: "str | Callable", node_cls: type | None,
           save_output: bool = False, float_only: bool = True) -> Callable:
    """Build ``op(input, *, out=None)`` from a forward and a backward node class.

    ``forward`` names a function of the array module (``"exp"``: ``xp.exp``) or is a function
    ``forward(xp, data)``, run with numpy or cupy, whichever holds the input."""

    def op(input: Tensor, *, out: Tensor | None = None) -> Tensor:
        data = input._data
        if float_only and data.dtype.kind != "f":
            from .._dtype import get_default_dtype

            data = data.astype(get_default_dtype().np_dtype)
        xp = xp_of(data)
        # inf/nan come silently (see the warning filter in __init__)
        result = wrap(getattr(xp, forward)(data) if forward.__class__ is str else forward(xp, data))
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
        return grad / (x * math.log(2.0))


class Log10Backward0(Node):
    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad / (x * math.log(10.0))


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
# instead of three tensor ops on the hot path (one kernel on a GPU: handbook_lib.ops.fused),
# and still differentiable for create_graph.
class TanhBackwardBackward0(Node):
    def backward(self, grad):
        upstream, out = self.saved_tensors
        return grad * (1 - out * out), -2 * grad * upstream * out


def tanh_backward(grad: Tensor, out: Tensor) -> Tensor:
    """``grad · (1 − out²)``: the gradient through ``out = tanh(x)``."""
    data = fused.tanh_grad(xp_of(out._data))(grad._data, out._data)
    return record(wrap(data), TanhBackwardBackward0, (grad, out), saved=(grad, out))


class SigmoidBackwardBackward0(Node):
    def backward(self, grad):
        upstream, out = self.saved_tensors
        return grad * out * (1 - out), grad * upstream * (1 - 2 * out)


def sigmoid_backward(grad: Tensor, out: Tensor) -> Tensor:
    """``grad · out · (1 − out)``: the gradient through ``out = sigmoid(x)``."""
    data = fused.sigmoid_grad(xp_of(out._data))(grad._data, out._data)
    return record(wrap(data), SigmoidBackwardBackward0, (grad, out), saved=(grad, out))


class ThresholdBackwardBackward0(Node):
    def backward(self, grad):
        (out,) = self.saved_tensors
        return threshold_backward(grad, out), None


def threshold_backward(grad: Tensor, out: Tensor) -> Tensor:
    """``grad`` where ``out > 0``, else 0: the gradient through ``out = relu(x)``."""
    data = fused.relu_grad(xp_of(out._data))(grad._data, out._data)
    return record(wrap(data), ThresholdBackwardBackward0, (grad, None), saved=(out,))


class ErfBackward0(Node):
    def backward(self, grad):
        (x,) = self.saved_tensors
        return grad * (2.0 / math.sqrt(math.pi)) * exp(-x * x)


class ZeroGradBackward(Node):
    """Piecewise-constant ops (sign, floor, round...): the gradient is zero almost everywhere."""

    def backward(self, grad):
        return grad * 0


def _sigmoid(xp, x):
    """1 / (1 + e^-x) without overflow warnings for large |x|."""
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def _relu(xp, x):
    return xp.maximum(x, 0)


def _erf(xp, x):
    """The error function, from scipy.special or cupyx.scipy.special (numpy has none)."""
    return special_functions(xp).erf(x).astype(x.dtype, copy=False)


def _rsqrt(xp, x):
    return 1 / xp.sqrt(x)


def _negative(xp, x):
    if x.dtype.kind == "b":
        raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If you "
                           "are trying to invert a mask, use the `~` or `logical_not()` operator "
                           "instead.")
    return xp.negative(x)


neg = _unary("neg", _negative, NegBackward0, float_only=False)
abs = _unary("abs", "abs", AbsBackward0, float_only=False)
exp = _unary("exp", "exp", ExpBackward0, save_output=True)
expm1 = _unary("expm1", "expm1", Expm1Backward0, save_output=True)
log = _unary("log", "log", LogBackward0)
log2 = _unary("log2", "log2", Log2Backward0)
log10 = _unary("log10", "log10", Log10Backward0)
log1p = _unary("log1p", "log1p", Log1PBackward0)
sqrt = _unary("sqrt", "sqrt", SqrtBackward0, save_output=True)
rsqrt = _unary("rsqrt", _rsqrt, RsqrtBackward0, save_output=True)
reciprocal = _unary("reciprocal", "reciprocal", ReciprocalBackward0, save_output=True)
sin = _unary("sin", "sin", SinBackward0)
cos = _unary("cos", "cos", CosBackward0)
tanh = _unary("tanh", "tanh", TanhBackward0, save_output=True)
sigmoid = _unary("sigmoid", _sigmoid, SigmoidBackward0, save_output=True)
relu = _unary("relu", _relu, ReluBackward0, save_output=True, float_only=False)
erf = _unary("erf", _erf, ErfBackward0)
sign = _unary("sign", "sign", ZeroGradBackward, float_only=False)
floor = _unary("floor", "floor", ZeroGradBackward, float_only=False)
ceil = _unary("ceil", "ceil", ZeroGradBackward, float_only=False)
round = _unary("round", "round", ZeroGradBackward, float_only=False)
trunc = _unary("trunc", "trunc", ZeroGradBackward, float_only=False)
negative = neg
absolute = abs


def isnan(input: Tensor) -> Tensor:
    return wrap(xp_of(input).isnan(input._data))


def isinf(input: Tensor) -> Tensor:
    return wrap(xp_of(input).isinf(input._data))


def isfinite(input: Tensor) -> Tensor:
    return wrap(xp_of(input).isfinite(input._data))


def nan_to_num(input: Tensor, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None) -> Tensor:
    return wrap(xp_of(input).nan_to_num(input._data, nan=nan, posinf=posinf, neginf=neginf))


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
    "Callable", "Node", "Tensor", "annotations", "math", "special_functions", "xp_of", "inplace", "record", "wrap", "write_out",
    "OUTPUT")]
