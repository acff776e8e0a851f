"""The backward engine: walk the graph once in topological order, without recursion.

1. From the roots, find every reachable node and count how many edges point at each
   (its dependencies) — an explicit stack, so a 10,000-op chain is no problem.
2. Run a node only once every node that feeds it a gradient has run (Kahn's algorithm on
   those counts, done while running): each node turns the gradients of its outputs into
   gradients of its inputs, which are summed into the buffers of the next nodes. A gradient
   whose shape is a broadcast of its input's shape is summed back to that shape here, as
   PyTorch's engine does.
3. Free what the nodes saved, unless ``retain_graph``.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .grad_mode import STATE
from .graph import AccumulateGrad, Node, SliceGrad


def count_dependencies(roots: Sequence[Node]) -> dict[Node, int]:
    """For every node reachable from ``roots``: how many edges of the graph point at it."""
    dependencies: dict[Node, int] = {}
    stack = list(dict.fromkeys(roots))  # a node given twice (two of its outputs) is walked once
    seen = set(stack)
    while stack:
        node = stack.pop()
        for next_node, _ in node.next_functions:
            if next_node is not None:
                dependencies[next_node] = dependencies.get(next_node, 0) + 1
                if next_node not in seen:
                    seen.add(next_node)
                    stack.append(next_node)
    return dependencies


def _release_children(node: Node, dependencies: dict, ready: list) -> None:
    """``node`` has run: each node it feeds has one dependency fewer; those at zero are ready."""
    for next_node, _ in node.next_functions:
        if next_node is not None:
            left = dependencies[next_node] - 1
            dependencies[next_node] = left
            if left == 0:
                ready.append(next_node)


def topological_order(roots: Sequence[Node]) -> list[Node]:
    """All nodes reachable from ``roots``, each placed after every node that feeds it."""
    dependencies = count_dependencies(roots)
    order, ready = [], [n for n in dict.fromkeys(roots) if n not in dependencies]
    while ready:
        node = ready.pop()
        order.append(node)
        _release_children(node, dependencies, ready)
    return order


def run_backward(roots: Sequence[tuple], grads: Sequence, retain_graph: bool,
                 create_graph: bool, capture: dict | None = None) -> dict:
    """Propagate ``grads`` from ``roots`` (``(node, output_nr)`` pairs) through the graph.

    With ``capture`` (``{(node, output_nr): None}``, from ``autograd.grad``) the gradients arriving
    at those places are returned instead of being accumulated into ``.grad``, and only the
    nodes that lead to them are run.
    """
    root_nodes = [node for node, _ in roots]
    dependencies = count_dependencies(root_nodes)
    needed = None
    if capture is not None:
        needed = _nodes_leading_to(topological_order(root_nodes), capture)
    buffers: dict[Node, list] = {}
    owned: dict[int, object] = {}  # gradient buffers the engine allocated (safe to add into)
    for (node, nr), grad in zip(roots, grads):
        _add_to_buffer(buffers, node, nr, grad)
    ready = [n for n in dict.fromkeys(root_nodes) if n not in dependencies]
    executed = []
    previous_mode = STATE.enabled
    STATE.enabled = create_graph
    try:
        while ready:
            node = ready.pop()
            executed.append(node)
            grad_outputs = buffers.pop(node, None)
            if grad_outputs is not None and (needed is None or node in needed):
                _run_node(node, grad_outputs, buffers, capture, owned)
            _release_children(node, dependencies, ready)
    finally:
        STATE.enabled = previous_mode
        if not retain_graph:
            for node in executed:
                node.release_saved()
    return capture or {}


def _run_node(node: Node, grad_outputs: list, buffers: dict, capture: dict | None,
              owned: dict) -> None:
    """Run one node's backward on the device of its gradients (cupy launches kernels on the
    current GPU; a graph may span several, as DataParallel's does)."""
    gpu = _gpu_of(grad_outputs)
    if gpu is None:
        _run_node_here(node, grad_outputs, buffers, capture, owned)
    else:
        with gpu:
            _run_node_here(node, grad_outputs, buffers, capture, owned)


def _gpu_of(grads: list):
    """The cupy device of the first gradient that lives on a GPU, or None."""
    for grad in grads:
        data = getattr(grad, "_data", None)
        if data is not None:
            return None if isinstance(data, (np.ndarray, np.generic)) else data.device
    return None


def _run_node_here(node: Node, grad_outputs: list, buffers: dict, capture: dict | None,
                   owned: dict) -> None:
    """Run one node's backward and add the gradients it returns to the next nodes' buffers."""
    if node._pre_hooks:
        grad_outputs = _run_prehooks(node, grad_outputs)
    if capture is not None:
        _capture(capture, node, grad_outputs)
        if isinstance(node, AccumulateGrad):
            return
    grad_inputs = _call_node(node, grad_outputs)
    for (next_node, nr), grad, meta in zip(node.next_functions, grad_inputs, node._input_meta):
        if next_node is not None and grad is not None:
            if grad.__class__ is SliceGrad:
                _add_slice_to_buffer(buffers, owned, next_node, nr, grad, meta)
                continue
            if meta is not None and (grad._data.shape != meta[0] or grad._data.dtype != meta[1]):
                grad = _match_input(grad, meta, node)
            if next_node._num_outputs == 1 and next_node not in buffers:
                buffers[next_node] = [grad]  # the common case, without the call
            else:
                _add_to_buffer(buffers, next_node, nr, grad)


def _nodes_leading_to(order: list[Node], capture: dict) -> set:
    """The nodes from which some captured place can be reached (others need not run)."""
    targets = {node for node, _ in capture}
    needed = set()
    for node in reversed(order):
        if node in targets or any(n in needed for n, _ in node.next_functions if n is not None):
            needed.add(node)
    return needed


def _add_to_buffer(buffers: dict, node: Node, nr: int, grad) -> None:
    slots = buffers.get(node)
    if slots is None:
        slots = buffers[node] = [None] * max(nr + 1, node._num_outputs)
    elif nr >= len(slots):
        slots.extend([None] * (nr + 1 - len(slots)))
    slots[nr] = grad if slots[nr] is None else slots[nr] + grad


def _add_slice_to_buffer(buffers: dict, owned: dict, node: Node, nr: int, grad: SliceGrad,
                         meta) -> None:
    """Add a slice's gradient into the buffer of ``node``'s output ``nr``, in place when the
    engine made that buffer; otherwise start a buffer of the full shape once."""
    slots = buffers.get(node)
    if slots is None:
        slots = buffers[node] = [None] * max(nr + 1, node._num_outputs)
    elif nr >= len(slots):
        slots.extend([None] * (nr + 1 - len(slots)))
    current = slots[nr]
    dtype = meta[1] if meta is not None else grad.values._data.dtype
    if current is None:
        current = grad.dense(dtype)
    elif id(current) in owned:
        current._data[grad.index] += grad.values._data
        return
    else:
        current = current.to(_dtype_from_numpy(dtype)).clone()
        current._data[grad.index] += grad.values._data
    owned[id(current)] = current
    slots[nr] = current


def _run_prehooks(node: Node, grad_outputs: list) -> list:
    if node._pre_hooks:
        for nr, hooks in node._pre_hooks.items():
            for hook in list(hooks):
                if nr < len(grad_outputs) and grad_outputs[nr] is not None:
                    replaced = hook(grad_outputs[nr])
                    if replaced is not None:
                        grad_outputs[nr] = replaced
    return grad_outputs


def _capture(capture: dict, node: Node, grad_outputs: list) -> None:
    for nr, grad in enumerate(grad_outputs):
        if (node, nr) in capture and grad is not None:
            capture[(node, nr)] = grad if STATE.enabled else grad.detach()


def _call_node(node: Node, grad_outputs: list) -> tuple:
    grad_inputs = node.apply(grad_outputs)
    expected = len(node.next_functions)
    if len(grad_inputs) != expected and not isinstance(node, AccumulateGrad):
        raise RuntimeError(
            f"function {node.name()} returned an incorrect number of gradients "
            f"(expected {expected}, got {len(grad_inputs)})"
        )
    if node._post_hooks:
        grad_inputs = tuple(g.dense() if g.__class__ is SliceGrad else g for g in grad_inputs)
        for hook in node._post_hooks:
            hook(grad_inputs, tuple(grad_outputs))
    return grad_inputs


def _match_input(grad, meta, node: Node):
    """Sum a broadcast gradient back to its input's shape and cast it to the input's dtype."""
    if meta is None:
        return grad
    shape, dtype = meta
    if grad._data.shape != shape:
        if not _is_expandable(shape, grad._data.shape):
            raise RuntimeError(
                f"Function {node.name()} returned an invalid gradient - got {list(grad.shape)} "
                f"but expected shape compatible with {list(shape)}"
            )
        grad = grad.sum_to_size(shape)
    if grad._data.dtype != dtype:
        grad = grad.to(_dtype_from_numpy(dtype))
    return grad


def _is_expandable(shape: tuple, target: tuple) -> bool:
    if len(shape) > len(target):
        return False
    return all(s == t or s == 1 for s, t in zip(reversed(shape), reversed(target)))


def _dtype_from_numpy(np_dtype: np.dtype):
    from .._dtype import from_numpy_dtype

    return from_numpy_dtype(np_dtype)
