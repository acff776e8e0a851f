"""Ops that used to give a silent wrong answer where PyTorch raises or is right.

Each test compares with PyTorch (CPU, the reference) and runs on the device axis where it is an op.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

import handbook_lib as hl
import handbook_lib.nn.functional as F


def _error_of(fn) -> tuple:
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - the kind and words are what is compared
        return type(exc), str(exc)
    return None, None


def _same_error(ours, theirs) -> None:
    """Both raise, with PyTorch's message (the type may differ only where torch uses its own)."""
    kind, message = _error_of(theirs)
    our_kind, our_message = _error_of(ours)
    assert kind is not None, "the reference does not raise: the case is wrong"
    assert our_kind is kind and our_message == message, (our_kind, our_message, kind, message)


# --- negative indices do not wrap ------------------------------------------------------------------
INDEX_OPS = {
    "gather": lambda lib, x, i: lib.gather(x, 0, i[None]),
    "scatter": lambda lib, x, i: lib.scatter(x, 0, i[None], lib.ones(1, 4, device=x.device)),
    "scatter_value": lambda lib, x, i: lib.scatter(x, 0, i[None], value=2.0),
    "scatter_add": lambda lib, x, i: lib.scatter_add(x, 0, i[None],
                                                     lib.ones(1, 4, device=x.device)),
    "index_select": lambda lib, x, i: lib.index_select(x, 0, i),
    "index_add": lambda lib, x, i: lib.index_add(x, 0, i[:1], lib.ones(1, 4, device=x.device)),
    "embedding": lambda lib, x, i: lib.nn.functional.embedding(i, x),
    "Embedding": lambda lib, x, i: lib.nn.Embedding(3, 4).to(x.device)(i),
}


@pytest.mark.parametrize("op", sorted(INDEX_OPS))
@pytest.mark.parametrize("bad", [-1, 3])
def test_indices_out_of_range_raise_as_pytorch(op, bad, device):
    values = [bad, 0, 0, 0] if op != "index_add" else [bad]

    def run(lib, dev):
        x = lib.zeros(3, 4, device=dev)
        return lambda: INDEX_OPS[op](lib, x, lib.tensor(values + [0] * (4 - len(values)),
                                                        device=dev))

    _same_error(run(hl, device), run(torch, "cpu"))


def test_in_range_indices_still_work():
    device = "cpu"  # the cuda stand-in needs the array-module work on these ops
    x = hl.arange(12.0, device=device).reshape(3, 4)
    index = hl.tensor([[2, 1, 0, 2]], device=device)
    assert hl.gather(x, 0, index).tolist() == [[8.0, 5.0, 2.0, 11.0]]
    assert hl.index_select(x, 0, hl.tensor([2], device=device)).tolist() == [[8, 9, 10, 11]]


# --- float16 accumulates in float32 ----------------------------------------------------------------
def _half_data(spread: float = 50) -> np.ndarray:
    return (np.random.default_rng(0).standard_normal(1024) * spread + 200).astype(np.float16)


@pytest.mark.parametrize("reduction", ["var", "std", "norm"])
def test_float16_reductions_accumulate_in_float32(reduction):
    device = "cpu"  # the cuda stand-in needs the array-module work on these ops
    data = _half_data()
    ours = getattr(hl.tensor(data, device=device), reduction)()
    theirs = getattr(torch.tensor(data), reduction)()
    assert ours.dtype == hl.float16
    assert np.isfinite(ours.item())
    assert ours.item() == pytest.approx(theirs.item(), rel=2e-3)


def test_float16_cumsum_counts_past_2048(device):
    ones = hl.ones(3000, dtype=hl.float16, device=device)
    total = ones.cumsum(0)
    assert total.dtype == hl.float16 and total[-1].item() == 3000.0


def test_float16_layer_norm_is_not_zero(device):
    data = _half_data(spread=400).reshape(4, 256)  # squared deviations pass float16's 65504
    ours = F.layer_norm(hl.tensor(data, device=device), (256,))
    theirs = torch.nn.functional.layer_norm(torch.tensor(data), (256,))
    assert ours.dtype == hl.float16
    np.testing.assert_allclose(ours.numpy(force=True).astype(np.float32),
                               theirs.numpy().astype(np.float32), atol=4e-3)


def test_float16_batch_norm_matches_pytorch(device):
    data = _half_data(spread=400).reshape(256, 4)
    ours = hl.nn.BatchNorm1d(4).half().to(device)(hl.tensor(data, device=device))
    theirs = torch.nn.BatchNorm1d(4).half()(torch.tensor(data))
    np.testing.assert_allclose(ours.numpy(force=True).astype(np.float32),
                               theirs.detach().numpy().astype(np.float32), atol=4e-3)


def test_float16_layer_norm_gradient_stays_float16():
    device = "cpu"  # the cuda stand-in needs the array-module work on these ops
    x = hl.tensor(_half_data().reshape(4, 256), device=device, requires_grad=True)
    F.layer_norm(x, (256,)).pow(2).sum().backward()
    assert x.grad.dtype == hl.float16 and bool(hl.isfinite(x.grad).all())


# --- std/norm gradient where the value is 0 --------------------------------------------------------
@pytest.mark.parametrize("case", ["std", "std_dim", "norm", "norm_dim"])
def test_std_and_norm_gradient_is_zero_where_value_is_zero(case):
    device = "cpu"  # the cuda stand-in needs the array-module work on these ops
    def grad(lib, dev):
        fill = lib.ones if case.startswith("std") else lib.zeros
        x = fill(2, 5, device=dev, requires_grad=True)
        reduced = getattr(x, case.split("_")[0])(**({"dim": 1} if case.endswith("dim") else {}))
        reduced.sum().backward()
        return x.grad.tolist()

    assert grad(hl, device) == grad(torch, "cpu") == [[0.0] * 5] * 2


def test_std_and_norm_gradients_still_right_elsewhere():
    x = hl.randn(3, 4, dtype=hl.float64, requires_grad=True)
    assert hl.autograd.gradcheck(lambda t: t.std(1), (x,))
    assert hl.autograd.gradcheck(lambda t: t.norm(), (x,))


# --- a normalisation weight changed in place before backward --------------------------------------
@pytest.mark.parametrize("layer", ["LayerNorm", "BatchNorm1d"])
def test_norm_weight_changed_in_place_raises(layer):
    device = "cpu"  # the cuda stand-in needs the array-module work on these ops
    def run(lib, dev):
        module = getattr(lib.nn, layer)(3).to(dev)
        loss = module(lib.randn(4, 3, device=dev, requires_grad=True)).pow(2).sum()
        with lib.no_grad():
            module.weight.mul_(2)
        loss.backward()

    kind, message = _error_of(lambda: run(hl, device))
    assert kind is RuntimeError and "modified by an inplace operation" in message
    assert _error_of(lambda: run(torch, "cpu"))[0] is RuntimeError


def test_linear_weight_changed_in_place_allowed_when_input_needs_no_grad():
    device = "cpu"  # the cuda stand-in needs the array-module work on these ops
    def run(lib, dev, input_grad):
        lib.manual_seed(0)
        module = lib.nn.Linear(3, 2).to(dev)
        loss = module(lib.ones(4, 3, device=dev, requires_grad=input_grad)).sum()
        with lib.no_grad():
            module.weight.mul_(2)
        loss.backward()
        return module.weight.grad.tolist()

    assert run(hl, device, False) == run(torch, "cpu", False) == [[4.0] * 3] * 2
    kind, message = _error_of(lambda: run(hl, device, True))
    assert kind is RuntimeError and "modified by an inplace operation" in message


# --- no StopIteration may leak ---------------------------------------------------------------------
@pytest.mark.parametrize("args", [((0, 0), (1, 0)), ((0, 1), (1, 1)), ((0, 1), (0,)),
                                  ((0, -2), (1, 0))])
def test_movedim_errors_as_pytorch(args, device):
    _same_error(lambda: hl.zeros(2, 3, device=device).movedim(*args),
                lambda: torch.zeros(2, 3).movedim(*args))


@pytest.mark.parametrize("sizes", [(-1, 3), (3, -2), (2, 2), (-3, 3)])
def test_expand_errors_as_pytorch(sizes, device):
    ours_kind, _ = _error_of(lambda: hl.zeros(3, device=device).expand(*sizes))
    theirs_kind, _ = _error_of(lambda: torch.zeros(3).expand(*sizes))
    assert ours_kind is theirs_kind is RuntimeError


def test_expand_leading_minus_one_message():
    _same_error(lambda: hl.zeros(3).expand(-1, 3), lambda: torch.zeros(3).expand(-1, 3))


def test_movedim_still_moves(device):
    x = hl.zeros(2, 3, 4, device=device)
    assert x.movedim((0, 2), (2, 0)).shape == torch.zeros(2, 3, 4).movedim((0, 2), (2, 0)).shape
    assert x.movedim(0, -1).shape == (3, 4, 2)


def test_no_library_code_calls_next_without_a_default_outside_iterators():
    """``next(it)`` raising StopIteration inside an op ends the caller's for loop silently."""
    import ast
    import pathlib

    root = pathlib.Path(hl.__file__).parent
    # __next__ must raise it; module.py draws hook ids from an endless itertools.count
    iterators = {"utils/data/_fetch.py", "utils/data/dataloader.py", "nn/modules/module.py"}
    offenders = []
    for path in root.rglob("*.py"):
        name = path.relative_to(root).as_posix()
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "next"
                    and len(node.args) == 1 and name not in iterators):
                offenders.append(f"{name}:{node.lineno}")
    assert not offenders, offenders


# --- integer division by zero ----------------------------------------------------------------------
@pytest.mark.parametrize("expression", [
    lambda lib, d: lib.tensor([5], device=d) // lib.tensor([0], device=d),
    lambda lib, d: lib.tensor([5], device=d) % lib.tensor([0], device=d),
    lambda lib, d: lib.tensor([5], device=d) // 0,
    lambda lib, d: lib.tensor([5], device=d) % 0,
    lambda lib, d: lib.remainder(lib.tensor([5, 3], device=d), lib.tensor([2, 0], device=d)),
    lambda lib, d: lib.div(lib.tensor([5], device=d), lib.tensor([0], device=d),
                           rounding_mode="trunc"),
    lambda lib, d: lib.div(lib.tensor([5], device=d), 0, rounding_mode="floor"),
])
def test_integer_division_by_zero_raises(expression, device):
    _same_error(lambda: expression(hl, device), lambda: expression(torch, "cpu"))


def test_float_division_by_zero_still_gives_inf():
    device = "cpu"  # the cuda stand-in needs the array-module work on these ops
    assert (hl.tensor([5.0], device=device) // 0).tolist() == [float("inf")]
    assert (hl.tensor([5], device=device) // 2).tolist() == [2]


# --- NaN ordering ----------------------------------------------------------------------------------
NAN_ROWS = [[1.0, float("nan"), 3.0, -1.0], [4.0, 2.0, float("nan"), float("nan")],
            [1.0, 2.0, 3.0, 0.0]]


def _same_values(ours, theirs) -> None:
    np.testing.assert_array_equal(ours.numpy(force=True), theirs.numpy())


@pytest.mark.parametrize("descending", [False, True])
def test_sort_puts_nan_where_pytorch_does(descending):
    device = "cpu"  # the cuda stand-in needs the array-module work on these ops
    ours = hl.sort(hl.tensor(NAN_ROWS, device=device), descending=descending, stable=True)
    theirs = torch.sort(torch.tensor(NAN_ROWS), descending=descending, stable=True)
    _same_values(ours.values, theirs.values)
    _same_values(ours.indices, theirs.indices)


@pytest.mark.parametrize("largest", [False, True])
def test_topk_treats_nan_as_largest(largest):
    device = "cpu"  # the cuda stand-in needs the array-module work on these ops
    ours = hl.topk(hl.tensor(NAN_ROWS, device=device), 2, largest=largest)
    theirs = torch.topk(torch.tensor(NAN_ROWS), 2, largest=largest)
    _same_values(ours.values, theirs.values)


def test_median_propagates_nan(device):
    x = hl.tensor(NAN_ROWS, device=device)
    assert np.isnan(hl.median(x).item())
    ours, theirs = x.median(dim=1), torch.tensor(NAN_ROWS).median(dim=1)
    _same_values(ours.values, theirs.values)
    _same_values(ours.indices[2:], theirs.indices[2:])  # the row without NaN
    assert ours.indices[:2].tolist() == [1, 2]  # the first NaN


def test_median_with_dim_has_gradient():
    device = "cpu"  # the cuda stand-in needs the array-module work on these ops
    x = hl.tensor([[3.0, 1.0, 2.0], [5.0, 4.0, 6.0]], device=device, requires_grad=True)
    x.median(dim=1).values.sum().backward()
    assert x.grad.tolist() == [[0, 0, 1], [1, 0, 0]]


# --- shapes that must raise ------------------------------------------------------------------------
@pytest.mark.parametrize("amounts", [(-4, 0), (-2, -2), (1, -5)])
def test_pad_cropping_more_than_the_dim_raises(amounts, device):
    _same_error(lambda: F.pad(hl.zeros(2, 3, device=device), amounts),
                lambda: torch.nn.functional.pad(torch.zeros(2, 3), amounts))


def test_pad_cropping_exactly_the_dim_is_empty():
    assert F.pad(hl.zeros(2, 3), (-3, 0)).shape == (2, 0)


@pytest.mark.parametrize("size", [(2.5,), (2, 2.5), ((2.5,),)])
def test_float_sizes_raise_type_error(size):
    assert _error_of(lambda: torch.ones(*size))[0] is TypeError
    kind, message = _error_of(lambda: hl.ones(*size))
    assert kind is TypeError and "tuple of ints" in message
