"""Per-op overhead of the core against PyTorch: one thread, same process, median of repeats.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_core.py

1. A tiny add, shape (4,), with requires_grad: forward only (the cost of one recorded op).
2. A 200-op chain (mul, add, tanh alternating) on shape (4,): forward, and backward alone
   (the graphs are built before the timed loop).
3. 1024×1024 float32 matmul: handbook_lib against numpy's ``@`` (and PyTorch for reference).
4. A second derivative through the chain (autograd.grad with create_graph=True, then backward
   of the gradient), shown without a goal.

Repeats are interleaved (ours, theirs, ours, ...) so that load from other processes hits both
alike. Goals: forward within 3× PyTorch, the chain's backward no slower than PyTorch's, matmul
within 5% of numpy.
"""
from __future__ import annotations

import os
import statistics
import time
from typing import Callable

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

import handbook_lib as hl  # noqa: E402

CHAIN = 200


def per_call(fn: Callable[[], object], number: int) -> float:
    """Seconds per call of ``fn``, averaged over ``number`` calls."""
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - start) / number


def compare(fns: dict, number: int, repeats: int) -> dict:
    """Median seconds per call of each function, repeats interleaved."""
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            times[name].append(per_call(fn, number))
    return {name: statistics.median(ts) for name, ts in times.items()}


def chain(x):
    y = x
    for i in range(CHAIN // 3):
        y = (y * 1.01 + 0.1).tanh()
    return y.sum()


def backward_seconds(lib, number: int, create_graph: bool = False) -> float:
    """Seconds per backward of the chain; the graphs are built beforehand, outside the timing."""
    x = lib.ones(4, requires_grad=True)
    graphs = [chain(x) for _ in range(number)]
    start = time.perf_counter()
    for y in graphs:
        if create_graph:
            (g,) = lib.autograd.grad(y, x, create_graph=True)
            g.sum().backward()
        else:
            y.backward()
    return (time.perf_counter() - start) / number


def compare_backward(number: int, repeats: int, create_graph: bool = False) -> dict:
    times = {"ours": [], "torch": []}
    for _ in range(repeats):
        times["ours"].append(backward_seconds(hl, number, create_graph))
        times["torch"].append(backward_seconds(torch, number, create_graph))
    return {name: statistics.median(ts) for name, ts in times.items()}


def report(title: str, ours: float, theirs: float, unit: str, goal: str) -> None:
    scale = {"us": 1e6, "ms": 1e3}[unit]
    print(f"{title:<44} handbook_lib {ours * scale:9.2f} {unit}   reference {theirs * scale:9.2f} "
          f"{unit}   ratio {ours / theirs:5.2f}   ({goal})")


def main() -> None:
    torch.set_num_threads(1)
    a_h, b_h = hl.ones(4, requires_grad=True), hl.ones(4)
    a_t, b_t = torch.ones(4, requires_grad=True), torch.ones(4)
    t = compare({"ours": lambda: a_h + b_h, "torch": lambda: a_t + b_t}, 20_000, 7)
    report("add (4,), requires_grad, forward", t["ours"], t["torch"], "us", "goal ≤ 3")

    x_h, x_t = hl.ones(4, requires_grad=True), torch.ones(4, requires_grad=True)
    t = compare({"ours": lambda: chain(x_h), "torch": lambda: chain(x_t)}, 50, 7)
    forward = t
    report(f"{CHAIN}-op chain, forward", t["ours"], t["torch"], "ms", "shown")
    t = compare_backward(50, 9)
    report(f"{CHAIN}-op chain, backward", t["ours"], t["torch"], "ms", "goal ≤ 1")
    report(f"{CHAIN}-op chain, forward + backward", forward["ours"] + t["ours"],
           forward["torch"] + t["torch"], "ms", "shown")
    t2 = compare_backward(20, 5, create_graph=True)
    report(f"{CHAIN}-op chain, grad + 2nd backward (create_graph)", t2["ours"], t2["torch"],
           "ms", "shown")

    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((1024, 1024), dtype=np.float32) for _ in range(2))
    ha, hb, ta, tb = hl.from_numpy(a), hl.from_numpy(b), torch.from_numpy(a), torch.from_numpy(b)
    t = compare({"ours": lambda: ha @ hb, "numpy": lambda: a @ b, "torch": lambda: ta @ tb}, 5, 7)
    report("matmul 1024² float32 vs numpy", t["ours"], t["numpy"], "ms", "goal ≤ 1.05")
    report("matmul 1024² float32 vs PyTorch", t["ours"], t["torch"], "ms", "shown")
    assert (ha @ hb).dtype == hl.float32


if __name__ == "__main__":
    main()
