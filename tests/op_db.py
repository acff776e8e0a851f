"""The op database: one small record per operation, driving the generic tests in test_ops.py.

Each :class:`OpInfo` names an operation, our callable and PyTorch's (both built from one function
of the library module, so ``lambda m, a, b: m.add(a, b)`` runs as ``hl.add`` and ``torch.add``),
a sample-input generator and what to check. Samples hold numpy arrays; the tests turn them into
tensors of either library, with the layout the sample asks for (contiguous, transposed or strided).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np

FLOAT = ("float32", "float64")
FLOAT_INT = ("float32", "float64", "int64")
ALL = ("float32", "float64", "int64", "bool")


# --- sample inputs --------------------------------------------------------------------------------
@dataclass
class Strided:
    """An argument whose tensor is a non-contiguous view with the values of ``value``.

    ``how='T'`` stores the transpose of the last two dims and views it back; ``how='step'`` stores
    the values at every other position of a buffer twice as long in the last dim.
    """

    value: np.ndarray
    how: str = "T"

    def build(self) -> np.ndarray:
        if self.how == "T":
            return np.swapaxes(np.ascontiguousarray(np.swapaxes(self.value, -1, -2)), -1, -2)
        buffer = np.zeros(self.value.shape[:-1] + (2 * self.value.shape[-1],), self.value.dtype)
        buffer[..., ::2] = self.value
        return buffer[..., ::2]


@dataclass
class Index:
    """An integer or bool array that becomes a tensor but never requires grad."""

    value: np.ndarray


@dataclass
class Sample:
    args: tuple
    kwargs: dict = field(default_factory=dict)
    desc: str = ""
    gradcheck: bool = True  # False where the op is not differentiable at these inputs (ties, kinks)
    double_backward: bool = True  # False where handbook_lib refuses create_graph (documented)


def array_of(arg) -> np.ndarray | None:
    """The values of a tensor argument (None for Python numbers and other plain arguments)."""
    if isinstance(arg, np.ndarray):
        return arg
    if isinstance(arg, (Strided, Index)):
        return arg.value
    return None


def fresh_array(arg) -> np.ndarray:
    """A new numpy array for ``arg`` with the layout it asks for (never shared between libraries)."""
    if isinstance(arg, Strided):
        return arg.build()
    return array_of(arg).copy()


class Maker:
    """Random arrays of one dtype: ``make(2, 3)``, ``make(4, low=0.1)`` (positive)."""

    def __init__(self, dtype: str, seed: int = 0) -> None:
        self.dtype = np.dtype(dtype)
        self.rng = np.random.default_rng(seed)

    def __call__(self, *shape: int, low: float = -2.0, high: float = 2.0) -> np.ndarray:
        if self.dtype.kind == "b":
            return np.asarray(self.rng.random(shape) < 0.5)
        if self.dtype.kind in "iu":
            values = self.rng.integers(int(np.ceil(low)), int(np.floor(high)) + 1, shape)
            return np.asarray(values, dtype=self.dtype)
        return np.asarray(self.rng.uniform(low, high, shape), dtype=self.dtype)

    def strided(self, *shape: int, **bounds) -> Strided:
        return Strided(self(*shape, **bounds), "T" if len(shape) >= 2 else "step")

    def scalar(self, low: float = -2.0, high: float = 2.0) -> np.ndarray:
        return np.asarray(self(1, low=low, high=high)[0])

    def mask(self, *shape: int) -> Index:
        return Index(self.rng.random(shape) < 0.5)

    def index(self, high: int, *shape: int) -> Index:
        return Index(self.rng.integers(0, high, shape).astype(np.int64))


# --- the record -----------------------------------------------------------------------------------
@dataclass
class OpInfo:
    name: str
    op: Callable             # ours: op(*tensors_and_args, **kwargs)
    ref: Callable            # PyTorch's, same arguments
    samples: Callable[[Maker], Iterator[Sample]]
    dtypes: tuple = FLOAT
    differentiable: bool = True
    grad_args: tuple | None = None  # positions of args that require grad; None: every float tensor
    second_order: bool = False      # compare create_graph second derivatives with PyTorch
    rtol32: float = 1e-5
    atol32: float = 1e-5
    rtol64: float = 1e-7
    atol64: float = 1e-9


def _both(fn: Callable) -> tuple:
    """(our callable, PyTorch's callable) from one function of the library module."""
    import torch

    import handbook_lib as hl

    return (lambda *a, **k: fn(hl, *a, **k)), (lambda *a, **k: fn(torch, *a, **k))


def _one_hot(m, x, *args):
    if m.__name__ == "torch":
        return m.nn.functional.one_hot(x, *args)
    from handbook_lib.ops.indexing import one_hot

    return one_hot(x, *args)


OPS: list[OpInfo] = []


def op(name: str, fn: Callable, samples: Callable, **info) -> None:
    ours, theirs = _both(fn)
    OPS.append(OpInfo(name, ours, theirs, samples, **info))


# --- sample generators ------------------------------------------------------------------------------
def binary_samples(make: Maker, low: float = -2.0, high: float = 2.0, scalars=(2.5, -3)):
    b = dict(low=low, high=high)
    yield Sample((make(2, 3, **b), make(2, 3, **b)), desc="same shape")
    yield Sample((make(2, 3, **b), make(3, **b)), desc="broadcast row")
    yield Sample((make(4, 1, 3, **b), make(2, 1, **b)), desc="broadcast both")
    yield Sample((make.strided(3, 4, **b), make(3, 4, **b)), desc="transposed input")
    yield Sample((make(5, **b), make.strided(5, **b)), desc="strided other")
    yield Sample((make.scalar(**b), make(2, 3, **b)), desc="0-dim and 2-D")
    yield Sample((make(0, 3, **b), make(3, **b)), desc="empty")
    for s in scalars:
        yield Sample((make(2, 3, **b), s), desc=f"tensor op {s!r}")
        yield Sample((s, make(2, 3, **b)), desc=f"{s!r} op tensor")


def unary_samples(make: Maker, low: float = -2.0, high: float = 2.0):
    b = dict(low=low, high=high)
    yield Sample((make(3, 4, **b),), desc="2-D")
    yield Sample((make.strided(4, 3, **b),), desc="transposed")
    yield Sample((make.strided(6, **b),), desc="strided")
    yield Sample((make.scalar(**b),), desc="0-dim")
    yield Sample((make(0, 2, **b),), desc="empty")


def positive(make):
    yield from unary_samples(make, low=0.2, high=3.0)


def above_minus_one(make):
    yield from unary_samples(make, low=-0.8, high=3.0)


def round_samples(make):
    yield from unary_samples(make, low=-4.0, high=4.0)
    if make.dtype.kind == "f":
        yield Sample((np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5], make.dtype),), desc="halves",
                     gradcheck=False)


def comparison_samples(make):
    yield from binary_samples(make, scalars=(0.5, 1))
    a = make(3, 4)
    yield Sample((a, a.copy()), desc="equal values")


def logical_samples(make):
    yield Sample((make(2, 3), make(2, 3)), desc="same shape")
    yield Sample((make(4, 1, 3), make(2, 1)), desc="broadcast")
    yield Sample((make.strided(3, 4), make(3, 4)), desc="transposed")


def pow_scalar_exponent(make):
    for e in (2, 3, 0.5, -1, 0, 1.5):
        yield Sample((make(2, 3, low=0.3, high=2.0), e), desc=f"x ** {e}")
    yield Sample((make.strided(3, 4, low=0.3, high=2.0), 2), desc="transposed ** 2")
    yield Sample((make(2, 3), 2), desc="negative base ** 2")
    yield Sample((make.scalar(low=0.3, high=2.0), 3), desc="0-dim ** 3")


def pow_scalar_base(make):
    yield Sample((2.0, make(2, 3)), desc="2.0 ** x")
    yield Sample((0.5, make.strided(3, 2)), desc="0.5 ** transposed")


def pow_tensor(make):
    yield Sample((make(2, 3, low=0.3, high=2.0), make(2, 3)), desc="same shape")
    yield Sample((make(2, 3, low=0.3, high=2.0), make(3)), desc="broadcast")
    yield Sample((make.strided(3, 4, low=0.3, high=2.0), make.scalar()), desc="0-dim exponent")


def pow_int(make):
    yield Sample((make(2, 3, low=0, high=4), make(2, 3, low=0, high=3)), desc="int ** int")
    yield Sample((make(2, 3, low=0, high=4), 2), desc="int ** 2")
    yield Sample((make(2, 3, low=0, high=4), 0.5), desc="int ** 0.5")


def clamp_samples(make):
    yield Sample((make(3, 4),), dict(min=-0.5, max=0.7), desc="both")
    yield Sample((make.strided(3, 4),), dict(min=0.1), desc="min only")
    yield Sample((make(5),), dict(max=0.0), desc="max only")
    yield Sample((make.scalar(),), dict(min=-1.0, max=1.0), desc="0-dim")
    yield Sample((make(3, 4), make(4, low=-1.0, high=0.0), make(3, 1, low=0.0, high=1.0)),
                 desc="tensor bounds")


def where_samples(make):
    yield Sample((make.mask(2, 3), make(2, 3), make(2, 3)), desc="same shape")
    yield Sample((make.mask(3), make(2, 3), make(2, 1)), desc="broadcast")
    yield Sample((make.mask(3, 4), make.strided(3, 4), make(4)), desc="transposed")


def where_scalar_samples(make):
    yield Sample((make.mask(2, 3), make(2, 3), 0.0), desc="scalar other")
    yield Sample((make.mask(2, 3), 1.5, make(3)), desc="scalar input")
    yield Sample((make.mask(2, 3), 1.0, 0.0), desc="two numbers")


def masked_fill_samples(make):
    yield Sample((make(2, 3), make.mask(2, 3), -1.5), desc="same shape")
    yield Sample((make.strided(3, 4), make.mask(4), 0.0), desc="broadcast mask, transposed")
    yield Sample((make(2, 3), make.mask(2, 1), 7), desc="int value")


def extreme_samples(make):
    yield from binary_samples(make, scalars=())
    a = make(3, 4)
    b = a.copy()
    b[0] = make(4)
    yield Sample((a, b), desc="ties", gradcheck=False)


def reduction_samples(make, dims=(None, 1, -1, (0, 2)), keepdims=(False, True)):
    x = make(2, 3, 4)
    for dim in dims:
        for keepdim in keepdims:
            kwargs = {} if dim is None and not keepdim else dict(dim=dim, keepdim=keepdim)
            if dim is None and keepdim:
                continue
            yield Sample((x,), kwargs, desc=f"dim={dim} keepdim={keepdim}")
    yield Sample((make.strided(3, 5),), dict(dim=0), desc="transposed, dim=0")
    yield Sample((make.scalar(),), {}, desc="0-dim")
    yield Sample((make.scalar(),), dict(dim=0), desc="0-dim, dim=0")


def sum_samples(make):
    yield from reduction_samples(make)
    yield Sample((make(0, 3),), {}, desc="empty")
    yield Sample((make(0, 3),), dict(dim=0), desc="empty, dim=0")


def var_samples(make):
    yield from (s for s in reduction_samples(make) if "0-dim" not in s.desc)
    x = make(3, 4)
    yield Sample((x,), dict(dim=1, correction=0), desc="correction=0")
    yield Sample((x,), dict(dim=0, unbiased=False), desc="unbiased=False")


def prod_samples(make):
    x = make(2, 3, 4)
    yield Sample((x,), {}, desc="all")
    yield Sample((x,), dict(dim=1), desc="dim=1")
    yield Sample((x,), dict(dim=-1, keepdim=True), desc="dim=-1 keepdim")
    yield Sample((make.strided(3, 4),), dict(dim=0), desc="transposed")
    one_zero = make(3, 4)
    one_zero[1, 2] = 0
    yield Sample((one_zero,), dict(dim=1), desc="one zero in a row", double_backward=False)
    yield Sample((one_zero,), {}, desc="one zero, all", double_backward=False)
    two_zeros = make(3, 4)
    two_zeros[0, 1] = two_zeros[0, 3] = 0
    yield Sample((two_zeros,), dict(dim=1), desc="two zeros in a row", double_backward=False)


def max_all_samples(make):
    yield Sample((make(3, 4),), desc="2-D")
    yield Sample((make.strided(4, 3),), desc="transposed")
    yield Sample((make.scalar(),), desc="0-dim")
    ties = np.array([[1.0, 3.0, 3.0], [0.0, 3.0, -1.0]], dtype=make.dtype)
    yield Sample((ties,), desc="ties", gradcheck=False)


def max_dim_samples(make):
    x = make(2, 3, 4)
    for dim in (0, 1, -1):
        for keepdim in (False, True):
            yield Sample((x, dim, keepdim), desc=f"dim={dim} keepdim={keepdim}")
    yield Sample((make.strided(3, 5), 1, False), desc="transposed")
    yield Sample((make.scalar(), 0, False), desc="0-dim")


def arg_samples(make):
    x = make(3, 4) if make.dtype.kind != "b" else make(3, 4)
    yield Sample((x,), {}, desc="flat")
    yield Sample((x,), dict(dim=1), desc="dim=1")
    yield Sample((x,), dict(dim=0, keepdim=True), desc="dim=0 keepdim")
    yield Sample((make.strided(4, 5),), dict(dim=-1), desc="transposed")


def logsumexp_samples(make):
    x = make(2, 3, 4)
    yield Sample((x, 1), desc="dim=1")
    yield Sample((x, (0, 2)), desc="dims (0, 2)")
    yield Sample((x, -1, True), desc="keepdim")
    yield Sample((make.strided(3, 4), 0), desc="transposed")
    yield Sample((np.array([[1000.0, 1000.0], [-1000.0, 0.0]], make.dtype), 1), desc="large")


def softmax_samples(make):
    x = make(2, 3, 4)
    for dim in (0, 1, -1):
        yield Sample((x, dim), desc=f"dim={dim}")
    yield Sample((make.strided(3, 4), 1), desc="transposed")
    yield Sample((np.array([[1000.0, 0.0], [-1000.0, 50.0]], make.dtype), 1), desc="large")


def all_any_samples(make):
    x = make(2, 3, 4)
    yield Sample((x,), {}, desc="all elements")
    yield Sample((x,), dict(dim=1), desc="dim=1")
    yield Sample((x,), dict(dim=(0, 2), keepdim=True), desc="dims (0, 2) keepdim")
    yield Sample((make.strided(3, 4),), dict(dim=-1), desc="transposed")


def matmul_samples(make):
    yield Sample((make(3, 4), make(4, 2)), desc="2-D @ 2-D")
    yield Sample((make(4), make(4)), desc="1-D @ 1-D")
    yield Sample((make(4), make(4, 3)), desc="1-D @ 2-D")
    yield Sample((make(3, 4), make(4)), desc="2-D @ 1-D")
    yield Sample((make(2, 3, 4), make(4, 5)), desc="3-D @ 2-D")
    yield Sample((make(3, 4), make(2, 4, 5)), desc="2-D @ 3-D")
    yield Sample((make(2, 1, 3, 4), make(5, 4, 2)), desc="batch broadcast")
    yield Sample((make(4), make(2, 4, 3)), desc="1-D @ 3-D")
    yield Sample((make(2, 3, 4), make(4)), desc="3-D @ 1-D")
    yield Sample((make.strided(3, 4), make.strided(4, 2)), desc="transposed operands")
    yield Sample((make(0, 4), make(4, 2)), desc="empty rows")


def mm_samples(make):
    yield Sample((make(3, 4), make(4, 2)), desc="2-D")
    yield Sample((make.strided(3, 4), make.strided(4, 5)), desc="transposed")


def bmm_samples(make):
    yield Sample((make(2, 3, 4), make(2, 4, 5)), desc="3-D")
    yield Sample((make.strided(2, 3, 4), make(2, 4, 1)), desc="transposed")


def vector_pair(make):
    yield Sample((make(5), make(5)), desc="1-D")
    yield Sample((make.strided(4), make(4)), desc="strided")


def outer_samples(make):
    yield Sample((make(3), make(4)), desc="1-D")
    yield Sample((make.strided(2), make(5)), desc="strided")


def one(make, *shape):
    return (make(*shape),)


def shape_samples(*cases):
    """Samples from ``(shape_or_strided, args, kwargs, desc)`` cases."""

    def samples(make):
        for shape, args, kwargs, desc in cases:
            x = make.strided(*shape[1:]) if shape and shape[0] == "T" else make(*shape)
            yield Sample((x,) + args, kwargs, desc=desc)

    return samples


def cat_samples(make):
    yield Sample(([make(2, 3), make(4, 3)], 0), desc="dim 0")
    yield Sample(([make(2, 3), make(2, 1), make.strided(2, 2)], -1), desc="dim -1, three")
    yield Sample(([make(2, 3), make(0, 3)], 0), desc="with empty")


def stack_samples(make):
    yield Sample(([make(2, 3), make(2, 3)], 0), desc="dim 0")
    yield Sample(([make(2, 3), make.strided(2, 3), make(2, 3)], -1), desc="dim -1")
    yield Sample(([make(4), make(4)], 1), desc="1-D, dim 1")


def getitem_samples(make):
    x = make(4, 5, 3)
    cases = [
        (2,), (-1,), (slice(1, 3),), (slice(None, None, 2),), (None,), (Ellipsis, 1),
        (1, slice(None), None), (slice(None), -2, slice(0, 2)), (Ellipsis, None, 0),
        (slice(-3, None), Ellipsis),
    ]
    for index in cases:
        yield Sample((x,), dict(index=index), desc=f"basic {index}")
    yield Sample((make.strided(4, 6),), dict(index=(slice(1, 3), 2)), desc="transposed")


def advanced_index_samples(make):
    yield Sample((make(5, 3), Index(np.array([0, 2, 4]))), desc="int tensor")
    yield Sample((make(5, 3), Index(np.array([1, 1, 3, 1]))), desc="repeated indices")
    yield Sample((make(5, 3), Index(np.array([[0, 4], [4, 0]]))), desc="2-D int tensor")
    yield Sample((make(5, 3), Index(np.array([-1, 0]))), desc="negative indices")
    yield Sample((make.strided(3, 5), Index(np.array([2, 0, 2]))), desc="transposed input")


def mask_index_samples(make):
    yield Sample((make(3, 4), make.mask(3, 4)), desc="full mask")
    yield Sample((make(3, 4), make.mask(3)), desc="mask on dim 0")
    yield Sample((make.strided(4, 3), make.mask(4, 3)), desc="transposed")


def two_index_samples(make):
    yield Sample((make(4, 5), Index(np.array([0, 3, 3])), Index(np.array([1, 1, 4]))),
                 desc="pairs, repeated")
    yield Sample((make(4, 5, 2), Index(np.array([[0], [3]])), Index(np.array([1, 4]))),
                 desc="broadcast index tensors")


def setitem_samples(make):
    yield Sample((make(4, 3), make(2, 3)), dict(index=(slice(1, 3),)), desc="slice ← tensor")
    yield Sample((make(4, 3), make(3)), dict(index=(slice(0, 2),)), desc="broadcast value")
    yield Sample((make(4, 3), make(2, 3)), dict(index=(Index(np.array([3, 0])),)),
                 desc="int tensor index")
    yield Sample((make(4, 3), make.scalar()), dict(index=(1, 2)), desc="element ← 0-dim")


def setitem_scalar_samples(make):
    yield Sample((make(4, 3), make.mask(4, 3)), dict(value=0.5), desc="mask ← number")
    yield Sample((make.strided(3, 4), make.mask(3, 4)), dict(value=-1.0), desc="transposed")


def gather_samples(make):
    yield Sample((make(3, 4), 1, make.index(4, 3, 2)), desc="dim 1")
    yield Sample((make(3, 4), 0, make.index(3, 2, 4)), desc="dim 0")
    yield Sample((make(3, 4), 1, Index(np.array([[0, 0], [1, 1], [3, 3]]))), desc="repeated")
    yield Sample((make.strided(4, 3), -1, make.index(3, 4, 5)), desc="transposed, more columns")


def scatter_samples(make):
    index = Index(np.array([[0, 2], [1, 3], [3, 0]]))
    yield Sample((make(3, 4), 1, index, make(3, 2)), desc="dim 1")
    yield Sample((make(3, 4), 0, Index(np.array([[2, 0, 1, 0]])), make(1, 4)), desc="dim 0")


def scatter_larger_src_samples(make):
    yield Sample((make(3, 4), 0, Index(np.array([[2, 0, 1, 0]])), make(2, 4)),
                 desc="dim 0, src larger than index")


def scatter_add_samples(make):
    yield Sample((make(3, 4), 1, Index(np.array([[0, 0], [1, 3], [3, 3]])), make(3, 2)),
                 desc="repeated targets")
    yield Sample((make(3, 4), 0, Index(np.array([[2, 0, 2, 0], [2, 2, 2, 2]])), make(2, 4)),
                 desc="dim 0")


def index_select_samples(make):
    yield Sample((make(4, 3), 0, Index(np.array([3, 0, 3]))), desc="dim 0, repeated")
    yield Sample((make.strided(4, 5), 1, Index(np.array([4, 1]))), desc="dim 1, transposed")
    yield Sample((make(2, 3, 4), -1, Index(np.array([0]))), desc="dim -1")


def one_hot_samples(make):
    yield Sample((Index(np.array([0, 2, 1, 2])),), desc="inferred classes")
    yield Sample((Index(np.array([[0, 1], [3, 0]])), 5), desc="2-D, num_classes=5")


def inplace_samples(make):
    yield from (s for s in binary_samples(make, low=0.5, high=2.0, scalars=(2.5,))
                if s.desc in ("same shape", "broadcast row", "transposed input", "tensor op 2.5"))


def out_samples(make):
    yield Sample((make(2, 3), make(2, 3)), desc="same shape")
    yield Sample((make(2, 3), make(3)), desc="broadcast")


# --- the table ------------------------------------------------------------------------------------
loose_matmul = dict(rtol32=1e-4, atol32=1e-4)

# arithmetic operators, with Python numbers on either side
op("add", lambda m, a, b: m.add(a, b), binary_samples, dtypes=ALL, second_order=True)
op("add_alpha", lambda m, a, b: m.add(a, b, alpha=2), binary_samples, dtypes=FLOAT_INT)
op("operator_add", lambda m, a, b: a + b, binary_samples, dtypes=FLOAT_INT)
op("sub", lambda m, a, b: m.sub(a, b), binary_samples, dtypes=FLOAT_INT)
op("sub_alpha", lambda m, a, b: m.sub(a, b, alpha=0.5), binary_samples, dtypes=FLOAT)
op("operator_sub", lambda m, a, b: a - b, binary_samples, dtypes=FLOAT_INT, second_order=True)
op("rsub", lambda m, a, b: m.rsub(a, b), lambda make: (s for s in binary_samples(make)
                                                      if not isinstance(s.args[0], (int, float))),
   dtypes=FLOAT_INT)
op("mul", lambda m, a, b: m.mul(a, b), binary_samples, dtypes=ALL)
op("operator_mul", lambda m, a, b: a * b, binary_samples, dtypes=FLOAT_INT, second_order=True)
op("div", lambda m, a, b: m.div(a, b), lambda make: binary_samples(make, low=0.5, high=2.0),
   dtypes=FLOAT_INT, second_order=True)
op("operator_div", lambda m, a, b: a / b, lambda make: binary_samples(make, low=0.5, high=2.0),
   dtypes=FLOAT_INT)
op("div_floor", lambda m, a, b: m.div(a, b, rounding_mode="floor"),
   lambda make: binary_samples(make, low=0.5, high=4.0), dtypes=FLOAT_INT, differentiable=False)
op("div_trunc", lambda m, a, b: m.div(a, b, rounding_mode="trunc"),
   lambda make: binary_samples(make, low=-4.0, high=-0.5), dtypes=FLOAT_INT, differentiable=False)
op("operator_floordiv", lambda m, a, b: a // b,
   lambda make: binary_samples(make, low=0.5, high=4.0), dtypes=FLOAT_INT, differentiable=False)
op("operator_mod", lambda m, a, b: a % b, lambda make: binary_samples(make, low=0.5, high=4.0),
   dtypes=FLOAT_INT, differentiable=False)
op("pow_scalar", lambda m, a, b: m.pow(a, b), pow_scalar_exponent, second_order=True)
op("operator_pow_scalar", lambda m, a, b: a ** b, pow_scalar_exponent)
op("operator_rpow", lambda m, a, b: a ** b, pow_scalar_base, second_order=True)
op("pow_tensor", lambda m, a, b: m.pow(a, b), pow_tensor, second_order=True)
op("pow_int", lambda m, a, b: a ** b, pow_int, dtypes=("int64",), differentiable=False)

# one-tensor math
op("neg", lambda m, x: m.neg(x), unary_samples, dtypes=FLOAT_INT, second_order=True)
op("operator_neg", lambda m, x: -x, unary_samples, dtypes=FLOAT_INT)
op("abs", lambda m, x: m.abs(x), unary_samples, dtypes=FLOAT_INT)
op("exp", lambda m, x: m.exp(x), unary_samples, second_order=True)
op("log", lambda m, x: m.log(x), positive, second_order=True)
op("log1p", lambda m, x: m.log1p(x), above_minus_one, second_order=True)
op("sqrt", lambda m, x: m.sqrt(x), positive, second_order=True)
op("rsqrt", lambda m, x: m.rsqrt(x), positive, second_order=True)
op("sin", lambda m, x: m.sin(x), unary_samples, second_order=True)
op("cos", lambda m, x: m.cos(x), unary_samples, second_order=True)
op("tanh", lambda m, x: m.tanh(x), unary_samples, second_order=True)
op("sigmoid", lambda m, x: m.sigmoid(x), unary_samples, second_order=True)
op("relu", lambda m, x: m.relu(x), unary_samples, dtypes=FLOAT_INT)
op("clamp", lambda m, x, *b, **k: m.clamp(x, *b, **k), clamp_samples, dtypes=FLOAT)
op("sign", lambda m, x: m.sign(x), unary_samples, dtypes=FLOAT_INT)
op("floor", lambda m, x: m.floor(x), round_samples, dtypes=FLOAT_INT)
op("ceil", lambda m, x: m.ceil(x), round_samples, dtypes=FLOAT_INT)
op("round", lambda m, x: m.round(x), round_samples, dtypes=FLOAT_INT)
op("exp_int_input", lambda m, x: m.exp(x), unary_samples, dtypes=("int64", "bool"),
   differentiable=False)

# comparisons and logic (bool results, no gradient)
for _name, _fn in {
    "eq": lambda m, a, b: m.eq(b, a) if isinstance(a, (int, float)) else m.eq(a, b),
    "ne": lambda m, a, b: m.ne(b, a) if isinstance(a, (int, float)) else a.ne(b),
    "lt": lambda m, a, b: a < b, "le": lambda m, a, b: a <= b,
    "gt": lambda m, a, b: a > b, "ge": lambda m, a, b: a >= b,
    "operator_eq": lambda m, a, b: a == b, "operator_ne": lambda m, a, b: a != b,
}.items():
    op(_name, _fn, comparison_samples, dtypes=ALL, differentiable=False)
for _name, _fn in {
    "logical_and": lambda m, a, b: m.logical_and(a, b),
    "logical_or": lambda m, a, b: m.logical_or(a, b),
    "logical_xor": lambda m, a, b: m.logical_xor(a, b),
}.items():
    op(_name, _fn, logical_samples, dtypes=ALL, differentiable=False)
op("logical_not", lambda m, x: m.logical_not(x), unary_samples, dtypes=ALL, differentiable=False)
op("operator_and", lambda m, a, b: a & b, logical_samples, dtypes=("bool", "int64"),
   differentiable=False)
op("operator_or", lambda m, a, b: a | b, logical_samples, dtypes=("bool", "int64"),
   differentiable=False)
op("operator_xor", lambda m, a, b: a ^ b, logical_samples, dtypes=("bool", "int64"),
   differentiable=False)
op("operator_invert", lambda m, x: ~x, unary_samples, dtypes=("bool", "int64"),
   differentiable=False)

# selection
op("where", lambda m, c, x, y: m.where(c, x, y), where_samples, dtypes=FLOAT_INT)
op("where_scalar", lambda m, c, x, y: m.where(c, x, y), where_scalar_samples)
op("masked_fill", lambda m, x, mask, v: x.masked_fill(mask, v), masked_fill_samples,
   dtypes=FLOAT_INT)
op("maximum", lambda m, a, b: m.maximum(a, b), extreme_samples, dtypes=FLOAT_INT)
op("minimum", lambda m, a, b: m.minimum(a, b), extreme_samples, dtypes=FLOAT_INT)

# reductions
op("sum", lambda m, x, **k: m.sum(x, **k), sum_samples, dtypes=ALL, second_order=True)
op("mean", lambda m, x, **k: m.mean(x, **k), sum_samples, second_order=True)
op("var", lambda m, x, **k: m.var(x, **k), var_samples, second_order=True, rtol32=1e-4)
op("std", lambda m, x, **k: m.std(x, **k), var_samples, rtol32=1e-4)
op("prod", lambda m, x, **k: m.prod(x, **k), prod_samples, dtypes=FLOAT_INT, second_order=True)
op("max_all", lambda m, x: m.max(x), max_all_samples, dtypes=FLOAT_INT)
op("min_all", lambda m, x: m.min(x), max_all_samples, dtypes=FLOAT_INT)
op("max_dim", lambda m, x, d, k: m.max(x, d, keepdim=k), max_dim_samples, dtypes=FLOAT_INT)
op("min_dim", lambda m, x, d, k: x.min(dim=d, keepdim=k), max_dim_samples, dtypes=FLOAT_INT)
op("argmax", lambda m, x, **k: m.argmax(x, **k), arg_samples, dtypes=FLOAT_INT,
   differentiable=False)
op("argmin", lambda m, x, **k: x.argmin(**k), arg_samples, dtypes=FLOAT_INT, differentiable=False)
op("logsumexp", lambda m, x, *a: m.logsumexp(x, *a), logsumexp_samples, second_order=True)
op("softmax", lambda m, x, d: m.softmax(x, d), softmax_samples, second_order=True)
op("log_softmax", lambda m, x, d: x.log_softmax(d), softmax_samples, second_order=True)
op("all", lambda m, x, **k: m.all(x, **k), all_any_samples, dtypes=ALL, differentiable=False)
op("any", lambda m, x, **k: x.any(**k), all_any_samples, dtypes=ALL, differentiable=False)

# matrix products
op("matmul", lambda m, a, b: m.matmul(a, b), matmul_samples, second_order=True, **loose_matmul)
op("operator_matmul", lambda m, a, b: a @ b, matmul_samples, **loose_matmul)
op("mm", lambda m, a, b: m.mm(a, b), mm_samples, second_order=True, **loose_matmul)
op("bmm", lambda m, a, b: m.bmm(a, b), bmm_samples, **loose_matmul)
op("dot", lambda m, a, b: m.dot(a, b), vector_pair, second_order=True, **loose_matmul)
op("outer", lambda m, a, b: m.outer(a, b), outer_samples)

# shapes
op("view", lambda m, x, *s: x.view(*s), shape_samples(
    ((2, 3, 4), (6, 4), {}, "merge"), ((2, 3, 4), (-1,), {}, "flatten -1"),
    ((2, 3, 4), (4, -1, 2), {}, "infer middle"), ((), (1, 1), {}, "0-dim")), dtypes=ALL)
op("reshape", lambda m, x, *s: x.reshape(*s), shape_samples(
    ((2, 3, 4), ((4, 6),), {}, "tuple shape"), (("T", 3, 4), (-1,), {}, "transposed copies"),
    ((0, 3), (3, 0), {}, "empty")), dtypes=ALL)
op("flatten", lambda m, x, *a: m.flatten(x, *a), shape_samples(
    ((2, 3, 4), (), {}, "all"), ((2, 3, 4, 5), (1, 2), {}, "middle"),
    (("T", 3, 4), (), {}, "transposed"), ((), (), {}, "0-dim")), dtypes=ALL)
op("squeeze", lambda m, x, *a: m.squeeze(x, *a), shape_samples(
    ((2, 1, 3, 1), (), {}, "all"), ((2, 1, 3), (1,), {}, "dim 1"),
    ((2, 1, 3), (0,), {}, "dim not of size 1"), ((1, 1), (-1,), {}, "negative"),
    ((), (), {}, "0-dim")), dtypes=ALL)
op("unsqueeze", lambda m, x, d: x.unsqueeze(d), shape_samples(
    ((2, 3), (0,), {}, "front"), ((2, 3), (-1,), {}, "back"), ((2, 3), (1,), {}, "middle"),
    ((), (0,), {}, "0-dim")), dtypes=ALL)
op("permute", lambda m, x, *d: x.permute(*d), shape_samples(
    ((2, 3, 4), (2, 0, 1), {}, "rotate"), ((2, 3, 4), ((1, -1, 0),), {}, "tuple, negative")),
   dtypes=ALL)
op("transpose", lambda m, x, a, b: m.transpose(x, a, b), shape_samples(
    ((2, 3, 4), (0, 2), {}, "outer"), (("T", 3, 4), (-1, -2), {}, "transposed back")))
op("t", lambda m, x: x.t(), shape_samples(((3, 4), (), {}, "2-D"), ((4,), (), {}, "1-D")))
op("T_property", lambda m, x: x.T, shape_samples(((3, 4), (), {}, "2-D")))
op("contiguous", lambda m, x: x.contiguous(), shape_samples(
    (("T", 3, 4), (), {}, "transposed"), ((3, 4), (), {}, "already contiguous")))
op("expand", lambda m, x, *s: x.expand(*s), shape_samples(
    ((3, 1), (3, 4), {}, "column"), ((3,), (2, 3), {}, "new leading dim"),
    ((1, 3), (2, -1, 3), {}, "-1 keeps"), ((), (2, 2), {}, "0-dim")), second_order=True)
op("expand_as", lambda m, x, y: x.expand_as(y),
   lambda make: iter([Sample((make(3, 1), make(2, 3, 4)), desc="broadcast"),
                      Sample((make(1), make.strided(3, 2)), desc="transposed target")]),
   grad_args=(0,))
op("repeat", lambda m, x, *r: x.repeat(*r), shape_samples(
    ((2, 3), (2, 1), {}, "rows"), ((2, 3), (2, 1, 3), {}, "new dim"),
    (("T", 2, 3), (1, 2), {}, "transposed")), dtypes=ALL)
op("cat", lambda m, ts, d: m.cat(ts, d), cat_samples, dtypes=ALL)
op("stack", lambda m, ts, d: m.stack(ts, d), stack_samples, dtypes=ALL)
op("split", lambda m, x, s, d=0: m.split(x, s, d), shape_samples(
    ((5, 3), (2,), {}, "size 2"), ((5, 3), ([1, 4],), {}, "sections"),
    ((3, 4), (3, 1), {}, "dim 1")))
op("chunk", lambda m, x, c, d=0: x.chunk(c, d), shape_samples(
    ((5, 3), (3,), {}, "uneven"), ((4, 6), (2, 1), {}, "dim 1"), ((2, 3), (5,), {}, "more chunks")))
op("flip", lambda m, x, d: m.flip(x, d), shape_samples(
    ((2, 3, 4), ((0,),), {}, "dim 0"), ((2, 3, 4), ((0, 2),), {}, "two dims"),
    (("T", 3, 4), ((-1,),), {}, "negative dim, transposed"), ((), ((0,),), {}, "0-dim")),
   dtypes=ALL)

# indexing
op("getitem_basic", lambda m, x, index: x[index], getitem_samples, dtypes=ALL)
op("getitem_int_tensor", lambda m, x, i: x[i], advanced_index_samples, dtypes=FLOAT_INT)
op("getitem_list", lambda m, x: x[[0, 2, 2]], lambda make: iter(
    [Sample((make(4, 3),), desc="list with repeat")]))
op("getitem_mask", lambda m, x, mask: x[mask], mask_index_samples, dtypes=FLOAT_INT)
op("getitem_two_tensors", lambda m, x, i, j: x[i, j], two_index_samples)
op("getitem_slice_and_tensor", lambda m, x, i: x[1:, i], lambda make: iter(
    [Sample((make(4, 5), Index(np.array([4, 0, 4]))), desc="slice then tensor")]))
op("setitem", lambda m, x, v, index: _setitem(x, index, v), setitem_samples)
op("setitem_mask_number", lambda m, x, mask, value: _setitem(x, mask, value),
   setitem_scalar_samples)
op("gather", lambda m, x, d, i: m.gather(x, d, i), gather_samples, dtypes=FLOAT_INT)
op("scatter", lambda m, x, d, i, s: m.scatter(x, d, i, s), scatter_samples, dtypes=FLOAT_INT)
op("scatter_larger_src", lambda m, x, d, i, s: m.scatter(x, d, i, s), scatter_larger_src_samples,
   dtypes=FLOAT_INT, differentiable=False)  # PyTorch's backward refuses a src larger than index
op("scatter_value", lambda m, x, d, i: x.scatter(d, i, 0.25), lambda make: iter(
    [Sample((make(3, 4), 1, Index(np.array([[0], [2], [3]]))), desc="value")]))
op("scatter_add", lambda m, x, d, i, s: m.scatter_add(x, d, i, s), scatter_add_samples)
op("index_select", lambda m, x, d, i: m.index_select(x, d, i), index_select_samples,
   dtypes=FLOAT_INT)
op("one_hot", _one_hot, one_hot_samples, dtypes=("int64",), differentiable=False)

# in-place forms (on a copy, so that gradients flow to the original) and out=
for _name in ("add_", "sub_", "mul_", "div_"):
    op(f"inplace_{_name}", (lambda n: lambda m, a, b: getattr(a * 1, n)(b))(_name),
       inplace_samples)
op("inplace_iadd", lambda m, a, b: _iadd(a, b), inplace_samples)
op("inplace_add_alpha", lambda m, a, b: (a * 1).add_(b, alpha=-2), inplace_samples)
op("inplace_clamp_", lambda m, x: (x * 1).clamp_(-0.5, 0.5), unary_samples)
op("inplace_exp_", lambda m, x: (x * 1).exp_(), unary_samples)
op("inplace_masked_fill_", lambda m, x, mask, v: (x * 1).masked_fill_(mask, v),
   masked_fill_samples)
op("inplace_pow_", lambda m, x: (x * 1).pow_(2), unary_samples)
op("inplace_copy_", lambda m, a, b: (a * 1).copy_(b), lambda make: iter(
    [Sample((make(2, 3), make(3)), desc="broadcast source"),
     Sample((make(2, 3), make.strided(2, 3)), desc="transposed source")]))
op("inplace_zero_", lambda m, x: (x * 1).zero_() + x, unary_samples)
op("inplace_fill_", lambda m, x: (x * 1).fill_(1.5) * x, unary_samples)
op("add_out", lambda m, a, b: m.add(a, b, out=m.empty(0, dtype=a.dtype, device=a.device)),
   out_samples,
   dtypes=FLOAT_INT, differentiable=False)
op("mul_out", lambda m, a, b: m.mul(a, b, out=m.zeros(np.broadcast_shapes(a.shape, b.shape),
                                                       dtype=a.dtype, device=a.device)),
   out_samples, dtypes=FLOAT_INT, differentiable=False)
op("matmul_out", lambda m, a, b: m.matmul(a, b, out=m.empty(0, dtype=a.dtype,
                                                             device=a.device)),
   lambda make: iter([Sample((make(3, 4), make(4, 2)), desc="2-D")]), differentiable=False,
   **loose_matmul)


def _setitem(x, index, value):
    y = x * 1
    y[index] = value
    return y


def _iadd(a, b):
    y = a * 1
    y += b
    return y


OPS_BY_NAME = {info.name: info for info in OPS}
assert len(OPS_BY_NAME) == len(OPS), "op names must be unique"
