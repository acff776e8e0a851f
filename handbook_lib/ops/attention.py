"""Scaled dot-product attention, ``softmax(Q Kᵀ · scale + mask) V``, composed of tensor ops.

This is PyTorch's reference ("math") formulation: the gradient comes from the ops it is made of.
"""
from __future__ import annotations

import math

from .._device import xp_of
from .._tensor import Tensor
from .layers import dropout
from .linalg import matmul
from .reduction import softmax


def _repeat_heads(t: Tensor, groups: int) -> Tensor:
    """(..., Hk, S, E) → (..., Hk·groups, S, E), each head repeated ``groups`` times in a row."""
    *lead, heads, length, width = t.shape
    expanded = t.unsqueeze(-3).expand(*lead, heads, groups, length, width)
    return expanded.reshape(*lead, heads * groups, length, width)


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor,
                                 attn_mask: Tensor | None = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """Attention of ``query`` (..., L, E) over ``key`` (..., S, E) and ``value`` (..., S, Ev).

    ``attn_mask``: a bool mask (True = may attend) or a float mask added to the scores, either
    broadcasting to (..., L, S). ``is_causal``: position i attends to positions ≤ i only (no
    ``attn_mask`` then). ``dropout_p``: dropout on the attention weights (pass 0.0 when
    evaluating, as PyTorch asks). ``scale``: defaults to 1/√E. ``enable_gqa``: key and value may
    have fewer heads (dim -3) than the query, each shared by a group of query heads.
    """
    if is_causal and attn_mask is not None:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set "
                           "when is_causal=True")
    if enable_gqa and query.shape[-3] != key.shape[-3]:
        groups = query.shape[-3] // key.shape[-3]
        key, value = _repeat_heads(key, groups), _repeat_heads(value, groups)
    length, source = query.shape[-2], key.shape[-2]
    factor = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = matmul(query, key.transpose(-2, -1)) * factor
    if is_causal:
        attn_mask = Tensor._wrap(xp_of(query).tri(length, source, dtype=bool))
    if attn_mask is not None:
        if attn_mask.dtype.name == "bool":
            scores = scores.masked_fill(~attn_mask, float("-inf"))
        else:
            scores = scores + attn_mask
    # a query that may attend to nothing gets zero weights (PyTorch's safe softmax), not NaN
    nothing = (scores == float("-inf")).all(-1, keepdim=True)
    weights = softmax(scores.masked_fill(nothing, 0.0), -1).masked_fill(nothing, 0.0)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, training=True)
    return matmul(weights, value)
