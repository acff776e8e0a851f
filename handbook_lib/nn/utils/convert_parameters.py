"""Flatten all parameters into one vector and back (e.g. for second-order methods)."""
from __future__ import annotations

from typing import Iterable

from ..._tensor import Tensor
from ...ops.shape import cat


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """One 1-D tensor holding every parameter, in order (differentiable)."""
    params = list(parameters)
    _check_same_device(params)
    return cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of ``vec`` into the parameters (replacing their data)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    params = list(parameters)
    _check_same_device(params + [vec])
    needed = sum(p.numel() for p in params)
    if vec.numel() != needed:
        raise RuntimeError(f"vector_to_parameters: the vector has {vec.numel()} elements but the "
                           f"parameters need {needed}")
    offset = 0
    for param in params:
        n = param.numel()
        param.data = vec[offset:offset + n].reshape(param.shape).detach().clone()
        offset += n


def _check_same_device(tensors: list[Tensor]) -> None:
    devices = {t.device for t in tensors}
    if len(devices) > 1:
        raise TypeError("Found two parameters on different devices, this is currently not "
                        "supported.")
