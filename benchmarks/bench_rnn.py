"""Recurrent layers: handbook_lib against PyTorch, one thread each, same process, as ratios.

    .venv/bin/python benchmarks/bench_rnn.py           # everything
    .venv/bin/python benchmarks/bench_rnn.py --quick   # fewer repeats

1. The word-language-model shape: ``nn.LSTM(128, 256)``, T=35, B=20, forward + backward of the
   sum of the outputs (targets: at most 1.3× PyTorch); the same for ``nn.GRU``; 2 layers too.
2. The sin→cos shape: ``nn.LSTM(1, 32)`` + ``Linear(32, 1)``, MSE loss, a full Adam step at
   T=50, B=32 (target: at most 1.5×), and at T=10, B=1.
3. A hand-written loop of ``nn.LSTMCell`` over T=35 (the word-language-model sizes).

Same weights in both libraries, float32. Median of interleaved repeats (load from other processes
hits both alike), wall clock and CPU time.
"""
from __future__ import annotations

import os
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # this checkout

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from typing import Callable  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

import handbook_lib as hl  # noqa: E402

LIBS = {"handbook_lib": hl, "PyTorch": torch}


def interleaved(runs: dict[str, Callable[[], None]], steps: int, repeats: int) -> dict:
    """Median milliseconds per call of each run (wall clock, CPU time), taking turns."""
    for run in runs.values():
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


def report(title: str, ms: dict) -> float:
    (ours, ours_cpu), (theirs, theirs_cpu) = ms["handbook_lib"], ms["PyTorch"]
    print(f"{title:<44} handbook_lib {ours:7.2f} ms  PyTorch {theirs:7.2f} ms  ratio "
          f"{ours / theirs:5.2f}   (CPU time ratio {ours_cpu / theirs_cpu:5.2f})", flush=True)
    return ours / theirs


def same_weights(ours, theirs) -> None:
    ours.load_state_dict({k: hl.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})


def layer_pair(kind: str, *args, **kwargs) -> dict:
    torch.manual_seed(0)
    theirs = getattr(torch.nn, kind)(*args, **kwargs)
    ours = getattr(hl.nn, kind)(*args, **kwargs)
    same_weights(ours, theirs)
    return {"handbook_lib": ours, "PyTorch": theirs}


def bench_layer(kind: str, num_layers: int, steps: int, repeats: int) -> float:
    """Forward + backward of ``kind(128, 256)`` over T=35, B=20."""
    layers = layer_pair(kind, 128, 256, num_layers=num_layers)
    x = np.random.default_rng(0).standard_normal((35, 20, 128)).astype(np.float32)
    inputs = {name: LIBS[name].tensor(x, requires_grad=True) for name in LIBS}

    def run(name):
        layer, xs = layers[name], inputs[name]
        layer.zero_grad()
        xs.grad = None
        out, _ = layer(xs)
        out.sum().backward()

    return report(f"{kind}(128, 256, layers={num_layers}) T=35 B=20 fwd+bwd",
                  interleaved({n: (lambda n=n: run(n)) for n in LIBS}, steps, repeats))


def bench_sin_cos(seq_len: int, batch: int, steps: int, repeats: int) -> float:
    """A full Adam step of LSTM(1, 32) + Linear(32, 1) with MSE on (T, B, 1) data."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((seq_len, batch, 1)).astype(np.float32)
    y = rng.standard_normal((seq_len, batch, 1)).astype(np.float32)
    setups = {}
    lstm = layer_pair("LSTM", 1, 32)
    head = layer_pair("Linear", 32, 1)
    for name, lib in LIBS.items():
        params = list(lstm[name].parameters()) + list(head[name].parameters())
        setups[name] = (lib, lstm[name], head[name], lib.optim.Adam(params, lr=1e-3),
                        lib.tensor(x), lib.tensor(y))

    def run(name):
        lib, rnn, linear, opt, xs, ys = setups[name]
        opt.zero_grad()
        out, _ = rnn(xs)
        loss = lib.nn.functional.mse_loss(linear(out), ys)
        loss.backward()
        opt.step()

    return report(f"LSTM(1, 32)+Linear Adam step T={seq_len} B={batch}",
                  interleaved({n: (lambda n=n: run(n)) for n in LIBS}, steps, repeats))


def bench_cell_loop(steps: int, repeats: int) -> float:
    """LSTMCell(128, 256) stepped by hand over T=35, B=20, forward + backward."""
    cells = layer_pair("LSTMCell", 128, 256)
    x = np.random.default_rng(2).standard_normal((35, 20, 128)).astype(np.float32)
    inputs = {name: LIBS[name].tensor(x, requires_grad=True) for name in LIBS}

    def run(name):
        cell, xs = cells[name], inputs[name]
        cell.zero_grad()
        xs.grad = None
        state, outputs = None, []
        for x_t in xs.unbind(0):
            state = cell(x_t, state)
            outputs.append(state[0])
        LIBS[name].stack(outputs).sum().backward()

    return report("LSTMCell(128, 256) loop T=35 B=20 fwd+bwd",
                  interleaved({n: (lambda n=n: run(n)) for n in LIBS}, steps, repeats))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    repeats = 5 if args.quick else 11
    torch.set_num_threads(1)
    with threadpool_limits(1):
        bench_layer("LSTM", 1, 5, repeats)
        bench_layer("GRU", 1, 5, repeats)
        bench_layer("LSTM", 2, 3, repeats)
        bench_layer("GRU", 2, 3, repeats)
        bench_sin_cos(50, 32, 10, repeats)
        bench_sin_cos(10, 1, 30, repeats)
        bench_cell_loop(3, repeats)


if __name__ == "__main__":
    main()
