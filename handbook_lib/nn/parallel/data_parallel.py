"""DataParallel: one process, several GPUs, as ``torch.nn.DataParallel``.

Each forward splits the batch along ``dim`` (scatter), copies the module to every device
(replicate: its parameters become differentiable copies of the originals), runs the copies in
threads (parallel_apply) and concatenates their outputs on ``output_device`` (gather). Because
the copies are made by differentiable ``.to(device)``, backward sends every replica's gradient
back to the original parameter, where they are summed. With one device or none the module runs
unchanged, as in PyTorch.
"""
from __future__ import annotations

import threading
from typing import Any, Sequence

from ... import cuda
from ..._device import as_device, device, load_cupy
from ..._tensor import Tensor
from ..modules.module import Module


class DataParallel(Module):
    """Split each batch over ``device_ids`` (default: every GPU), gather on ``output_device``."""

    def __init__(self, module: Module, device_ids: Sequence | None = None,
                 output_device=None, dim: int = 0) -> None:
        super().__init__()
        self.module = module
        self.dim = dim
        if not cuda.is_available():
            self.device_ids = []
            return
        if device_ids is None:
            device_ids = list(range(cuda.device_count()))
        self.device_ids = [_index(d) for d in device_ids]
        self.output_device = _index(self.device_ids[0] if output_device is None
                                    else output_device)
        self.src_device_obj = device("cuda", self.device_ids[0])

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        if not self.device_ids:
            return self.module(*inputs, **kwargs)
        self._check_on_source_device()
        inputs, kwargs = scatter_kwargs(inputs, kwargs, self.device_ids, self.dim)
        if not inputs and not kwargs:
            inputs, kwargs = ((),), ({},)
        if len(self.device_ids) == 1:
            return self.module(*inputs[0], **kwargs[0])
        replicas = replicate(self.module, self.device_ids[:len(inputs)])
        outputs = parallel_apply(replicas, inputs, kwargs, self.device_ids)
        return gather(outputs, self.output_device, self.dim)

    def _check_on_source_device(self) -> None:
        for t in list(self.module.parameters()) + list(self.module.buffers()):
            if t.device != self.src_device_obj:
                raise RuntimeError(
                    f"module must have its parameters and buffers on device "
                    f"{self.src_device_obj} (device_ids[0]) but found one of them on device: "
                    f"{t.device}")


def _index(d) -> int:
    return d if isinstance(d, int) else as_device(d)._index


def scatter(value: Any, device_ids: Sequence[int], dim: int = 0) -> list:
    """Split tensors into ``len(device_ids)`` chunks along ``dim``, chunk ``i`` to device ``i``
    (differentiable); lists, tuples and dicts are split element by element."""
    if isinstance(value, Tensor):
        chunks = value.chunk(len(device_ids), dim)
        return [c.to(device("cuda", i)) for c, i in zip(chunks, device_ids)]
    if isinstance(value, (list, tuple)) and value:
        parts = list(zip(*(scatter(v, device_ids, dim) for v in value)))
        return [type(value)(p) if isinstance(value, list) else tuple(p) for p in parts]
    if isinstance(value, dict) and value:
        keys = list(value)
        parts = zip(*(scatter(value[k], device_ids, dim) for k in keys))
        return [dict(zip(keys, p)) for p in parts]
    return [value for _ in device_ids]


def scatter_kwargs(inputs: tuple, kwargs: dict, device_ids: Sequence[int], dim: int = 0):
    """``scatter`` of the positional and keyword arguments, padded to the same length."""
    scattered = scatter(inputs, device_ids, dim) if inputs else []
    scattered_kwargs = scatter(kwargs, device_ids, dim) if kwargs else []
    n = max(len(scattered), len(scattered_kwargs))
    scattered += [()] * (n - len(scattered))
    scattered_kwargs += [{}] * (n - len(scattered_kwargs))
    return tuple(scattered), tuple(scattered_kwargs)


def replicate(module: Module, device_ids: Sequence[int]) -> list[Module]:
    """One copy of ``module`` per device; the copies' parameters are ``param.to(device)``, so
    their gradients flow back to (and are summed on) the original parameters."""
    return [_replica(module, device("cuda", i)) for i in device_ids]


def _replica(module: Module, target) -> Module:
    copy = module.__class__.__new__(module.__class__)
    copy.__dict__.update(module.__dict__)
    object.__setattr__(copy, "_parameters", {
        name: None if p is None else p.to(target) for name, p in module._parameters.items()})
    object.__setattr__(copy, "_buffers", {
        name: None if b is None else b.detach().to(target) for name, b in module._buffers.items()})
    object.__setattr__(copy, "_modules", {
        name: None if m is None else _replica(m, target) for name, m in module._modules.items()})
    return copy


def parallel_apply(modules: Sequence[Module], inputs: Sequence, kwargs: Sequence,
                   device_ids: Sequence[int]) -> list:
    """Run ``modules[i](*inputs[i], **kwargs[i])`` in one thread per device; re-raise the
    first exception in the caller."""
    results: list = [None] * len(modules)

    def work(i: int) -> None:
        try:
            with load_cupy().cuda.Device(device_ids[i]):
                results[i] = modules[i](*inputs[i], **kwargs[i])
        except BaseException as exc:  # noqa: BLE001 (handed to the caller below)
            results[i] = _Failure(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(modules))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for result in results:
        if isinstance(result, _Failure):
            raise result.exc
    return results


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def gather(outputs: Sequence, target_device: int, dim: int = 0) -> Any:
    """Concatenate the replicas' outputs along ``dim`` on ``target_device`` (differentiable)."""
    first = outputs[0]
    if isinstance(first, Tensor):
        from ... import cat

        return cat([o.to(device("cuda", target_device)) for o in outputs], dim)
    if isinstance(first, (list, tuple)):
        return type(first)(gather(parts, target_device, dim) for parts in zip(*outputs))
    if isinstance(first, dict):
        return {k: gather([o[k] for o in outputs], target_device, dim) for k in first}
    return first
