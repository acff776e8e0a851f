"""PyTorch names that real scripts use, each checked against torch."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import handbook_lib as hl
import handbook_lib.nn.functional as F


def _numpy(t) -> np.ndarray:
    return t.detach().numpy() if isinstance(t, torch.Tensor) else t.detach().numpy(force=True)


# --- optim.Adadelta --------------------------------------------------------------------------------
@pytest.mark.parametrize("options", [{}, {"lr": 0.5, "rho": 0.8, "weight_decay": 0.1},
                                     {"maximize": True, "eps": 1e-4}])
def test_adadelta_matches_torch(options):
    start = np.random.default_rng(0).standard_normal((3, 4))
    results = []
    for lib in (torch, hl):
        w = lib.tensor(start, requires_grad=True)
        optimizer = lib.optim.Adadelta([w], **options)
        for _ in range(5):
            optimizer.zero_grad()
            (w ** 3).sum().backward()
            optimizer.step()
        results.append((_numpy(w), _numpy(optimizer.state[w]["acc_delta"])))
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-10, atol=1e-14)


def test_adadelta_bad_arguments():
    w = [hl.zeros(2, requires_grad=True)]
    for kwargs, message in [({"lr": -1}, "Invalid learning rate"),
                            ({"rho": 1.5}, "Invalid rho value"),
                            ({"eps": -1}, "Invalid epsilon value"),
                            ({"weight_decay": -1}, "Invalid weight_decay value")]:
        with pytest.raises(ValueError, match=message):
            hl.optim.Adadelta(w, **kwargs)


# --- optim.LBFGS -----------------------------------------------------------------------------------
def _rosenbrock_run(lib, line_search, dtype, steps=4):
    x = lib.tensor([-1.5, 2.0], dtype=dtype, requires_grad=True)
    optimizer = lib.optim.LBFGS([x], lr=1, max_iter=20, history_size=5,
                                line_search_fn=line_search)

    def closure():
        optimizer.zero_grad()
        loss = (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2
        loss.backward()
        return loss

    losses = [float(optimizer.step(closure)) for _ in range(steps)]
    state = optimizer.state[x]
    return losses, _numpy(x), state["func_evals"], state["n_iter"]


def test_lbfgs_strong_wolfe_matches_torch():
    ours = _rosenbrock_run(hl, "strong_wolfe", hl.float64)
    theirs = _rosenbrock_run(torch, "strong_wolfe", torch.float64)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-8)
    assert ours[2:] == theirs[2:]  # the same number of evaluations and iterations


def test_lbfgs_fixed_step_matches_torch_on_least_squares():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((20, 3)), rng.standard_normal(20)
    results = []
    for lib in (torch, hl):
        w = lib.zeros(3, dtype=lib.float64, requires_grad=True)
        optimizer = lib.optim.LBFGS([w], lr=0.5, max_iter=10)
        matrix, target = lib.tensor(a), lib.tensor(b)

        def closure():
            optimizer.zero_grad()
            loss = ((matrix @ w - target) ** 2).mean()
            loss.backward()
            return loss

        for _ in range(3):
            optimizer.step(closure)
        results.append(_numpy(w))
    np.testing.assert_allclose(results[1], results[0], rtol=1e-8)
    np.testing.assert_allclose(results[1], np.linalg.lstsq(a, b, rcond=None)[0], atol=1e-3)


def test_lbfgs_float32_converges_like_torch():
    ours = _rosenbrock_run(hl, "strong_wolfe", hl.float32)
    theirs = _rosenbrock_run(torch, "strong_wolfe", torch.float32)
    np.testing.assert_allclose(ours[1], theirs[1], atol=1e-4)
    assert ours[0][-1] < 1e-8 and theirs[0][-1] < 1e-8


def test_lbfgs_refuses_groups_and_other_line_searches():
    a, b = hl.zeros(1, requires_grad=True), hl.zeros(1, requires_grad=True)
    with pytest.raises(ValueError, match="per-parameter options"):
        hl.optim.LBFGS([{"params": [a]}, {"params": [b]}])
    optimizer = hl.optim.LBFGS([a], line_search_fn="backtracking")

    def closure():
        optimizer.zero_grad()
        loss = ((a - 1) ** 2).sum()
        loss.backward()
        return loss

    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        optimizer.step(closure)


# --- accelerator, backends, threads ----------------------------------------------------------------
def test_accelerator_queries_answer_for_this_machine():
    assert hl.accelerator.is_available() == hl.cuda.is_available()
    expected = hl.device("cuda") if hl.cuda.is_available() else None
    assert hl.accelerator.current_accelerator() == expected
    assert hl.accelerator.device_count() == hl.cuda.device_count()
    if not hl.cuda.is_available():
        assert torch.accelerator.current_accelerator() is None  # the CPU build agrees
        with pytest.raises(RuntimeError, match="none is available"):
            hl.accelerator.current_device_index()


def test_backend_flags_scripts_set():
    saved = (hl.backends.cudnn.benchmark, hl.backends.cudnn.deterministic,
             hl.backends.cuda.matmul.allow_tf32)
    try:
        hl.backends.cudnn.benchmark = True
        hl.backends.cudnn.deterministic = True
        hl.backends.cuda.matmul.allow_tf32 = True
        assert hl.backends.cudnn.benchmark and hl.backends.cudnn.deterministic
        assert hl.backends.cuda.matmul.allow_tf32
    finally:
        (hl.backends.cudnn.benchmark, hl.backends.cudnn.deterministic,
         hl.backends.cuda.matmul.allow_tf32) = saved
    assert hl.backends.mps.is_available() is False and hl.backends.mps.is_built() is False
    assert hl.backends.cudnn.is_available() is False  # honest: no cuDNN is used
    assert (hl.backends.cudnn.enabled, hl.backends.cudnn.benchmark,
            hl.backends.cudnn.deterministic) == (torch.backends.cudnn.enabled,
                                                 torch.backends.cudnn.benchmark,
                                                 torch.backends.cudnn.deterministic)


def test_set_num_threads_controls_numpys_blas():
    from threadpoolctl import threadpool_info

    before = hl.get_num_threads()
    try:
        hl.set_num_threads(1)
        assert hl.get_num_threads() == 1
        blas = [p for p in threadpool_info() if p["user_api"] == "blas"]
        assert all(p["num_threads"] == 1 for p in blas)
    finally:
        hl.set_num_threads(before)
    assert hl.get_num_threads() == before
    for bad in (0, -1, 1.5):
        with pytest.raises(RuntimeError, match="positive integer"):
            hl.set_num_threads(bad)


def test_threadpoolctl_is_a_declared_dependency():
    import pathlib
    import tomllib

    root = pathlib.Path(hl.__file__).parent.parent
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    assert any(d.startswith("threadpoolctl") for d in project["dependencies"])


# --- legacy constructors and types -----------------------------------------------------------------
@pytest.mark.parametrize("name", ["FloatTensor", "DoubleTensor", "LongTensor", "IntTensor",
                                  "BoolTensor", "HalfTensor", "ByteTensor"])
def test_typed_constructors_match_torch(name):
    ours, theirs = getattr(hl, name), getattr(torch, name)
    data = [1, 0, 2]
    assert ours(data).dtype.name == str(theirs(data).dtype).replace("torch.", "")
    assert ours(data).tolist() == theirs(data).tolist()
    assert ours(2, 3).shape == theirs(2, 3).shape == (2, 3)
    assert isinstance(ours(data), ours) and isinstance(theirs(data), theirs)
    assert ours(data).type() == theirs(data).type() == f"torch.{name}"


def test_isinstance_asks_for_the_dtype():
    x = hl.ones(2)
    assert isinstance(x, hl.FloatTensor) and not isinstance(x, hl.LongTensor)
    assert isinstance(x.long(), hl.LongTensor) and isinstance(x, hl.Tensor)


@pytest.mark.parametrize("target", ["LongTensor", "IntTensor"])
def test_type_converts_to_a_type_or_a_type_name(target):
    x = hl.tensor([1.7, 2.2])
    expected = torch.tensor([1.7, 2.2]).type(getattr(torch, target))
    assert x.type(getattr(hl, target)).tolist() == expected.tolist()
    converted = x.type(f"torch.{target}")
    assert converted.type() == f"torch.{target}" and converted.tolist() == expected.tolist()
    with pytest.raises(ValueError, match="invalid type"):
        x.type("torch.NotATensor")


@pytest.mark.parametrize("args", [(2, 3), ([1, 2],), ([[1.5], [2.5]],), (), (torch.Size([2, 4]),)])
def test_the_tensor_constructor_like_torch(args):
    ours_args = tuple(hl.Size(a) if isinstance(a, torch.Size) else a for a in args)
    ours, theirs = hl.Tensor(*ours_args), torch.Tensor(*args)
    assert ours.shape == theirs.shape and ours.dtype == hl.float32
    if theirs.numel() and not (args and isinstance(args[0], (int, torch.Size))):
        assert ours.tolist() == theirs.tolist()  # uninitialised tensors have no values to compare


def test_the_tensor_constructor_refuses_a_number_and_keeps_a_tensor():
    with pytest.raises(TypeError, match=r"data must be a sequence \(got float\)"):
        hl.Tensor(2.5)
    with pytest.raises(TypeError):
        torch.Tensor(2.5)
    source = hl.tensor([1, 2])
    assert hl.Tensor(source).dtype == hl.int64
    assert torch.Tensor(torch.tensor([1, 2])).dtype == torch.int64


# --- diag, diagonal, triangle indices ---------------------------------------------------------------
@pytest.mark.parametrize("shape,k", [((4,), 0), ((3,), 2), ((3,), -1), ((3, 4), 0), ((3, 4), 1),
                                     ((4, 3), -2), ((2, 2), 5)])
def test_diag_matches_torch(shape, k):
    data = np.arange(np.prod(shape), dtype=np.float64).reshape(shape) + 1
    x = hl.tensor(data, requires_grad=True)
    reference = torch.tensor(data, requires_grad=True)
    ours, theirs = hl.diag(x, k), torch.diag(reference, k)
    np.testing.assert_array_equal(_numpy(ours), _numpy(theirs))
    (ours * hl.arange(float(ours.numel())).reshape(ours.shape)).sum().backward()
    (theirs * torch.arange(float(theirs.numel())).reshape(theirs.shape)).sum().backward()
    np.testing.assert_array_equal(_numpy(x.grad), _numpy(reference.grad))


def test_diag_of_3d_raises_as_torch():
    with pytest.raises(RuntimeError, match=r"diag\(\): Supports 1D or 2D tensors. Got 3D"):
        hl.diag(hl.zeros(2, 2, 2))


@pytest.mark.parametrize("offset,dim1,dim2", [(0, 0, 1), (1, 1, 2), (-1, 2, 0), (2, -1, -2)])
def test_diagonal_matches_torch(offset, dim1, dim2):
    data = np.random.default_rng(0).standard_normal((2, 3, 4))
    ours = hl.tensor(data).diagonal(offset, dim1, dim2)
    theirs = torch.tensor(data).diagonal(offset, dim1, dim2)
    np.testing.assert_array_equal(_numpy(ours), _numpy(theirs))
    x = hl.tensor(data, requires_grad=True)
    assert hl.autograd.gradcheck(lambda t: hl.diagonal(t, offset, dim1, dim2), (x,))


@pytest.mark.parametrize("name", ["tril_indices", "triu_indices"])
@pytest.mark.parametrize("row,col,offset", [(3, 3, 0), (3, 4, 1), (4, 3, -1), (0, 3, 0),
                                            (3, 5, -4), (2, 2, 5)])
def test_triangle_indices_match_torch(name, row, col, offset, device):
    ours = getattr(hl, name)(row, col, offset, device=device)
    theirs = getattr(torch, name)(row, col, offset)
    assert ours.dtype == hl.int64 and ours.device == hl.device(device)
    assert ours.tolist() == theirs.tolist()


# --- Dropout2d on 2-D input ------------------------------------------------------------------------
def test_dropout2d_on_2d_input_warns_and_drops_elements():
    with pytest.warns(UserWarning, match="Received a 2-D input to dropout2d"):
        out = hl.nn.Dropout2d(0.5)(hl.ones(200, 50))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert torch.nn.Dropout2d(0.5)(torch.ones(200, 50)).shape == out.shape
    values = out.numpy()
    assert set(np.unique(values)) <= {0.0, 2.0} and 0.4 < (values == 0).mean() < 0.6


# --- scaled_dot_product_attention -----------------------------------------------------------------
def _attention_inputs(lib, heads_q=2, heads_kv=2):
    rng = np.random.default_rng(0)
    shapes = [(2, heads_q, 5, 8), (2, heads_kv, 6, 8), (2, heads_kv, 6, 3)]
    return [lib.tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]


@pytest.mark.parametrize("case", ["plain", "bool_mask", "float_mask", "causal", "scale", "gqa",
                                  "masked_row"])
def test_scaled_dot_product_attention_matches_torch(case):
    rng = np.random.default_rng(1)
    bool_mask = rng.random((5, 6)) > 0.3
    if case == "masked_row":
        bool_mask[2] = False
    results = []
    for lib in (torch, hl):
        q, k, v = _attention_inputs(lib, heads_q=4 if case == "gqa" else 2)
        kwargs = {"plain": {}, "bool_mask": {"attn_mask": lib.tensor(bool_mask)},
                  "float_mask": {"attn_mask": lib.tensor(rng.standard_normal((5, 6)))},
                  "causal": {"is_causal": True}, "scale": {"scale": 0.3},
                  "gqa": {"enable_gqa": True},
                  "masked_row": {"attn_mask": lib.tensor(bool_mask)}}[case]
        functional = torch.nn.functional if lib is torch else F
        out = functional.scaled_dot_product_attention(q, k, v, **kwargs)
        out.pow(2).sum().backward()
        results.append([_numpy(t) for t in (out, q.grad, k.grad, v.grad)])
        rng = np.random.default_rng(1)
        rng.random((5, 6))
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_scaled_dot_product_attention_dropout_and_errors():
    q, k, v = _attention_inputs(hl)
    hl.manual_seed(0)
    dropped = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    assert not np.allclose(_numpy(dropped), _numpy(F.scaled_dot_product_attention(q, k, v)))
    with pytest.raises(RuntimeError, match="attn_mask should not be set when is_causal=True"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=hl.ones(5, 6, dtype=hl.bool),
                                       is_causal=True)


# --- __format__ and __array__ ----------------------------------------------------------------------
@pytest.mark.parametrize("value,spec", [(1.5, ".3f"), (3, "d"), (3, ">5"), (2.25, "")])
def test_format_of_a_0_dim_tensor_like_torch(value, spec):
    assert format(hl.tensor(value), spec) == format(torch.tensor(value), spec)


def test_format_of_a_vector_like_torch():
    assert format(hl.tensor([1.5, 2.0])) == format(torch.tensor([1.5, 2.0]))
    with pytest.raises(TypeError):
        format(torch.tensor([1.5, 2.0]), ".3f")
    with pytest.raises(TypeError, match="unsupported format string"):
        format(hl.tensor([1.5, 2.0]), ".3f")


def test_array_protocol_honours_copy():
    x = hl.tensor([1.0, 2.0])
    shared = np.asarray(x, copy=False)
    shared[0] = 5.0
    assert x[0].item() == 5.0  # copy=False shares memory
    copied = np.array(x, copy=True)
    copied[1] = 7.0
    assert x[1].item() == 2.0  # copy=True never writes through
    assert np.asarray(x, dtype=np.float64).dtype == np.float64
    with pytest.raises(ValueError, match="Unable to avoid copy"):
        np.asarray(x, dtype=np.float64, copy=False)
