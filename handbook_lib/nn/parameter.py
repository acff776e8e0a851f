"""``nn.Parameter``: a tensor that a :class:`~handbook_lib.nn.Module` registers as a weight.

Assigning a Parameter to a module attribute (``self.weight = Parameter(...)``) is what puts it
into ``module.parameters()``, and so into the optimizer. It shares storage with the tensor it was
made from and requires grad by default.
"""
from __future__ import annotations

from .._tensor import Tensor
from ..ops.creation import empty


class Parameter(Tensor):
    """A leaf tensor that is a module's learnable weight (``requires_grad=True`` by default)."""

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True) -> "Parameter":
        if data is None:
            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter(): argument 'data' must be Tensor, not "
                            f"{type(data).__name__}")
        param = cls._wrap(data._data)
        param._version_counter = data._version_counter
        param.requires_grad_(requires_grad)
        return param

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True) -> None:
        """Everything is done in ``__new__`` (Tensor's ``__init__`` must not run again)."""

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol):
        return (Parameter, (Tensor._wrap(self.detach().cpu()._data), self._requires_grad))


class Buffer(Tensor):
    """Marks a tensor to be registered as a buffer when assigned to a module attribute."""

    def __new__(cls, data: Tensor | None = None, *, persistent: bool = True) -> "Buffer":
        data = empty(0) if data is None else data
        buffer = cls._wrap(data._data)
        buffer._version_counter = data._version_counter
        buffer.persistent = persistent
        return buffer

    def __init__(self, data: Tensor | None = None, *, persistent: bool = True) -> None:
        """Everything is done in ``__new__``."""
