"""Faults under mpiexec: ``python faults.py raise|kill|stop|stuck``. Rank 1 misbehaves.

raise: rank 1 raises; the job must end (MPI_Abort), non-zero, with rank 1's traceback.
kill:  rank 1 is killed by SIGKILL before a collective.
stop:  rank 1 is stopped (SIGSTOP); rank 0's all_reduce must fail after the 2 s timeout naming
       rank 1, and the job must end.
stuck: rank 1 sleeps instead of joining; rank 0 fails after the timeout.
"""
import datetime
import os
import signal
import sys
import time

import handbook_lib as hl
import handbook_lib.distributed as dist

mode = sys.argv[1]
dist.init_process_group(timeout=datetime.timedelta(seconds=2))
rank = dist.get_rank()
print(f"rank {rank} pid {os.getpid()} ready", flush=True)
dist.barrier()
if rank == 1:
    if mode == "raise":
        raise ValueError("deliberate failure on rank 1")
    if mode == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if mode == "stop":
        os.kill(os.getpid(), signal.SIGSTOP)
    if mode == "stuck":
        time.sleep(60)
t = hl.ones(3)
dist.all_reduce(t)
print(f"rank {rank} finished an all_reduce it should not have", flush=True)
