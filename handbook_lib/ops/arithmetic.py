"""Elementwise binary arithmetic with broadcasting; each op's forward beside its backward.

Backward formulas are written with tensor operations, so they are differentiable again
(``create_graph=True``). A gradient that comes out in the broadcast shape is summed back to the
input's shape by the engine.
"""
from __future__ import annotations

import math

import numpy as np

from .. import _dtype
from .._device import xp_of
from .._tensor import Tensor
from ..autograd.graph import Node
from ._util import (OUTPUT, _shape, apply_binary, check_same_device, inplace, is_tensor, operand_arrays, record,
                    requires_graph, write_into, write_out, wrap)


def _inputs(a, b) -> tuple:
    return (a if is_tensor(a) else None, b if is_tensor(b) else None)


# --- add / sub ----------------------------------------------------------------------------------
class AddBackward0(Node):
    def backward(self, grad):
        return grad, grad


def add(input, other, *, alpha=1, out: Tensor | None = None) -> Tensor:
    """``input + alpha * other``."""
    if alpha != 1:
        other = other * alpha
    result = wrap(apply_binary("add", input, other))
    if requires_graph(input, other):
        record(result, AddBackward0, _inputs(input, other))
    return write_out(result, out)


class SubBackward0(Node):
    def backward(self, grad):
        return grad, -grad


def sub(input, other, *, alpha=1, out: Tensor | None = None) -> Tensor:
    """``input - alpha * other``."""
    _refuse_bool_subtraction(input, other)
    if alpha != 1:
        other = other * alpha
    result = wrap(apply_binary("subtract", input, other))
    if requires_graph(input, other):
        record(result, SubBackward0, _inputs(input, other))
    return write_out(result, out)


def _is_bool_tensor(x) -> bool:
    return isinstance(x, Tensor) and x._data.dtype.kind == "b"


def _refuse_bool_subtraction(input, other) -> None:
    """PyTorch's error for ``-`` on bool tensors (it has no meaning; ^ or ~ is what was meant)."""
    if not (_is_bool_tensor(input) or _is_bool_tensor(other)):
        return
    if all(_is_bool_tensor(x) or isinstance(x, bool) for x in (input, other)):
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not "
                           "supported. Use the `^` or `logical_xor()` operator instead.")
    raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. "
                       "If you are trying to invert a mask, use the `~` or `logical_not()` "
                       "operator instead.")


def rsub(input, other, *, alpha=1) -> Tensor:
    return sub(other, input, alpha=alpha)


# --- mul / div ----------------------------------------------------------------------------------
class MulBackward0(Node):
    def backward(self, grad):
        a, b = self.saved_tensors
        needs_a, needs_b = self.needs_input_grad
        return (grad * b if needs_a else None), (grad * a if needs_b else None)


def mul(input, other, *, out: Tensor | None = None) -> Tensor:
    result = wrap(apply_binary("multiply", input, other))
    if requires_graph(input, other):
        record(result, MulBackward0, _inputs(input, other), saved=(input, other))
    return write_out(result, out)


class DivBackward0(Node):
    def backward(self, grad):
        a, b = self.saved_tensors
        needs_a, needs_b = self.needs_input_grad
        grad_a = grad / b if needs_a else None
        grad_b = -grad * a / (b * b) if needs_b else None
        return grad_a, grad_b


def div(input, other, *, rounding_mode: str | None = None, out: Tensor | None = None) -> Tensor:
    """True division (integers give floats), or ``'trunc'``/``'floor'`` rounding (no gradient)."""
    if rounding_mode is not None:
        return write_out(_rounded_div(input, other, rounding_mode), out)
    if not _is_floating(input) and not _is_floating(other):
        input, other = _to_default_float(input), _to_default_float(other)
    result = wrap(apply_binary("true_divide", input, other))
    if requires_graph(input, other):
        record(result, DivBackward0, _inputs(input, other), saved=(input, other))
    return write_out(result, out)


def _is_floating(x) -> bool:
    return x._data.dtype.kind == "f" if is_tensor(x) else isinstance(x, float)


def _to_default_float(x):
    """Integer operands of a true division become the default float dtype first."""
    from .._dtype import get_default_dtype

    return x.to(get_default_dtype()) if is_tensor(x) else float(x)


def _is_integral(x) -> bool:
    """True for an integer/bool array or Python int (after operand promotion)."""
    return x.dtype.kind in "biu" if hasattr(x, "dtype") else isinstance(x, int)


def _check_integer_divisor(ad, bd) -> None:
    """Integer division by zero has no answer: PyTorch raises (numpy would give 0)."""
    if _is_integral(ad) and _is_integral(bd) and bool((bd == 0).any()
                                                       if hasattr(bd, "any") else bd == 0):
        raise RuntimeError("ZeroDivisionError")


def _rounded_div(input, other, mode: str) -> Tensor:
    ad, bd = operand_arrays(input, other)
    xp = xp_of(ad, bd)
    if mode in ("floor", "trunc"):
        _check_integer_divisor(ad, bd)
    if mode == "floor":
        if _dtype.result_type(ad, bd).kind == "f":
            return wrap(xp.floor(apply_binary("true_divide", input, other)))
        return wrap(xp.floor_divide(ad, bd))
    if mode == "trunc":
        return wrap(xp.trunc(xp.true_divide(ad, bd)).astype(_dtype.result_type(ad, bd)))
    raise ValueError(
        f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '{mode}'"
    )


def floor_divide(input, other) -> Tensor:
    return _rounded_div(input, other, "floor")


def true_divide(input, other) -> Tensor:
    return div(input, other)


def remainder(input, other) -> Tensor:
    """Python-style modulus (the sign follows the divisor); gradient 1 w.r.t. ``input``."""
    _check_integer_divisor(*operand_arrays(input, other))
    result = wrap(apply_binary("remainder", input, other))
    return record(result, RemainderBackward0, _inputs(input, other), saved=(input, other))


class RemainderBackward0(Node):
    def backward(self, grad):
        a, b = self.saved_tensors
        grad_b = -grad * floor_divide(a, b) if self.needs_input_grad[1] else None
        return grad, grad_b


# --- pow ----------------------------------------------------------------------------------------
class PowBackward0(Node):
    """``x ** c`` for a number ``c``."""

    def backward(self, grad):
        (x,) = self.saved_tensors
        if self.exponent == 0:
            return grad * 0
        return grad * self.exponent * x ** (self.exponent - 1)


class PowBackward1(Node):
    """``x ** y`` for tensors."""

    def backward(self, grad):
        x, y, out = self.saved_tensors
        needs_x, needs_y = self.needs_input_grad
        grad_x = grad * y * x ** (y - 1) if needs_x else None
        grad_y = None
        if needs_y:
            from .elementwise import log

            grad_y = (grad * out * log(x)).masked_fill((x == 0) & (y >= 0), 0.0)
        return grad_x, grad_y


class PowBackward2(Node):
    """``c ** y`` for a number ``c``."""

    def backward(self, grad):
        (out,) = self.saved_tensors
        return None, grad * out * math.log(self.base)


def pow(input, exponent, *, out: Tensor | None = None) -> Tensor:
    """``input ** exponent`` (either may be a number)."""
    if not is_tensor(input):
        result = wrap(apply_binary(_power, input, exponent))
        record(result, PowBackward2, (None, exponent), saved=(OUTPUT,), base=input)
        return write_out(result, out)
    if not is_tensor(exponent):
        result = wrap(apply_binary(_power, input, exponent))
        record(result, PowBackward0, (input,), saved=(input,), exponent=exponent)
        return write_out(result, out)
    result = wrap(apply_binary(_power, input, exponent))
    if requires_graph(input, exponent):
        record(result, PowBackward1, (input, exponent), saved=(input, exponent, OUTPUT))
    return write_out(result, out)


def _power(xp, a, b):
    """The array module's power, but integers to negative powers follow PyTorch (an error).

    A tensor exponent is checked on its device: ``bool(...)`` reads one flag back (a host sync,
    paid only for integer bases, as PyTorch does)."""
    if getattr(a, "dtype", None) is not None and a.dtype.kind in "iu" and (
            bool((b < 0).any()) if hasattr(b, "dtype") else b < 0):
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    with np.errstate(divide="ignore", invalid="ignore"):  # numpy warns, PyTorch does not
        return xp.power(a, b)


def square(input: Tensor) -> Tensor:
    return mul(input, input)


# --- comparisons and logic (no gradient) -----------------------------------------------------------
def _comparison(ufunc: str):
    def compare(input, other, *, out: Tensor | None = None) -> Tensor:
        return write_out(wrap(apply_binary(ufunc, input, other)), out)

    compare.__name__ = ufunc
    compare.__doc__ = f"Elementwise ``{ufunc}``; a bool tensor, no gradient."
    return compare


eq = _comparison("equal")
ne = _comparison("not_equal")
lt = _comparison("less")
le = _comparison("less_equal")
gt = _comparison("greater")
ge = _comparison("greater_equal")
logical_and = _comparison("logical_and")
logical_or = _comparison("logical_or")
logical_xor = _comparison("logical_xor")


def _bitwise(ufunc: str):
    def op(input, other) -> Tensor:
        ad, bd = operand_arrays(input, other)
        for x in (ad, bd):
            if getattr(x, "dtype", np.dtype(int)).kind == "f" or isinstance(x, float):
                raise TypeError(f"{ufunc} is only supported for integer and bool tensors")
        return wrap(apply_binary(ufunc, input, other))

    op.__name__ = ufunc
    return op


bitwise_and = _bitwise("bitwise_and")
bitwise_or = _bitwise("bitwise_or")
bitwise_xor = _bitwise("bitwise_xor")


def logical_not(input: Tensor) -> Tensor:
    return wrap(xp_of(input).logical_not(input._data))


def bitwise_not(input: Tensor) -> Tensor:
    if input._data.dtype.kind == "f":
        raise TypeError("bitwise_not is only supported for integer and bool tensors")
    return wrap(xp_of(input).invert(input._data))


def equal(input: Tensor, other: Tensor) -> bool:
    """True if both tensors have the same shape and elements."""
    return input.shape == other.shape and bool((input._data == other._data).all())


def allclose(input: Tensor, other: Tensor, rtol: float = 1e-5, atol: float = 1e-8,
             equal_nan: bool = False) -> bool:
    check_same_device(input, other)
    xp = xp_of(input, other)
    return bool(xp.allclose(input._data, other._data, rtol=rtol, atol=atol, equal_nan=equal_nan))


def isclose(input: Tensor, other, rtol: float = 1e-5, atol: float = 1e-8,
            equal_nan: bool = False) -> Tensor:
    ad, bd = operand_arrays(input, other)
    return wrap(xp_of(ad, bd).isclose(ad, bd, rtol=rtol, atol=atol, equal_nan=equal_nan))


# --- maximum / minimum ------------------------------------------------------------------------------
class MaximumBackward0(Node):
    """Ties share the gradient equally, as in PyTorch."""

    def backward(self, grad):
        a, b = self.saved_tensors
        first = (a > b) + (a == b) * 0.5 if not self.is_min else (a < b) + (a == b) * 0.5
        grad_a = grad * first if self.needs_input_grad[0] else None
        grad_b = grad * (1 - first) if self.needs_input_grad[1] else None
        return grad_a, grad_b


class MinimumBackward0(MaximumBackward0):
    pass


def maximum(input: Tensor, other: Tensor) -> Tensor:
    result = wrap(apply_binary("maximum", input, other))
    return record(result, MaximumBackward0, (input, other), saved=(input, other), is_min=False)


def minimum(input: Tensor, other: Tensor) -> Tensor:
    result = wrap(apply_binary("minimum", input, other))
    return record(result, MinimumBackward0, (input, other), saved=(input, other), is_min=True)


# --- where / masked_fill ------------------------------------------------------------------------------
class WhereBackward0(Node):
    def backward(self, grad):
        (condition,) = self.saved_tensors
        grad_x = where(condition, grad, 0.0) if self.needs_input_grad[1] else None
        grad_y = where(condition, 0.0, grad) if self.needs_input_grad[2] else None
        return None, grad_x, grad_y


def where(condition: Tensor, input=None, other=None) -> Tensor:
    """``input`` where ``condition`` holds, else ``other``; ``where(c)`` gives indices (nonzero)."""
    if input is None and other is None:
        from .indexing import nonzero

        return nonzero(condition, as_tuple=True)
    xd, yd = operand_arrays(input, other)
    check_same_device(condition, input, other)
    xp = xp_of(condition, xd, yd)
    cond = condition._data if is_tensor(condition) else xp.asarray(condition)
    if cond.dtype.kind != "b":
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor "
                           f"with dtype {cond.dtype.name}")
    try:
        data = xp.where(cond, xd, yd)
        if not (is_tensor(input) or is_tensor(other)):  # two numbers: PyTorch's default dtype
            data = data.astype(_dtype.result_type(xd, yd), copy=False)
        result = wrap(data)
    except ValueError:
        raise RuntimeError(
            f"shape mismatch in where: condition {list(_shape(cond))}, input "
            f"{list(_shape(xd))}, other {list(_shape(yd))} do not broadcast"
        ) from None
    if requires_graph(input, other):
        record(result, WhereBackward0, (None,) + _inputs(input, other),
               saved=(wrap(cond),))
    return result


def masked_fill(input: Tensor, mask: Tensor, value) -> Tensor:
    """Replace the elements where ``mask`` is True by ``value`` (cast to ``input``'s dtype)."""
    if mask._data.dtype.kind != "b":
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype "
                           f"{mask.dtype}")
    if is_tensor(value):
        if value._data.ndim != 0:
            raise RuntimeError(
                "masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                f"{value._data.ndim} dimension(s).")
        value = value.item()
    try:
        np.broadcast_shapes(mask._data.shape, input._data.shape)
    except ValueError:
        raise RuntimeError(
            f"The size of the mask {list(mask.shape)} must be broadcastable to the tensor "
            f"{list(input.shape)}") from None
    check_same_device(input, mask)
    fill = input._data.dtype.type(value)  # a scalar, so it works with either array module
    data = xp_of(input).where(mask._data, fill, input._data)
    return record(wrap(data), MaskedFillBackward0, (input,), saved=(mask,))


class MaskedFillBackward0(Node):
    def backward(self, grad):
        (mask,) = self.saved_tensors
        return where(mask, 0.0, grad)


# --- clamp ------------------------------------------------------------------------------------------
class ClampBackward1(Node):
    def backward(self, grad):
        (x,) = self.saved_tensors
        keep = x == x  # all True, same shape
        if self.low is not None:
            keep = keep & (x >= self.low)
        if self.high is not None:
            keep = keep & (x <= self.high)
        return grad * keep


def clamp(input: Tensor, min=None, max=None, *, out: Tensor | None = None) -> Tensor:
    """Limit values to ``[min, max]``; the gradient passes only where no limit applied."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if is_tensor(min) or is_tensor(max):
        result = input
        if min is not None:
            result = maximum(result, min if is_tensor(min) else _full_as(result, min))
        if max is not None:
            result = minimum(result, max if is_tensor(max) else _full_as(result, max))
        return write_out(result, out)
    data = xp_of(input).clip(input._data, min, max)
    if data.dtype != input._data.dtype:
        data = data.astype(input._data.dtype)
    result = record(wrap(data), ClampBackward1, (input,), saved=(input,), low=min, high=max)
    return write_out(result, out)


def _full_as(like: Tensor, value) -> Tensor:
    return wrap(xp_of(like).full_like(like._data, value))


clip = clamp


# --- in-place forms ---------------------------------------------------------------------------------
def _fast_inplace(name: str, out_of_place, takes_alpha: bool):
    """``x.add_(y)``-style ops: write straight into the storage when no graph is recorded."""

    def op_(self: Tensor, other, *, alpha=1) -> Tensor:
        if requires_graph(self, other) or self._data.dtype.kind != "f":
            kwargs = {"alpha": alpha} if takes_alpha else {}
            return inplace(self, out_of_place, other, **kwargs)
        od = other._data if is_tensor(other) else other
        if is_tensor(other):
            check_same_device(self, other)
        ufunc = getattr(xp_of(self), name)
        if alpha != 1:
            od = od * alpha
        try:
            ufunc(self._data, od, out=self._data, casting="same_kind")
        except ValueError:
            write_into(self, ufunc(self._data, od))
            return self
        self._version_counter[0] += 1
        return self

    op_.__name__ = name + "_"
    return op_


add_ = _fast_inplace("add", add, takes_alpha=True)
sub_ = _fast_inplace("subtract", sub, takes_alpha=True)
mul_ = _fast_inplace("multiply", mul, takes_alpha=False)
div_ = _fast_inplace("true_divide", div, takes_alpha=False)


def pow_(self: Tensor, exponent) -> Tensor:
    return inplace(self, pow, exponent)


def clamp_(self: Tensor, min=None, max=None) -> Tensor:
    return inplace(self, clamp, min, max)


def masked_fill_(self: Tensor, mask: Tensor, value) -> Tensor:
    return inplace(self, masked_fill, mask, value)


subtract, multiply, divide = sub, mul, div
