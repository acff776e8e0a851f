"""Collectives and point-to-point messages on tensors, with PyTorch's signatures.

Each call starts one non-blocking MPI operation on the tensor's own buffer (``Iallreduce``,
``Ibcast``, ...; never mpi4py's pickling lower-case calls) and either returns its
:class:`~.work.Work` (``async_op=True``) or waits for it with the group's timeout. Tensors change
in place and keep their dtype (int64 is summed as int64). A CUDA tensor goes through NCCL on the
``nccl`` backend, otherwise through a host copy that is written back when the work completes.
"""
from __future__ import annotations

import enum
from typing import Callable, Sequence

import numpy as np

from .. import _device
from .._tensor import Tensor
from .process_group import ProcessGroup, resolve
from .work import Work, poll_until_done


class RedOpType(enum.IntEnum):
    SUM = 0
    AVG = 1
    PRODUCT = 2
    MIN = 3
    MAX = 4


class ReduceOp:
    """How ``all_reduce``/``reduce``/``reduce_scatter_tensor`` combine: ``ReduceOp.SUM``, ...

    ``AVG`` sums, then divides by the group size (integer tensors: floor division)."""

    RedOpType = RedOpType
    SUM = RedOpType.SUM
    AVG = RedOpType.AVG
    PRODUCT = RedOpType.PRODUCT
    MIN = RedOpType.MIN
    MAX = RedOpType.MAX


_MPI_OPS: dict = {}  # (op, is_bool) -> MPI.Op, filled on first use


def mpi_op(op: RedOpType, dtype: np.dtype):
    """The MPI operation for ``op`` on ``dtype`` (bool: SUM/MAX are OR, PRODUCT/MIN are AND)."""
    key = (op, dtype == np.bool_)
    found = _MPI_OPS.get(key)
    if found is None:
        found = _MPI_OPS[key] = _lookup_mpi_op(*key)
    return found


def _lookup_mpi_op(op: RedOpType, is_bool: bool):
    from mpi4py import MPI

    if op not in RedOpType.__members__.values():
        raise ValueError(f"Unknown ReduceOp: {op!r}")
    if is_bool:
        return MPI.LOR if op in (RedOpType.SUM, RedOpType.MAX, RedOpType.AVG) else MPI.LAND
    return {RedOpType.SUM: MPI.SUM, RedOpType.AVG: MPI.SUM, RedOpType.PRODUCT: MPI.PROD,
            RedOpType.MIN: MPI.MIN, RedOpType.MAX: MPI.MAX}[op]


def divide_for_average(array: np.ndarray, op: RedOpType, size: int) -> None:
    if op == RedOpType.AVG and array.dtype != np.bool_:
        if array.dtype.kind == "f":
            array /= size
        else:
            np.floor_divide(array, size, out=array)


# --- the tensor's buffer: itself on the CPU, a host copy of a CUDA tensor ----------------------
def check_tensor(tensor, group: ProcessGroup, name: str = "tensor") -> None:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type "
                        f"torch.Tensor but got {type(tensor)} instead.")
    if not tensor.is_contiguous():
        raise ValueError("Tensors must be contiguous")
    if group.backend == "nccl" and not tensor.is_cuda:
        raise RuntimeError(f"No backend type associated with device type cpu: the process group "
                           "uses NCCL, which only moves CUDA tensors; move the tensor with "
                           ".cuda() or create a group with backend='mpi' for CPU tensors")


def uses_nccl(group: ProcessGroup, tensor: Tensor) -> bool:
    return group.backend == "nccl" and tensor.is_cuda


def host_buffer(tensor: Tensor) -> np.ndarray:
    """The array MPI reads and writes: the tensor's own numpy array, or a host copy."""
    data = tensor._data
    return data if isinstance(data, np.ndarray) else _device.move(data, _device.CPU)


def write_back(tensor: Tensor, host: np.ndarray) -> None:
    """Finish an in-place change: copy a staged result to the device; bump the version."""
    if host is not tensor._data:
        staged = _device.move(np.ascontiguousarray(host).reshape(tensor._data.shape),
                              tensor.device)
        with tensor._data.device:  # the copy is a kernel: on the tensor's GPU, not the current one
            tensor._data[...] = staged
    tensor._version_counter[0] += 1


def launch(group: ProcessGroup, name: str, requests: Sequence, finish: Callable[[], None],
           async_op: bool, test=None):
    """Return the work (``async_op``) or wait for it with the group's timeout."""
    group.note_started()
    work = Work(requests, group, name, finish, test)
    if async_op:
        return work
    work.wait()
    return None


def _mpi():
    from mpi4py import MPI

    return MPI


_IN_PLACE = None


def _in_place():
    global _IN_PLACE
    if _IN_PLACE is None:
        _IN_PLACE = _mpi().IN_PLACE
    return _IN_PLACE


# --- collectives ---------------------------------------------------------------------------
def all_reduce(tensor: Tensor, op=ReduceOp.SUM, group=None, async_op: bool = False):
    """Reduce ``tensor`` over all ranks of the group; every rank gets the result, in place."""
    pg = resolve(group)
    if pg is None:
        return None
    check_tensor(tensor, pg)
    if uses_nccl(pg, tensor):
        return pg.nccl().all_reduce(tensor, op, async_op)
    array = host_buffer(tensor)
    request = pg.comm.Iallreduce(_in_place(), array, op=mpi_op(op, array.dtype))

    def finish() -> None:
        divide_for_average(array, op, pg.size())
        write_back(tensor, array)

    if async_op:
        return launch(pg, "all_reduce", [request], finish, async_op)
    pg.note_started()
    seconds = pg.timeout_seconds  # the common blocking call, without a Work object
    poll_until_done(request.Test, seconds, lambda: pg.describe_timeout("all_reduce", seconds))
    finish()
    return None


def broadcast(tensor: Tensor, src: int = 0, group=None, async_op: bool = False):
    """Copy rank ``src``'s ``tensor`` into the same tensor on every rank."""
    pg = resolve(group)
    if pg is None:
        return None
    check_tensor(tensor, pg)
    if uses_nccl(pg, tensor):
        return pg.nccl().broadcast(tensor, pg.group_rank(src), async_op)
    array = host_buffer(tensor)
    request = pg.comm.Ibcast(array, root=pg.group_rank(src))
    return launch(pg, "broadcast", [request], lambda: write_back(tensor, array), async_op)


def reduce(tensor: Tensor, dst: int = 0, op=ReduceOp.SUM, group=None, async_op: bool = False):
    """Reduce onto rank ``dst`` only (the other ranks' tensors are left as they were)."""
    pg = resolve(group)
    if pg is None:
        return None
    check_tensor(tensor, pg)
    root = pg.group_rank(dst)
    array = host_buffer(tensor)
    MPI = _mpi()
    if pg.rank() == root:
        request = pg.comm.Ireduce(MPI.IN_PLACE, array, op=mpi_op(op, array.dtype), root=root)
    else:
        request = pg.comm.Ireduce(array, None, op=mpi_op(op, array.dtype), root=root)

    def finish() -> None:
        if pg.rank() == root:
            divide_for_average(array, op, pg.size())
            write_back(tensor, array)

    return launch(pg, "reduce", [request], finish, async_op)


def _check_list(tensors: Sequence, like: Tensor, size: int, what: str) -> None:
    if not isinstance(tensors, (list, tuple)) or len(tensors) != size:
        got = len(tensors) if isinstance(tensors, (list, tuple)) else type(tensors).__name__
        raise ValueError(f"{what} must be a list of {size} tensors (one per rank), got {got}")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor) or t.shape != like.shape or t.dtype != like.dtype:
            described = (f"{t.dtype} {list(t.shape)}" if isinstance(t, Tensor)
                         else type(t).__name__)
            raise ValueError(f"{what}[{i}] is {described}; every entry must be "
                             f"{like.dtype} {list(like.shape)} like the input tensor")


def all_gather(tensor_list: list, tensor: Tensor, group=None, async_op: bool = False):
    """Every rank's ``tensor`` into ``tensor_list[rank]``, on every rank."""
    pg = resolve(group)
    if pg is None:
        return None
    check_tensor(tensor, pg)
    _check_list(tensor_list, tensor, pg.size(), "tensor_list")
    array = host_buffer(tensor)
    gathered = np.empty((pg.size(),) + array.shape, dtype=array.dtype)
    request = pg.comm.Iallgather(array, gathered)
    return launch(pg, "all_gather", [request], lambda: _write_parts(tensor_list, gathered),
                  async_op)


def _write_parts(outputs: Sequence[Tensor], parts: np.ndarray) -> None:
    for out, part in zip(outputs, parts):
        if isinstance(out._data, np.ndarray):
            out._data[...] = part
            out._version_counter[0] += 1
        else:
            write_back(out, part)


def all_gather_into_tensor(output_tensor: Tensor, input_tensor: Tensor, group=None,
                           async_op: bool = False):
    """Every rank's ``input_tensor`` laid end to end in ``output_tensor`` (size × numel)."""
    pg = resolve(group)
    if pg is None:
        return None
    check_tensor(output_tensor, pg, "output_tensor")
    check_tensor(input_tensor, pg, "input_tensor")
    _check_sizes(output_tensor, input_tensor, pg.size(), "all_gather_into_tensor",
                 "output tensor size must be equal to world_size times input tensor size")
    if uses_nccl(pg, input_tensor):
        return pg.nccl().all_gather(output_tensor, input_tensor, async_op)
    out, inp = host_buffer(output_tensor), host_buffer(input_tensor)
    request = pg.comm.Iallgather(inp, out)
    return launch(pg, "all_gather_into_tensor", [request],
                  lambda: write_back(output_tensor, out), async_op)


def reduce_scatter_tensor(output: Tensor, input: Tensor, op=ReduceOp.SUM, group=None,
                          async_op: bool = False):
    """Reduce ``input`` (size × numel) over ranks; rank ``r`` keeps block ``r`` in ``output``."""
    pg = resolve(group)
    if pg is None:
        return None
    check_tensor(output, pg, "output")
    check_tensor(input, pg, "input")
    _check_sizes(input, output, pg.size(), "reduce_scatter_tensor",
                 "input tensor must be the same size as output size times world size")
    if uses_nccl(pg, input):
        return pg.nccl().reduce_scatter(output, input, op, async_op)
    out, inp = host_buffer(output), host_buffer(input)
    request = pg.comm.Ireduce_scatter_block(inp, out, op=mpi_op(op, inp.dtype))

    def finish() -> None:
        divide_for_average(out, op, pg.size())
        write_back(output, out)

    return launch(pg, "reduce_scatter_tensor", [request], finish, async_op)


def _check_sizes(big: Tensor, small: Tensor, size: int, name: str, message: str) -> None:
    if big.dtype != small.dtype:
        raise TypeError(f"{name}: the tensors must have the same dtype, got {big.dtype} and "
                        f"{small.dtype}")
    if big.numel() != small.numel() * size:
        raise ValueError(f"{name}: {message} ({big.numel()} != {size} x {small.numel()})")


def gather(tensor: Tensor, gather_list: list | None = None, dst: int = 0, group=None,
           async_op: bool = False):
    """Every rank's ``tensor`` into ``gather_list`` on rank ``dst``."""
    pg = resolve(group)
    if pg is None:
        return None
    check_tensor(tensor, pg)
    root = pg.group_rank(dst)
    array = host_buffer(tensor)
    if pg.rank() != root:
        if gather_list:
            raise ValueError("Argument ``gather_list`` must NOT be specified on "
                             "non-destination ranks.")
        request = pg.comm.Igather(array, None, root=root)
        return launch(pg, "gather", [request], lambda: None, async_op)
    _check_list(gather_list, tensor, pg.size(), "gather_list")
    gathered = np.empty((pg.size(),) + array.shape, dtype=array.dtype)
    request = pg.comm.Igather(array, gathered, root=root)
    return launch(pg, "gather", [request], lambda: _write_parts(gather_list, gathered), async_op)


def scatter(tensor: Tensor, scatter_list: list | None = None, src: int = 0, group=None,
            async_op: bool = False):
    """Rank ``src`` sends ``scatter_list[r]`` to rank ``r``, which receives it into ``tensor``."""
    pg = resolve(group)
    if pg is None:
        return None
    check_tensor(tensor, pg)
    root = pg.group_rank(src)
    array = host_buffer(tensor)
    if pg.rank() == root:
        _check_list(scatter_list, tensor, pg.size(), "scatter_list")
        parts = np.stack([host_buffer(t) for t in scatter_list])
    else:
        if scatter_list:
            raise ValueError("Argument ``scatter_list`` must NOT be specified on "
                             "non-source ranks.")
        parts = None
    request = pg.comm.Iscatter(parts, array, root=root)
    return launch(pg, "scatter", [request], lambda: write_back(tensor, array), async_op)


def barrier(group=None, async_op: bool = False, device_ids=None):
    """Wait until every rank of the group has reached this call (with the group's timeout)."""
    pg = resolve(group)
    if pg is None:
        return None
    return launch(pg, "barrier", [pg.comm.Ibarrier()], lambda: None, async_op)


# --- point to point ------------------------------------------------------------------------
def _peer(pg: ProcessGroup, peer: int, role: str) -> int:
    if peer == pg.global_ranks[pg.rank()]:
        raise ValueError(f"Invalid {role} rank: should not be the same as rank of the current "
                         "process.")
    return pg.group_rank(peer)


def isend(tensor: Tensor, dst: int, group=None, tag: int = 0):
    """Start sending ``tensor`` to rank ``dst``; returns the work."""
    pg = resolve(group)
    if pg is None:
        return None
    check_tensor(tensor, pg)
    array = host_buffer(tensor)
    request = pg.comm.Isend(array, dest=_peer(pg, dst, "destination"), tag=tag)
    work = Work([request], pg, f"send to rank {dst}", lambda: None)
    work._keep_alive = array  # a staged copy must live until MPI has sent it
    return work


def irecv(tensor: Tensor, src: int | None = None, group=None, tag: int = 0):
    """Start receiving into ``tensor`` from rank ``src`` (any rank if ``None``)."""
    pg = resolve(group)
    if pg is None:
        return None
    check_tensor(tensor, pg)
    MPI = _mpi()
    source = MPI.ANY_SOURCE if src is None else _peer(pg, src, "source")
    array = host_buffer(tensor)
    request, status = pg.comm.Irecv(array, source=source, tag=tag), MPI.Status()
    work = Work([request], pg, "recv from " + ("any rank" if src is None else f"rank {src}"),
                test=lambda: request.Test(status))

    def finish() -> None:
        write_back(tensor, array)
        work.result_value = pg.global_ranks[status.Get_source()]

    work._finish = finish
    return work


def send(tensor: Tensor, dst: int, group=None, tag: int = 0) -> None:
    """Send ``tensor`` to rank ``dst`` and wait until it has gone (group timeout)."""
    work = isend(tensor, dst, group, tag)
    if work is not None:
        work.wait()


def recv(tensor: Tensor, src: int | None = None, group=None, tag: int = 0) -> int:
    """Receive into ``tensor``; returns the sender's rank (-1 outside the group)."""
    work = irecv(tensor, src, group, tag)
    if work is None:
        return -1
    work.wait()
    return work.result_value


__all__ = ["RedOpType", "ReduceOp", "all_gather", "all_gather_into_tensor", "all_reduce",
           "barrier", "broadcast", "gather", "irecv", "isend", "recv", "reduce",
           "reduce_scatter_tensor", "scatter", "send"]


def launch_event(group: ProcessGroup, name: str, stream, tensor: Tensor, async_op: bool):
    """The work of an NCCL call queued on ``stream``: done when an event after it has happened."""
    event = stream.record()

    def finish() -> None:
        tensor._version_counter[0] += 1

    return launch(group, name, [], finish, async_op, test=lambda: event.done)
