"""NCCL for CUDA tensors, through ``cupy.cuda.nccl`` (CuPy with the ``nvidia-nccl-cu12`` wheel).

The group's ranks agree on an NCCL unique id over MPI, then each builds a communicator on its
current GPU. An NCCL call is queued on the tensor's stream; its work completes when an event
recorded after it has happened, polled with the group's timeout like MPI requests.
"""
from __future__ import annotations

import numpy as np

from .collectives import RedOpType, launch_event

_NCCL_TYPES = {"float16": "NCCL_FLOAT16", "float32": "NCCL_FLOAT32", "float64": "NCCL_FLOAT64",
               "int8": "NCCL_INT8", "uint8": "NCCL_UINT8", "int32": "NCCL_INT32",
               "int64": "NCCL_INT64", "bool": "NCCL_UINT8"}


def _nccl_module():
    from .._device import load_cupy

    cupy = load_cupy(required=False)
    if cupy is None:
        return None
    try:
        from cupy.cuda import nccl
    except ImportError:
        return None
    return nccl if getattr(nccl, "available", True) else None


def nccl_available() -> bool:
    """True when CuPy imports, sees a GPU and has its NCCL bindings."""
    return _nccl_module() is not None


class NcclCommunicator:
    """One NCCL communicator for a process group, on this rank's current GPU."""

    def __init__(self, group) -> None:
        nccl = _nccl_module()
        if nccl is None:
            raise RuntimeError("NCCL is not available: install CuPy with NCCL "
                               "(`pip install -r requirements-gpu.txt`)")
        self.nccl, self.group = nccl, group
        uid = np.frombuffer(bytes(nccl.get_unique_id()) if group.rank() == 0 else
                            bytes(128), dtype=np.int8).copy()
        group.wait_barrier("NCCL setup")
        group.comm.Bcast(uid, root=0)
        self.comm = nccl.NcclCommunicator(group.size(), tuple(int(b) for b in uid), group.rank())

    def _type(self, tensor):
        return getattr(self.nccl, _NCCL_TYPES[tensor._data.dtype.name])

    def _op(self, op: RedOpType, tensor):
        if tensor._data.dtype == np.bool_:
            op = RedOpType.MAX if op in (RedOpType.SUM, RedOpType.AVG) else RedOpType.MIN
        names = {RedOpType.SUM: "NCCL_SUM", RedOpType.PRODUCT: "NCCL_PROD",
                 RedOpType.MIN: "NCCL_MIN", RedOpType.MAX: "NCCL_MAX", RedOpType.AVG: "NCCL_AVG"}
        return getattr(self.nccl, names[op])

    @staticmethod
    def _stream():
        from .._device import load_cupy

        return load_cupy().cuda.get_current_stream()

    def all_reduce(self, tensor, op, async_op: bool):
        data, stream = tensor._data, self._stream()
        self.comm.allReduce(data.data.ptr, data.data.ptr, data.size, self._type(tensor),
                            self._op(op, tensor), stream.ptr)
        return launch_event(self.group, "all_reduce", stream, tensor, async_op)

    def broadcast(self, tensor, root: int, async_op: bool):
        data, stream = tensor._data, self._stream()
        self.comm.bcast(data.data.ptr, data.size, self._type(tensor), root, stream.ptr)
        return launch_event(self.group, "broadcast", stream, tensor, async_op)

    def all_gather(self, output, input, async_op: bool):
        stream = self._stream()
        self.comm.allGather(input._data.data.ptr, output._data.data.ptr, input._data.size,
                            self._type(input), stream.ptr)
        return launch_event(self.group, "all_gather_into_tensor", stream, output, async_op)

    def reduce_scatter(self, output, input, op, async_op: bool):
        stream = self._stream()
        self.comm.reduceScatter(input._data.data.ptr, output._data.data.ptr, output._data.size,
                                self._type(input), self._op(op, input), stream.ptr)
        return launch_event(self.group, "reduce_scatter_tensor", stream, output, async_op)

    def close(self) -> None:
        self.comm.destroy()
