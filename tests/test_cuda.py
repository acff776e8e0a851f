"""The cuda surface of handbook_lib, on the device axis (stand-in in `make test`, GPU in
`make test-gpu`): creating and moving tensors, devices, and the ops on them."""
from __future__ import annotations

import os
import pathlib

import numpy as np
import pytest

import handbook_lib as hl


def test_tensors_move_to_the_device_and_back(device) -> None:
    x = hl.tensor([1.0, 2.0], device=device)
    assert x.device == hl.device(device) and x.is_cuda == (device != "cpu")
    assert x.cpu().device == hl.device("cpu") and x.tolist() == [1.0, 2.0]
    assert hl.zeros(2, device=device).to("cpu").numpy().tolist() == [0.0, 0.0]


def test_arithmetic_runs_on_the_device(device) -> None:
    x = hl.tensor([1.0, -2.0], device=device, requires_grad=True)
    y = (x * 2 + 1).relu().sum()
    y.backward()
    assert y.device == x.device and x.grad.cpu().numpy().tolist() == [2.0, 0.0]


def test_creation_functions_take_a_device(device) -> None:
    made = [hl.zeros(2, device=device), hl.ones(2, 2, device=device), hl.full((2,), 3.0,
            device=device), hl.empty(3, device=device), hl.arange(3, device=device),
            hl.linspace(0, 1, 5, device=device), hl.eye(2, device=device),
            hl.rand(2, device=device), hl.randn(2, device=device),
            hl.randint(0, 5, (2,), device=device), hl.randperm(4, device=device),
            hl.zeros_like(hl.ones(2), device=device), hl.tensor([1, 2], device=device),
            hl.as_tensor([1.0], device=device), hl.normal(0.0, 1.0, (2,), device=device)]
    for t in made:
        assert t.device == hl.device(device), t


def test_to_other_cuda_cpu_and_device_objects(cuda_backend) -> None:
    x = hl.tensor([1.0, 2.0])
    y = x.cuda()
    assert y.is_cuda and y.device == hl.device("cuda:0") and str(y.device) == "cuda:0"
    assert x.to(y).device == y.device and y.to(x).device == hl.device("cpu")
    assert y.to("cuda", hl.float64).dtype == hl.float64 and y.cpu().tolist() == [1.0, 2.0]
    assert y.to(hl.device("cuda", 0)) is y  # nothing changes: the same tensor
    with pytest.raises(TypeError, match="Tensor.cpu"):
        y.numpy()
    assert "device='cuda:0'" in repr(y)
    z = hl.ones(2, requires_grad=True)
    z.cuda().sum().backward()  # the copy is differentiable, the gradient comes back to the CPU
    assert z.grad.device == hl.device("cpu") and z.grad.tolist() == [1.0, 1.0]


def test_module_to_moves_parameters_buffers_and_grads_optimizer_keeps_working(cuda_backend):
    hl.manual_seed(0)
    model = hl.nn.Sequential(hl.nn.Linear(3, 4), hl.nn.BatchNorm1d(4), hl.nn.Linear(4, 1))
    optimizer = hl.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)  # built on the CPU
    x = hl.randn(5, 3)
    model(x).sum().backward()
    before = [p for p in model.parameters()]
    model.cuda()
    assert [p for p in model.parameters()] == before  # same Parameter objects, moved
    for p in model.parameters():
        assert p.is_cuda and p.grad.is_cuda
    assert all(b.is_cuda for b in model.buffers())
    optimizer.step()
    adam = hl.optim.Adam(model.parameters(), lr=0.01)  # built after the move
    for _ in range(2):
        adam.zero_grad()
        loss = model(x.cuda()).pow(2).mean()
        loss.backward()
        adam.step()
    for state in adam.state.values():
        assert state["exp_avg"].is_cuda and state["exp_avg_sq"].is_cuda
    model.cpu()
    assert not any(p.is_cuda for p in model.parameters())
    assert model(x).device == hl.device("cpu")


def test_dataloader_accepts_pin_memory_and_batches_move(device) -> None:
    from handbook_lib.utils.data import DataLoader, TensorDataset

    data = TensorDataset(hl.arange(10.0).reshape(5, 2), hl.arange(5))
    loader = DataLoader(data, batch_size=2, pin_memory=True)
    batches = [(x.to(device), y.to(device)) for x, y in loader]
    assert [x.device for x, _ in batches] == [hl.device(device)] * 3
    assert batches[0][1].tolist() == [0, 1]


def test_cuda_queries(cuda_backend) -> None:
    assert hl.cuda.is_available() and hl.cuda.device_count() >= 1
    assert hl.cuda.current_device() == 0 and isinstance(hl.cuda.get_device_name(), str)
    hl.cuda.synchronize()
    if hl.cuda.device_count() > 1:
        hl.cuda.set_device(1)
        assert hl.cuda.current_device() == 1 and hl.ones(1, device="cuda").device.index == 1
        hl.cuda.set_device("cuda:0")
    assert hl.cuda.current_device() == 0
    free, total = hl.cuda.mem_get_info()
    assert 0 < free <= total


def test_device_equality_and_hash_are_pytorchs() -> None:
    import torch

    for a, b in [("cuda", "cuda:0"), ("cuda:1", "cuda:1"), ("cuda", "cuda"), ("cpu", "cpu"),
                 ("cuda:0", "cpu")]:
        assert (hl.device(a) == hl.device(b)) == (torch.device(a) == torch.device(b)), (a, b)
        assert (hl.device(a) == b) == (torch.device(a) == b), (a, b)
    assert len({hl.device("cuda"), hl.device("cuda:0"), hl.device("cuda", 0)}) == 2


def _made_on(where: str) -> list:
    return [hl.zeros(2, device=where), hl.ones(2, 2, device=where), hl.empty(3, device=where),
            hl.full((2,), 1.0, device=where), hl.arange(3, device=where),
            hl.linspace(0, 1, 3, device=where), hl.eye(2, device=where),
            hl.randn(2, device=where), hl.tensor([1.0], device=where),
            hl.tril_indices(3, 3, device=where), hl.zeros_like(hl.ones(2, device=where)),
            hl.ones(2).to(where), hl.ones(2).cuda(hl.device(where).index)]


def test_an_index_picks_the_gpu_and_plain_cuda_is_the_current_one(cuda_backend) -> None:
    """As in PyTorch: ``cuda:1`` is the second GPU whichever is current; ``cuda`` the current."""
    if hl.cuda.device_count() < 2:
        pytest.skip("needs two GPUs (the stand-in has two)")
    assert [str(t.device) for t in _made_on("cuda:1")] == ["cuda:1"] * 13
    assert [str(t.device) for t in _made_on("cuda")] == ["cuda:0"] * 13
    with hl.cuda.device(1):
        assert [str(t.device) for t in _made_on("cuda")] == ["cuda:1"] * 13
        assert hl.ones(2, device="cuda:0").to("cuda").device == hl.device("cuda:1")
        assert hl.ones(2, device="cuda:1").to("cuda") is not None
    assert hl.cuda.current_device() == 0


def test_memory_allocated_follows_tensors_and_empty_cache_frees_blocks(cuda_backend) -> None:
    hl.cuda.empty_cache()
    start = hl.cuda.memory_allocated()
    x = hl.zeros(1024, 1024, device="cuda")
    assert hl.cuda.memory_allocated() - start >= 4 * 1024 * 1024
    del x
    assert hl.cuda.memory_allocated() == start
    assert hl.cuda.memory_reserved() >= start
    hl.cuda.empty_cache()
    assert cuda_backend.get_default_memory_pool().n_free_blocks() == 0


def test_out_of_memory_is_pytorch_s_error_naming_the_size(stand_in) -> None:
    pool = stand_in.get_default_memory_pool()
    pool.set_limit(size=256 * 1024**2)
    model = hl.nn.Linear(4096, 4096).cuda()
    with pytest.raises(hl.cuda.OutOfMemoryError,
                       match=r"CUDA out of memory\. .*1,073,741,824 bytes"):
        hl.zeros(2**28, device="cuda")
    with pytest.raises(hl.cuda.OutOfMemoryError, match="CUDA out of memory"):
        model(hl.ones(8192, 4096, device="cuda"))
    assert isinstance(hl.cuda.OutOfMemoryError("x"), RuntimeError)


def test_the_gpu_benchmark_runs_on_the_stand_in(stand_in, capsys) -> None:
    """benchmarks/bench_gpu.py (run by `make test-gpu`) works end to end, with small sizes."""
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).parents[1] / "benchmarks" / "bench_gpu.py"
    spec = importlib.util.spec_from_file_location("bench_gpu", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    results = bench.run(repeats=1, stand_in=True)
    assert [r["name"] for r in results] == [w[0] for w in bench.WORKLOADS]
    assert all(r["ours_ms"] > 0 and r["ratio"] is None for r in results)
    assert "LeNet-5 step, batch 512" in bench.report(results)
    assert bench.main(["--stand-in"]) == 0 and "GPU: CPU stand-in" in capsys.readouterr().out


def test_the_notebook_runner_of_make_test_gpu_checks_the_device(tmp_path) -> None:
    """.ci/run_notebook.py (make test-gpu runs chapter 3.2 with it) runs code cells in order,
    skips magics, writes %%writefile cells, gives cells their own sys.argv, and fails a chapter
    that did not run on the expected device, or whose optimizers all update CPU parameters."""
    import json
    import subprocess
    import sys

    def run(cells: list[str], expect: str) -> subprocess.CompletedProcess:
        notebook = tmp_path / "chapter.ipynb"
        notebook.write_text(json.dumps({"cells": [{"cell_type": "markdown",
                                                   "source": ["# title"]}] + [
            {"cell_type": "code", "source": [cell]} for cell in cells]}))
        runner = str(pathlib.Path(__file__).parents[1] / ".ci" / "run_notebook.py")
        env = {**os.environ, "PYTHONPATH": str(pathlib.Path(__file__).parents[1])}
        return subprocess.run([sys.executable, runner, str(notebook), "--expect-device", expect],
                              capture_output=True, text=True, timeout=120, env=env)

    chapter = ["%matplotlib inline\nimport sys\nimport handbook_lib as hl",
               "%%writefile script.py\nprint('written')",
               "assert sys.argv == ['chapter.ipynb'] and open('script.py').read() == "
               "\"print('written')\\n\"",
               "device = hl.device('cpu')",
               "layer = hl.nn.Linear(2, 1)\ndef train():\n"
               "    hl.optim.SGD(layer.parameters(), lr=0.1)\ntrain()"]
    ok = run(chapter, "cpu")
    assert ok.returncode == 0 and "on cpu" in ok.stdout, ok.stderr
    wrong = run(chapter, "cuda")
    assert wrong.returncode == 1 and "expected the chapter to run on cuda" in wrong.stdout
    cpu_model = run(chapter[:3] + ["device = hl.device('cuda')"] + chapter[4:], "cuda")
    assert cpu_model.returncode == 1, cpu_model.stderr
    assert "optimizers update parameters on ['cpu']" in cpu_model.stdout
