"""Custom differentiable operations: subclass :class:`Function`, write ``forward`` and ``backward``.

::

    class MulConstant(Function):
        @staticmethod
        def forward(ctx, tensor, constant):
            ctx.constant = constant
            return tensor * constant

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output * ctx.constant, None   # no gradient for the Python number

    y = MulConstant.apply(x, 5.0)

``apply`` runs ``forward`` with grad mode off, then records one node whose ``backward`` calls
yours. ``ctx`` is that node: ``save_for_backward``/``saved_tensors``, ``needs_input_grad`` and any
attribute you set on it.
"""
from __future__ import annotations

from typing import Any

from .grad_mode import STATE
from .graph import Node, SavedTensor, edge_of


class FunctionCtx(Node):
    """The ``ctx`` of a custom Function, and its node in the graph."""

    _function: type = None
    _non_differentiable: tuple = ()
    materialize_grads = True
    #: Set by ``Function.apply`` before ``forward`` runs (a plain attribute here, not Node's
    #: property computed from ``next_functions``, which do not exist yet during ``forward``).
    needs_input_grad: tuple = ()

    def name(self) -> str:
        return f"{self._function.__name__}Backward"

    def save_for_backward(self, *tensors) -> None:
        self._to_save = tensors

    def mark_non_differentiable(self, *tensors) -> None:
        self._non_differentiable = tuple(id(t) for t in tensors)

    def mark_dirty(self, *tensors) -> None:
        """Accepted for compatibility: in-place outputs are recorded like any other output."""

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = value

    def apply(self, grad_outputs) -> tuple:
        if self.materialize_grads:
            grad_outputs = [g if g is not None else _zeros_for(meta)
                            for g, meta in zip(grad_outputs, self._output_meta)]
        grads = self._function.backward(self, *grad_outputs)
        grads = grads if isinstance(grads, tuple) else (grads,)
        expected = len(self.next_functions)
        if len(grads) > expected and all(g is None for g in grads[expected:]):
            grads = grads[:expected]
        return grads


def _zeros_for(meta):
    from .. import zeros

    shape, dtype = meta
    return zeros(shape, dtype=dtype)


class Function:
    """Base class for custom autograd operations (see the module docstring)."""

    @staticmethod
    def forward(ctx: FunctionCtx, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def backward(ctx: FunctionCtx, *grad_outputs: Any) -> Any:
        raise RuntimeError("You must implement either the backward or vjp method for your custom "
                           "autograd.Function to use it with backward mode AD.")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        from .._tensor import Tensor

        ctx = FunctionCtx()
        ctx._function = cls
        tensor_args = [a if isinstance(a, Tensor) else None for a in args]
        ctx.needs_input_grad = tuple(t is not None and t._requires_grad for t in tensor_args)
        previous = STATE.enabled
        STATE.enabled = False
        try:
            outputs = cls.forward(ctx, *args, **kwargs)
        finally:
            STATE.enabled = previous
        if not (previous and any(ctx.needs_input_grad)):
            ctx._saved = tuple(ctx.__dict__.pop("_to_save", ()))
            return outputs
        return _connect(ctx, tensor_args, outputs)


def _connect(ctx: FunctionCtx, tensor_args: list, outputs: Any) -> Any:
    """Make ``ctx`` the grad_fn of the outputs and record where gradients go next."""
    from .._tensor import Tensor

    single = not isinstance(outputs, tuple)
    outs = (outputs,) if single else outputs
    inputs_by_id = {id(t) for t in tensor_args if t is not None}
    connected = []
    for nr, out in enumerate(outs):
        if isinstance(out, Tensor):
            if id(out) in inputs_by_id:
                out = out._detached_alias()  # an input returned as is becomes a new output
            if id(out) not in ctx._non_differentiable and out.is_floating_point():
                out._grad_fn, out._output_nr, out._requires_grad = ctx, nr, True
        connected.append(out)
    ctx._num_outputs = len(outs)
    ctx._output_meta = tuple((o.shape, o.dtype) if isinstance(o, Tensor) else ((), None)
                             for o in connected)
    ctx.next_functions = tuple(edge_of(t) if t is not None else (None, 0) for t in tensor_args)
    ctx._input_meta = tuple((t.shape, t._data.dtype) if t is not None else None
                            for t in tensor_args)
    to_save = ctx.__dict__.pop("_to_save", ())
    ctx._saved = tuple(SavedTensor(t, is_output=t._grad_fn is ctx) if isinstance(t, Tensor) else t
                       for t in to_save)
    return connected[0] if single else tuple(connected)


class once_differentiable:
    """Decorator for a ``backward`` that cannot itself be differentiated (it runs without a graph)."""

    def __new__(cls, backward):
        import functools

        from .grad_mode import no_grad

        @functools.wraps(backward)
        def wrapper(ctx, *grads):
            with no_grad():
                return backward(ctx, *grads)

        return wrapper
