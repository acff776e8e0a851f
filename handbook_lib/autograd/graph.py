"""The recorded graph: nodes, saved tensors and gradient accumulators.

Every differentiable operation that runs while grad mode is on creates one :class:`Node`. The node
keeps what its backward formula needs (``saved_tensors`` and plain attributes) and where the
gradient goes next (``next_functions``: one ``(node, output_nr)`` pair per input, ``None`` for an
input that needs no gradient). Leaves that require grad end in an :class:`AccumulateGrad` node,
which adds the incoming gradient into ``tensor.grad``. The graph is plain data: it can be printed,
walked and drawn.
"""
from __future__ import annotations

import weakref
from typing import Any, Callable, Sequence

from .grad_mode import STATE

FREED_GRAPH_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you call "
    ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
    "graph a second time or if you need to access saved tensors after calling backward."
)


class SavedTensor:
    """A tensor kept for backward, with the version it had when saved.

    Unpacking checks the version: if an in-place operation changed the tensor since, the gradient
    would be silently wrong, so we raise PyTorch's error instead. An op's own output is saved as a
    detached alias (no reference cycle) and re-attached to the node when unpacked.
    """

    __slots__ = ("tensor", "version", "is_output")

    def __init__(self, tensor, is_output: bool = False) -> None:
        self.tensor = tensor._detached_alias() if is_output else tensor
        self.version = tensor._version_counter[0]
        self.is_output = is_output

    def unpack(self, node: "Node"):
        tensor = self.tensor
        if tensor._version_counter[0] != self.version:
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: [{tensor.type()} {list(tensor.shape)}], which is output 0 of "
                f"{node.name()}, is at version {tensor._version_counter[0]}; expected version "
                f"{self.version} instead. Hint: replace the in-place operation (e.g. x.add_(1) or "
                "x[0] = 1) with its out-of-place form (x = x + 1)."
            )
        if self.is_output and STATE.enabled:
            return tensor._attached_alias(node)
        return tensor


class Node:
    """A backward function in the graph (``grad_fn``). Subclasses define ``backward``.

    ``backward(self, grad)`` receives the gradient of the op's output and returns one gradient
    per input (a tensor, or ``None`` where ``needs_input_grad`` is False). It is written with
    tensor operations, so with ``create_graph=True`` it records a graph of its own and higher
    derivatives come for free.
    """

    next_functions: tuple = ()
    _num_outputs: int = 1
    _saved: tuple | None = ()
    _input_meta: tuple = ()
    _pre_hooks: dict | None = None
    _post_hooks: list | None = None

    def name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{self.name()} object at {id(self):#x}>"

    @property
    def needs_input_grad(self) -> tuple:
        return tuple([edge[0] is not None for edge in self.next_functions])

    @property
    def saved_tensors(self) -> tuple:
        if self._saved is None:
            raise RuntimeError(FREED_GRAPH_MESSAGE)
        return tuple([s.unpack(self) if s.__class__ is SavedTensor else s for s in self._saved])

    def release_saved(self) -> None:
        """Free what backward needed; a second backward then raises a clear error."""
        if self._saved:
            self._saved = None

    def apply(self, grad_outputs: Sequence) -> tuple:
        """Gradients for the inputs, given the gradients of the outputs (engine entry point)."""
        grads = self.backward(grad_outputs[0])
        return grads if isinstance(grads, tuple) else (grads,)

    def register_hook(self, hook: Callable) -> "RemovableHandle":
        """``hook(grad_inputs, grad_outputs)`` runs after this node's backward."""
        if self._post_hooks is None:
            self._post_hooks = []
        self._post_hooks.append(hook)
        return RemovableHandle(self._post_hooks, hook)

    def register_prehook(self, hook: Callable, output_nr: int = 0) -> "RemovableHandle":
        """``hook(grad)`` runs on the gradient of output ``output_nr`` before backward; it may
        return a replacement. Hooks marked ``runs_last`` (retain_grad's) stay after the others,
        so ``.grad`` sees the gradient the other hooks made, as in PyTorch."""
        if self._pre_hooks is None:
            self._pre_hooks = {}
        hooks = self._pre_hooks.setdefault(output_nr, [])
        hooks.append(hook)
        hooks.sort(key=lambda h: getattr(h, "runs_last", False))  # stable: keeps insertion order
        return RemovableHandle(hooks, hook)


class SliceGrad:
    """The gradient of a basic slice ``input[index]``, not yet written into zeros.

    A view node's ``apply`` returns one instead of a full-size tensor; the engine adds ``values``
    straight into the input's gradient buffer at ``index``. Reading T slices of a tensor (an RNN's
    ``x[t]``, ``unbind``, ``split``) then costs one buffer and T slice-sized additions in backward,
    not T full-size zero tensors: backward through time stays linear in T.
    """

    __slots__ = ("values", "shape", "index")

    def __init__(self, values, shape: tuple, index: tuple) -> None:
        self.values, self.shape, self.index = values, shape, index

    def dense(self, dtype=None):
        """The gradient as an ordinary tensor (zeros of ``shape`` with ``values`` at ``index``)."""
        from .._device import xp_of
        from .._tensor import Tensor

        values = self.values._data
        data = xp_of(values).zeros(self.shape, dtype=dtype or values.dtype)
        data[self.index] = values
        return Tensor._wrap(data)


class ViewNode(Node):
    """A node whose input gradient is ``grad`` placed at ``self.index`` of zeros of
    ``self.shape``. Inside the engine (no ``create_graph``) that placement is left to the
    gradient buffer (:class:`SliceGrad`); ``backward`` itself stays differentiable."""

    def apply(self, grad_outputs: Sequence) -> tuple:
        if STATE.enabled:
            return (self.backward(grad_outputs[0]),)
        return (SliceGrad(grad_outputs[0], self.shape, self.index),)


class AccumulateGrad(Node):
    """The end of the graph for a leaf: adds the incoming gradient into ``leaf.grad``, then runs
    the leaf's post-accumulate-grad hooks (``hook(leaf)``; none in the common case)."""

    _post_accumulate_hooks: list | None = None

    def __init__(self, variable) -> None:
        self.variable = variable
        self._input_meta = ()

    def register_post_accumulate_hook(self, hook: Callable) -> "RemovableHandle":
        if self._post_accumulate_hooks is None:
            self._post_accumulate_hooks = []
        self._post_accumulate_hooks.append(hook)
        return RemovableHandle(self._post_accumulate_hooks, hook)

    def apply(self, grad_outputs: Sequence) -> tuple:
        grad = grad_outputs[0]
        leaf = self.variable
        if grad is None:
            return ()
        if leaf.grad is None:
            leaf.grad = grad if STATE.enabled else grad._owned_detached()
        elif STATE.enabled or leaf.grad._requires_grad:
            leaf.grad = leaf.grad + grad
        else:
            leaf.grad._data += grad._data
        if self._post_accumulate_hooks:
            for hook in list(self._post_accumulate_hooks):
                hook(leaf)
        return ()


def accumulator_of(leaf) -> AccumulateGrad:
    """The leaf's (single, cached) AccumulateGrad node."""
    ref = leaf._accumulator
    node = ref() if ref is not None else None
    if node is None:
        node = AccumulateGrad(leaf)
        leaf._accumulator = weakref.ref(node)
    return node


def edge_of(tensor) -> tuple:
    """Where a gradient for ``tensor`` should go: ``(node, output_nr)`` or ``(None, 0)``."""
    if tensor._grad_fn is not None:
        return (tensor._grad_fn, tensor._output_nr)
    if tensor._requires_grad:
        return (accumulator_of(tensor), 0)
    return (None, 0)


OUTPUT = object()  # placeholder in ``saved`` for the op's own output


def record(out, node_cls: type, inputs: Sequence, saved: Sequence = (), **attrs: Any):
    """Attach a new ``node_cls`` node to ``out`` if grad mode is on and an input requires grad.

    ``saved`` lists tensors backward needs (``OUTPUT`` for the result itself) and ``attrs``
    the plain values; both become fields of the node. Returns ``out``.
    """
    if not STATE.enabled:
        return out
    for t in inputs:
        if t is not None and t._requires_grad:
            break
    else:
        return out
    node = node_cls.__new__(node_cls)
    node.next_functions = tuple(edge_of(t) if t is not None else (None, 0) for t in inputs)
    node._input_meta = tuple((t._data.shape, t._data.dtype) if t is not None else None
                             for t in inputs)
    if saved:
        node._saved = tuple(
            SavedTensor(out, True) if s is OUTPUT
            else (SavedTensor(s) if hasattr(s, "_version_counter") else s)
            for s in saved
        )
    if attrs:
        node.__dict__.update(attrs)
    out._grad_fn = node
    out._requires_grad = True
    return out


class RemovableHandle:
    """Returned by ``register_hook``; ``handle.remove()`` unregisters the hook."""

    def __init__(self, hooks: list | dict, hook: Any, key: Any = None) -> None:
        self._hooks, self._hook, self._key = hooks, hook, key

    def remove(self) -> None:
        if isinstance(self._hooks, dict):
            self._hooks.pop(self._key, None)
        elif self._hook in self._hooks:
            self._hooks.remove(self._hook)

    def __enter__(self) -> "RemovableHandle":
        return self

    def __exit__(self, *exc) -> None:
        self.remove()
