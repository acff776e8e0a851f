"""Run a notebook's code cells in order in this interpreter, without Jupyter.

    python .ci/run_notebook.py notebooks/3_2_mnist.ipynb --expect-device cuda

For `make test-gpu`, where the GPU's Python may have no Jupyter: each code cell runs as plain
Python in one namespace (IPython magics and shell lines are skipped), with a non-interactive
matplotlib. With ``--expect-device``, the notebook's ``device`` must be that device's type at
the end, so that a chapter that silently fell back to the CPU fails the check.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time


def code_cells(path: str) -> list[str]:
    with open(path, encoding="utf-8") as f:
        notebook = json.load(f)
    cells = []
    for cell in notebook["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
        cells.append("\n".join(lines))
    return cells


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook")
    parser.add_argument("--expect-device", choices=("cpu", "cuda"))
    args = parser.parse_args(argv)
    os.environ.setdefault("MPLBACKEND", "Agg")
    notebook_dir = os.path.dirname(os.path.abspath(args.notebook))
    os.chdir(notebook_dir)  # relative paths in the chapter work as under Jupyter
    sys.path.insert(0, os.path.dirname(notebook_dir))
    namespace: dict = {"__name__": "__main__"}
    start = time.perf_counter()
    for i, source in enumerate(code_cells(os.path.basename(args.notebook)), 1):
        exec(compile(source, f"{args.notebook}:cell {i}", "exec"), namespace)
    device = namespace.get("device")
    print(f"{args.notebook}: ran in {time.perf_counter() - start:.1f} s on {device}")
    if args.expect_device and getattr(device, "type", device) != args.expect_device:
        print(f"expected the chapter to run on {args.expect_device}, it ran on {device}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
