"""One epoch of DataLoader over an MNIST-sized TensorDataset, handbook_lib against PyTorch.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_dataloader.py

Prints the median epoch time of each and the ratio (ours / PyTorch), in the main process and
with two worker processes.
"""
from __future__ import annotations

import statistics
import time

import numpy as np
import torch
import torch.utils.data as tud

import handbook_lib as hl
import handbook_lib.utils.data as hud

N, FEATURES, BATCH, REPEATS = 20_000, 784, 64, 5


def epoch_seconds(lib, data, x: np.ndarray, y: np.ndarray, **kwargs) -> float:
    dataset = data.TensorDataset(lib.from_numpy(x), lib.from_numpy(y))
    loader = data.DataLoader(dataset, batch_size=BATCH, shuffle=True, **kwargs)
    start = time.perf_counter()
    for _ in loader:
        pass
    return time.perf_counter() - start


def main() -> None:
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    x = rng.random((N, FEATURES), dtype=np.float32)
    y = rng.integers(0, 10, N)
    for kwargs in ({"num_workers": 0}, {"num_workers": 2}):
        ours = statistics.median(epoch_seconds(hl, hud, x, y, **kwargs) for _ in range(REPEATS))
        theirs = statistics.median(epoch_seconds(torch, tud, x, y, **kwargs)
                                   for _ in range(REPEATS))
        print(f"{kwargs}: handbook_lib {ours * 1e3:.0f} ms, PyTorch {theirs * 1e3:.0f} ms, "
              f"ratio {ours / theirs:.2f}")


if __name__ == "__main__":
    main()
