"""handbook_lib on the GPU (cupy) against PyTorch CUDA, same process, as ratios.

    python benchmarks/bench_gpu.py             # on a machine with an NVIDIA GPU (make test-gpu)
    python benchmarks/bench_gpu.py --quick     # fewer repeats
    python benchmarks/bench_gpu.py --stand-in  # the CPU stand-in for cupy (tests only: checks
                                               # that the script runs, its times mean nothing)

1. matmul 4096×4096 float32;
2. an MLP training step (784-256-10, ReLU, cross-entropy, SGD with momentum) at batch 256;
3. a LeNet-5 training step at batch 64 and at batch 512;
4. conv2d forward+backward (batch 32, 16→32 channels, 28×28, 3×3, padding 1).

Each time is the median of repeats, with the GPU synchronised before and after
(``hl.cuda.synchronize()`` / ``torch.cuda.synchronize()``), after warm-up steps (cupy compiles
its kernels on first use). Prints milliseconds and handbook_lib / PyTorch. Without torch CUDA
only handbook_lib's times are printed; without a GPU the script says so and exits 0.
"""
from __future__ import annotations

import argparse
import pathlib
import statistics
import sys
import time
from typing import Callable

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # this checkout's library

import handbook_lib as hl  # noqa: E402
from handbook_lib.vision.models import LeNet5  # noqa: E402


def _torch_cuda():
    """torch if it is installed with CUDA and sees a GPU, else None."""
    try:
        import torch
    except ImportError:
        return None
    return torch if torch.cuda.is_available() else None


def timed(step: Callable[[], object], sync: Callable[[], None], repeats: int,
          warmup: int = 3) -> float:
    """Median milliseconds of ``step()``, synchronising the device around each run."""
    for _ in range(warmup):
        step()
    sync()
    times = []
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        step()
        sync()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


# --- the workloads, written once for either library (their APIs match) ----------------------------
def matmul_step(lib, device, size: int):
    a = lib.randn(size, size, device=device)
    b = lib.randn(size, size, device=device)
    return lambda: a @ b


def _training_step(lib, model, x, y, momentum: float = 0.9):
    optimizer = lib.optim.SGD(model.parameters(), lr=0.01, momentum=momentum)
    loss_fn = lib.nn.CrossEntropyLoss()

    def step():
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    return step


def mlp_step(lib, device, batch: int):
    nn = lib.nn
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10)).to(device)
    x = lib.randn(batch, 784, device=device)
    y = lib.randint(0, 10, (batch,), device=device)
    return _training_step(lib, model, x, y)


def lenet_step(lib, device, batch: int):
    model = (LeNet5() if lib is hl else _torch_lenet(lib)).to(device)
    x = lib.randn(batch, 1, 28, 28, device=device)
    y = lib.randint(0, 10, (batch,), device=device)
    return _training_step(lib, model, x, y)


def _torch_lenet(torch):
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5),
        nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16 * 4 * 4, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def conv_step(lib, device, batch: int):
    conv = lib.nn.Conv2d(16, 32, 3, padding=1).to(device)
    x = lib.randn(batch, 16, 28, 28, device=device, requires_grad=True)

    def step():
        conv(x).sum().backward()

    return step


WORKLOADS = [
    ("matmul 4096² float32", matmul_step, 4096),
    ("MLP 784-256-10 step, batch 256", mlp_step, 256),
    ("LeNet-5 step, batch 64", lenet_step, 64),
    ("LeNet-5 step, batch 512", lenet_step, 512),
    ("conv2d 16→32 3×3 fwd+bwd, batch 32", conv_step, 32),
]
QUICK_SIZES = {4096: 256, 512: 128}  # --stand-in shrinks the big cases (numpy does the work)


def run(repeats: int, stand_in: bool = False) -> list[dict]:
    """Time every workload; a list of ``{name, ours_ms, torch_ms, ratio}``."""
    torch = None if stand_in else _torch_cuda()
    results = []
    for name, make, size in WORKLOADS:
        if stand_in:
            size = QUICK_SIZES.get(size, size)
        hl.manual_seed(0)
        ours = timed(make(hl, "cuda", size), hl.cuda.synchronize, repeats)
        theirs = None
        if torch is not None:
            torch.manual_seed(0)
            theirs = timed(make(torch, "cuda", size), torch.cuda.synchronize, repeats)
        results.append({"name": name, "ours_ms": ours, "torch_ms": theirs,
                        "ratio": None if theirs is None else ours / theirs})
    return results


def report(results: list[dict]) -> str:
    lines = [f"{'workload':38s} {'handbook_lib':>13s} {'torch CUDA':>11s} {'ratio':>6s}"]
    for r in results:
        theirs = "-" if r["torch_ms"] is None else f"{r['torch_ms']:9.3f}ms"
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:5.2f}×"
        lines.append(f"{r['name']:38s} {r['ours_ms']:11.3f}ms {theirs:>11s} {ratio:>6s}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--stand-in", action="store_true",
                        help="run on tests/fake_cupy (to test this script without a GPU)")
    args = parser.parse_args(argv)
    if args.stand_in:
        sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests" /
                               "fake_cupy"))
    if not hl.cuda.is_available():
        print("no CUDA GPU (or no cupy): nothing to measure. On a GPU machine: "
              "pip install -r requirements-gpu.txt, then make test-gpu")
        return 0
    print(f"GPU: {hl.cuda.get_device_name()}")
    print(report(run(3 if args.quick or args.stand_in else 20, stand_in=args.stand_in)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
