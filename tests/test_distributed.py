"""handbook_lib.distributed, DistributedDataParallel, DataParallel, DistributedSampler,
hl.multiprocessing and the launcher.

The multi-process checks run scripts from tests/mpi_scripts under ``mpiexec -n 2`` and ``-n 3``
(the mpich wheel's), each with a hard timeout that kills the whole process group, so a hang
fails the test instead of CI. The rest runs in this process.
"""
from __future__ import annotations

import copy
import os
import pathlib
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

import handbook_lib as hl
import handbook_lib.distributed as dist
import handbook_lib.multiprocessing as hmp
from handbook_lib import nn
from handbook_lib.distributed import run as launcher
from handbook_lib.utils.data import DistributedSampler

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import mp_targets  # noqa: E402  (spawned processes import it by this name)

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "tests" / "mpi_scripts"
MPIEXEC = launcher.find_mpiexec()


def run_job(command: list[str], timeout: float = 90) -> tuple[int, str, float]:
    """Run ``command`` in its own session; kill the whole session if it outlives ``timeout``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    start = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env=env, cwd=ROOT, start_new_session=True)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        pytest.fail(f"{command} did not finish within {timeout} s (a hang):\n{output}")
    return process.returncode, output, time.monotonic() - start


def mpirun(n: int, script: str, *args: str, timeout: float = 90) -> tuple[int, str, float]:
    return run_job([MPIEXEC, "-n", str(n), sys.executable, str(SCRIPTS / script), *args],
                   timeout)


# --- under mpiexec ---------------------------------------------------------------------------
@pytest.mark.parametrize("n", [2, 3])
def test_collectives_against_numpy_every_dtype(n):
    code, output, _ = mpirun(n, "collectives.py", "cpu")
    assert code == 0 and f"collectives ok {n} cpu" in output, output


def test_collectives_of_cuda_tensors_are_staged_through_the_host():
    code, output, _ = mpirun(2, "collectives.py", "cuda")
    assert code == 0 and "collectives ok 2 cuda" in output, output


def test_collectives_write_back_on_the_tensors_gpu_not_the_current_one():
    code, output, _ = mpirun(2, "collectives.py", "cuda:1")
    assert code == 0 and "collectives ok 2 cuda:1" in output, output


@pytest.mark.parametrize("n", [2, 3])
def test_ddp_equals_single_process_no_sync_overlap_unused_shapes(n):
    code, output, _ = mpirun(n, "ddp.py")
    assert code == 0 and f"ddp ok {n}" in output, output


def test_dataloader_workers_inside_mpi_ranks():
    code, output, _ = mpirun(2, "dataloader_workers.py")
    assert code == 0 and "loader ok 2" in output, output


def test_exception_on_a_rank_aborts_the_job_with_its_traceback():
    code, output, seconds = mpirun(2, "faults.py", "raise", timeout=60)
    assert code != 0
    assert "[rank 1] uncaught exception, aborting all 2 ranks" in output
    assert "ValueError: deliberate failure on rank 1" in output
    assert "should not have" not in output and seconds < 30


def test_stopped_rank_makes_the_others_fail_within_the_timeout_naming_it():
    code, output, seconds = mpirun(2, "faults.py", "stop", timeout=60)
    assert code != 0, output
    assert "all_reduce timed out after 2 s on rank 0" in output
    assert "rank 1 (pid" in output and "is stopped" in output
    assert seconds < 30


def test_stuck_rank_makes_the_others_fail_within_the_timeout_naming_it():
    code, output, seconds = mpirun(3, "faults.py", "stuck", timeout=60)
    assert code != 0 and "all_reduce timed out after 2 s" in output and seconds < 30
    assert "rank 1 (pid" in output and "is running but has not reached this collective" in output
    assert "(it has started 1 collectives in this group, this rank 2)" in output


def test_killed_rank_ends_the_job_and_the_launcher_names_it():
    command = [sys.executable, "-m", "handbook_lib.distributed.run", "--nproc-per-node", "2",
               str(SCRIPTS / "faults.py"), "kill"]
    code, output, seconds = run_job(command, timeout=60)
    assert code != 0 and seconds < 30
    assert "rank 1 (pid" in output and "killed by signal 9 (SIGKILL)" in output, output


def test_launcher_sets_pytorchs_variables_and_passes_arguments(tmp_path):
    script = tmp_path / "show_env.py"
    script.write_text(
        "import os, sys\n"
        "import handbook_lib.distributed as dist\n"
        "dist.init_process_group(backend='gloo', init_method='env://')\n"
        "names = ['RANK', 'LOCAL_RANK', 'WORLD_SIZE', 'LOCAL_WORLD_SIZE']\n"
        "values = [os.environ[k] for k in names]\n"
        "assert int(values[0]) == dist.get_rank()\n"
        "line = ' '.join(['env', *values, *sys.argv[1:]]) + '\\n'\n"
        "os.write(1, line.encode())  # one write: the two ranks share the pipe\n")
    command = [sys.executable, "-m", "handbook_lib.distributed.run", "--nproc-per-node", "2",
               str(script), "--lr", "0.1"]
    code, output, _ = run_job(command, timeout=60)
    assert code == 0, output
    assert "env 0 0 2 2 --lr 0.1" in output and "env 1 1 2 2 --lr 0.1" in output
    assert output.count("backend 'gloo' runs on MPI") == 1  # said once, by rank 0


def test_world_size_asked_for_without_mpiexec_is_a_clear_error(tmp_path):
    script = tmp_path / "alone.py"
    script.write_text("import handbook_lib.distributed as dist\n"
                      "dist.init_process_group(world_size=2, rank=0)\n")
    code, output, _ = run_job([sys.executable, str(script)], timeout=60)
    assert code != 0 and "not started as one of 2 MPI ranks" in output
    assert "handbook_lib.distributed.run --nproc-per-node" in output


def test_one_process_is_a_world_of_one(tmp_path):
    script = tmp_path / "one.py"
    script.write_text("import handbook_lib as hl, handbook_lib.distributed as dist\n"
                      "dist.init_process_group()\n"
                      "t = hl.tensor([1, 2]); dist.all_reduce(t)\n"
                      "try:\n    dist.init_process_group()\n"
                      "except ValueError as e:\n    print(e)\n"
                      "print(dist.get_rank(), dist.get_world_size(), t.tolist())\n")
    code, output, _ = run_job([sys.executable, str(script)], timeout=60)
    assert code == 0, output
    assert "trying to initialize the default process group twice!" in output
    assert "0 1 [1, 2]" in output


# --- before init_process_group ---------------------------------------------------------------
NOT_INITIALIZED = ("Default process group has not been initialized, please make sure to call "
                   "init_process_group.")


@pytest.mark.parametrize("call", [
    lambda d: d.all_reduce(d.__dict__["_t"]), lambda d: d.get_rank(),
    lambda d: d.get_world_size(), lambda d: d.barrier(), lambda d: d.broadcast(d.__dict__["_t"]),
])
def test_collective_before_init_is_pytorchs_error(call):
    dist.__dict__["_t"] = hl.ones(2)
    with pytest.raises(ValueError) as ours:
        call(dist)
    torch.distributed.__dict__["_t"] = torch.ones(2)
    with pytest.raises(ValueError) as theirs:
        call(torch.distributed)
    assert str(ours.value) == str(theirs.value) == NOT_INITIALIZED
    assert not dist.is_initialized() and dist.is_available()


def test_ddp_and_sampler_before_init():
    with pytest.raises(ValueError, match="has not been initialized"):
        nn.parallel.DistributedDataParallel(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="has not been initialized"):
        DistributedSampler(list(range(4)))


def test_reduce_op_and_backend_names_match_pytorch():
    for name in ["SUM", "AVG", "PRODUCT", "MIN", "MAX"]:
        assert repr(getattr(dist.ReduceOp, name)) == repr(getattr(torch.distributed.ReduceOp,
                                                                   name))
    assert dist.Backend("GLOO") == "gloo"
    with pytest.raises(ValueError, match="Invalid backend"):
        dist.Backend("tcp")


# --- post-accumulate-grad hooks ----------------------------------------------------------------
def _hook_trace(lib):
    lib.manual_seed(0)
    w = lib.ones(3, requires_grad=True)
    b = lib.ones(1, requires_grad=True)
    seen = []
    w.register_post_accumulate_grad_hook(lambda p: seen.append(("w", p.grad.tolist())))
    handle = b.register_post_accumulate_grad_hook(lambda p: seen.append(("b", p.grad.tolist())))
    x = lib.tensor([1.0, 2.0, 3.0])
    ((w * x).sum() + b * 2).sum().backward()
    handle.remove()
    ((w * x).sum() + b).sum().backward()
    lib.autograd.grad((w * x).sum(), w)  # no accumulation, so no hook
    return seen


def test_post_accumulate_grad_hook_matches_pytorch():
    assert _hook_trace(hl) == _hook_trace(torch)


def test_post_accumulate_grad_hook_errors():
    for lib in (hl, torch):
        with pytest.raises(RuntimeError) as error:
            lib.ones(2).register_post_accumulate_grad_hook(lambda p: None)
        assert "doesn't require gradient" in str(error.value)
        with pytest.raises(RuntimeError) as error:
            (lib.ones(2, requires_grad=True) * 2).register_post_accumulate_grad_hook(print)
        assert "non-leaf tensors" in str(error.value)


# --- DistributedSampler --------------------------------------------------------------------
@pytest.mark.parametrize("length", [1, 3, 10, 11, 12])
@pytest.mark.parametrize("replicas", [1, 2, 3, 4, 7])
@pytest.mark.parametrize("drop_last", [False, True])
def test_sampler_without_shuffle_is_pytorchs_indices(length, replicas, drop_last):
    from torch.utils.data.distributed import DistributedSampler as TorchSampler

    data = list(range(length))
    for rank in range(replicas):
        ours = DistributedSampler(data, replicas, rank, shuffle=False, drop_last=drop_last)
        theirs = TorchSampler(data, replicas, rank, shuffle=False, drop_last=drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)
        assert ours.total_size == theirs.total_size


@pytest.mark.parametrize("length,replicas,drop_last", [(10, 3, False), (10, 3, True),
                                                       (2, 5, False)])
def test_sampler_shuffle_rules(length, replicas, drop_last):
    def shares(epoch):
        samplers = [DistributedSampler(range(length), replicas, r, seed=7, drop_last=drop_last)
                    for r in range(replicas)]
        for s in samplers:
            s.set_epoch(epoch)
        return [list(s) for s in samplers]

    first, again, later = shares(0), shares(0), shares(1)
    assert first == again  # a function of seed + epoch only: the same on every rank
    assert first != later  # set_epoch reshuffles
    flat = [i for share in first for i in share]
    expected_len = (length // replicas) if drop_last else -(-length // replicas)
    assert all(len(share) == expected_len for share in first)
    if drop_last:
        assert len(set(flat)) == len(flat)  # disjoint
    else:
        assert set(flat) == set(range(length))  # everything, padded by repetition
    interleaved = [first[r][k] for k in range(expected_len) for r in range(replicas)]
    generator = hl.Generator().manual_seed(7)
    permutation = hl.randperm(length, generator=generator).tolist()
    padded = (permutation * replicas)[:expected_len * replicas]
    assert interleaved == padded  # strided split of the seeded permutation


def test_sampler_bad_rank_is_pytorchs_error():
    with pytest.raises(ValueError, match=r"Invalid rank 2, rank should be in the interval"):
        DistributedSampler(range(4), num_replicas=2, rank=2)
    assert hl.utils.data.DistributedSampler is DistributedSampler


# --- DataParallel ----------------------------------------------------------------------------
def test_data_parallel_without_gpus_runs_the_module_unchanged():
    hl.manual_seed(0)
    model = nn.Linear(3, 2)
    wrapped = nn.DataParallel(model)
    x = hl.randn(5, 3)
    assert wrapped.device_ids == [] and wrapped.module is model
    assert hl.equal(wrapped(x), model(x))
    assert list(wrapped.state_dict()) == ["module.weight", "module.bias"]


class Affine(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(hl.randn(4))
        self.b = nn.Parameter(hl.randn(4))

    def forward(self, x):
        return (x * self.w + self.b).tanh()


def test_data_parallel_on_two_devices_equals_one_device(cuda_backend):
    assert hl.cuda.device_count() == 2
    hl.manual_seed(0)
    model = Affine().cuda()
    reference = copy.deepcopy(model)
    x = hl.randn(6, 4).cuda()
    from handbook_lib.nn.parallel import data_parallel as dp

    gathered = dp.gather(dp.scatter(x, [0, 1]), 0)
    assert gathered.device == hl.device("cuda:0") and hl.equal(gathered.cpu(), x.cpu())
    out = nn.DataParallel(model)(x)
    (out ** 2).sum().backward()
    expected = reference(x)
    (expected ** 2).sum().backward()
    assert out.device == hl.device("cuda:0") and hl.allclose(out, expected, atol=1e-6)
    for p, q in zip(model.parameters(), reference.parameters()):
        assert p.grad.device == hl.device("cuda:0")
        assert hl.allclose(p.grad, q.grad, atol=1e-6)


def test_data_parallel_scatter_replicate_gather_on_two_devices(cuda_backend):
    """The pieces that need no arithmetic on the devices: where each part goes."""
    from handbook_lib.nn.parallel import data_parallel as dp

    x = hl.arange(12.0).reshape(6, 2).cuda()
    parts = dp.scatter(x, [0, 1])
    assert [p.device for p in parts] == [hl.device("cuda:0"), hl.device("cuda:1")]
    assert [p.shape[0] for p in parts] == [3, 3]
    args, kwargs = dp.scatter_kwargs((x,), {"scale": 2}, [0, 1])
    assert kwargs == ({"scale": 2}, {"scale": 2}) and args[1][0].device == hl.device("cuda:1")
    model = nn.Linear(2, 2).cuda()
    replicas = dp.replicate(model, [0, 1])
    assert replicas[1].weight.device == hl.device("cuda:1") and replicas[0] is not model
    assert replicas[1].weight.grad_fn is not None  # differentiable copy of the original
    assert model.weight.device == hl.device("cuda:0")
    with pytest.raises(RuntimeError, match="module must have its parameters and buffers on "
                                           "device cuda:0"):
        nn.DataParallel(nn.Linear(2, 2))(x)


# --- hl.multiprocessing -----------------------------------------------------------------------
def test_spawn_shares_memory_of_shared_tensors():
    tensor = hl.zeros(3).share_memory_()
    assert tensor.is_shared() and not hl.zeros(1).is_shared()
    queue = hmp.get_context("spawn").SimpleQueue()
    hmp.spawn(mp_targets.add_rank, args=(tensor, queue), nprocs=2)
    assert tensor.tolist() == [10.0, 20.0, 0.0]
    assert sorted([queue.get(), queue.get()]) == [0, 1]


def test_spawn_raises_a_workers_exception_with_its_traceback():
    with pytest.raises(hmp.ProcessRaisedException, match="KeyError: 'worker one failed'"):
        hmp.spawn(mp_targets.fail, nprocs=2)


def test_module_share_memory_and_queue_of_shared_tensors():
    model = nn.Linear(2, 2).share_memory()
    assert all(p.is_shared() for p in model.parameters())
    context = hmp.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=mp_targets.zero_through_queue, args=(queue,))
    process.start()
    queue.put(model.weight)
    process.join(60)
    assert process.exitcode == 0
    assert hl.equal(model.weight.detach(), hl.zeros(2, 2))
    assert isinstance(model.weight, nn.Parameter)


# --- the launcher's command line ----------------------------------------------------------------
def test_launcher_builds_the_mpiexec_command():
    args = launcher.parse_args(["--nproc-per-node", "2", "--nnodes", "2", "--hostfile", "hosts",
                                "train.py", "--epochs", "3"])
    command = launcher.mpiexec_command(args, "/run")
    assert command[:5] == [MPIEXEC, "-n", "4", "-ppn", "2"]
    assert command[5:7] == ["-f", "hosts"]
    assert command[-3:] == ["train.py", "--epochs", "3"]
    with pytest.raises(SystemExit):
        launcher.parse_args(["--nnodes", "2", "train.py"])


def test_launcher_names_the_rank_behind_a_pid(tmp_path):
    (tmp_path / "rank-1").write_text("4242")
    output = ["=   BAD TERMINATION OF ONE OF YOUR APPLICATION PROCESSES\n",
              "=   PID 4242 RUNNING AT node7\n", "=   EXIT CODE: 9\n"]
    assert launcher.name_dead_ranks(output, str(tmp_path)) == [
        "rank 1 (pid 4242) ended abnormally: killed by signal 9 (SIGKILL); mpiexec stopped "
        "the other ranks"]
