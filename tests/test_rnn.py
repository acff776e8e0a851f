"""Recurrent layers, cells and packed sequences against PyTorch 2.13 (same weights, same inputs).

Every configuration compares outputs, final states and the gradients of the input, the initial
states and every parameter; gradcheck in float64 is the second oracle for the fused nodes.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch.nn.utils import rnn as torch_rnn

import handbook_lib as hl
from handbook_lib.autograd import gradcheck, gradgradcheck
from handbook_lib.nn.utils import rnn as hl_rnn
from handbook_lib.ops.rnn import rnn_layer

torch.set_num_threads(1)
pytestmark = pytest.mark.filterwarnings(  # torch's own note when it runs proj_size without oneDNN
    "ignore:LSTM with projections is not supported with oneDNN:UserWarning")
MODES = {"RNN_TANH": ("RNN", {}), "RNN_RELU": ("RNN", {"nonlinearity": "relu"}),
         "LSTM": ("LSTM", {}), "GRU": ("GRU", {})}
TOL = {"float32": dict(rtol=2e-4, atol=2e-5), "float64": dict(rtol=1e-9, atol=1e-11)}


def pair(mode: str, *args, dtype: str = "float64", **kwargs):
    """The same layer in torch and handbook_lib (torch's random weights copied over)."""
    name, extra = MODES[mode]
    theirs = getattr(torch.nn, name)(*args, **extra, **kwargs).to(getattr(torch, dtype))
    ours = getattr(hl.nn, name)(*args, **extra, **kwargs).to(getattr(hl, dtype))
    ours.load_state_dict({k: hl.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    return ours, theirs


def leaf(array: np.ndarray):
    return hl.tensor(array, requires_grad=True), torch.tensor(array, requires_grad=True)


def close(ours, theirs, dtype: str = "float64") -> None:
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), **TOL[dtype])


def as_tuple(state):
    return tuple(state) if isinstance(state, tuple) else (state,)


def weighted_loss(output, states, rng_seed: int, lib):
    """A loss that weighs every output and state entry differently (so no gradient is trivial)."""
    rng = np.random.default_rng(rng_seed)
    total = 0
    for t in (output, *states):
        w = rng.standard_normal(tuple(t.shape))
        total = total + (t * lib.tensor(w, dtype=t.dtype)).sum()
    return total


CONFIGS = [
    dict(),
    dict(num_layers=2),
    dict(num_layers=3, bidirectional=True),
    dict(bidirectional=True, batch_first=True),
    dict(bias=False),
    dict(num_layers=2, batch_first=True, states=True),
    dict(unbatched=True, states=True),
    dict(unbatched=True, batch_first=True, bidirectional=True),
    dict(num_layers=2, dropout=0.5, eval=True, states=True),
    dict(dtype="float32", num_layers=2, bidirectional=True, states=True),
]
LSTM_ONLY = [dict(proj_size=3), dict(proj_size=2, num_layers=2, bidirectional=True, states=True),
             dict(proj_size=3, unbatched=True, states=True, dtype="float32")]


def _cases():
    for mode in MODES:
        for i, config in enumerate(CONFIGS + (LSTM_ONLY if mode == "LSTM" else [])):
            yield pytest.param(mode, config, id=f"{mode}-{i}-" + "-".join(
                f"{k}={v}" for k, v in config.items()))


@pytest.mark.parametrize("mode, config", list(_cases()))
def test_layer_matches_torch(mode: str, config: dict) -> None:
    config = dict(config)
    dtype = config.pop("dtype", "float64")
    unbatched, with_states = config.pop("unbatched", False), config.pop("states", False)
    evaluate = config.pop("eval", False)
    input_size, hidden, steps, batch = 4, 5, 6, 3
    ours, theirs = pair(mode, input_size, hidden, dtype=dtype, **config)
    if evaluate:
        ours.eval(), theirs.eval()
    rng = np.random.default_rng(7)
    shape = ((steps,) if unbatched else ((batch, steps) if config.get("batch_first")
                                          else (steps, batch))) + (input_size,)
    x, xt = leaf(rng.standard_normal(shape).astype(dtype))
    directions = 2 if config.get("bidirectional") else 1
    layers = config.get("num_layers", 1)
    h_size = config.get("proj_size") or hidden
    states = states_t = None
    leaves = []
    if with_states:
        sizes = [h_size] + ([hidden] if mode == "LSTM" else [])
        pairs = [leaf(rng.standard_normal((layers * directions,) + (() if unbatched else (batch,))
                                          + (s,)).astype(dtype)) for s in sizes]
        leaves = pairs
        states = tuple(p[0] for p in pairs) if mode == "LSTM" else pairs[0][0]
        states_t = tuple(p[1] for p in pairs) if mode == "LSTM" else pairs[0][1]
    out, final = ours(x, states)
    out_t, final_t = theirs(xt, states_t)
    close(out, out_t, dtype)
    for a, b in zip(as_tuple(final), as_tuple(final_t)):
        assert tuple(a.shape) == tuple(b.shape)
        close(a, b, dtype)
    weighted_loss(out, as_tuple(final), 3, hl).backward()
    weighted_loss(out_t, as_tuple(final_t), 3, torch).backward()
    close(x.grad, xt.grad, dtype)
    for ours_leaf, theirs_leaf in leaves:
        close(ours_leaf.grad, theirs_leaf.grad, dtype)
    names = [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_parameters()] == names
    for (name, p), (_, pt) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert p.grad is not None, name
        close(p.grad, pt.grad, dtype)


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_packed_input_matches_torch(mode: str, enforce_sorted: bool) -> None:
    ours, theirs = pair(mode, 3, 4, num_layers=2, bidirectional=True)
    lengths = [5, 3, 3, 1] if enforce_sorted else [3, 5, 1, 3]
    x, xt = leaf(np.random.default_rng(2).standard_normal((5, 4, 3)))
    packed = hl_rnn.pack_padded_sequence(x, lengths, enforce_sorted=enforce_sorted)
    packed_t = torch_rnn.pack_padded_sequence(xt, lengths, enforce_sorted=enforce_sorted)
    out, final = ours(packed)
    out_t, final_t = theirs(packed_t)
    assert isinstance(out, hl_rnn.PackedSequence)
    assert out.batch_sizes.tolist() == out_t.batch_sizes.tolist()
    close(out.data, out_t.data)
    for a, b in zip(as_tuple(final), as_tuple(final_t)):
        close(a, b)
    padded, lens = hl_rnn.pad_packed_sequence(out, padding_value=-2.0, total_length=6)
    padded_t, lens_t = torch_rnn.pad_packed_sequence(out_t, padding_value=-2.0, total_length=6)
    close(padded, padded_t)
    assert lens.tolist() == lens_t.tolist() == lengths
    weighted_loss(padded, as_tuple(final), 5, hl).backward()
    weighted_loss(padded_t, as_tuple(final_t), 5, torch).backward()
    close(x.grad, xt.grad)
    for p, pt in zip(ours.parameters(), theirs.parameters()):
        close(p.grad, pt.grad)


@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
def test_packed_with_given_states_permutes_them_like_torch(mode: str) -> None:
    ours, theirs = pair(mode, 3, 4)
    lengths = [2, 4, 3]
    x, xt = leaf(np.random.default_rng(3).standard_normal((4, 3, 3)))
    rng = np.random.default_rng(4)
    pairs = [leaf(rng.standard_normal((1, 3, 4))) for _ in range(2 if mode == "LSTM" else 1)]
    states = tuple(p[0] for p in pairs) if mode == "LSTM" else pairs[0][0]
    states_t = tuple(p[1] for p in pairs) if mode == "LSTM" else pairs[0][1]
    out, final = ours(hl_rnn.pack_padded_sequence(x, lengths, enforce_sorted=False), states)
    out_t, final_t = theirs(torch_rnn.pack_padded_sequence(xt, lengths, enforce_sorted=False),
                            states_t)
    close(out.data, out_t.data)
    weighted_loss(out.data, as_tuple(final), 1, hl).backward()
    weighted_loss(out_t.data, as_tuple(final_t), 1, torch).backward()
    for a, b in pairs:
        close(a.grad, b.grad)


@pytest.mark.parametrize("mode", list(MODES))
def test_packed_run_equals_each_sequence_alone(mode: str) -> None:
    """h_n is each sequence's last real step: a packed batch gives what each sequence gives
    alone, and the padding never leaks into the result."""
    layer = hl.nn.LSTM(3, 4) if mode == "LSTM" else getattr(hl.nn, MODES[mode][0])(
        3, 4, **MODES[mode][1])
    layer = layer.double()
    rng = np.random.default_rng(5)
    seqs = [hl.tensor(rng.standard_normal((n, 3))) for n in (2, 5, 3)]
    out, final = layer(hl_rnn.pack_sequence(seqs, enforce_sorted=False))
    for b, (seq, alone) in enumerate(zip(hl_rnn.unpack_sequence(out), seqs)):
        out_alone, final_alone = layer(alone)
        close(seq, out_alone)
        for a, s in zip(as_tuple(final), as_tuple(final_alone)):
            close(a[:, b], s)


@pytest.mark.parametrize("cell, mode", [("RNNCell", "RNN_TANH"), ("RNNCell", "RNN_RELU"),
                                        ("LSTMCell", "LSTM"), ("GRUCell", "GRU")])
def test_cell_matches_torch_and_the_layer(cell: str, mode: str) -> None:
    extra = {"nonlinearity": "relu"} if mode == "RNN_RELU" else {}
    theirs = getattr(torch.nn, cell)(3, 4, **extra).double()
    ours = getattr(hl.nn, cell)(3, 4, **extra).double()
    ours.load_state_dict({k: hl.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    assert repr(ours) == repr(theirs)
    x, xt = leaf(np.random.default_rng(6).standard_normal((5, 2, 3)))
    state, state_t = None, None
    outs, outs_t = [], []
    for t in range(5):
        state, state_t = ours(x[t], state), theirs(xt[t], state_t)
        outs.append(state[0] if mode == "LSTM" else state)
        outs_t.append(state_t[0] if mode == "LSTM" else state_t)
    for a, b in zip(as_tuple(state), as_tuple(state_t)):
        close(a, b)
    weighted_loss(hl.stack(outs), as_tuple(state), 2, hl).backward()
    weighted_loss(torch.stack(outs_t), as_tuple(state_t), 2, torch).backward()
    close(x.grad, xt.grad)
    for p, pt in zip(ours.parameters(), theirs.parameters()):
        close(p.grad, pt.grad)
    layer = getattr(hl.nn, MODES[mode][0])(3, 4, **MODES[mode][1]).double()
    layer.load_state_dict({k + "_l0": v for k, v in ours.state_dict().items()})
    out, final = layer(x.detach())
    close(out, hl.stack(outs))
    unbatched = ours(x[0, 0])  # a single sample without a batch dim
    close(as_tuple(unbatched)[0], as_tuple(ours(x[0, :1]))[0][0])


@pytest.mark.parametrize("cell", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells_support_double_backward(cell: str) -> None:
    layer = getattr(hl.nn, cell)(2, 3).double()
    x = hl.randn(2, 2, dtype=hl.float64, requires_grad=True)
    h = hl.randn(2, 3, dtype=hl.float64, requires_grad=True)
    state = (h, h * 0.5) if cell == "LSTMCell" else h

    def run(x, h):
        out = layer(x, (h, h * 0.5) if cell == "LSTMCell" else h)
        return as_tuple(out)[0]

    assert layer(x, state) is not None
    assert gradgradcheck(run, (x, h))


@pytest.mark.parametrize("mode, kwargs, lengths", [
    ("LSTM", {}, None), ("LSTM", {"proj_size": 2}, None), ("GRU", {}, None),
    ("RNN_TANH", {}, None), ("RNN_RELU", {}, None), ("LSTM", {}, [3, 2, 1]),
    ("GRU", {}, [3, 3, 1])])
@pytest.mark.parametrize("reverse", [False, True])
def test_fused_node_gradcheck(mode: str, kwargs: dict, lengths, reverse: bool) -> None:
    hidden, proj, batch = 3, kwargs.get("proj_size", 0), 3
    gates = {"LSTM": 4, "GRU": 3}.get(mode, 1) * hidden
    rng = np.random.default_rng(8)
    batch_sizes = ([batch] * 3 if lengths is None
                   else [sum(n > t for n in lengths) for t in range(max(lengths))])
    out_size = proj or hidden

    def t(*shape, scale=0.5):
        return hl.tensor(rng.standard_normal(shape) * scale, requires_grad=True)

    x = t(sum(batch_sizes), 2)
    h0, c0 = t(batch, out_size), (t(batch, hidden) if mode == "LSTM" else None)
    w_ih, w_hh = t(gates, 2), t(gates, out_size)
    b_ih, b_hh = t(gates), t(gates)
    w_hr = t(proj, hidden) if proj else None
    if mode == "RNN_RELU":  # keep the pre-activations away from the kink at 0
        b_ih = hl.tensor(np.abs(rng.standard_normal(gates)) + 1.0, requires_grad=True)
    inputs = [v for v in (x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr) if v is not None]

    def run(*args):
        it = iter(args)
        values = [next(it) if v is not None else None for v in (x, h0, c0, w_ih, w_hh, b_ih,
                                                                  b_hh, w_hr)]
        out, h_n, c_n = rnn_layer(mode, *values, batch_sizes, reverse=reverse)
        return (out, h_n) if c_n is None else (out, h_n, c_n)

    assert gradcheck(run, tuple(inputs))


def test_fused_node_refuses_double_backward_and_a_second_backward() -> None:
    layer = hl.nn.LSTM(2, 3).double()
    x = hl.randn(4, 1, 2, dtype=hl.float64, requires_grad=True)
    out, _ = layer(x)
    assert out.grad_fn is not None
    with pytest.raises(RuntimeError, match="double backward through the fused LSTM layer"):
        hl.autograd.grad(out.sum(), x, create_graph=True)
    out, _ = layer(x)
    loss = out.sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        loss.backward()


def test_retain_graph_allows_a_second_backward() -> None:
    layer = hl.nn.GRU(2, 3)
    x = hl.randn(4, 2, 2, requires_grad=True)
    out, _ = layer(x)
    out.sum().backward(retain_graph=True)
    first = x.grad.clone()
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first.numpy(), rtol=1e-6)


def test_dropout_between_layers_only_in_training_and_the_warning() -> None:
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        hl.nn.LSTM(2, 3, dropout=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hl.nn.LSTM(2, 3, num_layers=2, dropout=0.5)
    hl.manual_seed(0)
    layer = hl.nn.GRU(2, 3, num_layers=2, dropout=1.0)  # drops everything the 2nd layer sees
    x = hl.randn(5, 2, 2)
    out, h = layer(x)
    second = hl.nn.GRU(3, 3)
    second.load_state_dict({k.replace("_l1", "_l0"): v for k, v in layer.state_dict().items()
                            if "_l1" in k})
    expected, _ = second(hl.zeros(5, 2, 3), h[1:] * 0)
    close(out, expected, "float32")
    layer.eval()
    out_eval, _ = layer(x)
    assert not np.allclose(out_eval.detach().numpy(), out.detach().numpy())


@pytest.mark.parametrize("mode, kwargs", [
    ("LSTM", dict(num_layers=2, proj_size=3, dropout=0.5, batch_first=True, bidirectional=True)),
    ("GRU", dict(bias=False)), ("RNN_RELU", dict(num_layers=3)), ("RNN_TANH", {})])
def test_parameters_init_repr_state_dict_and_all_weights(mode: str, kwargs: dict) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, theirs = pair(mode, 4, 6, dtype="float32", **kwargs)
        fresh = getattr(hl.nn, MODES[mode][0])(4, 6, **MODES[mode][1], **kwargs)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [tuple(p.shape) for p in ours.parameters()] == [tuple(p.shape)
                                                          for p in theirs.parameters()]
    assert [[tuple(w.shape) for w in ws] for ws in ours.all_weights] == [
        [tuple(w.shape) for w in ws] for ws in theirs.all_weights]
    assert ours._flat_weights_names == theirs._flat_weights_names
    bound = 1 / np.sqrt(6)
    values = np.concatenate([p.detach().numpy().ravel() for p in fresh.parameters()])
    assert values.min() >= -bound and values.max() <= bound and values.std() > bound / 3
    ours.flatten_parameters()
    for name, value in theirs.state_dict().items():
        close(ours.state_dict()[name], value, "float32")


def test_cell_reprs_match_torch() -> None:
    for name, kwargs in [("RNNCell", dict(bias=False, nonlinearity="relu")), ("LSTMCell", {}),
                         ("GRUCell", dict(bias=False))]:
        assert repr(getattr(hl.nn, name)(3, 4, **kwargs)) == repr(
            getattr(torch.nn, name)(3, 4, **kwargs))


# --- errors, as PyTorch's ----------------------------------------------------------------------
def _message(fn, *libs) -> list:
    found = []
    for lib in libs:
        with pytest.raises(Exception) as info:
            fn(lib)
        found.append((type(info.value).__name__, str(info.value)))
    return found


ERRORS = {
    "rank": lambda lib: lib.nn.LSTM(4, 5)(lib.zeros(3, 2, 2, 4)),
    "rank_rnn": lambda lib: lib.nn.RNN(4, 5)(lib.zeros(3, 2, 2, 4)),
    "features": lambda lib: lib.nn.GRU(4, 5)(lib.zeros(3, 2, 3)),
    "hidden": lambda lib: lib.nn.GRU(10, 20)(lib.zeros(5, 3, 10), lib.zeros(1, 4, 20)),
    "hidden0": lambda lib: lib.nn.LSTM(4, 5)(lib.zeros(3, 2, 4),
                                             (lib.zeros(1, 3, 5), lib.zeros(1, 2, 5))),
    "hidden1": lambda lib: lib.nn.LSTM(4, 5)(lib.zeros(3, 2, 4),
                                             (lib.zeros(1, 2, 5), lib.zeros(1, 3, 5))),
    "hidden_rank": lambda lib: lib.nn.RNN(4, 5)(lib.zeros(3, 4), lib.zeros(1, 1, 5)),
    "hidden_rank_lstm": lambda lib: lib.nn.LSTM(4, 5)(lib.zeros(3, 2, 4),
                                                      (lib.zeros(2, 5), lib.zeros(2, 5))),
    "dtype": lambda lib: lib.nn.LSTM(4, 5)(lib.zeros(3, 2, 4, dtype=lib.float64)),
    "proj_rnn": lambda lib: lib.nn.RNN(4, 5, proj_size=2),
    "proj_big": lambda lib: lib.nn.LSTM(4, 5, proj_size=5),
    "nonlinearity": lambda lib: lib.nn.RNN(4, 5, nonlinearity="sigmoid"),
    "dropout": lambda lib: lib.nn.LSTM(4, 5, dropout=1.5),
    "layers": lambda lib: lib.nn.LSTM(4, 5, num_layers=0),
    "cell_rank": lambda lib: lib.nn.LSTMCell(4, 5)(lib.zeros(3, 2, 4)),
    "cell_features": lambda lib: lib.nn.LSTMCell(4, 5)(lib.zeros(3, 3)),
    "cell_batch": lambda lib: lib.nn.GRUCell(4, 5)(lib.zeros(3, 4), lib.zeros(2, 5)),
    "unsorted": lambda lib: lib.nn.utils.rnn.pack_padded_sequence(lib.zeros(3, 2, 1), [2, 3]),
    "zero_length": lambda lib: lib.nn.utils.rnn.pack_padded_sequence(lib.zeros(3, 2, 1), [3, 0]),
    "batch_lengths": lambda lib: lib.nn.utils.rnn.pack_padded_sequence(lib.zeros(3, 2, 1),
                                                                       [3, 2, 1]),
    "total_length": lambda lib: lib.nn.utils.rnn.pad_packed_sequence(
        lib.nn.utils.rnn.pack_padded_sequence(lib.zeros(3, 2, 1), [3, 2]), total_length=2),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_errors_match_torch(name: str) -> None:
    ours, theirs = _message(ERRORS[name], hl, torch)
    assert ours == theirs


def test_length_longer_than_the_sequence_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="at most the padded sequence length 3, but found a "
                                           "length of 4"):
        hl_rnn.pack_padded_sequence(hl.zeros(3, 2, 1), [4, 2])


# --- packing utilities --------------------------------------------------------------------------
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_unpad_pack_unpack_match_torch(batch_first: bool, side: str) -> None:
    rng = np.random.default_rng(9)
    arrays = [rng.standard_normal((n, 2)) for n in (3, 5, 1)]
    ours, theirs = [hl.tensor(a) for a in arrays], [torch.tensor(a) for a in arrays]
    padded = hl_rnn.pad_sequence(ours, batch_first=batch_first, padding_value=7.0,
                                 padding_side=side)
    padded_t = torch_rnn.pad_sequence(theirs, batch_first=batch_first, padding_value=7.0,
                                      padding_side=side)
    close(padded, padded_t)
    if side == "right":
        for a, b in zip(hl_rnn.unpad_sequence(padded, hl.tensor([3, 5, 1]), batch_first),
                        torch_rnn.unpad_sequence(padded_t, torch.tensor([3, 5, 1]), batch_first)):
            close(a, b)
    packed = hl_rnn.pack_sequence(ours, enforce_sorted=False)
    packed_t = torch_rnn.pack_sequence(theirs, enforce_sorted=False)
    close(packed.data, packed_t.data)
    assert packed.sorted_indices.tolist() == packed_t.sorted_indices.tolist()
    assert packed.unsorted_indices.tolist() == packed_t.unsorted_indices.tolist()
    for a, b in zip(hl_rnn.unpack_sequence(packed), torch_rnn.unpack_sequence(packed_t)):
        close(a, b)
    if side == "right":  # the round trip padded → packed → padded
        again, lengths = hl_rnn.pad_packed_sequence(
            hl_rnn.pack_padded_sequence(padded, [3, 5, 1], batch_first=batch_first,
                                        enforce_sorted=False),
            batch_first=batch_first, padding_value=7.0)
        close(again, padded)  # (torch's unpad_sequence transposed padded_t in place)
        assert lengths.tolist() == [3, 5, 1]


def test_packed_sequence_is_a_tuple_with_torchs_fields() -> None:
    packed = hl_rnn.pack_sequence([hl.ones(2, 1), hl.ones(1, 1)])
    data, batch_sizes, sorted_indices, unsorted_indices = packed
    assert batch_sizes.tolist() == [2, 1] and sorted_indices is None and unsorted_indices is None
    assert batch_sizes.dtype == hl.int64
    assert packed.double().data.dtype == hl.float64
    assert type(packed).__name__ == "PackedSequence" and packed._fields == (
        "data", "batch_sizes", "sorted_indices", "unsorted_indices")


def test_pack_gradient_flows_back_to_the_padded_input() -> None:
    x, xt = leaf(np.random.default_rng(10).standard_normal((4, 3, 2)))
    packed = hl_rnn.pack_padded_sequence(x, [2, 4, 3], enforce_sorted=False)
    packed_t = torch_rnn.pack_padded_sequence(xt, [2, 4, 3], enforce_sorted=False)
    (packed.data ** 2).sum().backward()
    (packed_t.data ** 2).sum().backward()
    close(x.grad, xt.grad)


# --- the device axis ----------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN_TANH"])
def test_fused_layer_runs_on_the_device(device, mode: str) -> None:
    """The fused kernels take their array module from the inputs: the same numbers on cpu and
    on the cuda device, forward and backward, padded and packed batch sizes alike."""
    rng = np.random.default_rng(11)
    hidden, gates = 3, {"LSTM": 4, "GRU": 3}.get(mode, 1) * 3
    arrays = dict(x=rng.standard_normal((6, 2)), h0=rng.standard_normal((3, hidden)),
                  c0=rng.standard_normal((3, hidden)) if mode == "LSTM" else None,
                  w_ih=rng.standard_normal((gates, 2)), w_hh=rng.standard_normal((gates, hidden)),
                  b_ih=rng.standard_normal(gates), b_hh=rng.standard_normal(gates))
    results = {}
    for where in ("cpu", device):
        tensors = {k: None if v is None else hl.tensor(v.astype(np.float32), device=where,
                                                       requires_grad=True)
                   for k, v in arrays.items()}
        out, h_n, c_n = rnn_layer(mode, *tensors.values(), None, [3, 2, 1], reverse=False)
        assert out.device == hl.device(where)
        grads = [hl.full(tuple(t.shape), float(k), device=where) for k, t in
                 enumerate((out, h_n, c_n), start=1) if t is not None]
        hl.autograd.backward([t for t in (out, h_n, c_n) if t is not None], grads)
        results[where] = [out.cpu().detach().numpy(), h_n.cpu().detach().numpy()] + [
            t.grad.cpu().numpy() for t in tensors.values() if t is not None]
    for a, b in zip(results["cpu"], results[device]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode", list(MODES))
def test_one_input_feature_matches_torch(mode: str) -> None:
    """The sin→cos shape (one input feature: the input projection is an outer product)."""
    ours, theirs = pair(mode, 1, 6, dtype="float32")
    x, xt = leaf(np.random.default_rng(12).standard_normal((7, 3, 1)).astype(np.float32))
    out, final = ours(x)
    out_t, final_t = theirs(xt)
    close(out, out_t, "float32")
    weighted_loss(out, as_tuple(final), 4, hl).backward()
    weighted_loss(out_t, as_tuple(final_t), 4, torch).backward()
    close(x.grad, xt.grad, "float32")
    for p, pt in zip(ours.parameters(), theirs.parameters()):
        close(p.grad, pt.grad, "float32")


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_layer_module_runs_on_the_device(device, kind: str) -> None:
    """The whole module (bidirectional, two layers, packed input) on the device equals cpu."""
    hl.manual_seed(0)
    layer = getattr(hl.nn, kind)(2, 3, num_layers=2, bidirectional=True)
    x = np.random.default_rng(13).standard_normal((4, 3, 2)).astype(np.float32)
    results = {}
    for where in ("cpu", device):
        model = layer.to(where)
        xs = hl.tensor(x, device=where, requires_grad=True)
        packed = hl_rnn.pack_padded_sequence(xs, [2, 4, 3], enforce_sorted=False)
        out, final = model(packed)
        padded, _ = hl_rnn.pad_packed_sequence(out)
        (padded.sum() + as_tuple(final)[0].sum()).backward()
        results[where] = [padded.cpu().detach().numpy(), xs.grad.cpu().numpy()] + [
            p.grad.cpu().numpy() for p in model.parameters()]
        model.zero_grad()
    for a, b in zip(results["cpu"], results[device]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_lstm_with_a_projection_runs_on_the_device(device) -> None:
    """proj_size: the GPU loop's other branch (the projection GEMM between the cell kernels)."""
    hl.manual_seed(0)
    layer = hl.nn.LSTM(2, 4, proj_size=3, bidirectional=True)
    x = np.random.default_rng(14).standard_normal((5, 2, 2)).astype(np.float32)
    results = {}
    for where in ("cpu", device):
        model = layer.to(where)
        xs = hl.tensor(x, device=where, requires_grad=True)
        out, (h_n, c_n) = model(xs)
        (out.sum() + 2 * h_n.sum() + 3 * c_n.sum()).backward()
        results[where] = [out.cpu().detach().numpy(), xs.grad.cpu().numpy()] + [
            p.grad.cpu().numpy() for p in model.parameters()]
        model.zero_grad()
    for a, b in zip(results["cpu"], results[device]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind, most", [("LSTM", (4, 3)), ("GRU", (4, 4))])
def test_a_time_step_is_a_few_kernels_on_the_gpu(stand_in, kind: str, most: tuple) -> None:
    """On a GPU each time step costs kernel launches, not arithmetic: an LSTM step was 24
    launches forward and 13 backward, a GRU step 17 and 20. With the cell chains of
    ops/fused.py a step is its GEMM and two kernels (one and the GEMM backward)."""
    layer = getattr(hl.nn, kind)(3, 8).cuda()

    def launches(steps: int) -> tuple[int, int]:
        x = hl.randn(steps, 4, 3, device="cuda")
        start = stand_in._core.STATE.launches
        out, _ = layer(x)
        middle = stand_in._core.STATE.launches
        out.sum().backward()
        return middle - start, stand_in._core.STATE.launches - middle

    (f10, b10), (f20, b20) = launches(10), launches(20)
    per_step = ((f20 - f10) / 10, (b20 - b10) / 10)
    assert per_step[0] <= most[0] and per_step[1] <= most[1], per_step
