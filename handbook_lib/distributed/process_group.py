"""Process groups: who takes part in a collective, over which engine, with what timeout.

The engine is MPI (mpi4py). Under ``mpiexec`` (or ``python -m handbook_lib.distributed.run``)
each process is one rank of ``MPI.COMM_WORLD``; ``init_process_group`` duplicates that
communicator for the default group, learns every rank's host and pid (to say which rank is at
fault when something times out) and arranges that an uncaught exception on any rank aborts the
whole job instead of leaving the others waiting forever. CUDA tensors go through NCCL when
``cupy.cuda.nccl`` is there, otherwise through MPI with a copy to host and back.
"""
from __future__ import annotations

import datetime
import os
import socket
import sys
import traceback
import warnings
from typing import Sequence

from .work import DistTimeoutError, poll_until_done

default_pg_timeout = datetime.timedelta(minutes=30)  # PyTorch's default
_BACKENDS = ("mpi", "gloo", "nccl")
_NOT_INITIALIZED = ("Default process group has not been initialized, please make sure to call "
                    "init_process_group.")
_LAUNCH_HINT = ("start the script with `python -m handbook_lib.distributed.run --nproc-per-node N "
                "script.py` (or `mpiexec -n N python script.py`)")


class Backend(str):
    """A backend name: ``Backend.MPI``, ``Backend.GLOO``, ``Backend.NCCL`` (lower-case)."""

    MPI = "mpi"
    GLOO = "gloo"
    NCCL = "nccl"
    UNDEFINED = "undefined"

    def __new__(cls, name: str) -> "Backend":
        if not isinstance(name, str) or name.lower() not in _BACKENDS:
            raise ValueError(f"Invalid backend: '{name}'")
        return str.__new__(cls, name.lower())


class ProcessGroup:
    """A set of ranks with its own MPI communicator (and NCCL communicator, if any)."""

    def __init__(self, comm, global_ranks: Sequence[int], backend: str, timeout: float,
                 peers: Sequence[tuple]) -> None:
        self.comm = comm
        self.global_ranks = list(global_ranks)
        self.backend = backend
        self.timeout_seconds = timeout
        self.peers = list(peers)  # (host, pid) per rank of this group
        self._nccl = None

    def rank(self) -> int:
        return self.comm.Get_rank()

    def size(self) -> int:
        return self.comm.Get_size()

    def group_rank(self, global_rank: int) -> int:
        """This group's rank of ``global_rank``; PyTorch's error if it is not a member."""
        try:
            return self.global_ranks.index(global_rank)
        except ValueError:
            raise ValueError(f"Global rank {global_rank} is not part of group {self}") from None

    def nccl(self):
        """The NCCL communicator of this group (made on first use, by every rank together)."""
        if self._nccl is None:
            from .nccl import NcclCommunicator

            self._nccl = NcclCommunicator(self)
        return self._nccl

    def wait_barrier(self, name: str) -> None:
        """A barrier that fails after the timeout (before any blocking MPI setup call)."""
        request = self.comm.Ibarrier()
        poll_until_done(request.Test, self.timeout_seconds,
                        lambda: self.describe_timeout(name, self.timeout_seconds))

    def describe_timeout(self, name: str, seconds: float) -> str:
        """The error text for an operation that did not finish: which ranks look unhealthy."""
        me = self.rank()
        head = (f"{name} timed out after {seconds:g} s on rank {self.global_ranks[me]} "
                f"(group of {self.size()} ranks, backend {self.backend}): ")
        return head + describe_peers(self.peers, self.global_ranks, me)

    def __repr__(self) -> str:
        return f"<ProcessGroup {self.backend} ranks={self.global_ranks}>"


def describe_peers(peers: Sequence[tuple], global_ranks: Sequence[int], me: int) -> str:
    """Name the ranks that are gone or stopped (those on this host can be checked)."""
    host = socket.gethostname()
    problems, remote = [], []
    for index, (peer_host, pid) in enumerate(peers):
        if index == me:
            continue
        rank = global_ranks[index]
        if peer_host != host:
            remote.append(rank)
            continue
        state = process_state(pid)
        if state != "running":
            problems.append(f"rank {rank} (pid {pid} on {peer_host}) {state}")
    if problems:
        return "; ".join(problems) + "."
    text = ("every other rank on this host is still running: one of them is stuck, slower than "
            "the timeout, or called a different collective")
    if remote:
        text += f"; ranks on other hosts ({remote}) could not be checked from here"
    return text + "."


def process_state(pid: int) -> str:
    """'running', 'is stopped' or 'is no longer running', from /proc (Linux)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            state = stat.read().rpartition(")")[2].split()[0]
    except OSError:
        return "is no longer running"
    if state in ("Z", "X"):
        return "is no longer running"
    if state in ("T", "t"):
        return "is stopped"
    return "running"


class _World:
    """The default group and what init_process_group decided."""

    def __init__(self) -> None:
        self.default: ProcessGroup | None = None
        self.previous_excepthook = None
        self.rank_pid = None  # the rank's own process (not a DataLoader worker forked from it)


WORLD = _World()


class _NonGroupMember:
    def __repr__(self) -> str:
        return "GroupMember.NON_GROUP_MEMBER"


class GroupMember:
    """``GroupMember.WORLD`` (the default group, once there is one) and ``NON_GROUP_MEMBER``."""

    NON_GROUP_MEMBER = _NonGroupMember()
    WORLD = None


def default_group() -> ProcessGroup:
    if WORLD.default is None:
        raise ValueError(_NOT_INITIALIZED)
    return WORLD.default


def resolve(group) -> ProcessGroup | None:
    """The group to use: the default for ``None``; ``None`` if this rank is not a member."""
    if group is None or group is GroupMember.WORLD:
        return default_group()
    default_group()
    if group is GroupMember.NON_GROUP_MEMBER:
        return None
    return group


def init_process_group(backend: str | None = None, init_method: str | None = None,
                       timeout: datetime.timedelta | None = None, world_size: int = -1,
                       rank: int = -1, store=None, group_name: str = "", pg_options=None,
                       device_id=None) -> None:
    """Join the job's other processes into the default group.

    Under ``mpiexec`` the rank and world size come from MPI; ``rank=``/``world_size=`` (or the
    ``RANK``/``WORLD_SIZE`` variables) are checked against them. ``init_method`` may be
    ``env://`` or any address a PyTorch script passes: MPI has already connected the ranks, so
    it is not needed. ``backend``: ``'mpi'`` or ``None``; ``'gloo'`` runs on MPI (CPU);
    ``'nccl'`` uses NCCL for CUDA tensors when cupy has it, else MPI with host staging.
    """
    if WORLD.default is not None:
        raise ValueError("trying to initialize the default process group twice!")
    if store is not None:
        raise ValueError("handbook_lib.distributed does not use a store: MPI connects the "
                         f"ranks; {_LAUNCH_HINT}")
    chosen = _choose_backend(backend)
    from mpi4py import MPI

    world = MPI.COMM_WORLD
    _check_rank_and_size(world.Get_rank(), world.Get_size(), rank, world_size)
    seconds = (timeout or default_pg_timeout).total_seconds()
    first = ProcessGroup(world, range(world.Get_size()), chosen, seconds,
                         [(socket.gethostname(), os.getpid())] * world.Get_size())
    first.wait_barrier("init_process_group")
    peers = world.allgather((socket.gethostname(), os.getpid()))  # once, a few bytes
    group = ProcessGroup(world.Dup(), range(world.Get_size()), chosen, seconds, peers)
    WORLD.default = group
    GroupMember.WORLD = group
    install_abort_on_exception()


def _choose_backend(backend: str | None) -> str:
    """'mpi' or 'nccl' (the engine that will really be used), saying once what replaced what."""
    if backend is None:
        return "mpi"
    name = Backend(backend.split(",")[-1].split(":")[-1])
    if name == "gloo":
        _say_once("backend 'gloo' runs on MPI here (CPU tensors; CUDA tensors staged through "
                  "host memory)")
        return "mpi"
    if name == "nccl":
        from .nccl import nccl_available

        if nccl_available():
            return "nccl"
        _say_once("backend 'nccl' is not available (it needs CuPy with cupy.cuda.nccl and a "
                  "GPU): using MPI, with CUDA tensors staged through host memory")
        return "mpi"
    return "mpi"


def _say_once(message: str) -> None:
    from mpi4py import MPI

    if MPI.COMM_WORLD.Get_rank() == 0:
        warnings.warn(f"handbook_lib.distributed: {message}", UserWarning, stacklevel=4)


def _check_rank_and_size(mpi_rank: int, mpi_size: int, rank: int, world_size: int) -> None:
    env_size = os.environ.get("WORLD_SIZE")
    wanted_size = world_size if world_size != -1 else int(env_size) if env_size else mpi_size
    if wanted_size != mpi_size:
        if mpi_size == 1:
            raise RuntimeError(f"world_size is {wanted_size}, but this process was not started "
                               f"as one of {wanted_size} MPI ranks: {_LAUNCH_HINT}")
        raise ValueError(f"world_size={wanted_size} was asked for, but mpiexec started "
                         f"{mpi_size} ranks")
    env_rank = os.environ.get("RANK")
    wanted_rank = rank if rank != -1 else int(env_rank) if env_rank else mpi_rank
    if wanted_rank != mpi_rank:
        raise ValueError(f"rank={wanted_rank} was asked for, but MPI made this process rank "
                         f"{mpi_rank}: under mpiexec the ranks are MPI's")


def new_group(ranks: Sequence[int] | None = None, timeout: datetime.timedelta | None = None,
              backend: str | None = None, pg_options=None,
              use_local_synchronization: bool = False):
    """A group of some ranks (every rank must call it, as in PyTorch). Ranks outside it get
    ``GroupMember.NON_GROUP_MEMBER``."""
    from mpi4py import MPI

    world = default_group()
    members = sorted(set(world.global_ranks if ranks is None else ranks))
    bad = [r for r in members if not 0 <= r < world.size()]
    if bad:
        raise ValueError(f"new_group: ranks {bad} are not in the world of size {world.size()}")
    seconds = world.timeout_seconds if timeout is None else timeout.total_seconds()
    chosen = world.backend if backend is None else _choose_backend(backend)
    world.wait_barrier("new_group")
    me = world.rank()
    comm = world.comm.Split(0 if me in members else MPI.UNDEFINED, me)
    if comm == MPI.COMM_NULL:
        return GroupMember.NON_GROUP_MEMBER
    return ProcessGroup(comm, members, chosen, seconds, [world.peers[r] for r in members])


def destroy_process_group(group=None) -> None:
    """Leave a group (the default group: leave distributed mode; init may be called again)."""
    target = resolve(group)
    if target is None:
        return
    if target is WORLD.default:
        WORLD.default = None
        GroupMember.WORLD = None
        restore_excepthook()
    if target._nccl is not None:
        target._nccl.close()
    target.comm.Free()


def is_available() -> bool:
    """True when mpi4py (and so MPI) can be imported."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


def is_initialized() -> bool:
    return WORLD.default is not None


def is_mpi_available() -> bool:
    return is_available()


def is_nccl_available() -> bool:
    from .nccl import nccl_available

    return nccl_available()


def is_gloo_available() -> bool:
    return False


def get_rank(group=None) -> int:
    """This process's rank (in ``group``; -1 if not a member)."""
    target = resolve(group)
    if target is None:
        return -1
    return target.global_ranks[target.rank()] if group is None else target.rank()


def get_world_size(group=None) -> int:
    target = resolve(group)
    return -1 if target is None else target.size()


def get_backend(group=None) -> str:
    target = resolve(group)
    if target is None:
        raise ValueError("Invalid process group specified")
    return Backend(target.backend)


def get_global_rank(group, group_rank: int) -> int:
    return resolve(group).global_ranks[group_rank]


def get_group_rank(group, global_rank: int) -> int:
    return resolve(group).group_rank(global_rank)


def get_process_group_ranks(group) -> list[int]:
    return list(resolve(group).global_ranks)


# --- an uncaught exception on one rank ends the job --------------------------------------------
def install_abort_on_exception() -> None:
    """Make an uncaught exception print this rank's traceback and ``MPI_Abort`` the job (plain
    mpi4py would leave the other ranks blocked in their next collective forever)."""
    WORLD.rank_pid = os.getpid()
    if sys.excepthook is not abort_on_exception:
        WORLD.previous_excepthook = sys.excepthook
        sys.excepthook = abort_on_exception


def restore_excepthook() -> None:
    if sys.excepthook is abort_on_exception and WORLD.previous_excepthook is not None:
        sys.excepthook = WORLD.previous_excepthook


def abort_on_exception(kind, value, tb) -> None:
    from mpi4py import MPI

    forked = os.getpid() != WORLD.rank_pid
    if forked or not MPI.Is_initialized() or MPI.Is_finalized() or MPI.COMM_WORLD.Get_size() == 1:
        sys.__excepthook__(kind, value, tb)
        return
    rank, size = MPI.COMM_WORLD.Get_rank(), MPI.COMM_WORLD.Get_size()
    text = "".join(traceback.format_exception(kind, value, tb))
    sys.stderr.write(f"[rank {rank}] uncaught exception, aborting all {size} ranks "
                     f"(MPI_Abort):\n{text}")
    sys.stderr.flush()
    sys.stdout.flush()
    MPI.COMM_WORLD.Abort(1)


__all__ = ["Backend", "DistTimeoutError", "GroupMember", "ProcessGroup", "default_pg_timeout",
           "destroy_process_group", "get_backend", "get_global_rank", "get_group_rank",
           "get_process_group_ranks", "get_rank", "get_world_size", "init_process_group",
           "is_available", "is_gloo_available", "is_initialized", "is_mpi_available",
           "is_nccl_available", "new_group"]
