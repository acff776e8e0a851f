"""MLP 784-256-10 training step (zero_grad, forward, cross-entropy, backward, SGD step):
handbook_lib against PyTorch, one thread each, same process, interleaved repeats; prints the
medians and their ratio (handbook_lib / PyTorch).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_mlp.py
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

import handbook_lib as hl  # noqa: E402
import handbook_lib.optim  # noqa: E402,F401
from handbook_lib import nn  # noqa: E402

LR, STEPS, REPEATS = 0.01, 50, 15


def make_model(lib):
    return lib.nn.Sequential(lib.nn.Linear(784, 256), lib.nn.ReLU(), lib.nn.Linear(256, 10))


def train_step(optimizer, model, loss_fn, x, y) -> None:
    """One step, as a reader writes it."""
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()


def time_steps(optimizer, model, loss_fn, x, y) -> float:
    """Mean time of STEPS steps, in milliseconds."""
    start = time.perf_counter()
    for _ in range(STEPS):
        train_step(optimizer, model, loss_fn, x, y)
    return (time.perf_counter() - start) / STEPS * 1e3


def bench(batch: int) -> tuple[float, float]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 784), dtype=np.float32)
    y = rng.integers(0, 10, batch)
    ours = make_model(hl)
    theirs = make_model(torch)
    ours.load_state_dict({k: hl.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    runs = {"ours": (hl.optim.SGD(ours.parameters(), lr=LR), ours, nn.CrossEntropyLoss(),
                     hl.tensor(x), hl.tensor(y)),
            "theirs": (torch.optim.SGD(theirs.parameters(), lr=LR), theirs,
                       torch.nn.CrossEntropyLoss(), torch.from_numpy(x), torch.from_numpy(y))}
    times: dict[str, list] = {"ours": [], "theirs": []}
    for name, args in runs.items():  # warm-up
        for _ in range(5):
            train_step(*args)
    for _ in range(REPEATS):  # interleaved, so that load from other processes hits both alike
        for name, args in runs.items():
            times[name].append(time_steps(*args))
    return statistics.median(times["ours"]), statistics.median(times["theirs"])


def main() -> None:
    torch.set_num_threads(1)
    with threadpool_limits(limits=1):
        print(f"{'batch':>6} {'handbook_lib ms':>16} {'PyTorch ms':>11} {'ratio':>6}")
        for batch in (64, 256):
            ours, theirs = bench(batch)
            print(f"{batch:>6} {ours:>16.3f} {theirs:>11.3f} {ours / theirs:>6.2f}")


if __name__ == "__main__":
    main()
