"""Run a notebook's code cells in order in this interpreter, without Jupyter.

    python .ci/run_notebook.py notebooks/3_2_mnist.ipynb --expect-device cuda

For `make test-gpu`, where the GPU's Python may have no Jupyter: each code cell runs as plain
Python in one namespace, with a non-interactive matplotlib: IPython magics and shell lines are
skipped, a ``%%writefile`` cell writes its file, and ``sys.argv`` holds the notebook's name
alone (a cell may parse it, as under a kernel).
With ``--expect-device``, the notebook's ``device`` must be that device's type at the end, and
so must the parameters of one of the optimizers it makes, so that a chapter that silently fell
back to the CPU fails the check.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time


def code_cells(path: str) -> list[str]:
    """Each code cell as Python: a ``%%writefile`` cell becomes the code that writes its file."""
    with open(path, encoding="utf-8") as f:
        notebook = json.load(f)
    cells = []
    for cell in notebook["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        if source.startswith("%%writefile "):
            first, _, body = source.partition("\n")
            cells.append(f"write_file({first.split()[-1]!r}, {body!r})")
            continue
        lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
        cells.append("\n".join(lines))
    return cells


def write_file(path: str, text: str) -> None:
    """What ``%%writefile path`` does (the folder must exist, as for IPython)."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(text if text.endswith("\n") else text + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook")
    parser.add_argument("--expect-device", choices=("cpu", "cuda"))
    args = parser.parse_args(argv)
    os.environ.setdefault("MPLBACKEND", "Agg")
    notebook_dir = os.path.dirname(os.path.abspath(args.notebook))
    os.chdir(notebook_dir)  # relative paths in the chapter work as under Jupyter
    sys.path.insert(0, os.path.dirname(notebook_dir))
    namespace: dict = {"__name__": "__main__", "write_file": write_file}
    sys.argv = [os.path.basename(args.notebook)]
    start = time.perf_counter()
    trained = record_optimizers()
    for i, source in enumerate(code_cells(sys.argv[0]), 1):
        exec(compile(source, f"{args.notebook}:cell {i}", "exec"), namespace)
    device = namespace.get("device")
    print(f"{args.notebook}: ran in {time.perf_counter() - start:.1f} s on {device}")
    if args.expect_device:
        return check_device(device, trained, args.expect_device)
    return 0


def record_optimizers() -> list[str]:
    """From now on, every optimizer made (in a cell or inside a function) appends the device
    type of the parameters it updates to the returned list."""
    from handbook_lib.optim import Optimizer

    made: list[str] = []
    original = Optimizer.__init__

    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        made.append(self.param_groups[0]["params"][0].device.type)

    Optimizer.__init__ = __init__
    return made


def check_device(device, trained: list[str], expected: str) -> int:
    if getattr(device, "type", device) != expected:
        print(f"expected the chapter to run on {expected}, it ran on {device}")
        return 1
    if trained and expected not in trained:
        print(f"expected a model trained on {expected}: the chapter's {len(trained)} "
              f"optimizers update parameters on {sorted(set(trained))}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
