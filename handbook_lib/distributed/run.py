"""The launcher, like ``torchrun``: ``python -m handbook_lib.distributed.run --nproc-per-node 2
train.py --epochs 3``.

It starts ``mpiexec`` (from the ``mpich`` wheel installed beside this Python) with one rank per
process; each rank runs :mod:`handbook_lib.distributed.launch_rank`, which sets the variables a
PyTorch script reads (``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``LOCAL_WORLD_SIZE``,
``MASTER_ADDR``, ``MASTER_PORT``), makes an uncaught exception abort the whole job, and runs the
script as ``__main__``. Several machines: ``--hostfile hosts`` (MPI's host file, one
``host[:slots]`` per line) or ``--hosts a,b``, with ``--nnodes``. When a rank dies, the
launcher names it (rank, pid, signal) after mpiexec has ended the job.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading

RANK_FILE_VARIABLE = "HANDBOOK_DIST_RANK_DIR"  # where each rank writes its pid


def find_mpiexec() -> str:
    """``mpiexec`` next to this Python (the wheel's), else the first on ``PATH``."""
    beside = pathlib.Path(sys.executable).parent / "mpiexec"
    if beside.exists():
        return str(beside)
    found = shutil.which("mpiexec")
    if found is None:
        raise SystemExit("mpiexec not found: install the project's requirements "
                         "(`pip install -r requirements.txt` brings the mpich wheel)")
    return found


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m handbook_lib.distributed.run",
        description="Start a training script on several processes (and machines) over MPI.")
    parser.add_argument("--nproc-per-node", "--nproc_per_node", type=int, default=1,
                        help="processes per machine (default 1)")
    parser.add_argument("--nnodes", type=int, default=1, help="number of machines (default 1)")
    parser.add_argument("--hostfile", help="MPI host file: one host[:slots] per line")
    parser.add_argument("--hosts", help="comma-separated host names, instead of --hostfile")
    parser.add_argument("--master-addr", "--master_addr", default="127.0.0.1")
    parser.add_argument("--master-port", "--master_port", type=int, default=29500)
    parser.add_argument("-m", "--module", action="store_true",
                        help="run the script argument as a module, like python -m")
    parser.add_argument("script", help="the training script (or module, with -m)")
    parser.add_argument("script_args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.nproc_per_node < 1 or args.nnodes < 1:
        parser.error("--nproc-per-node and --nnodes must be at least 1")
    if args.nnodes > 1 and not (args.hostfile or args.hosts):
        parser.error("--nnodes > 1 needs --hostfile or --hosts (where to start the ranks)")
    return args


def mpiexec_command(args: argparse.Namespace, rank_dir: str) -> list[str]:
    world = args.nproc_per_node * args.nnodes
    command = [find_mpiexec(), "-n", str(world), "-ppn", str(args.nproc_per_node)]
    if args.hostfile:
        command += ["-f", args.hostfile]
    elif args.hosts:
        command += ["-hosts", args.hosts]
    variables = {RANK_FILE_VARIABLE: rank_dir, "MASTER_ADDR": args.master_addr,
                 "MASTER_PORT": str(args.master_port)}
    for name, value in variables.items():
        command += ["-genv", name, value]
    command += [sys.executable, "-m", "handbook_lib.distributed.launch_rank"]
    command += (["-m"] if args.module else []) + [args.script] + args.script_args
    return command


def _forward(stream, sink, seen: list) -> None:
    for line in iter(stream.readline, ""):
        sink.write(line)
        sink.flush()
        seen.append(line)


def name_dead_ranks(output: list[str], rank_dir: str) -> list[str]:
    """From mpiexec's 'BAD TERMINATION ... PID n' and the ranks' pid files: who died how."""
    pids = {}
    for path in pathlib.Path(rank_dir).glob("rank-*"):
        pids[int(path.read_text())] = int(path.name.split("-")[1])
    text = "".join(output)
    messages = []
    for pid_text, code_text in re.findall(r"PID (\d+) RUNNING AT \S+\s*=\s*EXIT CODE: (\d+)",
                                          text):
        pid, code = int(pid_text), int(code_text)
        if pid in pids:
            how = (f"killed by signal {code} ({signal.Signals(code).name})"
                   if 0 < code < 32 else f"exit code {code}")
            messages.append(f"rank {pids[pid]} (pid {pid}) ended abnormally: {how}; mpiexec "
                            "stopped the other ranks")
    return messages


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    with tempfile.TemporaryDirectory(prefix="handbook-dist-") as rank_dir:
        process = subprocess.Popen(mpiexec_command(args, rank_dir), stdout=subprocess.PIPE,
                                   text=True, bufsize=1)
        seen: list[str] = []
        reader = threading.Thread(target=_forward, args=(process.stdout, sys.stdout, seen))
        reader.start()
        try:
            code = process.wait()
        except KeyboardInterrupt:
            process.send_signal(signal.SIGINT)
            code = process.wait()
        reader.join()
        for message in name_dead_ranks(seen, rank_dir):
            sys.stderr.write(f"handbook_lib.distributed.run: {message}\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
