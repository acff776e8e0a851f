"""Tensor basics against PyTorch: creation and dtype inference, type promotion, the numpy bridge,
``.data``, reprs, seeding, the version counter and devices."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

import handbook_lib as hl

DTYPES = ("float16", "float32", "float64", "uint8", "int8", "int16", "int32", "int64", "bool")


def _pair(name: str, shape: tuple) -> tuple:
    """The same ones-tensor in both libraries."""
    return (hl.ones(shape, dtype=getattr(hl, name)), torch.ones(shape, dtype=getattr(torch, name)))


# --- type promotion ---------------------------------------------------------------------------------
@pytest.mark.parametrize("shape_a, shape_b", [((2,), (2,)), ((2,), ()), ((), (2,)), ((), ())],
                         ids=["1d-1d", "1d-0d", "0d-1d", "0d-0d"])
def test_promotion_of_tensor_pairs_matches_torch(shape_a, shape_b) -> None:
    for da, db in itertools.product(DTYPES, DTYPES):
        ours_a, theirs_a = _pair(da, shape_a)
        ours_b, theirs_b = _pair(db, shape_b)
        expected = (theirs_a * theirs_b).dtype
        assert str((ours_a * ours_b).dtype) == str(expected), (da, shape_a, db, shape_b)


@pytest.mark.parametrize("scalar", [2, 2.5, True], ids=["int", "float", "bool"])
@pytest.mark.parametrize("shape", [(2,), ()], ids=["1d", "0d"])
def test_promotion_with_python_scalars_matches_torch(scalar, shape) -> None:
    for name in DTYPES:
        ours, theirs = _pair(name, shape)
        assert str((ours * scalar).dtype) == str((theirs * scalar).dtype), (name, scalar)
        assert str((scalar * ours).dtype) == str((scalar * theirs).dtype), (name, scalar)


# --- creation and dtype inference --------------------------------------------------------------------
@pytest.mark.parametrize("data", [1.5, 3, True, [1.0, 2], [1, 2], [True, False], [[1, 2.5]],
                                  [], np.float32(2.0), np.arange(3, dtype=np.int16),
                                  np.ones(2, dtype=np.float64), np.array([True])],
                         ids=repr)
def test_dtype_inference_matches_torch(data) -> None:
    ours, theirs = hl.tensor(data), torch.tensor(data)
    assert str(ours.dtype) == str(theirs.dtype)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("make", [
    lambda m: m.zeros(2, 3), lambda m: m.ones((2, 3), dtype=m.int64), lambda m: m.empty(0, 4),
    lambda m: m.full((2, 2), 7), lambda m: m.full((2,), 1.5), lambda m: m.full((2,), True),
    lambda m: m.arange(5), lambda m: m.arange(1, 2.5, 0.5), lambda m: m.arange(0, 10, 3),
    lambda m: m.linspace(0, 1, 5), lambda m: m.eye(3), lambda m: m.eye(2, 3, dtype=m.int32),
    lambda m: m.zeros_like(m.ones(2, dtype=m.int32)), lambda m: m.ones_like(m.ones(3)),
    lambda m: m.full_like(m.ones(2), 4.0), lambda m: m.as_tensor([1, 2], dtype=m.float64),
], ids=lambda f: "creation")
def test_creation_functions_match_torch(make) -> None:
    ours, theirs = make(hl), make(torch)
    assert str(ours.dtype) == str(theirs.dtype) and tuple(ours.shape) == tuple(theirs.shape)
    if ours.numel() and "empty" not in repr(make):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


@pytest.mark.parametrize("make", [lambda m, g: m.rand(3, 2, generator=g),
                                  lambda m, g: m.randn(4, generator=g),
                                  lambda m, g: m.randint(0, 10, (5,), generator=g),
                                  lambda m, g: m.randperm(6, generator=g),
                                  lambda m, g: m.normal(0.0, 2.0, (3,), generator=g)],
                         ids=["rand", "randn", "randint", "randperm", "normal"])
def test_random_dtypes_match_torch(make) -> None:
    ours, theirs = make(hl, None), make(torch, None)
    assert str(ours.dtype) == str(theirs.dtype) and tuple(ours.shape) == tuple(theirs.shape)


def test_manual_seed_makes_every_random_result_reproducible() -> None:
    def draw():
        return [hl.rand(3).tolist(), hl.randn(2, 2).tolist(), hl.randint(0, 100, (4,)).tolist(),
                hl.randperm(5).tolist(), hl.normal(0.0, 1.0, (2,)).tolist(),
                hl.empty(3).uniform_(-1, 1).tolist(), hl.empty(2).normal_().tolist(),
                hl.bernoulli(hl.full((6,), 0.5)).tolist(),
                hl.multinomial(hl.tensor([0.2, 0.8]), 3, replacement=True).tolist()]

    hl.manual_seed(123)
    first = draw()
    hl.manual_seed(123)
    assert draw() == first
    hl.manual_seed(124)
    assert draw() != first
    g = hl.Generator().manual_seed(5)
    a = hl.rand(4, generator=g).tolist()
    assert hl.rand(4, generator=hl.Generator().manual_seed(5)).tolist() == a


def test_rand_stays_in_range_and_float32() -> None:
    x = hl.rand(1000)
    assert x.dtype == hl.float32 and 0 <= x.min().item() and x.max().item() < 1
    assert hl.randn(10, dtype=hl.float64).dtype == hl.float64


# --- the numpy bridge and .data ---------------------------------------------------------------------------
def test_from_numpy_and_numpy_share_memory_both_ways() -> None:
    array = np.zeros(3, dtype=np.float32)
    t = hl.from_numpy(array)
    array[0] = 5
    assert t[0].item() == 5
    t.add_(1)
    assert array.tolist() == [6, 1, 1]
    back = t.numpy()
    back[2] = -1
    assert t.tolist() == [6, 1, -1]
    assert np.shares_memory(back, array)
    assert hl.from_numpy(np.arange(3, dtype=np.int16)).dtype == hl.int16


def test_tensor_copies_and_as_tensor_shares() -> None:
    array = np.ones(2)
    copied, shared = hl.tensor(array), hl.as_tensor(array)
    array[0] = 9
    assert copied[0].item() == 1 and shared[0].item() == 9


def test_numpy_of_tensor_requiring_grad_is_refused_like_torch() -> None:
    with pytest.raises(RuntimeError, match=r"Use tensor.detach\(\).numpy\(\) instead"):
        hl.ones(2, requires_grad=True).numpy()
    with pytest.raises(TypeError, match="can't convert np.ndarray of type"):
        hl.from_numpy(np.array(["a"]))


def test_data_is_a_detached_tensor_on_the_same_storage() -> None:
    w = hl.ones(3, requires_grad=True)
    d = w.data
    assert not d.requires_grad and d.grad_fn is None
    d.mul_(2)  # invisible to autograd, as in PyTorch
    assert w.tolist() == [2, 2, 2]
    y = (w * w).sum()
    y.backward()
    assert w.grad.tolist() == [4, 4, 4]
    w.data = hl.zeros(3)
    assert w.tolist() == [0, 0, 0] and w.requires_grad


# --- repr ----------------------------------------------------------------------------------------------------
def _repr_cases():
    torch.manual_seed(0)
    return [
        torch.tensor([1, 2, 3]), torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.5, 2.25]),
        torch.tensor([1e-5, 1.0]), torch.tensor([1e9, 1.0]), torch.tensor([1.0, 2000.0]),
        torch.tensor([True, False]), torch.tensor([[1.0, 2.0], [3.0, 4.5]]),
        torch.arange(8).reshape(2, 2, 2), torch.tensor([1.0, 2.0], dtype=torch.float64),
        torch.tensor([1, 2], dtype=torch.int32), torch.tensor([1, 2], dtype=torch.uint8),
        torch.tensor([0.5], dtype=torch.float16), torch.tensor(3.5), torch.tensor(7),
        torch.tensor([]), torch.zeros(2, 0), torch.zeros(0, dtype=torch.int64),
        torch.tensor([float("nan"), float("inf"), -float("inf"), 1.5]),
        torch.tensor([-1.5, 2.0]), torch.tensor([123456.7, 0.5]), torch.randn(30),
        torch.randn(12, 12) * 100, torch.randn(5, 6, 7), torch.arange(2000.0).reshape(40, 50),
        torch.arange(3000).reshape(3, 1000), torch.linspace(0, 1, 1200), torch.randn(2000) > 0,
        torch.randn(4, 300), torch.arange(40.0) * 1e-3,
    ]


@pytest.mark.parametrize("theirs", _repr_cases(), ids=lambda t: f"{t.dtype}{list(t.shape)}")
def test_repr_matches_torch(theirs) -> None:
    ours = hl.from_numpy(theirs.numpy().copy())
    assert repr(ours) == repr(theirs)


def test_repr_of_autograd_tensors_matches_torch() -> None:
    def reprs(lib) -> list:
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        return [repr(x), repr(x * 2), repr(x.sum()), repr((x + 1).mean()), repr(x.exp()),
                repr(x.double()), repr(x[0]), repr(x.detach())]

    assert reprs(hl) == reprs(torch)


def test_shape_and_size_print_like_torch() -> None:
    assert repr(hl.ones(2, 3).shape) == repr(torch.ones(2, 3).shape) == "torch.Size([2, 3])"
    assert hl.ones(2, 3).size(-1) == 3 and str(hl.float32) == "torch.float32"


# --- the version counter ----------------------------------------------------------------------------------
def test_modifying_a_saved_tensor_in_place_raises_torchs_error() -> None:
    for lib in (hl, torch):
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        b = a * 1
        y = (b * b).sum()  # saves b
        b.add_(1)
        with pytest.raises(RuntimeError, match="one of the variables needed for gradient "
                                               "computation has been modified by an inplace "
                                               "operation"):
            y.backward()


def test_version_counter_is_shared_by_views_and_bumped_by_setitem() -> None:
    a = hl.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = a.exp()  # saves its output
    y = b.sum() * 1
    view = b[1:]
    version = b._version
    with hl.no_grad():
        view[0] = 5.0
    assert b._version == view._version == version + 1
    with pytest.raises(RuntimeError, match="is at version 1; expected version 0 instead"):
        (b * y).sum().backward()


def test_inplace_on_a_view_while_recording_is_refused_as_documented() -> None:
    b = hl.tensor([1.0, 2.0, 3.0], requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="in-place operation on a view of another tensor"):
        b[1:].mul_(2)


def test_inplace_on_a_leaf_requiring_grad_is_refused_and_allowed_under_no_grad() -> None:
    w = hl.ones(3, requires_grad=True)
    for op in (lambda: w.add_(1), lambda: w.mul_(2), lambda: w.zero_(), lambda: w.fill_(1.0),
               lambda: w.clamp_(0, 1), lambda: w.copy_(hl.zeros(3)), lambda: w.uniform_(),
               lambda: w.normal_(), lambda: w.__setitem__(0, 2.0)):
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used "
                                               "in an in-place operation"):
            op()
    with hl.no_grad():
        w.sub_(0.5)
    assert w.tolist() == [0.5, 0.5, 0.5] and w.is_leaf


# --- devices ------------------------------------------------------------------------------------------------
def test_cuda_queries_never_raise_on_a_cpu_machine() -> None:
    assert hl.cuda.is_available() is False and hl.cuda.device_count() == 0
    assert hl.ones(2).device == hl.device("cpu") and str(hl.ones(2).device) == "cpu"
    assert repr(hl.device("cuda:1")) == repr(torch.device("cuda:1"))


@pytest.mark.parametrize("ask", [lambda: hl.ones(2).cuda(), lambda: hl.ones(2, device="cuda"),
                                 lambda: hl.ones(2).to("cuda:0"), lambda: hl.zeros(2).to(hl.device("cuda"))],
                         ids=["cuda()", "device=", "to(str)", "to(device)"])
def test_asking_for_cuda_without_a_gpu_says_how_to_install(ask) -> None:
    with pytest.raises(RuntimeError, match=r"CUDA is not available.*requirements-gpu.txt"):
        ask()


def test_mixing_devices_names_both(monkeypatch) -> None:
    from handbook_lib import _device

    a, b = hl.ones(2), hl.ones(2)
    real = _device.device_of
    monkeypatch.setattr(_device, "device_of",
                        lambda array: hl.device("cuda:0") if array is b._data else real(array))
    b._data = b._data.copy()  # a different array class is what sends ops to the device check
    with pytest.raises(RuntimeError, match=r"same device.*cuda:0 and cpu!"):
        from handbook_lib.ops._util import check_same_device

        check_same_device(a, b)
    with pytest.raises(RuntimeError, match=r"same device.*cuda:0 and cpu!"):
        hl.matmul(a, b)


def test_invalid_device_string_is_refused() -> None:
    with pytest.raises(RuntimeError, match="Expected one of cpu, cuda device type"):
        hl.device("tpu")


def test_zeros_writes_into_out_like_torch():
    out = hl.ones(2, 3)
    result = hl.zeros(2, 3, out=out)
    expected = torch.zeros(2, 3, out=torch.ones(2, 3))
    assert result is out
    np.testing.assert_array_equal(out.numpy(), expected.numpy())
