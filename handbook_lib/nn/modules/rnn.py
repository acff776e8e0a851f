"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` (whole sequences) and their cells.

The cells are written from ordinary ops, one time step per call, exactly as the formulas read;
they support every autograd feature (double backward included). The layers run each layer and
direction as one fused kernel (:mod:`handbook_lib.ops.rnn`): one GEMM for the input projection of
all steps, one per step for the recurrence, backward through time on arrays. Parameter names,
shapes, gate order, initialisation and reprs are PyTorch's, so a ``torch.nn.LSTM`` state_dict
loads as is.
"""
from __future__ import annotations

import math
import numbers
import warnings

from ..._tensor import Tensor
from ...ops.creation import empty, zeros
from ...ops.elementwise import relu, sigmoid, tanh
from ...ops.layers import dropout as dropout_fn, linear
from ...ops.rnn import rnn_layer
from ...ops.shape import cat, stack
from .. import init
from ..parameter import Parameter
from ..utils.rnn import PackedSequence
from .module import Module

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_TYPE_NAMES = {"float32": "torch.float32", "float64": "torch.float64", "float16": "torch.float16"}


# --- cells: one step, composed from ordinary ops -----------------------------------------------
class RNNCellBase(Module):
    """``weight_ih`` (chunks·H, input_size), ``weight_hh`` (chunks·H, H) and two biases, all
    initialised U(−1/√H, 1/√H) as in PyTorch."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device=None, dtype=None) -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        kw = {"device": device, "dtype": dtype}
        self.weight_ih = Parameter(empty((num_chunks * hidden_size, input_size), **kw))
        self.weight_hh = Parameter(empty((num_chunks * hidden_size, hidden_size), **kw))
        if bias:
            self.bias_ih = Parameter(empty(num_chunks * hidden_size, **kw))
            self.bias_hh = Parameter(empty(num_chunks * hidden_size, **kw))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _check(self, input: Tensor, states: tuple, names: tuple) -> bool:
        """PyTorch's checks; returns whether the input is batched."""
        kind = type(self).__name__
        if input.dim() not in (1, 2):
            raise ValueError(f"{kind}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        for name, state in zip(names, states):
            if state is not None and state.dim() not in (1, 2):
                raise ValueError(f"{kind}: Expected {name} to be 1D or 2D, got {state.dim()}D "
                                 "instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.shape[-1]} "
                               f"expected {self.input_size}")
        batched = input.dim() == 2
        for i, state in enumerate(states):
            if state is not None:
                rows = state.shape[0] if batched and state.dim() == 2 else 1
                if batched and rows != input.shape[0]:
                    raise RuntimeError(f"Input batch size {input.shape[0]} doesn't match "
                                       f"hidden{i} batch size {rows}")
                if state.shape[-1] != self.hidden_size:
                    raise RuntimeError(f"hidden{i} has inconsistent hidden_size: got "
                                       f"{state.shape[-1]}, expected {self.hidden_size}")
        return batched

    def _zeros(self, input: Tensor) -> Tensor:
        return zeros(input.shape[0], self.hidden_size, dtype=input.dtype, device=input.device)


class RNNCell(RNNCellBase):
    """``h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh)`` (or relu)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        batched = self._check(input, (hx,), ("hidden",))
        if not batched:
            input = input.unsqueeze(0)
            hx = hx.unsqueeze(0) if hx is not None else None
        h = self._zeros(input) if hx is None else hx
        pre = linear(input, self.weight_ih, self.bias_ih) + linear(h, self.weight_hh, self.bias_hh)
        if self.nonlinearity == "tanh":
            h = tanh(pre)
        elif self.nonlinearity == "relu":
            h = relu(pre)
        else:
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    """Gates ``i, f, g, o`` (in that order in the weights)::

        i = σ(W_ii x + b_ii + W_hi h + b_hi)      f = σ(...)      g = tanh(...)      o = σ(...)
        c' = f ⊙ c + i ⊙ g                         h' = o ⊙ tanh(c')
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Tensor, hx: tuple | None = None) -> tuple:
        h, c = hx if hx is not None else (None, None)
        batched = self._check(input, (h, c), ("hx[0]", "hx[1]"))
        if not batched:
            input = input.unsqueeze(0)
            h, c = (h.unsqueeze(0), c.unsqueeze(0)) if hx is not None else (None, None)
        if hx is None:
            h = c = self._zeros(input)
        gates = linear(input, self.weight_ih, self.bias_ih) + linear(h, self.weight_hh,
                                                                   self.bias_hh)
        i, f, g, o = gates.chunk(4, 1)
        i, f, g, o = sigmoid(i), sigmoid(f), tanh(g), sigmoid(o)
        c = f * c + i * g
        h = o * tanh(c)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """Gates ``r, z, n``; the reset gate multiplies the whole hidden part of ``n``, bias too::

        r = σ(W_ir x + b_ir + W_hr h + b_hr)      z = σ(W_iz x + b_iz + W_hz h + b_hz)
        n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
        h' = (1 − z) ⊙ n + z ⊙ h
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        batched = self._check(input, (hx,), ("hidden",))
        if not batched:
            input = input.unsqueeze(0)
            hx = hx.unsqueeze(0) if hx is not None else None
        h = self._zeros(input) if hx is None else hx
        x_r, x_z, x_n = linear(input, self.weight_ih, self.bias_ih).chunk(3, 1)
        h_r, h_z, h_n = linear(h, self.weight_hh, self.bias_hh).chunk(3, 1)
        r = sigmoid(x_r + h_r)
        z = sigmoid(x_z + h_z)
        n = tanh(x_n + r * h_n)
        h = (1 - z) * n + z * h
        return h if batched else h.squeeze(0)


# --- layers: whole sequences, one fused node per layer and direction ---------------------------
class RNNBase(Module):
    """What RNN, LSTM and GRU share: the parameters of every layer and direction, the checks,
    packed and padded input, and the loop over layers and directions."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__()
        _check_arguments(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         proj_size)
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bidirectional, proj_size
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                "dropout option adds dropout after all but last recurrent layer, so non-zero "
                f"dropout expects num_layers greater than 1, but got dropout={dropout} and "
                f"num_layers={num_layers}", stacklevel=2)
        gate_size = {"LSTM": 4, "GRU": 3}.get(mode, 1) * hidden_size
        directions = 2 if bidirectional else 1
        real_hidden = proj_size if proj_size > 0 else hidden_size
        kw = {"device": device, "dtype": dtype}
        self._flat_weights_names, self._all_weights = [], []
        for layer in range(num_layers):
            for direction in range(directions):
                layer_input = input_size if layer == 0 else real_hidden * directions
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                shapes = {"weight_ih": (gate_size, layer_input), "weight_hh": (gate_size, real_hidden)}
                if bias:
                    shapes.update(bias_ih=(gate_size,), bias_hh=(gate_size,))
                if proj_size > 0:
                    shapes["weight_hr"] = (proj_size, hidden_size)
                names = []
                for kind, shape in shapes.items():
                    setattr(self, kind + suffix, Parameter(empty(shape, **kw)))
                    names.append(kind + suffix)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound)

    def flatten_parameters(self) -> None:
        """PyTorch packs the weights into one buffer for cuDNN here; the fused kernels read the
        parameters where they are, so there is nothing to do."""

    @property
    def _flat_weights(self) -> list:
        return [getattr(self, name) for name in self._flat_weights_names]

    @property
    def all_weights(self) -> list:
        """The parameters per layer and direction, as ``[[weight_ih_l0, weight_hh_l0, ...], ...]``."""
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # --- forward --------------------------------------------------------------------------------
    def forward(self, input, hx=None):
        is_lstm = self.mode == "LSTM"
        packed = isinstance(input, PackedSequence)
        if packed:
            data, batch_sizes_t, sorted_indices, unsorted_indices = input
            batch_sizes = [int(b) for b in batch_sizes_t.tolist()]
            batched = True
            self._check_input(data, expected_dim=2)
        else:
            data, batch_sizes, batched = self._unpacked(input, hx, is_lstm)
            sorted_indices = unsorted_indices = None
        hx = self._initial_states(data, batch_sizes[0], hx, batched, is_lstm)
        if sorted_indices is not None:
            hx = tuple(h.index_select(1, sorted_indices) for h in hx)
        output, states = self._run_layers(data, hx, batch_sizes)
        if unsorted_indices is not None:
            states = tuple(s.index_select(1, unsorted_indices) for s in states)
        if packed:
            output = PackedSequence(output, batch_sizes_t, sorted_indices, unsorted_indices)
        else:
            output = output.reshape(len(batch_sizes), batch_sizes[0], output.shape[-1])
            if self.batch_first:
                output = output.transpose(0, 1)
            if not batched:
                output = output.squeeze(0 if self.batch_first else 1)
                states = tuple(s.squeeze(1) for s in states)
        return output, (states if is_lstm else states[0])

    def _unpacked(self, input: Tensor, hx, is_lstm: bool) -> tuple:
        """A padded (T, B, F) or unbatched (T, F) input as packed rows: (T·B, F), [B] * T."""
        if input.dim() not in (2, 3):
            name = "RNN" if self.mode.startswith("RNN") else self.mode
            tensor_word = " tensor" if name == "RNN" else ""
            raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.dim()}D"
                             f"{tensor_word} instead")
        batched = input.dim() == 3
        if not batched:
            input = input.unsqueeze(0 if self.batch_first else 1)
        self._check_input(input, expected_dim=3)
        if self.batch_first:
            input = input.transpose(0, 1)
        steps, batch = input.shape[0], input.shape[1]
        return input.reshape(steps * batch, input.shape[2]), [batch] * steps, batched

    def _check_input(self, data: Tensor, expected_dim: int) -> None:
        weight = self.weight_ih_l0
        if data.dtype != weight.dtype:
            ours, theirs = _TYPE_NAMES[data._data.dtype.name], _TYPE_NAMES[weight._data.dtype.name]
            raise ValueError(
                f"RNN input dtype ({ours}) does not match weight dtype ({theirs}). Convert input: "
                f"input.to({theirs}), or convert model: model.to({ours})")
        if data.dim() != expected_dim:
            raise RuntimeError(f"input must have {expected_dim} dimensions, got {data.dim()}")
        if data.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {data.shape[-1]}")

    def _initial_states(self, data: Tensor, batch: int, hx, batched: bool, is_lstm: bool) -> tuple:
        """``(h0,)`` or ``(h0, c0)`` of shape (layers·directions, B, ·): zeros if not given."""
        directions = 2 if self.bidirectional else 1
        real_hidden = self.proj_size if self.proj_size > 0 else self.hidden_size
        shapes = [(self.num_layers * directions, batch, real_hidden)]
        if is_lstm:
            shapes.append((self.num_layers * directions, batch, self.hidden_size))
        if hx is None:
            return tuple(zeros(s, dtype=data.dtype, device=data.device) for s in shapes)
        states = tuple(hx) if is_lstm else (hx,)
        dims = [s.dim() for s in states]
        want = 3 if batched else 2
        if any(d != want for d in dims):
            kind = "batched 3-D" if batched else "unbatched 2-D"
            if is_lstm:
                raise RuntimeError(f"For {kind} input, hx and cx should also be {want}-D but got "
                                   f"({dims[0]}-D, {dims[1]}-D) tensors")
            raise RuntimeError(f"For {kind} input, hx should also be {want}-D but got "
                               f"{dims[0]}-D tensor")
        if not batched:
            states = tuple(s.unsqueeze(1) for s in states)
        names = ["hidden[0]", "hidden[1]"] if is_lstm else ["hidden"]
        for name, state, shape in zip(names, states, shapes):
            if tuple(state.shape) != shape:
                raise RuntimeError(f"Expected {name} size {shape}, got {list(state.shape)}")
        return states

    def _run_layers(self, data: Tensor, hx: tuple, batch_sizes: list) -> tuple:
        """Every layer over the packed rows; returns the last layer's output and the final
        states stacked as (layers·directions, B, ·)."""
        directions = 2 if self.bidirectional else 1
        initial = [s.unbind(0) for s in hx]
        finals = [[] for _ in hx]
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                k = layer * directions + direction
                weights = dict(zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr"),
                                   [None] * 5))
                for name in self._all_weights[k]:
                    weights[name.split("_l")[0]] = getattr(self, name)
                out, h_n, c_n = rnn_layer(
                    self.mode, data, initial[0][k], initial[1][k] if len(hx) > 1 else None,
                    weights["weight_ih"], weights["weight_hh"], weights["bias_ih"],
                    weights["bias_hh"], weights["weight_hr"], batch_sizes, reverse=direction == 1)
                outputs.append(out)
                finals[0].append(h_n)
                if c_n is not None:
                    finals[1].append(c_n)
            data = outputs[0] if directions == 1 else cat(outputs, 1)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                data = dropout_fn(data, self.dropout, True)
        return data, tuple(stack(f, 0) for f in finals)


def _check_arguments(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                     proj_size) -> None:
    """PyTorch's constructor checks, with its messages."""
    if not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1 or isinstance(dropout, bool):
        raise ValueError("dropout should be a number in range [0, 1] representing the "
                         "probability of an element being zeroed")
    if not isinstance(bias, bool):
        raise TypeError(f"bias should be of type bool, got: {type(bias).__name__}")
    if not isinstance(batch_first, bool):
        raise TypeError(f"batch_first should be of type bool, got: {type(batch_first).__name__}")
    if not isinstance(input_size, int):
        raise TypeError(f"input_size should be of type int, got: {type(input_size).__name__}")
    if input_size <= 0:
        raise ValueError("input_size must be greater than zero")
    if not isinstance(hidden_size, int):
        raise TypeError(f"hidden_size should be of type int, got: {type(hidden_size).__name__}")
    if hidden_size <= 0:
        raise ValueError("hidden_size must be greater than zero")
    if num_layers <= 0:
        raise ValueError("num_layers must be greater than zero")
    if proj_size < 0:
        raise ValueError("proj_size should be a positive integer or zero to disable projections")
    if proj_size >= hidden_size:
        raise ValueError("proj_size has to be smaller than hidden_size")


class RNN(RNNBase):
    """Elman RNN: ``h_t = tanh(x_t W_ihᵀ + b_ih + h_{t−1} W_hhᵀ + b_hh)`` (or relu), per layer.

    ``RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True,
    batch_first=False, dropout=0.0, bidirectional=False)``.
    """

    def __init__(self, *args, **kwargs) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            self_nonlinearity, args = args[3], args[:3] + args[4:]
        else:
            self_nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if self_nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{self_nonlinearity}'. Select from 'tanh' or "
                             "'relu'.")
        super().__init__("RNN_TANH" if self_nonlinearity == "tanh" else "RNN_RELU", *args,
                         **kwargs)
        self.nonlinearity = self_nonlinearity


class LSTM(RNNBase):
    """Long short-term memory: the :class:`LSTMCell` update over whole sequences, per layer.

    ``LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False, proj_size=0)``; returns ``output, (h_n, c_n)``. With ``proj_size > 0``
    the hidden state is projected to ``proj_size`` features by ``weight_hr``.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__("LSTM", *args, **kwargs)


class GRU(RNNBase):
    """Gated recurrent unit: the :class:`GRUCell` update over whole sequences, per layer."""

    def __init__(self, *args, **kwargs) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)
