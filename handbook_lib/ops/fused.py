"""Elementwise chains a training step repeats, each written once and run as one GPU kernel.

On a GPU every cupy operation is a kernel launch with a fixed cost (about 10–30 µs, whatever
the size), and a chain such as Adam's update launches a dozen of them per parameter. A chain
here is a Python function of arrays and scalars that uses only what ``cupy.fuse`` can trace
(operators, in-place updates of its arguments, ``xp`` ufuncs, ``xp.where``): on cupy arrays it
is compiled once into a single kernel; on numpy arrays the very same function runs as it is,
one numpy call per operation, so the CPU result is the reference the fused kernel must match.

A chain is declared by a *builder*, ``build(xp, *flags)``, that returns the function: ``xp`` is
the array module (for ufuncs such as ``xp.sqrt``), ``flags`` are Python values fixed while
tracing (``maximize``, ``amsgrad``...), one compiled kernel per combination. Scalars (learning
rate, betas...) are passed as arguments of the array's dtype, so a new value reuses the kernel
and float32 parameters are updated in float32, as PyTorch does.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np


class fused:
    """Decorator for a builder ``build(xp, *flags) -> function``; see the module docstring.

    ``chain(xp, *flags)`` returns the function for that array module and flags: the builder's
    function itself for numpy, ``cupy.fuse`` of it for cupy (built once, then cached).
    """

    def __init__(self, build: Callable[..., Callable]) -> None:
        self.build = build
        self.__name__ = build.__name__
        self.__doc__ = build.__doc__
        self._kernels: dict[tuple, Callable] = {}

    def __call__(self, xp: Any, *flags: Any) -> Callable:
        key = (xp, flags)
        kernel = self._kernels.get(key)
        if kernel is None:
            kernel = self.build(xp, *flags)
            if xp is not np:
                kernel = xp.fuse(kernel_name=self.__name__)(kernel)
            self._kernels[key] = kernel
        return kernel

    def __repr__(self) -> str:
        return f"<fused chain '{self.__name__}'>"


def scalars(array, *values: float) -> tuple:
    """``values`` as scalars of ``array``'s dtype: kernel arguments that keep float32 float32."""
    to_scalar = array.dtype.type
    return tuple(to_scalar(v) for v in values)


# --- activation backward ---------------------------------------------------------------------
@fused
def relu_grad(xp):
    """``grad`` where ``out > 0``, else 0: the gradient through ``out = relu(x)``."""
    return lambda grad, out: grad * (out > 0)


@fused
def sigmoid_grad(xp):
    """``grad · out · (1 − out)``: the gradient through ``out = sigmoid(x)``."""
    return lambda grad, out: grad * out * (1 - out)


@fused
def tanh_grad(xp):
    """``grad · (1 − out²)``: the gradient through ``out = tanh(x)``."""
    return lambda grad, out: grad * (1 - out * out)


# --- loss --------------------------------------------------------------------------------------
@fused
def cross_entropy_grad(xp):
    """``(exp / sum_exp · q_sum − q) · scale``: softmax minus the target distribution, scaled
    by the reduction (broadcast from (rows, 1) or a scalar)."""
    return lambda exp, sum_exp, q, q_sum, scale: (exp / sum_exp * q_sum - q) * scale


@fused
def weighted_log_probs(xp):
    """``q · (shifted − log Σexp)``, the log-softmax weighted by the target distribution ``q``;
    0 where ``q`` is 0, even where the log-probability is −inf (a masked logit)."""
    return lambda q, shifted, sum_exp: xp.where(q != 0, q * (shifted - xp.log(sum_exp)), 0)


@fused
def checked_class_targets(xp):
    """For class indices ``t``: the index to read (0 for ignored or out-of-range targets),
    whether the row counts (not ignored) and its weight (1, 0 if ignored, NaN if out of range:
    no read-back on a GPU)."""

    def check(t, classes, ignore_index, one):
        valid = t != ignore_index
        bad = valid & ((t < 0) | (t >= classes))
        safe = xp.where(valid & ~bad, t, 0)
        return safe, valid, xp.where(bad, one * xp.nan, valid * one)

    return check


@fused
def mean_scale(xp):
    """``grad / denominator``, and 0 when the denominator is 0 (every target ignored)."""
    return lambda grad, denominator: grad * ((denominator != 0)
                                             / (denominator + (denominator == 0)))


# --- optimizer updates ---------------------------------------------------------------------------
@fused
def sgd_step(xp, maximize: bool, decay: bool):
    """``θ ← θ − lr · g`` with ``g`` negated when maximizing and L2 decay added."""

    def step(p, g, lr, weight_decay):
        if maximize:
            g = -g
        if decay:
            g = g + weight_decay * p
        p -= lr * g

    return step


@fused
def sgd_momentum_step(xp, maximize: bool, decay: bool, first: bool, nesterov: bool):
    """SGD with a momentum buffer ``b``: ``b ← g`` on the first step, later
    ``b ← momentum · b + (1 − dampening) · g``; then ``θ ← θ − lr · (g + momentum · b)``
    (Nesterov) or ``θ ← θ − lr · b``."""

    def step(p, g, b, lr, momentum, undamped, weight_decay):
        if maximize:
            g = -g
        if decay:
            g = g + weight_decay * p
        if first:
            b[...] = g
        else:
            b *= momentum
            b += undamped * g
        if nesterov:
            p -= lr * (g + momentum * b)
        else:
            p -= lr * b

    return step


@fused
def adam_step(xp, maximize: bool, decay: bool, decoupled: bool, amsgrad: bool, lerp_up: bool):
    """Adam on ``θ`` with moments ``m``, ``v`` (and their running maximum ``v_max`` for AMSGrad).

    ``m`` moves towards ``g`` by ``weight = 1 − β1`` in the form PyTorch's ``lerp_`` rounds
    with: from ``m`` for a weight below one half, from ``g`` (with ``rest = β1``) otherwise.
    ``bias2_sqrt`` is ``√(1 − β2ᵗ)`` and ``step_size`` is ``lr / (1 − β1ᵗ)``.
    """

    def moments(p, g, m, v, lr_decay, weight_decay, weight, rest, beta2, one_minus_beta2):
        if maximize:
            g = -g
        if decay:
            if decoupled:
                p *= lr_decay
            else:
                g = g + weight_decay * p
        if lerp_up:
            m[...] = g - (g - m) * rest
        else:
            m += weight * (g - m)
        v *= beta2
        v += one_minus_beta2 * g * g

    def update(p, g, m, v, lr_decay, weight_decay, weight, rest, beta2, one_minus_beta2,
               step_size, bias2_sqrt, eps):
        moments(p, g, m, v, lr_decay, weight_decay, weight, rest, beta2, one_minus_beta2)
        p -= step_size * m / (xp.sqrt(v) / bias2_sqrt + eps)

    def update_amsgrad(p, g, m, v, v_max, lr_decay, weight_decay, weight, rest, beta2,
                       one_minus_beta2, step_size, bias2_sqrt, eps):
        moments(p, g, m, v, lr_decay, weight_decay, weight, rest, beta2, one_minus_beta2)
        v_max[...] = xp.maximum(v_max, v)
        p -= step_size * m / (xp.sqrt(v_max) / bias2_sqrt + eps)

    return update_amsgrad if amsgrad else update


# --- LSTM and GRU cells (ops/rnn.py): one time step's pointwise work on a GPU ----------------
# numpy keeps the in-place step code of ops/rnn.py (fastest on a CPU, and the reference); these
# chains compute the same formulas in the same order, as one or two kernels per step on a GPU,
# instead of about twenty.
@fused
def lstm_gates(xp):
    """LSTM gate activations in place: ``s = σ(a + hh)`` over all four gates, the slopes
    ``s(1 − s)·slope`` for backward, then ``a ← s·scale + add`` (g's column becomes tanh; see
    ``_lstm_gate_scales`` in ops/rnn.py)."""

    def gates(a, hh, slopes, slope, scale, add):
        s = 1 / (1 + xp.exp(-(a + hh)))
        slopes[...] = (1 - s) * s * slope
        a[...] = s * scale + add

    return gates


@fused
def lstm_cell(xp, writes_h: bool):
    """``c' = f⊙c + i⊙g``, ``r = o⊙tanh(c')``; ``c`` updated in place, the old ``c`` saved in
    ``c_prev``; with ``writes_h`` (no projection) ``r`` is also the new ``h`` (old in
    ``h_prev``)."""

    def state(i, f, g, o, c, c_prev, tanh_c, r):
        c_prev[...] = c
        new_c = f * c + i * g
        c[...] = new_c
        t = xp.tanh(new_c)
        tanh_c[...] = t
        r[...] = o * t

    def state_and_h(i, f, g, o, c, c_prev, tanh_c, r, h, h_prev):
        h_prev[...] = h
        state(i, f, g, o, c, c_prev, tanh_c, r)
        h[...] = r

    return state_and_h if writes_h else state


@fused
def lstm_cell_backward(xp, projected: bool):
    """One step back through the LSTM cell: from ``dr``, the gradient of ``r = o⊙tanh(c')``
    (``dh + d_out`` without a projection), and ``dc`` (updated in place to the cell state's
    gradient one step back), the gate pre-activations' gradients ``di, df, dg, do``."""

    def cell(dr, dc, i, f, g, o, c_prev, tanh_c, sl_i, sl_f, sl_g, sl_o, di, df, dg, do):
        do[...] = dr * tanh_c * sl_o
        grad_c = dc + (1 - tanh_c * tanh_c) * o * dr
        di[...] = grad_c * g * sl_i
        df[...] = grad_c * c_prev * sl_f
        dg[...] = grad_c * i * sl_g
        dc[...] = grad_c * f

    def cell_from_h(dh, d_out, *rest):
        cell(dh + d_out, *rest)

    return cell if projected else cell_from_h


@fused
def gru_gates(xp):
    """``r, z ← σ(x-part + (h-part + b_hh))`` in place."""

    def gates(rz, hh_rz, b_rz):
        rz[...] = 1 / (1 + xp.exp(-(rz + (hh_rz + b_rz))))

    return gates


@fused
def gru_cell(xp):
    """``n = tanh(x_n + r⊙(W_hn h + b_hn))``, ``h' = (h − n)⊙z + n``; saves ``h`` in ``h_prev``
    and ``W_hn h + b_hn`` in ``ghn``, writes ``n`` in place and ``h'`` to ``out`` and ``h``."""

    def cell(r, z, n, hh_n, b_n, h, h_prev, ghn, out):
        h_prev[...] = h
        hidden_part = hh_n + b_n
        ghn[...] = hidden_part
        new_n = xp.tanh(n + r * hidden_part)
        n[...] = new_n
        new_h = (h - new_n) * z + new_n
        out[...] = new_h
        h[...] = new_h

    return cell


@fused
def gru_cell_backward(xp):
    """One step back through the GRU cell, from ``dh`` (plus ``d_out``): the gradients of the
    gate pre-activations on the x side (``dr, dz, dn``) and the h side (``dhr, dhz``, and ``dhn``
    of ``W_hn h + b_hn``), and the direct part ``dh ⊙ z``."""

    def cell(dh, d_out, r, z, n, ghn, h_prev, dr, dz, dn, dhr, dhz, dhn, dh_direct):
        grad = dh + d_out
        grad_n = (1 - z) * grad * (1 - n * n)
        dn[...] = grad_n
        dhn[...] = grad_n * r
        grad_r = grad_n * ghn * ((1 - r) * r)
        dr[...] = grad_r
        dhr[...] = grad_r
        grad_z = (h_prev - n) * grad * ((1 - z) * z)
        dz[...] = grad_z
        dhz[...] = grad_z
        dh_direct[...] = grad * z

    return cell
