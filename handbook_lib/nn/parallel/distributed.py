"""DistributedDataParallel: one model per process, gradients averaged over the processes.

At construction every rank checks that the others hold the same parameter shapes, then takes
rank 0's parameters and buffers. The gradients are grouped into buckets of about
``bucket_cap_mb``, in reverse parameter order (roughly the order backward produces them). A
post-accumulate-grad hook on each parameter copies its gradient into its bucket; when a bucket
is full its all-reduce starts at once, without waiting, so communication overlaps the rest of
backward. When the last bucket has started, the hook waits for all of them, divides by the
world size and writes the averages back into ``.grad``. ``no_sync()`` skips all this.
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator

import numpy as np

from ... import distributed as dist
from ..._tensor import Tensor
from ...autograd.grad_mode import STATE, no_grad
from ...distributed.process_group import resolve
from ...distributed.work import poll_until_done
from ..modules.module import Module

_UNFINISHED_REDUCTION = (
    "Expected to have finished reduction in the prior iteration before starting a new one. This "
    "error indicates that your module has parameters that were not used in producing loss. You "
    "can enable unused parameter detection by passing the keyword argument "
    "`find_unused_parameters=True` to `torch.nn.parallel.DistributedDataParallel`, and by making "
    "sure all `forward` function outputs participate in calculating loss. Parameter indices "
    "which did not receive grad for rank {rank}: {indices}")


class Bucket:
    """Some parameters whose gradients travel together in one flat tensor."""

    def __init__(self, index: int, params: list, indices: list) -> None:
        self.index = index
        self.params = params
        self.indices = indices  # positions in the module's parameter list
        sizes = [p.numel() for p in params]
        self.offsets = np.cumsum([0] + sizes).tolist()
        first = params[0]
        self.flat = first.new_zeros((self.offsets[-1],))
        self.ready: set[int] = set()
        self.work = None

    def slot(self, position: int):
        return self.flat._data[self.offsets[position]:self.offsets[position + 1]]

    def put(self, position: int, grad: Tensor | None) -> None:
        """Copy one gradient (zeros for an unused parameter) into the flat buffer."""
        if grad is None:
            self.slot(position)[...] = 0
        else:
            self.slot(position)[...] = grad._data.reshape(-1)
        self.ready.add(position)

    def is_full(self) -> bool:
        return len(self.ready) == len(self.params)

    def reset(self) -> None:
        self.ready.clear()
        self.work = None


class DistributedDataParallel(Module):
    """Data parallelism over processes, as ``torch.nn.parallel.DistributedDataParallel``.

    Wrap the model after ``dist.init_process_group()``, train the wrapper as the model. Only
    the arguments below change behaviour; the others of PyTorch are accepted for compatibility.
    """

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0,
                 broadcast_buffers: bool = True, process_group=None,
                 bucket_cap_mb: float | None = None, find_unused_parameters: bool = False,
                 check_reduction: bool = False, gradient_as_bucket_view: bool = False,
                 static_graph: bool = False, **unused: Any) -> None:
        super().__init__()
        group = resolve(process_group)
        params = [p for p in module.parameters() if p.requires_grad]
        if not params:
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't have "
                               "any parameter that requires a gradient.")
        self.module = module
        self.process_group = group
        self.device_ids = _check_device_ids(module, device_ids, output_device)
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.require_backward_grad_sync = True
        self.bucket_bytes_cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * 2 ** 20)
        self._params = params
        self._names = {id(p): n for n, p in module.named_parameters()}
        verify_same_shapes(group, [(self._names[id(p)], p) for p in params])
        self._sync_module_states()
        self._buckets, self._bucket_of = self._make_buckets()
        self._launched = 0
        self._used_map = None
        self._handles = [p.register_post_accumulate_grad_hook(self._on_grad_ready)
                         for p in params]

    # --- construction ----------------------------------------------------------------------
    def _sync_module_states(self) -> None:
        """Every rank takes rank 0's parameters and buffers."""
        with no_grad():
            works = [dist.broadcast(t, 0, self.process_group, async_op=True)
                     for t in self._module_states()]
            for work in works:
                work.wait()

    def _module_states(self) -> list[Tensor]:
        return [p for p in self.module.parameters()] + [b for b in self.module.buffers()]

    def _make_buckets(self) -> tuple[list[Bucket], dict]:
        """Reverse parameter order, a new bucket when the cap, dtype or device would change."""
        groups, current, size = [], [], 0
        for index in reversed(range(len(self._params))):
            param = self._params[index]
            nbytes = param.numel() * param.element_size()
            if current and (size + nbytes > self.bucket_bytes_cap
                            or param.dtype != self._params[current[0]].dtype
                            or param.device != self._params[current[0]].device):
                groups.append(current)
                current, size = [], 0
            current.append(index)
            size += nbytes
        groups.append(current)
        buckets, where = [], {}
        for b, indices in enumerate(groups):
            buckets.append(Bucket(b, [self._params[i] for i in indices], indices))
            for position, i in enumerate(indices):
                where[id(self._params[i])] = (b, position)
        return buckets, where

    # --- forward -----------------------------------------------------------------------------
    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        self._check_previous_reduction()
        if self.device_ids:
            inputs, kwargs = _to_device((inputs, kwargs), self.device_ids[0])
        if self.broadcast_buffers and self.require_backward_grad_sync:
            self._broadcast_buffers()
        output = self.module(*inputs, **kwargs)
        if self.find_unused_parameters and STATE.enabled and self.require_backward_grad_sync:
            self._mark_unused(output)
        return output

    def _broadcast_buffers(self) -> None:
        buffers = list(self.module.buffers())
        if buffers:
            with no_grad():
                works = [dist.broadcast(b, 0, self.process_group, async_op=True)
                         for b in buffers]
                for work in works:
                    work.wait()

    def _check_previous_reduction(self) -> None:
        pending = [i for b in self._buckets if b.ready
                   for pos, i in enumerate(b.indices) if pos not in b.ready]
        if pending:
            for bucket in self._buckets:
                bucket.reset()
            self._launched = 0
            raise RuntimeError(_UNFINISHED_REDUCTION.format(
                rank=dist.get_rank(self.process_group), indices=sorted(pending)))

    def _mark_unused(self, output: Any) -> None:
        """Walk the graph from the outputs; parameters it never reaches are ready now (zeros),
        and a map of who used what is all-reduced so globally unused grads stay ``None``."""
        reached = _leaves_reached(output)
        used = np.array([id(p) in reached for p in self._params], dtype=np.int32)
        self._used_map = dist_tensor(used)
        self._used_work = dist.all_reduce(self._used_map, group=self.process_group,
                                          async_op=True)
        for param, is_used in zip(self._params, used):
            if not is_used:
                self._mark_ready(param, None)

    # --- backward ----------------------------------------------------------------------------
    def _on_grad_ready(self, param: Tensor) -> None:
        """The post-accumulate-grad hook: ``param.grad`` is final for this backward."""
        if self.require_backward_grad_sync:
            self._mark_ready(param, param.grad)

    def _mark_ready(self, param: Tensor, grad: Tensor | None) -> None:
        b, position = self._bucket_of[id(param)]
        bucket = self._buckets[b]
        if position in bucket.ready:
            return
        bucket.put(position, grad)
        for other in self._buckets[:self._launched]:
            other.work.is_completed()  # lets MPI progress the buckets already started
        if bucket.is_full():
            self._launch_ready_buckets()

    def _launch_ready_buckets(self) -> None:
        """Start the all-reduce of full buckets, in bucket order; finish after the last."""
        while self._launched < len(self._buckets) and self._buckets[self._launched].is_full():
            bucket = self._buckets[self._launched]
            bucket.work = dist.all_reduce(bucket.flat, group=self.process_group, async_op=True)
            self._launched += 1
        if self._launched == len(self._buckets):
            self._finish_reduction()

    def _finish_reduction(self) -> None:
        """Wait for every bucket, average, write the results into ``.grad``."""
        world = dist.get_world_size(self.process_group)
        globally_used = self._globally_used()
        for bucket in self._buckets:
            bucket.work.wait()
            bucket.flat._data /= world
            for position, param in enumerate(bucket.params):
                self._write_grad(param, bucket.slot(position), globally_used)
            bucket.reset()
        self._launched = 0

    def _globally_used(self) -> set | None:
        if self._used_map is None:
            return None
        self._used_work.wait()
        used = {id(p) for p, n in zip(self._params, self._used_map.tolist()) if n > 0}
        self._used_map = None
        return used

    @staticmethod
    def _write_grad(param: Tensor, averaged, globally_used: set | None) -> None:
        if param.grad is None:
            if globally_used is not None and id(param) not in globally_used:
                return  # no rank used it: its gradient stays None, as in PyTorch
            param.grad = param.new_zeros(param.shape)
        param.grad._data[...] = averaged.reshape(param.grad._data.shape)

    # --- the rest of the interface -----------------------------------------------------------
    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Inside, backward accumulates gradients locally; the next synced backward averages
        the accumulated sum (gradient accumulation without the communication)."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    def extra_repr(self) -> str:
        return ""


def dist_tensor(array: np.ndarray) -> Tensor:
    return Tensor._wrap(array)


def verify_same_shapes(group, named_params: list) -> None:
    """Compare the parameters' shapes across ranks (buffer all-gathers); name the ones that
    differ, rather than let mismatched all-reduces hang or mix up gradients."""
    comm, size = group.comm, group.size()
    counts = np.empty(size, dtype=np.int64)
    request = comm.Iallgather(np.array([len(named_params)], dtype=np.int64), counts)
    _wait(group, request)
    if len(set(counts.tolist())) > 1:
        raise RuntimeError("DistributedDataParallel: the ranks hold different numbers of "
                           f"parameters that require grad: {dict(enumerate(counts.tolist()))}")
    mine = np.zeros((len(named_params), 9), dtype=np.int64)
    for row, (_, p) in enumerate(named_params):
        dims = list(p.shape)[:8]
        mine[row, 0] = p.dim()
        mine[row, 1:1 + len(dims)] = dims
    everyone = np.empty((size,) + mine.shape, dtype=np.int64)
    request = comm.Iallgather(mine, everyone)
    _wait(group, request)
    differences = []
    for row, (name, _) in enumerate(named_params):
        shapes = {r: _shape(everyone[r, row]) for r in range(size)}
        if len(set(map(tuple, shapes.values()))) > 1:
            described = ", ".join(f"rank {r}: {s}" for r, s in shapes.items())
            differences.append(f"{name} ({described})")
    if differences:
        raise RuntimeError("DistributedDataParallel: parameter shapes differ across ranks: "
                           + "; ".join(differences))


def _wait(group, request) -> None:
    seconds = group.timeout_seconds
    poll_until_done(request.Test, seconds,
                    lambda: group.describe_timeout("DistributedDataParallel's shape check",
                                                   seconds))


def _shape(row: np.ndarray) -> list[int]:
    return row[1:1 + int(row[0])].tolist()


def _leaves_reached(output: Any) -> set:
    """ids of the leaf tensors whose AccumulateGrad the graph of ``output`` reaches."""
    from ...autograd.graph import AccumulateGrad

    roots = [t.grad_fn for t in _tensors_in(output) if t.grad_fn is not None]
    seen, stack, leaves = set(roots), list(roots), set()
    while stack:
        node = stack.pop()
        if isinstance(node, AccumulateGrad):
            leaves.add(id(node.variable))
        for next_node, _ in node.next_functions:
            if next_node is not None and next_node not in seen:
                seen.add(next_node)
                stack.append(next_node)
    return leaves


def _tensors_in(value: Any) -> list[Tensor]:
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _tensors_in(v)]
    return []


def _to_device(value: Any, device):
    if isinstance(value, Tensor):
        return value.to(device)
    if isinstance(value, tuple):
        return tuple(_to_device(v, device) for v in value)
    if isinstance(value, list):
        return [_to_device(v, device) for v in value]
    if isinstance(value, dict):
        return {k: _to_device(v, device) for k, v in value.items()}
    return value


def _check_device_ids(module: Module, device_ids, output_device) -> list | None:
    devices = {p.device for p in module.parameters()}
    if device_ids is None:
        return None
    on_cpu = all(d.type == "cpu" for d in devices)
    if on_cpu or len(device_ids) != 1:
        raise ValueError(
            "DistributedDataParallel device_ids and output_device arguments only work with "
            "single-device/multiple-device GPU modules or CPU modules, but got device_ids "
            f"{list(device_ids)}, output_device {output_device}, and module parameters "
            f"{devices}.")
    from ..._device import as_device

    return [as_device(device_ids[0])]
