"""Distributed training on this machine: what handbook_lib.distributed adds to MPI, and where a
DDP step's time goes. Starts itself on 2 MPI ranks:

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_distributed.py

1. all_reduce of float32 arrays of 1e3 .. 1e7 elements: ``hl.distributed.all_reduce`` on a
   tensor against raw mpi4py ``Allreduce`` on the same array (buffer call, in place). Repeats
   are interleaved and each is preceded by a barrier. Per size: the best of the repeats (the
   cost without interference from other processes on a shared machine; the goal is judged on
   it) and the median. Goal: overhead <= 10% from 1e5 elements up (below that the fixed cost
   of a Python call, a few microseconds, dominates). A last column times mpi4py's own
   non-blocking ``Iallreduce`` polled with ``Test``, the call hl.distributed makes (so that a
   wait can time out): it separates MPI's choice of algorithm from the wrapper's cost.
2. A LeNet-5 training step (SGD) on batch 64: one process on the whole batch against
   DistributedDataParallel on 2 ranks with 32 each, and the time the DDP step spends waiting
   for communication at the end of backward (the part that did not overlap). On two cores a
   speed-up is not expected: the figures show where the time goes.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

SIZES = [10 ** k for k in range(3, 8)]


def relaunch() -> int:
    """Run this file on 2 ranks with the launcher (when started as a plain script)."""
    command = [sys.executable, "-m", "handbook_lib.distributed.run", "--nproc-per-node", "2",
               __file__]
    return subprocess.call(command)


def repeats_for(size: int) -> int:
    return max(11, min(400, int(3e7 // (size * 20))))


def bench_all_reduce(dist, hl, comm, MPI) -> list[tuple]:
    import numpy as np

    rows = []
    for size in SIZES:
        array = np.ones(size, dtype=np.float32)
        tensor = hl.from_numpy(array)
        ours, raw, raw_nonblocking = [], [], []
        for _ in range(repeats_for(size)):
            comm.Barrier()
            start = time.perf_counter()
            comm.Allreduce(MPI.IN_PLACE, array, op=MPI.SUM)
            raw.append(time.perf_counter() - start)
            comm.Barrier()
            start = time.perf_counter()
            request = comm.Iallreduce(MPI.IN_PLACE, array, op=MPI.SUM)
            while not request.Test():
                pass
            raw_nonblocking.append(time.perf_counter() - start)
            comm.Barrier()
            start = time.perf_counter()
            dist.all_reduce(tensor)
            ours.append(time.perf_counter() - start)
            array.fill(1)
        rows.append((size, min(raw), min(ours), statistics.median(raw),
                     statistics.median(ours), min(raw_nonblocking)))
    return rows


def lenet_step(hl, model, opt, x, y) -> None:
    opt.zero_grad()
    hl.nn.functional.cross_entropy(model(x), y).backward()
    opt.step()


def bench_lenet(dist, hl, rank: int, steps: int = 30) -> dict:
    from handbook_lib.distributed import work as work_module
    from handbook_lib.vision.models import LeNet5

    hl.manual_seed(0)
    x, y = hl.randn(64, 1, 28, 28), hl.randint(0, 10, (64,))
    single = {}
    if rank == 0:
        model = LeNet5()
        opt = hl.optim.SGD(model.parameters(), lr=0.01)
        times = []
        for _ in range(steps):
            start = time.perf_counter()
            lenet_step(hl, model, opt, x, y)
            times.append(time.perf_counter() - start)
        single["single"] = statistics.median(times[3:])
    dist.barrier()
    model = hl.nn.parallel.DistributedDataParallel(LeNet5())
    opt = hl.optim.SGD(model.parameters(), lr=0.01)
    waited = [0.0]
    original_wait = work_module.Work.wait

    def timed_wait(self, timeout=None):
        start = time.perf_counter()
        try:
            return original_wait(self, timeout)
        finally:
            waited[0] += time.perf_counter() - start

    half = slice(32 * rank, 32 * rank + 32)
    times, waits = [], []
    work_module.Work.wait = timed_wait
    try:
        for _ in range(steps):
            dist.barrier()
            waited[0] = 0.0
            start = time.perf_counter()
            lenet_step(hl, model, opt, x[half], y[half])
            times.append(time.perf_counter() - start)
            waits.append(waited[0])
    finally:
        work_module.Work.wait = original_wait
    params = sum(p.numel() for p in model.parameters())
    flat = hl.zeros(params)
    comm_times = []
    for _ in range(steps):
        dist.barrier()
        start = time.perf_counter()
        dist.all_reduce(flat)
        comm_times.append(time.perf_counter() - start)
    return {**single, "ddp": statistics.median(times[3:]), "waited": statistics.median(waits[3:]),
            "all_reduce": statistics.median(comm_times), "params": params,
            "buckets": len(model._buckets)}


def main() -> None:
    from mpi4py import MPI

    import handbook_lib as hl
    import handbook_lib.distributed as dist

    dist.init_process_group()
    rank = dist.get_rank()
    comm = MPI.COMM_WORLD
    rows = bench_all_reduce(dist, hl, comm, MPI)
    lenet = bench_lenet(dist, hl, rank)
    if rank != 0:
        return
    print("all_reduce, float32, 2 ranks: best of repeats (median in brackets)")
    print(f"{'elements':>10} {'mpi4py Allreduce':>22} {'hl.distributed':>22} {'overhead':>9} "
          f"{'GB/s':>6} {'mpi4py Iallreduce':>18}")
    worst = 0.0
    for size, raw, ours, raw_median, ours_median, nonblocking in rows:
        overhead = ours / raw - 1
        if size >= 1e5:
            worst = max(worst, overhead)
        print(f"{size:>10.0e} {raw * 1e6:>9.1f}us ({raw_median * 1e6:>8.1f}) "
              f"{ours * 1e6:>9.1f}us ({ours_median * 1e6:>8.1f}) {overhead:>+8.1%} "
              f"{size * 4 / ours / 1e9:>6.2f} {nonblocking * 1e6:>16.1f}us")
    print(f"largest overhead from 1e5 elements: {worst:+.1%} (goal <= +10%): "
          f"{'met' if worst <= 0.10 else 'NOT met'}")
    print()
    print("LeNet-5 SGD step, batch 64 (median)")
    print(f"  one process, batch 64:        {lenet['single'] * 1e3:7.2f} ms")
    print(f"  DDP, 2 ranks x 32:            {lenet['ddp'] * 1e3:7.2f} ms "
          f"({lenet['buckets']} bucket(s), {lenet['params']} parameters)")
    print(f"  of which waiting at the end:  {lenet['waited'] * 1e3:7.2f} ms")
    print(f"  all_reduce of all gradients:  {lenet['all_reduce'] * 1e3:7.2f} ms (alone)")


if __name__ == "__main__":
    if "PMI_RANK" not in os.environ:
        sys.exit(relaunch())
    main()
