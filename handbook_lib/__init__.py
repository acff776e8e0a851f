"""handbook_lib: PyTorch's API on numpy (CPU) and cupy (GPU), small enough to read.

``import handbook_lib as torch`` runs most beginner PyTorch code unchanged.
"""
from __future__ import annotations

__version__ = "0.1.0"

import warnings as _warnings

# Like PyTorch, operations give inf/nan silently: numpy's "overflow/invalid value" warnings are
# muted for calls made from inside handbook_lib (and only there; numpy code outside is unaffected).
_warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"handbook_lib(\.|$)")

from ._memory import keep_freed_memory as _keep_freed_memory

# glibc returns large freed blocks to the OS, so every new numpy buffer page-faults (half of a
# training step's time before this); keep them instead. HANDBOOK_LIB_KEEP_FREED_MEMORY=0 opts out.
_keep_freed_memory()

from ._dtype import (bool, double, dtype, float, float16, float32, float64, get_default_dtype,  # noqa: A004
                     half, int, int8, int16, int32, int64, long, set_default_dtype, short, uint8)
from ._device import device
from ._tensor import Size, Tensor
from ._tensor_types import TYPES as _LEGACY_TYPES

BoolTensor, ByteTensor, CharTensor, DoubleTensor, FloatTensor, HalfTensor, IntTensor, \
    LongTensor, ShortTensor = (_LEGACY_TYPES[name] for name in (
        "BoolTensor", "ByteTensor", "CharTensor", "DoubleTensor", "FloatTensor", "HalfTensor",
        "IntTensor", "LongTensor", "ShortTensor"))
from . import ops as _ops  # binds the methods of Tensor
from .autograd.grad_mode import (enable_grad, inference_mode, is_grad_enabled, no_grad,
                                 set_grad_enabled)
from .random import (Generator, default_generator, get_rng_state, initial_seed, manual_seed, seed,
                     set_rng_state)
from .ops.arithmetic import (add, allclose, bitwise_and, bitwise_not, bitwise_or, bitwise_xor,
                             clamp, clip, div, divide, eq, equal, floor_divide, ge, gt, isclose, le,
                             logical_and, logical_not, logical_or, logical_xor, lt, masked_fill,
                             maximum, minimum, mul, multiply, ne, pow, remainder, rsub, square, sub,
                             subtract, true_divide, where)
from .ops.creation import (arange, as_tensor, bernoulli, empty, empty_like, eye, from_numpy, full,
                           full_like, linspace, logspace, multinomial, normal, ones, ones_like,
                           rand, rand_like, randint, randint_like, randn, randn_like, randperm,
                           tensor, zeros, zeros_like)
from .ops.diagonal import diag, diagonal, tril_indices, triu_indices
from .ops.elementwise import (abs, absolute, ceil, cos, erf, exp, expm1, floor, isfinite, isinf,
                              isnan, log, log1p, log2, log10, nan_to_num, neg, negative,
                              reciprocal, relu, round, rsqrt, sigmoid, sign, sin, sqrt, tanh,
                              trunc)
from .ops.indexing import (gather, index_add, index_select, masked_select, nonzero, scatter,
                           scatter_add, select, take, tril, triu)
from .ops.linalg import addmm, bmm, dot, inner, matmul, mm, mv, outer
from .ops.reduction import (all, amax, amin, any, argmax, argmin, bincount, count_nonzero, cumsum,
                            logsumexp, log_softmax, max, mean, median, min, norm, prod, softmax,
                            argsort, sort, std, std_mean, sum, topk, var, var_mean)
from .ops.shape import (broadcast_to, cat, chunk, clone, concat, concatenate, flatten, flip,
                        fliplr, flipud, hstack, movedim, moveaxis, narrow, permute, reshape, roll,
                        split, squeeze, stack, swapaxes, swapdims, t, transpose, unbind, unflatten,
                        unsqueeze, vstack)
from . import (accelerator, autograd, backends, cuda, distributed, hub, multiprocessing, nn, optim,
               utils)
from ._threads import get_num_threads, set_num_threads
from .serialization import load, save


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def numel(input: Tensor) -> int:
    return input.numel()


def is_floating_point(input: Tensor) -> bool:
    return input.is_floating_point()


def broadcast_shapes(*shapes) -> Size:
    """The shape that ``shapes`` broadcast to; PyTorch's error if they do not."""
    import numpy

    try:
        return Size(numpy.broadcast_shapes(*shapes))
    except ValueError:
        raise RuntimeError(f"Shape mismatch: objects cannot be broadcast to a single shape: "
                           f"{[list(s) for s in shapes]}") from None
