"""The autograd API against PyTorch's: backward/grad, hooks, grad modes, grad_fn names, custom
Functions, the engine on long chains, freed graphs and every error path."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import handbook_lib as hl
from handbook_lib.autograd import Function, gradcheck


def test_gradcheck_perturbs_non_contiguous_inputs() -> None:
    x = hl.from_numpy(np.random.default_rng(0).random((3, 2)).T).requires_grad_()
    assert not x.is_contiguous()
    assert gradcheck(lambda a: a * a, (x,))
    assert not gradcheck(lambda a: _WrongSquare.apply(a), (x,), raise_exception=False)


class _WrongSquare(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x  # should be 2 * x


# --- backward / grad -------------------------------------------------------------------------------
def _flat(x) -> list:
    """Tensors, lists and plain values as one flat list of Python values (None kept)."""
    if isinstance(x, (list, tuple)):
        return [v for item in x for v in _flat(item)]
    if x is None or isinstance(x, (bool, int, float, str)):
        return [x]
    return ["shape", *x.shape] + np.asarray(x.detach().tolist(), dtype=float).ravel().tolist()


def _check(fn) -> None:
    """``fn(lib)`` gives the same results with handbook_lib and with PyTorch."""
    ours, theirs = _flat(fn(hl)), _flat(fn(torch))
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a == (pytest.approx(b, rel=1e-6) if isinstance(b, float) else b), (ours, theirs)


def test_backward_accumulates_into_grad() -> None:
    def fn(m):
        x = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
        (x * x).sum().backward()
        first = x.grad.clone()
        (x ** 3).sum().backward()
        return first, x.grad

    _check(fn)


def test_backward_with_gradient_for_non_scalar_outputs() -> None:
    def fn(m):
        x = m.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        y = x * x
        y.backward(m.tensor([[1.0, 0.5], [0.0, -1.0]]))
        return x.grad

    _check(fn)


def test_retain_graph_allows_a_second_backward_and_the_freed_graph_raises() -> None:
    for lib in (hl, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = (x.exp() * x).sum()
        y.backward(retain_graph=True)
        y.backward()
        assert x.grad.tolist() == pytest.approx((2 * (np.exp([1, 2]) * (1 + np.array([1, 2])))).tolist())
        with pytest.raises(RuntimeError, match="Trying to backward through the graph a second "
                                               "time.*retain_graph=True"):
            y.backward()


def test_autograd_grad_options() -> None:
    def fn(m):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        z = m.tensor([3.0], requires_grad=True)
        y = x ** 3
        (g,) = m.autograd.grad(y, x, grad_outputs=m.ones(2), create_graph=True)
        (gg,) = m.autograd.grad(g.sum(), x, retain_graph=True)
        unused = m.autograd.grad(y.sum(), [x, z], allow_unused=True)
        return g, gg, unused[0], unused[1], x.grad

    _check(fn)


def test_grad_of_unused_input_without_allow_unused_raises() -> None:
    for lib in (hl, torch):
        x, z = lib.ones(2, requires_grad=True), lib.ones(2, requires_grad=True)
        with pytest.raises(RuntimeError, match="appears to not have been used in the graph"):
            lib.autograd.grad((x * 2).sum(), [x, z])


def test_non_scalar_backward_without_gradient_raises() -> None:
    for lib in (hl, torch):
        with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar "
                                               "outputs"):
            (lib.ones(3, requires_grad=True) * 2).backward()


def test_backward_of_tensor_without_grad_raises() -> None:
    for lib in (hl, torch):
        with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad and "
                                               "does not have a grad_fn"):
            lib.ones(2).sum().backward()


def test_requires_grad_on_integer_tensor_raises() -> None:
    for lib in (hl, torch):
        with pytest.raises(RuntimeError, match="only Tensors of floating point dtype can require "
                                               "gradients"):
            lib.tensor([1, 2]).requires_grad_()
        with pytest.raises(RuntimeError, match="(?i)only Tensors of floating point"):
            lib.tensor([1, 2], requires_grad=True)


# --- hooks and retain_grad -----------------------------------------------------------------------------
def test_hooks_on_leaf_and_non_leaf_and_retain_grad() -> None:
    def fn(m):
        seen = []
        x = m.tensor([1.0, 2.0], requires_grad=True)
        x.register_hook(lambda g: seen.append(g.clone()))
        h = x * 3
        h.retain_grad()
        handle = h.register_hook(lambda g: g * 10)
        (h * h).sum().backward()
        handle.remove()
        y = x * 3
        (y * y).sum().backward()
        return seen, h.grad, x.grad, h.is_leaf, h.retains_grad

    _check(fn)


def test_non_leaf_grad_is_none_without_retain_grad() -> None:
    x = hl.ones(2, requires_grad=True)
    y = x * 2
    y.sum().backward()
    assert y.grad is None and x.grad.tolist() == [2, 2]


def test_register_hook_on_tensor_without_grad_raises() -> None:
    for lib in (hl, torch):
        with pytest.raises(RuntimeError, match="cannot register a hook on a tensor that doesn't "
                                               "require gradient"):
            lib.ones(2).register_hook(lambda g: g)


# --- grad modes ---------------------------------------------------------------------------------------------
def test_grad_mode_context_managers_and_decorators() -> None:
    x = hl.ones(2, requires_grad=True)
    with hl.no_grad():
        assert not (x * 2).requires_grad
        with hl.enable_grad():
            assert (x * 2).requires_grad
        assert not hl.is_grad_enabled()
    assert hl.is_grad_enabled()
    with hl.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert hl.is_grad_enabled()
    with hl.inference_mode():
        assert not (x * 2).requires_grad
    with hl.inference_mode(False):
        assert (x * 2).requires_grad

    @hl.no_grad()
    def f(t):
        return t * 2

    @hl.enable_grad()
    def g(t):
        return t * 2

    @hl.inference_mode()
    def h(t):
        return t * 2

    @hl.set_grad_enabled(False)
    def k(t):
        return t * 2

    assert hl.is_grad_enabled()  # the decorator form does not switch the mode on definition
    assert not f(x).requires_grad and not h(x).requires_grad and not k(x).requires_grad
    with hl.no_grad():
        assert g(x).requires_grad
    hl.set_grad_enabled(False)
    assert not hl.is_grad_enabled()
    hl.set_grad_enabled(True)
    assert hl.is_grad_enabled()


def test_grad_mode_is_restored_after_an_exception() -> None:
    with pytest.raises(ValueError):
        with hl.no_grad():
            raise ValueError
    assert hl.is_grad_enabled()


def test_detach_detach_and_requires_grad() -> None:
    x = hl.ones(2, requires_grad=True)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.grad_fn is None and d.data_ptr() == y.data_ptr()
    y.detach_()
    assert not y.requires_grad and y.is_leaf
    z = hl.ones(2)
    assert z.requires_grad_() is z and z.requires_grad
    with pytest.raises(RuntimeError, match="you can only change requires_grad flags of leaf "
                                           "variables"):
        (z * 2).requires_grad_(False)


# --- grad_fn and the graph -------------------------------------------------------------------------------------
def _graph_names(m) -> dict:
    x = m.ones(2, requires_grad=True)
    row, col = x.view(1, 2), x.view(2, 1)
    ops = {
        "add": x + 1, "sub": x - 1, "mul": x * 2, "div": x / 2, "pow": x ** 2, "neg": -x,
        "exp": x.exp(), "log": x.log(), "sum": x.sum(), "mean": x.mean(), "sum_dim": x.sum(0),
        "mean_dim": x.mean(0), "dot": x @ x, "mm": row @ col, "mm_method": row.mm(col),
        "view": x.view(2, 1), "t": row.t(), "transpose": row.transpose(0, 1),
        "permute": row.permute(1, 0), "unsqueeze": x.unsqueeze(0), "squeeze": row.squeeze(),
        "expand": x.expand(3, 2), "select": x[0], "slice": x[1:], "index": x[[0, 1]],
        "cat": m.cat([x, x]), "relu": x.relu(), "sigmoid": x.sigmoid(), "tanh": x.tanh(),
        "softmax": x.softmax(0), "log_softmax": x.log_softmax(0), "max": x.max(),
        "max_dim": x.max(0)[0], "min": x.min(), "min_dim": x.min(0)[0], "clamp": x.clamp(0, 1),
        "abs": x.abs(), "sqrt": x.sqrt(), "where": m.where(x > 0, x, x), "to": x.double(),
        "clone": x.clone(), "flip": x.flip(0), "repeat": x.repeat(2), "prod": x.prod(),
        "gather": x.gather(0, m.tensor([0])), "logsumexp": x.logsumexp(0), "sin": x.sin(),
        "cos": x.cos(), "bmm": m.bmm(x.view(1, 1, 2), x.view(1, 2, 1)),
        "masked_fill": x.masked_fill(x > 5, 0.0), "maximum": m.maximum(x, x),
        "index_select": x.index_select(0, m.tensor([1])),
    }
    return {name: t.grad_fn.name() for name, t in ops.items()}


def test_grad_fn_names_match_torch() -> None:
    assert _graph_names(hl) == _graph_names(torch)


def test_next_functions_structure_matches_torch() -> None:
    def walk(m) -> list:
        x = m.ones(2, requires_grad=True)
        w = m.ones(2, requires_grad=True)
        y = ((x * w).sum() + 2) * (x.exp().mean())
        seen, order, stack = set(), [], [y.grad_fn]
        while stack:
            node = stack.pop()
            if node is None or node in seen:
                continue
            seen.add(node)
            order.append((_short(node.name()), [(_short(n.name()) if n is not None else None, nr)
                                        for n, nr in node.next_functions]))
            stack.extend(n for n, _ in node.next_functions)
        return order

    assert walk(hl) == walk(torch)


def _short(name: str) -> str:
    return name.replace("torch::autograd::", "")  # PyTorch's C++ namespace for AccumulateGrad


def test_accumulate_grad_node_holds_the_leaf() -> None:
    x = hl.ones(2, requires_grad=True)
    node, nr = (x * 2).grad_fn.next_functions[0]
    assert node.name() == "AccumulateGrad" and node.variable is x and nr == 0
    assert (hl.ones(2) * x).grad_fn.next_functions[0] == (None, 0)


# --- custom Function -----------------------------------------------------------------------------------------
class MulConstant(Function):
    @staticmethod
    def forward(ctx, tensor, constant):
        ctx.constant = constant
        return tensor * constant

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output * ctx.constant, None


class Cube(Function):
    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        ctx.flags = ctx.needs_input_grad
        return x ** 3 * y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        gx = grad * 3 * x ** 2 * y if ctx.needs_input_grad[0] else None
        gy = grad * x ** 3 if ctx.needs_input_grad[1] else None
        return gx, gy


def test_mul_constant_function_is_right_and_passes_gradcheck() -> None:
    x = hl.tensor([1.0, -2.0, 3.0], dtype=hl.float64, requires_grad=True)
    y = MulConstant.apply(x, 5.0)
    assert y.grad_fn.name() == "MulConstantBackward"
    y.sum().backward()
    assert x.grad.tolist() == [5.0, 5.0, 5.0]
    assert gradcheck(lambda t: MulConstant.apply(t, 5.0), (x,))
    from handbook_lib.autograd.function import Function as FunctionFromModule

    assert FunctionFromModule is Function


def test_function_needs_input_grad_saved_tensors_and_none_grads() -> None:
    x = hl.tensor([1.0, 2.0], dtype=hl.float64, requires_grad=True)
    y = hl.tensor([3.0, 4.0], dtype=hl.float64)
    out = Cube.apply(x, y)
    assert out.grad_fn.flags == (True, False)
    out.sum().backward()
    assert x.grad.tolist() == [9.0, 48.0] and y.grad is None
    both = hl.tensor([0.5, 1.5], dtype=hl.float64, requires_grad=True)
    assert gradcheck(lambda a, b: Cube.apply(a, b), (x, both))
    with hl.no_grad():
        assert Cube.apply(x, y).grad_fn is None


def test_function_with_wrong_number_of_gradients_raises() -> None:
    class Wrong(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, grad):
            return (grad,)

    a, b = hl.ones(2, requires_grad=True), hl.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="returned an incorrect number of gradients "
                                           r"\(expected 2, got 1\)"):
        Wrong.apply(a, b).sum().backward()


def test_function_saved_tensors_are_freed_after_backward() -> None:
    x = hl.ones(2, requires_grad=True)
    y = Cube.apply(x, hl.ones(2))
    y.sum().backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.grad_fn.saved_tensors


# --- the engine ---------------------------------------------------------------------------------------------
def test_ten_thousand_op_chain_backward_has_no_recursion_limit() -> None:
    x = hl.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.backward()
    assert x.grad.item() == pytest.approx(1.0001 ** 10_000, rel=1e-3)


def test_diamond_graph_sums_both_paths() -> None:
    _check(lambda m: _diamond(m))


def _diamond(m):
    x = m.tensor([0.5, -1.0], requires_grad=True)
    a = x.sin()
    b = a * a + a.exp() * x
    b.sum().backward()
    return x.grad


# --- error paths ----------------------------------------------------------------------------------------------
def test_broadcast_mismatch_names_both_shapes() -> None:
    with pytest.raises(RuntimeError, match=r"The size of tensor a \(3\) must match the size of "
                                           r"tensor b \(4\) at non-singleton dimension 1.*"
                                           r"\[2, 3\].*\[4\]"):
        hl.ones(2, 3) + hl.ones(4)
    with pytest.raises(RuntimeError, match=r"The size of tensor a \(3\) must match the size of "
                                           r"tensor b \(4\) at non-singleton dimension 1"):
        torch.ones(2, 3) + torch.ones(4)


def test_matmul_mismatch_names_both_shapes() -> None:
    for lib in (hl, torch):
        with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied "
                                               r"\(2x3 and 4x5\)"):
            lib.ones(2, 3) @ lib.ones(4, 5)
    with pytest.raises(RuntimeError, match=r"\[2, 2, 3\] and \[2, 4, 5\]"):
        hl.ones(2, 2, 3) @ hl.ones(2, 4, 5)


def test_view_of_non_contiguous_tensor_raises_and_reshape_copies() -> None:
    for lib in (hl, torch):
        t = lib.ones(2, 3).t()
        with pytest.raises(RuntimeError, match="view size is not compatible with input tensor's "
                                               "size and stride.*Use .reshape"):
            t.view(6)
        assert t.reshape(6).shape == (6,)


def test_index_out_of_range_raises_index_error() -> None:
    for lib in (hl, torch):
        x = lib.ones(3, 4)
        with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 0 with size 3"):
            x[5]
        with pytest.raises(IndexError):
            x[:, lib.tensor([0, 7])]
        with pytest.raises(IndexError, match="Dimension out of range"):
            x.sum(2)


def test_backward_from_two_outputs_of_one_node() -> None:
    class Two(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, a, b):
            return a * 2 + b * 3

    x = hl.ones(2, requires_grad=True)
    a, b = Two.apply(x)
    hl.autograd.backward([a, b], [hl.ones(2), hl.ones(2)])
    assert x.grad.tolist() == [5.0, 5.0]


# --- slicing backward is linear in the number of slices -----------------------------------------
SLICERS = {
    "getitem": lambda x: [x[t] for t in range(x.shape[0])],
    "select": lambda x: [x.select(0, t) for t in range(x.shape[0])],
    "narrow": lambda x: [x.narrow(0, t, 1)[0] for t in range(x.shape[0])],
    "unbind": lambda x: list(x.unbind(0)),
    "split": lambda x: [p[0] for p in x.split(1)],
    "chunk": lambda x: [p[0] for p in x.chunk(x.shape[0])],
}


def _zeroed_elements_in_backward(monkeypatch, slicer, steps: int) -> int:
    """Elements of the zero-filled buffers that backward through a ``steps``-step RNN loop
    allocates (a full-size zero tensor per slice would make this quadratic in ``steps``)."""
    hl.manual_seed(0)
    x = hl.randn(steps, 4, 3, requires_grad=True)
    w, u = hl.randn(3, 5, requires_grad=True), hl.randn(5, 5, requires_grad=True)
    h = hl.zeros(4, 5)
    for x_t in slicer(x):
        h = hl.tanh(x_t @ w + h @ u * 0.1)
    counted = [0]
    real_zeros = np.zeros

    def counting_zeros(shape, *args, **kwargs):
        out = real_zeros(shape, *args, **kwargs)
        counted[0] += out.size
        return out

    with monkeypatch.context() as patch:
        patch.setattr(np, "zeros", counting_zeros)
        h.sum().backward()
    assert x.grad.shape == x.shape and float(x.grad.abs().sum()) > 0
    return counted[0]


@pytest.mark.parametrize("name", list(SLICERS))
def test_backward_through_a_cell_loop_is_linear_in_sequence_length(monkeypatch, name) -> None:
    short = _zeroed_elements_in_backward(monkeypatch, SLICERS[name], 200)
    long = _zeroed_elements_in_backward(monkeypatch, SLICERS[name], 400)
    assert long / short < 2.5, (name, short, long)  # a zero tensor per slice gives about 4


@pytest.mark.parametrize("name", list(SLICERS))
def test_slice_gradients_match_torch_with_unused_pieces_and_double_backward(name) -> None:
    data = np.random.default_rng(1).standard_normal((5, 3))
    x, xt = hl.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    ours = [p for i, p in enumerate(SLICERS[name](x)) if i in (1, 3)]  # pieces 0, 2, 4 unused
    theirs = [p for i, p in enumerate(SLICERS[name](xt)) if i in (1, 3)]
    loss = sum((p ** 3).sum() * (i + 1) for i, p in enumerate(ours))
    loss_t = sum((p ** 3).sum() * (i + 1) for i, p in enumerate(theirs))
    (g,) = hl.autograd.grad(loss, x, create_graph=True)
    (gt,) = torch.autograd.grad(loss_t, xt, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), gt.detach().numpy(), rtol=1e-12)
    g.sum().backward()
    gt.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-12)


def test_pieces_share_one_node_named_as_in_torch() -> None:
    x = hl.zeros(4, 2, requires_grad=True)
    pieces = x.unbind(0)
    assert {p.grad_fn for p in pieces} == {pieces[0].grad_fn}
    assert [p.grad_fn.name() for p in (x.unbind(0)[0], x.split(2)[0], x.chunk(2)[1],
                                       x.split([1, 3])[1])] == [
        type(p.grad_fn).__name__ for p in (torch.zeros(4, 2, requires_grad=True).unbind(0)[0],
                                           torch.zeros(4, 2, requires_grad=True).split(2)[0],
                                           torch.zeros(4, 2, requires_grad=True).chunk(2)[1],
                                           torch.zeros(4, 2, requires_grad=True).split([1, 3])[1])]


def test_slice_gradient_into_a_buffer_with_a_dense_gradient_and_a_hook() -> None:
    x = hl.ones(3, 2, requires_grad=True)
    seen = []
    y = x * 1
    first = y[0]
    first.grad_fn.register_hook(lambda grad_inputs, grad_outputs: seen.append(grad_inputs[0]))
    loss = (y * 2).sum() + first.sum() + y[2].sum() * 3 + y.unbind(0)[1].sum() * 5
    loss.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[3, 3], [7, 7], [5, 5]])
    np.testing.assert_array_equal(seen[0].numpy(), [[1, 1], [0, 0], [0, 0]])  # hooks: dense
