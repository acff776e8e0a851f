"""LeNet-5 on MNIST-shaped data: handbook_lib against PyTorch, one thread each, same process.

    .venv/bin/python benchmarks/bench_lenet.py           # training step, conv2d, one epoch
    .venv/bin/python benchmarks/bench_lenet.py --quick   # without the epoch

1. A training step at batch 64 (1×28×28 → conv 6@5×5 → ReLU → max-pool 2 → conv 16@5×5 → ReLU →
   max-pool 2 → 120 → 84 → 10, cross-entropy, each library's optim.SGD with momentum 0.9):
   median of interleaved repeats, so that load from other processes hits both alike.
2. conv2d alone, batch 32, 16→32 channels, 28×28, 3×3 (padding 1): forward, and forward+backward.
3. One epoch: 60,000 random samples in batches of 64 (938 steps) for each library, the two
   taking turns every 47 steps.

Prints milliseconds and the ratio handbook_lib / PyTorch, by the wall clock and in CPU time.
``HANDBOOK_LIB_KEEP_FREED_MEMORY=0`` measures without the allocator setting of handbook_lib._memory.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from typing import Callable  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

import handbook_lib as hl  # noqa: E402
from handbook_lib._memory import keep_freed_memory  # noqa: E402
from handbook_lib.vision.models import LeNet5  # noqa: E402

LR, MOMENTUM, BATCH = 0.01, 0.9, 64
STEPS, REPEATS = 20, 15


class TorchLeNet5(torch.nn.Module):
    """The same network in PyTorch (same module names, so state_dicts are interchangeable)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 6, 5)
        self.conv2 = torch.nn.Conv2d(6, 16, 5)
        self.fc1 = torch.nn.Linear(16 * 4 * 4, 120)
        self.fc2 = torch.nn.Linear(120, 84)
        self.fc3 = torch.nn.Linear(84, 10)

    def forward(self, x):
        F = torch.nn.functional
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.fc1(x.flatten(1)))
        return self.fc3(F.relu(self.fc2(x)))


class Trainer:
    """A model, its SGD-with-momentum optimizer and one training step, for either library."""

    def __init__(self, lib, model) -> None:
        self.lib, self.model = lib, model
        self.optimizer = lib.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)

    def step(self, x, y) -> None:
        self.optimizer.zero_grad()
        loss = self.lib.nn.functional.cross_entropy(self.model(x), y)
        loss.backward()
        self.optimizer.step()


def make_trainers() -> dict:
    torch.manual_seed(0)
    theirs = TorchLeNet5()
    ours = LeNet5()
    ours.load_state_dict({k: hl.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    return {"handbook_lib": Trainer(hl, ours), "PyTorch": Trainer(torch, theirs)}


def interleaved(runs: dict[str, Callable[[], None]], steps: int = STEPS,
                repeats: int = REPEATS) -> dict[str, tuple]:
    """Median milliseconds per call of each run, wall-clock and CPU time, timing the runs in
    turn ``repeats`` times. (CPU time is the steadier of the two on a machine others share.)"""
    for run in runs.values():  # warm-up
        for _ in range(3):
            run()
    times: dict[str, list] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(steps):
                run()
            times[name].append(((time.perf_counter() - wall) / steps * 1e3,
                                (time.process_time() - cpu) / steps * 1e3))
    return {name: tuple(statistics.median(column) for column in zip(*t))
            for name, t in times.items()}


def report(title: str, ms: dict[str, tuple], unit: str = "ms") -> None:
    (ours, ours_cpu), (theirs, theirs_cpu) = ms["handbook_lib"], ms["PyTorch"]
    print(f"{title:<34} handbook_lib {ours:8.2f} {unit}  PyTorch {theirs:8.2f} {unit}  ratio "
          f"{ours / theirs:5.2f}   (CPU time: {ours_cpu:8.2f} / {theirs_cpu:8.2f}, ratio "
          f"{ours_cpu / theirs_cpu:5.2f})")


def bench_step() -> None:
    rng = np.random.default_rng(0)
    x = rng.random((BATCH, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, BATCH)
    trainers = make_trainers()
    data = {"handbook_lib": (hl.tensor(x), hl.tensor(y)),
            "PyTorch": (torch.from_numpy(x), torch.from_numpy(y))}
    report("LeNet-5 training step (batch 64)",
           interleaved({name: (lambda t=t, d=data[name]: t.step(*d))
                        for name, t in trainers.items()}))


def bench_conv() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 16, 28, 28), dtype=np.float32)
    w = rng.standard_normal((32, 16, 3, 3), dtype=np.float32)
    b = rng.standard_normal(32, dtype=np.float32)
    libs = {"handbook_lib": hl, "PyTorch": torch}
    args = {name: [lib.tensor(a) for a in (x, w, b)] for name, lib in libs.items()}

    def forward(lib, xs):
        with lib.no_grad():
            lib.nn.functional.conv2d(*xs, padding=1)

    def forward_backward(lib, xs):
        for t in xs:
            t.grad = None
            t.requires_grad_(True)
        lib.nn.functional.conv2d(*xs, padding=1).sum().backward()

    report("conv2d forward (32x16x28x28, 3x3)",
           interleaved({n: (lambda lib=lib, a=args[n]: forward(lib, a))
                        for n, lib in libs.items()}, steps=5, repeats=9))
    report("conv2d forward+backward",
           interleaved({n: (lambda lib=lib, a=args[n]: forward_backward(lib, a))
                        for n, lib in libs.items()}, steps=3, repeats=9))


def bench_epoch(samples: int = 60_000, chunk: int = 47) -> None:
    """Both libraries train one epoch each on the same batches, taking turns every ``chunk``
    steps (interleaved like the other timings); the times of each library's turns are summed."""
    rng = np.random.default_rng(1)
    x = rng.random((samples, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, samples)
    trainers = make_trainers()
    batches = {name: [(t.lib.tensor(x[i:i + BATCH]), t.lib.tensor(y[i:i + BATCH]))
                      for i in range(0, samples, BATCH)] for name, t in trainers.items()}
    seconds = {name: [0.0, 0.0] for name in trainers}
    for start in range(0, len(batches["PyTorch"]), chunk):
        for name, trainer in trainers.items():
            wall, cpu = time.perf_counter(), time.process_time()
            for xb, yb in batches[name][start:start + chunk]:
                trainer.step(xb, yb)
            seconds[name][0] += time.perf_counter() - wall
            seconds[name][1] += time.process_time() - cpu
    report(f"one epoch ({samples:,} samples)", seconds, unit="s ")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the full epoch")
    args = parser.parse_args()
    torch.set_num_threads(1)
    kept = keep_freed_memory()  # HANDBOOK_LIB_KEEP_FREED_MEMORY=0 opts out
    print(f"glibc keeps freed memory (handbook_lib._memory): {kept}")
    with threadpool_limits(limits=1):
        bench_step()
        bench_conv()
        if not args.quick:
            bench_epoch()


if __name__ == "__main__":
    main()
