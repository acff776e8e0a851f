"""``nn.functional``: the stateless form of every layer, ``F.relu(x)``, ``F.cross_entropy(z, y)``.

Modules in :mod:`handbook_lib.nn` hold the weights and call these. The kernels live in
:mod:`handbook_lib.ops` (``layers``, ``activation``, ``normalization``, ``loss``), each with its
backward beside its forward.
"""
from __future__ import annotations

from .._tensor import Tensor
from ..ops import activation as _act
from ..ops.activation import gelu, softplus
from ..ops.attention import scaled_dot_product_attention
from ..ops._util import inplace as _inplace
from ..ops.elementwise import relu as _relu
from ..ops.elementwise import sigmoid, tanh
from ..ops.indexing import one_hot
from ..ops.layers import bilinear, dropout, dropout2d, embedding, linear, pad
from ..ops.loss import (binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy,
                        huber_loss, l1_loss, mse_loss, nll_loss, smooth_l1_loss)
from ..ops.normalization import batch_norm, layer_norm
from ..ops.reduction import log_softmax as _log_softmax
from ..ops.reduction import softmax as _softmax


def _implicit_dim(ndim: int) -> int:
    """PyTorch's legacy choice when ``dim`` is not given: 0 for 0-, 1- and 3-D input, else 1."""
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: int | None = None, dtype=None) -> Tensor:
    """exp(x) / Σ exp(x) along ``dim`` (pass ``dim``; the implicit choice is deprecated)."""
    return _softmax(input, _implicit_dim(input.ndim) if dim is None else dim, dtype)


def log_softmax(input: Tensor, dim: int | None = None, dtype=None) -> Tensor:
    """x − logsumexp(x) along ``dim``."""
    return _log_softmax(input, _implicit_dim(input.ndim) if dim is None else dim, dtype)


def _apply(fn, input: Tensor, inplace: bool, *args) -> Tensor:
    """``fn(input, *args)``; with ``inplace=True`` written into ``input`` (autograd sees the
    old value through a snapshot, so the backward stays correct)."""
    return _inplace(input, fn, *args) if inplace else fn(input, *args)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(0, x)."""
    return input.relu_() if inplace else _relu(input)


def relu_(input: Tensor) -> Tensor:
    return input.relu_()


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x for x > 0, ``negative_slope`` · x otherwise."""
    return _apply(_act.leaky_relu, input, inplace, negative_slope)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, α(eˣ − 1) otherwise."""
    return _apply(_act.elu, input, inplace, alpha)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """x clipped to [min_val, max_val]."""
    return _apply(_act.hardtanh, input, inplace, min_val, max_val)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(0, x), 6)."""
    return hardtanh(input, 0.0, 6.0, inplace)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x · σ(x)."""
    return _apply(_act.silu, input, inplace)


def logsigmoid(input: Tensor) -> Tensor:
    """log σ(x) = −softplus(−x), stable for large |x|."""
    return -softplus(-input)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """Divide by the ``p``-norm along ``dim`` (at least ``eps``)."""
    return input / input.norm(p, dim, keepdim=True).clamp(min=eps)


__all__ = [
    "relu", "relu_", "sigmoid", "tanh", "leaky_relu", "elu", "gelu", "softplus", "hardtanh",
    "relu6", "silu", "logsigmoid", "softmax", "log_softmax", "normalize", "one_hot",
    "linear", "bilinear", "embedding", "dropout", "dropout2d", "pad", "batch_norm", "layer_norm",
    "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "cross_entropy", "nll_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "scaled_dot_product_attention",
]

# --- convolution, pooling and upsampling (handbook_lib/ops/conv.py, ops/pooling.py) -----------
from ..ops.conv import conv1d, conv2d, conv_transpose2d  # noqa: E402
from ..ops.pooling import (adaptive_avg_pool1d, adaptive_avg_pool2d,  # noqa: E402
                           adaptive_max_pool1d, adaptive_max_pool2d, avg_pool1d, avg_pool2d,
                           interpolate, max_pool1d, max_pool2d, max_unpool2d, upsample)

__all__ += [
    "conv1d", "conv2d", "conv_transpose2d", "max_pool1d", "max_pool2d", "max_unpool2d",
    "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
    "adaptive_max_pool1d", "adaptive_max_pool2d", "interpolate", "upsample",
]
# --- end of convolution block ------------------------------------------------------------------
