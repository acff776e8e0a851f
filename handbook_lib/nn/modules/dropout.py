"""``Dropout`` (elementwise) and ``Dropout2d`` (whole channels); active only in training mode."""
from __future__ import annotations

from ..._tensor import Tensor
from ...ops.layers import dropout, dropout2d
from .module import Module


class _DropoutNd(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """During training, zero each element with probability ``p`` and scale the others by
    1/(1−p), so that the expected activation is unchanged; in eval mode, the identity."""

    def forward(self, input: Tensor) -> Tensor:
        return dropout(input, self.p, self.training, self.inplace)


class Dropout2d(_DropoutNd):
    """Like Dropout, but zeroes whole channels of (N, C, H, W) feature maps (neighbouring pixels
    are correlated, so dropping single pixels regularises little)."""

    def forward(self, input: Tensor) -> Tensor:
        return dropout2d(input, self.p, self.training, self.inplace)
