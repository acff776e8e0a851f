"""Recurrent layers fused per layer and direction: forward and backpropagation through time on arrays.

One call of :func:`rnn_layer` runs a whole sequence through one layer in one direction and records
one autograd node. The sequence arrives *packed*: the rows of all time steps one after the other,
``batch_sizes[t]`` rows at step ``t``, longest sequences first (an ordinary (T, B) batch is the
case ``batch_sizes = [B] * T``). At step ``t`` only the first ``batch_sizes[t]`` sequences are
still running, so a padded batch never computes on padding::

    gates = x @ W_ihᵀ + b            one GEMM for every step at once          (N, G·H)
    for t in steps:                  forward order, or backwards for the reverse direction
        gates[t] += h[:b] @ W_hhᵀ    one GEMM per step, into the preallocated gate buffer
        ...cell update, in place...  h[:b] ← the new state (rows past b keep their final state)

Backward walks the same steps in the opposite order with the gate gradients written into one
(N, G·H) buffer; the weight gradients are then a few large GEMMs over all steps
(``dW_ih = dgatesᵀ @ x``, ``dW_hh = dgatesᵀ @ h_prev``, ``dx = dgates @ W_ih``). Gate order
follows PyTorch: LSTM (i, f, g, o), GRU (r, z, n) with ``b_hn`` inside ``r ⊙ (W_hn h + b_hn)``.

The array module comes from the inputs (numpy or cupy). Double backward through these nodes is
not supported (``nn.LSTMCell`` and friends, composed from ordinary ops, support it).
"""
from __future__ import annotations

import itertools

import contextlib
from typing import Sequence

import numpy as np

from . import fused
from .._device import xp_of
from .._tensor import Tensor
from ..autograd.grad_mode import STATE
from ..autograd.graph import Node, edge_of
from ._util import check_same_device, wrap

MODES = ("RNN_TANH", "RNN_RELU", "LSTM", "GRU")
GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


# --- the schedule of a packed sequence ---------------------------------------------------------
class Steps:
    """Which rows of the packed data each time step owns, and the order to visit the steps."""

    def __init__(self, batch_sizes: Sequence[int], reverse: bool) -> None:
        self.batch_sizes = [int(b) for b in batch_sizes]
        starts = [0, *itertools.accumulate(self.batch_sizes)][:-1]
        self.rows = [slice(s, s + b) for s, b in zip(starts, self.batch_sizes)]
        order = range(len(self.batch_sizes))
        self.order = list(reversed(order)) if reverse else list(order)

    def forward(self):
        """``(rows, b)`` per step in the order the recurrence runs."""
        return [(self.rows[t], self.batch_sizes[t]) for t in self.order]

    def backward(self):
        return self.forward()[::-1]


# --- in-place activations ----------------------------------------------------------------------
def _quiet(xp):
    """numpy warns when ``exp`` overflows to inf inside the sigmoid (the result, 0, is right)."""
    return np.errstate(over="ignore") if xp is np else contextlib.nullcontext()


def sigmoid_(a, xp):
    """``a ← 1 / (1 + e^(−a))`` in place."""
    xp.negative(a, out=a)
    xp.exp(a, out=a)
    a += 1
    xp.reciprocal(a, out=a)


def sigmoid_grad_(grad, s, tmp, xp):
    """``grad ← grad · s · (1 − s)`` for a sigmoid output ``s``; ``tmp`` is scratch."""
    xp.subtract(1, s, out=tmp)
    tmp *= s
    grad *= tmp


def tanh_grad_(grad, t, tmp, xp):
    """``grad ← grad · (1 − t²)`` for a tanh output ``t``."""
    xp.multiply(t, t, out=tmp)
    xp.subtract(1, tmp, out=tmp)
    grad *= tmp


def _input_projection(x, w_ih, bias):
    """``x @ W_ihᵀ + bias`` for all steps at once: one GEMM (the gate buffer). With one input
    feature it is an outer product, which numpy's broadcasting does several times faster than
    its matmul (that does not hand a product over a length-1 axis to BLAS)."""
    xp = xp_of(x)
    gates = xp.multiply(x, w_ih.T) if x.shape[1] == 1 else xp.matmul(x, w_ih.T)
    if bias is not None:
        gates += bias
    return gates


def _gate_columns(a, hidden: int) -> list:
    """The four (or three) gate blocks of a gate buffer's rows, as views."""
    return [a[:, k * hidden:(k + 1) * hidden] for k in range(a.shape[1] // hidden)]


# --- Elman RNN (tanh or relu) ------------------------------------------------------------------
def simple_rnn_forward(mode: str, x, h0, w_ih, w_hh, b_ih, b_hh, steps: Steps):
    xp = xp_of(x)
    bias = None if b_ih is None else b_ih + b_hh
    out = _input_projection(x, w_ih, bias)  # pre-activations, then (in place) the states
    h, h_prev = h0.copy(), xp.empty_like(out)
    tmp = xp.empty_like(h)
    for rows, b in steps.forward():
        h_prev[rows] = h[:b]
        xp.matmul(h[:b], w_hh.T, out=tmp[:b])
        step = out[rows]
        step += tmp[:b]
        if mode == "RNN_TANH":
            xp.tanh(step, out=step)
        else:
            xp.maximum(step, 0, out=step)
        h[:b] = step
    return out, h, None, (out, h_prev)


def simple_rnn_backward(mode: str, cache, x, w_ih, w_hh, d_out, d_hn, d_cn, steps: Steps):
    xp = xp_of(d_out)
    out, h_prev = cache
    d_pre = xp.empty_like(out)
    dh, tmp = d_hn.copy(), xp.empty_like(d_hn)
    for rows, b in steps.backward():
        dh_t = dh[:b]
        dh_t += d_out[rows]
        d = d_pre[rows]
        if mode == "RNN_TANH":
            xp.copyto(d, dh_t)
            tanh_grad_(d, out[rows], tmp[:b], xp)
        else:
            xp.multiply(dh_t, out[rows] > 0, out=d)
        xp.matmul(d, w_hh, out=dh_t)
    return d_pre, d_pre, h_prev, dh, None


# --- LSTM ----------------------------------------------------------------------------------------
def _lstm_gate_scales(hidden: int, dtype, xp) -> tuple:
    """Per gate column (i, f, g, o): the pre-activation scale, the affine map after the sigmoid
    and the slope factor that let one sigmoid over all four gates give tanh for g too.

    tanh(x) = 2·σ(2x) − 1, so with g's pre-activation doubled a single σ serves all gates; then
    ``s·mul + add`` turns g's column into tanh, and the slopes are σ' = s(1 − s) and
    tanh' = 1 − (2s − 1)² = 4·s(1 − s). (numpy's ``exp`` is several times faster than its
    ``tanh``, which is why σ, not tanh, is the one evaluated.)
    """
    def per_gate(sigmoid_value, tanh_value):
        values = [sigmoid_value, sigmoid_value, tanh_value, sigmoid_value]
        return xp.asarray(np.repeat(np.asarray(values, dtype=dtype), hidden))  # host: constants

    return per_gate(1.0, 2.0), per_gate(0.0, -1.0), per_gate(1.0, 4.0)


def tanh_into(x, out, xp) -> None:
    """``out ← tanh(x) = 2·σ(2x) − 1``, through ``exp`` (see :func:`_lstm_gate_scales`)."""
    xp.multiply(x, -2, out=out)
    xp.exp(out, out=out)
    out += 1
    xp.reciprocal(out, out=out)
    out *= 2
    out -= 1


def lstm_forward(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, steps: Steps):
    """Gates (i, f, g, o); ``c' = f⊙c + i⊙g``, ``h' = o⊙tanh(c')`` (then ``@ W_hrᵀ``)."""
    xp = xp_of(x)
    hidden, out_size = c0.shape[1], h0.shape[1]
    scale, add, slope = _lstm_gate_scales(hidden, x.dtype, xp)
    bias = None if b_ih is None else (b_ih + b_hh) * scale
    acts = _input_projection(x, w_ih * scale[:, None], bias)  # (N, 4H) → activations in place
    w_hh_t = (w_hh * scale[:, None]).T
    n = acts.shape[0]
    h, c = h0.copy(), c0.copy()
    h_prev, c_prev = xp.empty((n, out_size), acts.dtype), xp.empty((n, hidden), acts.dtype)
    tanh_c, out = xp.empty((n, hidden), acts.dtype), xp.empty((n, out_size), acts.dtype)
    r = xp.empty((n, hidden), acts.dtype) if w_hr is not None else out
    slopes = xp.empty_like(acts)  # ∂ activation / ∂ pre-activation, for backward
    tmp, ig = xp.empty((h.shape[0], 4 * hidden), acts.dtype), xp.empty_like(c)
    if xp is not np:  # a GPU: the same step as two kernels (ops/fused.py) after the GEMM
        _lstm_forward_gpu(acts, slopes, h, c, h_prev, c_prev, tanh_c, r, out, tmp,
                          w_hh_t, w_hr, (scale, add, slope), steps)
        return out, h, c, (acts, slopes, h_prev, c_prev, tanh_c, r)
    with _quiet(xp):
        for rows, b in steps.forward():
            h_prev[rows], c_prev[rows] = h[:b], c[:b]
            a, d = acts[rows], slopes[rows]
            xp.matmul(h[:b], w_hh_t, out=tmp[:b])
            a += tmp[:b]
            sigmoid_(a, xp)
            xp.subtract(1, a, out=d)                    # slope = s(1 − s)·(1 or 4)
            d *= a
            d *= slope
            a *= scale                                  # g: tanh = 2s − 1
            a += add
            i, f, g, o = _gate_columns(a, hidden)
            c_t = c[:b]
            c_t *= f
            xp.multiply(i, g, out=ig[:b])
            c_t += ig[:b]
            tanh_into(c_t, tanh_c[rows], xp)
            xp.multiply(o, tanh_c[rows], out=r[rows])
            if w_hr is not None:
                xp.matmul(r[rows], w_hr.T, out=out[rows])
            h[:b] = out[rows]
    return out, h, c, (acts, slopes, h_prev, c_prev, tanh_c, r)


def _lstm_forward_gpu(acts, slopes, h, c, h_prev, c_prev, tanh_c, r, out, tmp, w_hh_t, w_hr,
                      gate_scales, steps: Steps) -> None:
    """lstm_forward's loop on cupy: per step the GEMM, ``fused.lstm_gates`` and
    ``fused.lstm_cell`` (plus the projection's GEMM and copy)."""
    xp = xp_of(acts)
    hidden = c.shape[1]
    scale, add, slope = gate_scales
    gates, cell = fused.lstm_gates(xp), fused.lstm_cell(xp, w_hr is None)
    for rows, b in steps.forward():
        a = acts[rows]
        xp.matmul(h[:b], w_hh_t, out=tmp[:b])
        gates(a, tmp[:b], slopes[rows], slope, scale, add)
        state = (*_gate_columns(a, hidden), c[:b], c_prev[rows], tanh_c[rows], r[rows])
        if w_hr is None:  # r is the output: the kernel also writes h
            cell(*state, h[:b], h_prev[rows])
            continue
        h_prev[rows] = h[:b]
        cell(*state)
        xp.matmul(r[rows], w_hr.T, out=out[rows])
        h[:b] = out[rows]


def lstm_backward(cache, x, w_hh, w_hr, d_out, d_hn, d_cn, steps: Steps):
    xp = xp_of(d_out)
    acts, slopes, h_prev, c_prev, tanh_c, r = cache
    hidden = c_prev.shape[1]
    d_gates = xp.empty_like(acts)
    d_h_all = xp.empty_like(h_prev) if w_hr is not None else None  # dL/dh per step, for dW_hr
    dh, dc = d_hn.copy(), d_cn.copy()
    dr_buf, tmp = xp.empty_like(dc), xp.empty_like(dc)
    if xp is not np:
        _lstm_backward_gpu(cache, d_gates, d_h_all, dh, dc, dr_buf, d_out, w_hh, w_hr, steps)
        grad_w_hr = None if w_hr is None else xp.matmul(d_h_all.T, r)
        return d_gates, d_gates, h_prev, dh, dc, grad_w_hr
    for rows, b in steps.backward():
        a, d = acts[rows], d_gates[rows]
        i, f, g, o = _gate_columns(a, hidden)
        di, df, dg, do = _gate_columns(d, hidden)
        dh_t, dc_t, tc, t = dh[:b], dc[:b], tanh_c[rows], tmp[:b]
        dh_t += d_out[rows]
        if w_hr is not None:
            d_h_all[rows] = dh_t
            dr = dr_buf[:b]
            xp.matmul(dh_t, w_hr, out=dr)
        else:
            dr = dh_t
        xp.multiply(dr, tc, out=do)                    # ∂/∂o
        xp.multiply(tc, tc, out=t)                     # ∂/∂c += dr ⊙ o ⊙ (1 − tanh²c)
        xp.subtract(1, t, out=t)
        t *= o
        t *= dr
        dc_t += t
        xp.multiply(dc_t, g, out=di)
        xp.multiply(dc_t, c_prev[rows], out=df)
        xp.multiply(dc_t, i, out=dg)
        dc_t *= f                                      # the cell state's gradient one step back
        d *= slopes[rows]                              # through σ and tanh: pre-activations
        xp.matmul(d, w_hh, out=dh_t)
    grad_w_hr = None if w_hr is None else xp.matmul(d_h_all.T, r)
    return d_gates, d_gates, h_prev, dh, dc, grad_w_hr


def _lstm_backward_gpu(cache, d_gates, d_h_all, dh, dc, dr_buf, d_out, w_hh, w_hr,
                       steps: Steps) -> None:
    """lstm_backward's loop on cupy: per step ``fused.lstm_cell_backward`` and the GEMM."""
    xp = xp_of(d_out)
    acts, slopes, h_prev, c_prev, tanh_c, r = cache
    hidden = c_prev.shape[1]
    cell = fused.lstm_cell_backward(xp, w_hr is not None)
    for rows, b in steps.backward():
        dh_t, d = dh[:b], d_gates[rows]
        i, f, g, o = _gate_columns(acts[rows], hidden)
        rest = (dc[:b], i, f, g, o, c_prev[rows], tanh_c[rows],
                *_gate_columns(slopes[rows], hidden), *_gate_columns(d, hidden))
        if w_hr is None:
            cell(dh_t, d_out[rows], *rest)
        else:
            dh_t += d_out[rows]
            d_h_all[rows] = dh_t
            xp.matmul(dh_t, w_hr, out=dr_buf[:b])
            cell(dr_buf[:b], *rest)
        xp.matmul(d, w_hh, out=dh_t)


# --- GRU -----------------------------------------------------------------------------------------
def gru_forward(x, h0, w_ih, w_hh, b_ih, b_hh, steps: Steps):
    """``r, z = σ(...)``, ``n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))``,
    ``h' = (1 − z) ⊙ n + z ⊙ h``."""
    xp = xp_of(x)
    hidden = h0.shape[1]
    gx = _input_projection(x, w_ih, b_ih)  # (N, 3H): x-part, then r, z and n in place
    n_rows = gx.shape[0]
    h, h_prev = h0.copy(), xp.empty((n_rows, hidden), gx.dtype)
    ghn, out = xp.empty((n_rows, hidden), gx.dtype), xp.empty((n_rows, hidden), gx.dtype)
    gh = xp.empty((h.shape[0], 3 * hidden), gx.dtype)
    if xp is not np:  # a GPU: the same step as two kernels (ops/fused.py) after the GEMM
        _gru_forward_gpu(gx, h, h_prev, ghn, out, gh, w_hh, b_hh, steps)
        return out, h, None, (gx, h_prev, ghn)
    with _quiet(xp):
        for rows, b in steps.forward():
            h_prev[rows] = h[:b]
            g_h = gh[:b]
            xp.matmul(h[:b], w_hh.T, out=g_h)
            if b_hh is not None:
                g_h += b_hh
            a = gx[rows]
            rz, n = a[:, :2 * hidden], a[:, 2 * hidden:]
            rz += g_h[:, :2 * hidden]
            sigmoid_(rz, xp)
            ghn[rows] = g_h[:, 2 * hidden:]
            g_h[:, 2 * hidden:] *= rz[:, :hidden]       # r ⊙ (W_hn h + b_hn)
            n += g_h[:, 2 * hidden:]
            xp.tanh(n, out=n)
            step = out[rows]                            # h' = n + z ⊙ (h − n)
            xp.subtract(h[:b], n, out=step)
            step *= rz[:, hidden:]
            step += n
            h[:b] = step
    return out, h, None, (gx, h_prev, ghn)


def _gru_forward_gpu(gx, h, h_prev, ghn, out, gh, w_hh, b_hh, steps: Steps) -> None:
    """gru_forward's loop on cupy: per step the GEMM, ``fused.gru_gates``, ``fused.gru_cell``."""
    xp = xp_of(gx)
    hidden = h.shape[1]
    no_bias = gx.dtype.type(0)
    b_rz, b_n = (no_bias, no_bias) if b_hh is None else (b_hh[:2 * hidden], b_hh[2 * hidden:])
    gates, cell = fused.gru_gates(xp), fused.gru_cell(xp)
    for rows, b in steps.forward():
        a, g_h = gx[rows], gh[:b]
        xp.matmul(h[:b], w_hh.T, out=g_h)
        gates(a[:, :2 * hidden], g_h[:, :2 * hidden], b_rz)
        r, z, n = _gate_columns(a, hidden)
        cell(r, z, n, g_h[:, 2 * hidden:], b_n, h[:b], h_prev[rows], ghn[rows], out[rows])


def gru_backward(cache, x, w_hh, d_out, d_hn, d_cn, steps: Steps):
    xp = xp_of(d_out)
    gx, h_prev, ghn = cache
    hidden = h_prev.shape[1]
    d_gx, d_gh = xp.empty_like(gx), xp.empty_like(gx)
    dh, tmp = d_hn.copy(), xp.empty_like(d_hn)
    dh_direct = xp.empty_like(d_hn)
    if xp is not np:
        _gru_backward_gpu(cache, d_gx, d_gh, dh, dh_direct, d_out, w_hh, steps)
        return d_gx, d_gh, h_prev, dh, None
    for rows, b in steps.backward():
        a, dx_, dh_ = gx[rows], d_gx[rows], d_gh[rows]
        r, z, n = a[:, :hidden], a[:, hidden:2 * hidden], a[:, 2 * hidden:]
        dr, dz, dn = dx_[:, :hidden], dx_[:, hidden:2 * hidden], dx_[:, 2 * hidden:]
        dh_t, t = dh[:b], tmp[:b]
        dh_t += d_out[rows]
        xp.subtract(1, z, out=dn)                       # ∂/∂n = dh ⊙ (1 − z)
        dn *= dh_t
        tanh_grad_(dn, n, t, xp)                        # through tanh: ∂/∂(n's pre-activation)
        xp.multiply(dn, r, out=dh_[:, 2 * hidden:])     # ∂/∂(W_hn h + b_hn)
        xp.multiply(dn, ghn[rows], out=dr)              # ∂/∂r
        sigmoid_grad_(dr, r, t, xp)
        xp.subtract(h_prev[rows], n, out=dz)            # ∂/∂z = dh ⊙ (h − n)
        dz *= dh_t
        sigmoid_grad_(dz, z, t, xp)
        dh_[:, :2 * hidden] = dx_[:, :2 * hidden]
        xp.multiply(dh_t, z, out=dh_direct[:b])         # h' depends on h directly through z ⊙ h
        xp.matmul(dh_, w_hh, out=dh_t)
        dh_t += dh_direct[:b]
    return d_gx, d_gh, h_prev, dh, None


def _gru_backward_gpu(cache, d_gx, d_gh, dh, dh_direct, d_out, w_hh, steps: Steps) -> None:
    """gru_backward's loop on cupy: per step ``fused.gru_cell_backward``, the GEMM and the
    direct part ``dh ⊙ z``."""
    xp = xp_of(d_out)
    gx, h_prev, ghn = cache
    hidden = h_prev.shape[1]
    cell = fused.gru_cell_backward(xp)
    for rows, b in steps.backward():
        dh_t, dh_ = dh[:b], d_gh[rows]
        cell(dh_t, d_out[rows], *_gate_columns(gx[rows], hidden), ghn[rows], h_prev[rows],
             *_gate_columns(d_gx[rows], hidden), *_gate_columns(dh_, hidden), dh_direct[:b])
        xp.matmul(dh_, w_hh, out=dh_t)
        dh_t += dh_direct[:b]


# --- the autograd node ---------------------------------------------------------------------------
class RNNLayerBackward0(Node):
    """Backward through time of one layer in one direction (inputs: x, h0, c0, W_ih, W_hh,
    b_ih, b_hh, W_hr; outputs: the states of every step, h_n and, for an LSTM, c_n)."""

    def name(self) -> str:
        return f"{self.mode.replace('_', '')}LayerBackward0"

    def apply(self, grad_outputs) -> tuple:
        if STATE.enabled:
            raise RuntimeError(
                f"double backward through the fused {self.mode} layer is not supported by "
                "handbook_lib (its backward runs on raw arrays): call backward without "
                "create_graph=True, or build the network from nn.LSTMCell/nn.GRUCell/nn.RNNCell")
        if self._saved is None:
            from ..autograd.graph import FREED_GRAPH_MESSAGE

            raise RuntimeError(FREED_GRAPH_MESSAGE)
        x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr = self.arrays
        xp = xp_of(x)
        d_out, d_hn, d_cn = (g._data if g is not None else None for g in
                             list(grad_outputs) + [None] * (3 - len(grad_outputs)))
        d_out = xp.zeros(self.out_shape, x.dtype) if d_out is None else d_out
        d_hn = xp.zeros(h0.shape, x.dtype) if d_hn is None else d_hn
        if self.mode == "LSTM":
            d_cn = xp.zeros(c0.shape, x.dtype) if d_cn is None else d_cn
            d_gx, d_gh, h_prev, dh0, dc0, d_whr = lstm_backward(
                self.cache, x, w_hh, w_hr, d_out, d_hn, d_cn, self.steps)
        elif self.mode == "GRU":
            (d_gx, d_gh, h_prev, dh0, dc0), d_whr = gru_backward(
                self.cache, x, w_hh, d_out, d_hn, None, self.steps), None
        else:
            (d_gx, d_gh, h_prev, dh0, dc0), d_whr = simple_rnn_backward(
                self.mode, self.cache, x, w_ih, w_hh, d_out, d_hn, None, self.steps), None
        needs = self.needs_input_grad
        d_b_ih = d_gx.sum(axis=0) if needs[5] or needs[6] else None
        d_b_hh = d_b_ih if d_gh is d_gx else (d_gh.sum(axis=0) if needs[6] else None)
        grads = [
            wrap(xp.matmul(d_gx, w_ih)) if needs[0] else None,
            wrap(dh0) if needs[1] else None,
            wrap(dc0) if needs[2] and dc0 is not None else None,
            wrap(xp.matmul(d_gx.T, x)) if needs[3] else None,
            wrap(xp.matmul(d_gh.T, h_prev)) if needs[4] else None,
            wrap(d_b_ih) if needs[5] else None,
            wrap(d_b_hh.copy() if d_b_hh is d_b_ih else d_b_hh) if needs[6] else None,
            wrap(d_whr) if needs[7] and d_whr is not None else None,
        ]
        return tuple(grads)

    def release_saved(self) -> None:
        self._saved = None
        self.cache = self.arrays = None


def rnn_layer(mode: str, x: Tensor, h0: Tensor, c0: Tensor | None, w_ih: Tensor, w_hh: Tensor,
              b_ih: Tensor | None, b_hh: Tensor | None, w_hr: Tensor | None,
              batch_sizes: Sequence[int], reverse: bool = False) -> tuple:
    """One layer, one direction, over a packed sequence ``x`` (N, input_size).

    Returns ``(output, h_n, c_n)``: the state of every step (N, H_out), packed like ``x``, and the
    final states (B, ·) — each sequence's last valid step; ``c_n`` is None except for an LSTM.
    """
    if mode not in MODES:
        raise ValueError(f"Unrecognized RNN mode: {mode}")
    tensors = (x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr)
    present = [t for t in tensors if t is not None]
    check_same_device(*present)
    arrays = tuple(t._data if t is not None else None for t in tensors)
    steps = Steps(batch_sizes, reverse)
    xa, ha, ca, wi, wh, bi, bh, wr = arrays
    if mode == "LSTM":
        out, h_n, c_n, cache = lstm_forward(xa, ha, ca, wi, wh, bi, bh, wr, steps)
    elif mode == "GRU":
        out, h_n, c_n, cache = gru_forward(xa, ha, wi, wh, bi, bh, steps)
    else:
        out, h_n, c_n, cache = simple_rnn_forward(mode, xa, ha, wi, wh, bi, bh, steps)
    outputs = (wrap(out), wrap(h_n), wrap(c_n) if c_n is not None else None)
    if STATE.enabled and any(t._requires_grad for t in present):
        node = RNNLayerBackward0.__new__(RNNLayerBackward0)
        node.next_functions = tuple(edge_of(t) if t is not None else (None, 0) for t in tensors)
        node._input_meta = tuple((t._data.shape, t._data.dtype) if t is not None else None
                                 for t in tensors)
        node._num_outputs = 3 if c_n is not None else 2
        node._saved = (True,)  # freed after backward (then a second backward raises)
        node.__dict__.update(mode=mode, arrays=arrays, cache=cache, steps=steps,
                             out_shape=out.shape)
        for nr, t in enumerate(outputs):
            if t is not None:
                t._grad_fn, t._output_nr, t._requires_grad = node, nr, True
    return outputs
