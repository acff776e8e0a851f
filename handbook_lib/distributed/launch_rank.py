"""What each rank runs under the launcher: set PyTorch's variables, then run the script.

The variables come from MPI's process manager (hydra's ``PMI_RANK``, ``PMI_SIZE``,
``MPI_LOCALRANKID``, ``MPI_LOCALNRANKS``), read before MPI itself starts. An uncaught exception
in the script prints this rank's traceback and aborts the whole job.
"""
from __future__ import annotations

import os
import pathlib
import runpy
import sys

from .run import RANK_FILE_VARIABLE


def set_torch_variables(env=os.environ) -> None:
    env.setdefault("RANK", env.get("PMI_RANK", "0"))
    env.setdefault("WORLD_SIZE", env.get("PMI_SIZE", "1"))
    env.setdefault("LOCAL_RANK", env.get("MPI_LOCALRANKID", env["RANK"]))
    env.setdefault("LOCAL_WORLD_SIZE", env.get("MPI_LOCALNRANKS", env["WORLD_SIZE"]))
    env.setdefault("GROUP_RANK", str(int(env["RANK"]) // max(int(env["LOCAL_WORLD_SIZE"]), 1)))


def note_pid() -> None:
    """Leave ``rank-R`` (holding this pid) where the launcher can name a rank that died."""
    folder = os.environ.get(RANK_FILE_VARIABLE)
    if folder and os.path.isdir(folder):
        (pathlib.Path(folder) / f"rank-{os.environ['RANK']}").write_text(str(os.getpid()))


def main() -> None:
    set_torch_variables()
    note_pid()
    from .process_group import install_abort_on_exception

    install_abort_on_exception()
    if len(sys.argv) < 2:
        raise SystemExit("usage: launch_rank [-m] script [args...]")
    if sys.argv[1] == "-m":
        sys.argv = sys.argv[2:]
        runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
    else:
        sys.argv = sys.argv[1:]
        sys.path.insert(0, os.path.dirname(os.path.abspath(sys.argv[0])))
        runpy.run_path(sys.argv[0], run_name="__main__")


if __name__ == "__main__":
    main()
