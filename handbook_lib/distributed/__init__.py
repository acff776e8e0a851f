"""``handbook_lib.distributed``: PyTorch's ``torch.distributed`` on MPI (and NCCL on GPUs).

Start a script on several processes with ``python -m handbook_lib.distributed.run
--nproc-per-node 2 train.py`` (or ``mpiexec -n 2 python train.py``); in it::

    import handbook_lib.distributed as dist
    dist.init_process_group()          # rank and world size come from MPI
    dist.all_reduce(t)                 # t summed over every rank, in place
"""
from .collectives import (RedOpType, ReduceOp, all_gather, all_gather_into_tensor, all_reduce,
                          barrier, broadcast, gather, irecv, isend, recv, reduce,
                          reduce_scatter_tensor, scatter, send)
from .process_group import (Backend, DistTimeoutError, GroupMember, ProcessGroup,
                            default_pg_timeout, destroy_process_group, get_backend,
                            get_global_rank, get_group_rank, get_process_group_ranks, get_rank,
                            get_world_size, init_process_group, is_available, is_gloo_available,
                            is_initialized, is_mpi_available, is_nccl_available, new_group)
from .work import Work

DistBackendError = DistTimeoutError

__all__ = ["Backend", "DistBackendError", "DistTimeoutError", "GroupMember", "ProcessGroup",
           "RedOpType", "ReduceOp", "Work", "all_gather", "all_gather_into_tensor", "all_reduce",
           "barrier", "broadcast", "default_pg_timeout", "destroy_process_group", "gather",
           "get_backend", "get_global_rank", "get_group_rank", "get_process_group_ranks",
           "get_rank", "get_world_size", "init_process_group", "irecv", "is_available",
           "is_gloo_available", "is_initialized", "is_mpi_available", "is_nccl_available",
           "isend", "new_group", "recv", "reduce", "reduce_scatter_tensor", "scatter", "send"]
