"""``handbook_lib.autograd``: reverse-mode automatic differentiation.

``backward`` accumulates gradients into the leaves' ``.grad``; ``grad`` returns them instead.
Both hand the work to :mod:`.engine`.
"""
from __future__ import annotations

from typing import Sequence

from .engine import run_backward
from .function import Function, FunctionCtx
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import gradcheck, gradgradcheck
from .graph import Node, accumulator_of, edge_of

__all__ = ["backward", "grad", "Function", "FunctionCtx", "gradcheck", "gradgradcheck", "no_grad",
           "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled", "Node"]


def _as_tuple(x) -> tuple:
    if x is None:
        return ()
    return tuple(x) if isinstance(x, (list, tuple)) else (x,)


def _root_gradients(outputs: tuple, grad_outputs: tuple) -> list:
    """The starting gradients: given ones, or ones for scalar outputs."""
    from .. import ones_like

    grads = []
    for i, out in enumerate(outputs):
        given = grad_outputs[i] if i < len(grad_outputs) else None
        if not out._requires_grad:
            raise RuntimeError(
                f"element {i} of tensors does not require grad and does not have a grad_fn"
            )
        if given is None:
            if out.numel() != 1:
                raise RuntimeError(
                    "grad can be implicitly created only for scalar outputs; pass `gradient=` "
                    f"(a tensor of shape {list(out.shape)}) to say which vector-Jacobian product "
                    "you want, e.g. y.backward(torch.ones_like(y))"
                )
            given = ones_like(out)
        elif tuple(given.shape) != tuple(out.shape):
            raise RuntimeError(
                f"Mismatch in shape: grad_output[{i}] has a shape of {list(given.shape)} and "
                f"output[{i}] has a shape of {list(out.shape)}."
            )
        grads.append(given)
    return grads


def backward(tensors, grad_tensors=None, retain_graph: bool | None = None,
             create_graph: bool = False, inputs=None) -> None:
    """Accumulate d(tensors)/d(leaf) · grad_tensors into every leaf's ``.grad``."""
    outputs = _as_tuple(tensors)
    grads = _root_gradients(outputs, _as_tuple(grad_tensors))
    if retain_graph is None:
        retain_graph = create_graph
    roots = [edge_of(out) for out in outputs]
    try:
        if inputs is not None:
            _accumulate_only_into(_as_tuple(inputs), roots, grads, retain_graph, create_graph)
            return
        run_backward(roots, grads, retain_graph, create_graph)
    except MemoryError as exc:  # a GPU allocation that did not fit: PyTorch's error
        from .. import cuda

        raise cuda.out_of_memory(exc) from None


def _accumulate_only_into(inputs: tuple, roots, grads, retain_graph, create_graph) -> None:
    captured = grad(None, inputs, None, retain_graph, create_graph, allow_unused=True,
                    _roots=(roots, grads))
    for tensor, g in zip(inputs, captured):
        if g is not None:
            tensor.grad = g if tensor.grad is None else tensor.grad + g


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool | None = None,
         materialize_grads: bool = False, *, _roots=None) -> tuple:
    """Return d(outputs)/d(inputs) · grad_outputs, without touching any ``.grad``.

    With ``create_graph=True`` the result is itself differentiable (higher-order derivatives).
    """
    inputs = _as_tuple(inputs)
    if _roots is None:
        outputs = _as_tuple(outputs)
        roots = [edge_of(out) for out in outputs]
        grads = _root_gradients(outputs, _as_tuple(grad_outputs))
    else:
        roots, grads = _roots
    if retain_graph is None:
        retain_graph = create_graph
    for i, t in enumerate(inputs):
        if not t._requires_grad:
            raise RuntimeError(f"One of the differentiated Tensors does not require grad")
    places = [edge_of(t) for t in inputs]
    captured = run_backward(roots, grads, retain_graph, create_graph,
                            capture={place: None for place in places})
    results = []
    for t, place in zip(inputs, places):
        g = captured.get(place)
        if g is None and materialize_grads:
            from .. import zeros_like

            g = zeros_like(t)
        if g is None and not (allow_unused or materialize_grads):
            raise RuntimeError(
                "One of the differentiated Tensors appears to not have been used in the graph. "
                "Set allow_unused=True if this is the desired behavior."
            )
        results.append(g)
    return tuple(results)
