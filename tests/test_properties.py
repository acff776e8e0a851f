"""Property tests (hypothesis): broadcasting and shape ops on random shapes, with permuted and
non-contiguous inputs, against numpy and PyTorch."""
from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import handbook_lib as hl

SETTINGS = settings(max_examples=25, deadline=None)
dims = st.integers(min_value=1, max_value=4)
shapes = st.lists(dims, min_size=0, max_size=4).map(tuple)


@st.composite
def broadcastable_pair(draw):
    """Two shapes that broadcast: the second takes a suffix of the first with some dims set to 1."""
    shape = draw(st.lists(dims, min_size=0, max_size=4).map(tuple))
    suffix = shape[len(shape) - draw(st.integers(0, len(shape))):]
    other = tuple(1 if draw(st.booleans()) else s for s in suffix)
    return (shape, other) if draw(st.booleans()) else (other, shape)


@st.composite
def layouts(draw, shape):
    """An array with ``shape`` stored in a random dim order (a permuted, non-contiguous view)."""
    values = np.random.default_rng(draw(st.integers(0, 2**16))).standard_normal(shape)
    order = draw(st.permutations(range(len(shape))))
    stored = np.ascontiguousarray(values.transpose(order))
    return stored.transpose(np.argsort(order)) if shape else np.asarray(values)


@st.composite
def tensor_data(draw):
    return draw(layouts(draw(shapes)))


@SETTINGS
@given(broadcastable_pair(), st.data())
def test_broadcasting_add_mul_and_gradients_match_torch(pair, data) -> None:
    a, b = data.draw(layouts(pair[0])), data.draw(layouts(pair[1]))
    ours = [hl.from_numpy(x.copy()).requires_grad_() for x in (a, b)]
    theirs = [torch.from_numpy(x.copy()).requires_grad_() for x in (a, b)]
    out_ours, out_theirs = ours[0] * ours[1] + ours[0], theirs[0] * theirs[1] + theirs[0]
    assert tuple(out_ours.shape) == tuple(out_theirs.shape) == np.broadcast_shapes(a.shape, b.shape)
    np.testing.assert_allclose(out_ours.detach().numpy(), out_theirs.detach().numpy())
    out_ours.sum().backward()
    out_theirs.sum().backward()
    for o, t in zip(ours, theirs):
        assert o.grad.shape == o.shape
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-12)


@SETTINGS
@given(shapes, shapes)
def test_broadcast_shapes_agree_with_numpy_or_both_fail(a, b) -> None:
    try:
        expected = np.broadcast_shapes(a, b)
    except ValueError:
        try:
            hl.ones(a) + hl.ones(b)
        except RuntimeError as error:
            assert str(list(a)) in str(error) and str(list(b)) in str(error)
        else:
            raise AssertionError(f"{a} and {b} should not broadcast")
        return
    assert tuple((hl.ones(a) + hl.ones(b)).shape) == expected == hl.broadcast_shapes(a, b)


@SETTINGS
@given(tensor_data(), st.data())
def test_permute_transpose_and_reshape_match_numpy(x, data) -> None:
    t = hl.from_numpy(x)
    order = data.draw(st.permutations(range(x.ndim)))
    np.testing.assert_array_equal(t.permute(*order).numpy(), x.transpose(order))
    if x.ndim >= 2:
        i, j = data.draw(st.integers(0, x.ndim - 1)), data.draw(st.integers(0, x.ndim - 1))
        np.testing.assert_array_equal(t.transpose(i, j).numpy(), np.swapaxes(x, i, j))
    flat = t.reshape(-1)
    np.testing.assert_array_equal(flat.numpy(), x.reshape(-1))
    np.testing.assert_array_equal(t.contiguous().numpy(), x)
    assert t.contiguous().is_contiguous()
    assert t.flatten().shape == (x.size,)


@SETTINGS
@given(tensor_data())
def test_view_succeeds_exactly_when_torch_does(x) -> None:
    t, r = hl.from_numpy(x), torch.from_numpy(x)
    try:
        expected = r.view(-1)
    except RuntimeError:
        try:
            t.view(-1)
        except RuntimeError as error:
            assert "view size is not compatible" in str(error)
        else:
            raise AssertionError(f"view of strides {x.strides} should fail like torch")
        return
    np.testing.assert_array_equal(t.view(-1).numpy(), expected.numpy())


@SETTINGS
@given(tensor_data(), st.data())
def test_squeeze_unsqueeze_expand_round_trip(x, data) -> None:
    t = hl.from_numpy(x)
    dim = data.draw(st.integers(-x.ndim - 1, x.ndim))
    u = t.unsqueeze(dim)
    assert tuple(u.shape) == tuple(torch.from_numpy(x).unsqueeze(dim).shape)
    np.testing.assert_array_equal(u.squeeze(dim).numpy(), x)
    lead = data.draw(st.integers(1, 3))
    e = u.expand(lead, *u.shape) if u.ndim else u.expand(lead)
    np.testing.assert_array_equal(e.numpy(), np.broadcast_to(u.numpy(), e.shape))


@SETTINGS
@given(tensor_data(), st.data())
def test_cat_split_chunk_and_flip_match_torch_with_gradients(x, data) -> None:
    if x.ndim == 0:
        return
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    size = data.draw(st.integers(1, 3))
    ours, theirs = hl.from_numpy(x.copy()).requires_grad_(), torch.from_numpy(x.copy()).requires_grad_()
    results = []
    for lib, t in ((hl, ours), (torch, theirs)):
        pieces = lib.split(t, size, dim)
        chunks = t.chunk(size, dim)
        joined = lib.cat([p.flip(dim) * (i + 1) for i, p in enumerate(pieces)], dim)
        stacked = lib.stack([t, t * 2], dim)
        (joined.sum() + stacked.sum() + sum(c.sum() for c in chunks)).backward()
        results.append(([tuple(p.shape) for p in pieces], [tuple(c.shape) for c in chunks],
                        joined.detach().numpy(), stacked.detach().numpy(), t.grad.numpy()))
    (ps, cs, j, s, g), (ps2, cs2, j2, s2, g2) = results
    assert ps == ps2 and cs == cs2
    for mine, ref in ((j, j2), (s, s2), (g, g2)):
        np.testing.assert_allclose(mine, ref, rtol=1e-12)


@SETTINGS
@given(tensor_data(), st.data())
def test_reductions_over_random_dims_match_torch(x, data) -> None:
    t, r = hl.from_numpy(x), torch.from_numpy(x)
    dims = data.draw(st.lists(st.integers(0, max(x.ndim - 1, 0)), unique=True, max_size=x.ndim))
    keepdim = data.draw(st.booleans())
    dim = tuple(dims) if dims else None
    kwargs = {} if dim is None else {"dim": dim, "keepdim": keepdim}
    for name in ("sum", "mean", "amax"):
        ours = getattr(t, name)(**kwargs) if name != "amax" else t.amax(dim or (), keepdim)
        theirs = getattr(r, name)(**kwargs) if name != "amax" else r.amax(dim or (), keepdim)
        assert tuple(ours.shape) == tuple(theirs.shape), name
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12, err_msg=name)


@SETTINGS
@given(st.lists(dims, min_size=1, max_size=3).map(tuple), st.data())
def test_advanced_indexing_gradient_accumulates_repeated_indices(shape, data) -> None:
    x = data.draw(layouts(shape))
    index = data.draw(st.lists(st.integers(-shape[0], shape[0] - 1), min_size=1, max_size=6))
    grads = []
    for lib in (hl, torch):
        t = lib.from_numpy(x.copy()).requires_grad_()
        picked = t[lib.tensor(index)]
        (picked * lib.from_numpy(np.arange(picked.numel(), dtype=np.float64).reshape(
            tuple(picked.shape)))).sum().backward()
        grads.append(t.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12)
