"""Generic tests driven by the op database (tests/op_db.py): every op against PyTorch 2.13 (CPU).

For each op and sample: forward values and result dtype (float64 tight, float32 loose, integer
and bool exact), gradients against PyTorch's, finite-difference gradcheck in float64, and for the
elementwise, reduction and matmul ops second derivatives (create_graph) against PyTorch's.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

import handbook_lib as hl
from handbook_lib.autograd import gradcheck, gradgradcheck
from op_db import OPS, Index, Maker, OpInfo, Sample, Strided, fresh_array

torch.set_num_threads(1)
FLOATS = ("float32", "float64")


def _params(predicate, dtypes_of):
    return [pytest.param(info, dtype, id=f"{info.name}-{dtype}")
            for info in OPS if predicate(info) for dtype in dtypes_of(info)]


def samples_of(info: OpInfo, dtype: str) -> list[Sample]:
    return list(info.samples(Maker(dtype, seed=len(info.name))))


# --- building arguments for either library ---------------------------------------------------------
def on_device(array: np.ndarray | Strided, lib, device: str):
    """A tensor of ``lib`` with the values and layout of ``array``, built on ``device`` (a strided
    view is made there from its moved buffer, so the layout survives the move)."""
    if device == "cpu" or lib is not hl:
        return lib.from_numpy(fresh_array(array))
    if isinstance(array, Strided) and array.how == "T":
        buffer = np.ascontiguousarray(np.swapaxes(array.value, -1, -2))
        return hl.from_numpy(buffer).to(device).transpose(-1, -2)
    if isinstance(array, Strided):
        return hl.from_numpy(np.repeat(array.value, 2, axis=-1)).to(device)[..., ::2]
    return hl.from_numpy(fresh_array(array)).to(device)


def build(sample: Sample, lib, info: OpInfo, grad: bool, device: str = "cpu") -> tuple:
    """``(args, kwargs, leaves)``: tensors of ``lib`` for the sample, the float ones requiring grad
    (only those at ``info.grad_args`` when given) when ``grad`` is set; ours on ``device``."""
    leaves: list = []

    def convert(obj, want_grad: bool):
        if isinstance(obj, Index):
            return on_device(obj.value, lib, device)
        if isinstance(obj, (np.ndarray, Strided)):
            t = on_device(obj, lib, device)
            if want_grad and t.is_floating_point():
                t.requires_grad_(True)
                leaves.append(t)
            return t
        if isinstance(obj, list):
            return [convert(o, want_grad) for o in obj]
        if isinstance(obj, tuple):
            return tuple(convert(o, want_grad) for o in obj)
        if isinstance(obj, dict):
            return {k: convert(v, False) for k, v in obj.items()}
        return obj

    args = tuple(convert(a, grad and (info.grad_args is None or i in info.grad_args))
                 for i, a in enumerate(sample.args))
    return args, convert(sample.kwargs, False), leaves


def flat(out) -> list:
    if isinstance(out, (tuple, list)):
        return [o for item in out for o in flat(item)]
    return [out]


def differentiable(outputs: list) -> list:
    return [o for o in outputs if hasattr(o, "requires_grad") and o.requires_grad]


def floating(outputs: list) -> list:
    """The float tensors among ``outputs`` (gradcheck runs them with and without grad mode)."""
    return [o for o in outputs if isinstance(o, hl.Tensor) and o.is_floating_point()]


def as_numpy(t) -> np.ndarray:
    return t.detach().numpy() if isinstance(t, torch.Tensor) else t.detach().cpu()._data


def assert_close(ours, theirs, rtol: float, atol: float, what: str) -> None:
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, hl.Tensor), f"{what}: expected a Tensor, got {type(ours)}"
        assert str(ours.dtype) == str(theirs.dtype), f"{what}: dtype {ours.dtype} != {theirs.dtype}"
        assert tuple(ours.shape) == tuple(theirs.shape), \
            f"{what}: shape {tuple(ours.shape)} != {tuple(theirs.shape)}"
        a, b = as_numpy(ours), as_numpy(theirs)
        if a.dtype.kind == "f":
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=what)
        else:
            np.testing.assert_array_equal(a, b, err_msg=what)
    else:
        assert ours == theirs, f"{what}: {ours!r} != {theirs!r}"


def tolerances(info: OpInfo, dtype: str, scale: float = 1.0) -> tuple:
    if dtype == "float32":
        return info.rtol32 * scale, info.atol32 * scale
    return info.rtol64 * scale, info.atol64 * scale


# --- forward --------------------------------------------------------------------------------------
@pytest.mark.parametrize("info, dtype", _params(lambda i: True, lambda i: i.dtypes))
def test_forward_matches_torch(info: OpInfo, dtype: str, device: str) -> None:
    rtol, atol = tolerances(info, dtype)
    for sample in samples_of(info, dtype):
        what = f"{info.name}[{sample.desc}] {dtype} on {device}"
        ours_args, ours_kwargs, _ = build(sample, hl, info, grad=False, device=device)
        theirs_args, theirs_kwargs, _ = build(sample, torch, info, grad=False)
        for a, t in zip(flat(ours_args), flat(theirs_args)):
            if isinstance(a, hl.Tensor):
                assert a.is_contiguous() == t.is_contiguous(), f"{what}: layout of the inputs"
        theirs = flat(info.ref(*theirs_args, **theirs_kwargs))
        ours = flat(info.op(*ours_args, **ours_kwargs))
        assert len(ours) == len(theirs), f"{what}: {len(ours)} outputs, expected {len(theirs)}"
        for i, (o, t) in enumerate(zip(ours, theirs)):
            if isinstance(o, hl.Tensor):
                assert o.device == hl.device(device), f"{what} output {i} is on {o.device}"
            assert_close(o, t, rtol, atol, f"{what} output {i}")


def test_samples_cover_non_contiguous_and_broadcast_inputs() -> None:
    descriptions = " ".join(s.desc for info in OPS for s in samples_of(info, "float64"))
    for word in ("transposed", "strided", "broadcast", "0-dim", "empty"):
        assert word in descriptions


# --- first derivatives ------------------------------------------------------------------------------
def _gradients(lib, info: OpInfo, sample: Sample, dtype: str, create_graph: bool = False,
               device: str = "cpu"):
    args, kwargs, leaves = build(sample, lib, info, grad=True, device=device)
    outputs = differentiable(flat((info.op if lib is hl else info.ref)(*args, **kwargs)))
    rng = np.random.default_rng(7)
    seeds = [on_device(rng.standard_normal(tuple(o.shape)).astype(dtype), lib, device)
             for o in outputs]
    grads = lib.autograd.grad(outputs, leaves, seeds, allow_unused=True,
                              create_graph=create_graph) if outputs else [None] * len(leaves)
    return leaves, outputs, list(grads)


@pytest.mark.parametrize("info, dtype", _params(lambda i: i.differentiable, lambda i: FLOATS))
def test_gradients_match_torch(info: OpInfo, dtype: str, device: str) -> None:
    rtol, atol = tolerances(info, dtype, scale=10.0)
    for sample in samples_of(info, dtype):
        what = f"{info.name}[{sample.desc}] {dtype} gradient on {device}"
        ours_leaves, ours_out, ours = _gradients(hl, info, sample, dtype, device=device)
        theirs_leaves, theirs_out, theirs = _gradients(torch, info, sample, dtype)
        assert len(ours_out) == len(theirs_out), f"{what}: differentiable outputs differ"
        for out in ours_out:  # a recorded op, or an input returned as is (contiguous())
            assert out.grad_fn is not None or any(out is leaf for leaf in ours_leaves), \
                f"{what}: output without grad_fn"
        for i, (leaf, o, t) in enumerate(zip(ours_leaves, ours, theirs)):
            if t is None:
                t = torch.zeros_like(theirs_leaves[i])
            if o is None:
                o = hl.zeros_like(leaf)
            assert o.device == leaf.device, f"{what} w.r.t. input {i} is on {o.device}"
            assert_close(o, t, rtol, atol, f"{what} w.r.t. input {i}")


@pytest.mark.parametrize("info", [pytest.param(i, id=i.name) for i in OPS if i.differentiable])
def test_gradcheck_float64(info: OpInfo) -> None:
    for sample in samples_of(info, "float64"):
        if not sample.gradcheck:
            continue
        args, kwargs, leaves = build(sample, hl, info, grad=True)
        if not leaves or not differentiable(flat(info.op(*args, **kwargs))):
            continue

        def func(*_):
            return tuple(floating(flat(info.op(*args, **kwargs))))

        assert gradcheck(func, tuple(leaves)), f"{info.name}[{sample.desc}]"


# --- second derivatives -------------------------------------------------------------------------------
def _second_derivatives(lib, info: OpInfo, sample: Sample) -> list:
    """d/dx of sum(w · (v · d out/dx)): a Hessian-vector product for every input."""
    leaves, _, grads = _gradients(lib, info, sample, "float64", create_graph=True)
    rng = np.random.default_rng(11)
    total = None
    for g in grads:
        if g is not None and g.requires_grad:
            w = lib.from_numpy(rng.standard_normal(tuple(g.shape)))
            term = (g * w).sum()
            total = term if total is None else total + term
    if total is None:
        return [None] * len(leaves)
    return list(lib.autograd.grad(total, leaves, allow_unused=True))


@pytest.mark.parametrize("info", [pytest.param(i, id=i.name) for i in OPS if i.second_order])
def test_second_derivatives_match_torch(info: OpInfo) -> None:
    for sample in samples_of(info, "float64"):
        what = f"{info.name}[{sample.desc}] second derivative"
        if not sample.double_backward:
            with pytest.raises(RuntimeError, match="not supported by handbook_lib"):
                _second_derivatives(hl, info, sample)
            continue
        ours = _second_derivatives(hl, info, sample)
        theirs = _second_derivatives(torch, info, sample)
        for i, (o, t) in enumerate(zip(ours, theirs)):
            if t is None and o is None:
                continue
            o = o if o is not None else hl.zeros(t.shape, dtype=hl.float64)
            t = t if t is not None else torch.zeros(tuple(o.shape), dtype=torch.float64)
            assert_close(o, t, 1e-7, 1e-9, f"{what} w.r.t. input {i}")


@pytest.mark.parametrize("info", [pytest.param(i, id=i.name) for i in OPS if i.second_order])
def test_gradgradcheck_float64(info: OpInfo) -> None:
    for sample in samples_of(info, "float64")[:3]:
        if not (sample.gradcheck and sample.double_backward):
            continue
        args, kwargs, leaves = build(sample, hl, info, grad=True)
        if not leaves:
            continue

        def func(*_):
            return tuple(floating(flat(info.op(*args, **kwargs))))

        assert gradgradcheck(func, tuple(leaves)), f"{info.name}[{sample.desc}]"


def test_third_derivative_of_cube() -> None:
    x = hl.tensor(1.5, dtype=hl.float64, requires_grad=True)
    (d1,) = hl.autograd.grad(x ** 3, x, create_graph=True)
    (d2,) = hl.autograd.grad(d1, x, create_graph=True)
    (d3,) = hl.autograd.grad(d2, x)
    assert (d1.item(), d2.item(), d3.item()) == pytest.approx((3 * 1.5 ** 2, 6 * 1.5, 6.0))


def test_hessian_vector_product_of_a_quadratic_form() -> None:
    rng = np.random.default_rng(3)
    a, x0, v = rng.standard_normal((4, 4)), rng.standard_normal(4), rng.standard_normal(4)
    x = hl.tensor(x0, requires_grad=True)
    y = x @ hl.tensor(a) @ x + (x * x * x).sum()
    (g,) = hl.autograd.grad(y, x, create_graph=True)
    (hv,) = hl.autograd.grad(g, x, grad_outputs=hl.tensor(v))
    expected = (a + a.T) @ v + 6 * x0 * v
    np.testing.assert_allclose(hv.numpy(), expected, rtol=1e-12)


# --- out= and in-place semantics --------------------------------------------------------------------
def test_out_argument_is_returned_resized_and_refuses_autograd() -> None:
    a, b = hl.ones(2, 3), hl.ones(3)
    out = hl.empty(0)
    result = hl.add(a, b, out=out)
    assert result is out and out.shape == (2, 3) and out.tolist() == [[2.0] * 3] * 2
    same = hl.zeros(2, 3)
    version = same._version
    hl.mul(a, b, out=same)
    assert same._version == version + 1
    with pytest.raises(RuntimeError, match="out=... arguments don't support automatic"):
        hl.add(a.requires_grad_(), b, out=hl.empty(0))


def test_inplace_op_on_int_tensor_refuses_float_result() -> None:
    x = hl.tensor([1, 2, 3])
    y = torch.tensor([1, 2, 3])
    with pytest.raises(RuntimeError) as ours:
        x.add_(0.5)
    with pytest.raises(RuntimeError) as theirs:
        y.add_(0.5)
    assert "can't be cast to the desired output type Long" in str(ours.value)
    assert "can't be cast to the desired output type Long" in str(theirs.value)


@pytest.mark.parametrize("make", [
    lambda x: x * np.sqrt(2), lambda x: np.float64(0.5) * x, lambda x: x + np.float64(1),
    lambda x: x / np.float64(3), lambda x: np.float64(2) - x, lambda x: x ** np.float64(2),
    lambda x: x * np.float32(2)])
def test_numpy_scalars_keep_float32(make) -> None:
    """numpy scalars are weakly typed operands, as in PyTorch (np.float64 subclasses float, but
    numpy would keep its dtype and upcast the float32 result)."""
    x = hl.ones(3, requires_grad=True)
    assert make(x).dtype == hl.float32 and make(torch.ones(3)).dtype == torch.float32
    ours, theirs = make(hl.ones(3, dtype=hl.int64)), make(torch.ones(3, dtype=torch.int64))
    assert str(ours.dtype) == str(theirs.dtype)


def test_erf_backward_stays_float32() -> None:
    x = hl.linspace(-2, 2, 5, requires_grad=True)
    y = hl.erf(x)
    assert y.grad_fn.backward(hl.ones(5)).dtype == hl.float32
    (g,) = hl.autograd.grad(y.sum(), x, create_graph=True)
    assert g.dtype == hl.float32
