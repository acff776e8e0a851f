"""The same chapter runs on a GPU: every chapter that trains picks its device with the book's
idiom, says where it trains, and puts its model and data there.

Two checks. On the stored notebooks: a chapter that builds an optimizer has the idiom
``device = hl.device("cuda" if hl.cuda.is_available() else "cpu")`` before its first optimizer,
in a cell that prints the device and whose output nbval compares (CI's says ``cpu``). And by
running them: every chapter that looks for a GPU is executed by ``.ci/run_notebook.py`` with the
CPU stand-in for cupy first on the path, where ``hl.cuda.is_available()`` is true; the run fails
if the chapter's ``device`` is not cuda, if its optimizers update parameters that are not on
cuda, or if any line mixes devices or reads device data as numpy (the stand-in refuses both).
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
STAND_IN = ROOT / "tests" / "fake_cupy"
RUNNER = ROOT / ".ci" / "run_notebook.py"

IDIOM = re.compile(r"""^device = hl\.device\((["'])cuda\1 if hl\.cuda\.is_available\(\) """
                   r"""else (["'])cpu\2\)$""", re.M)
OPTIMIZER = re.compile(r"\b(?:hl\.)?optim\.(?:SGD|Adam|AdamW|RMSprop|Adagrad)\(")


def code_sources(path: Path) -> list[tuple[nbformat.NotebookNode, str]]:
    """(cell, source) of the code cells that run in the notebook's own process: a ``%%writefile``
    cell writes a script for other processes (4.5's training script picks a GPU per rank)."""
    cells = nbformat.read(path, as_version=4).cells
    return [(cell, cell.source) for cell in cells
            if cell.cell_type == "code" and not cell.source.startswith("%%writefile")]


def trains(path: Path) -> bool:
    return any(OPTIMIZER.search(source) for _, source in code_sources(path))


def looks_for_a_gpu(path: Path) -> bool:
    return any("hl.cuda.is_available()" in source for _, source in code_sources(path))


TRAINING = [path for path in NOTEBOOKS if trains(path)]
GPU_AWARE = [path for path in NOTEBOOKS if looks_for_a_gpu(path)]


def test_the_rule_finds_the_training_chapters():
    """The rule above finds the chapters known to train (so a broken regex cannot pass)."""
    names = {path.stem for path in TRAINING}
    assert {"1_3_4_blitz_classifier", "2_4_cnn", "3_2_mnist", "3_3_sin_cos"} <= names
    assert "2_1_1_tensor" not in names and len(names) >= 12


@pytest.mark.parametrize("path", TRAINING, ids=lambda path: path.stem)
def test_a_training_chapter_picks_its_device_with_the_idiom(path):
    cells = code_sources(path)
    first_optimizer = next(i for i, (_, source) in enumerate(cells) if OPTIMIZER.search(source))
    chosen = [i for i, (_, source) in enumerate(cells) if IDIOM.search(source)]
    assert chosen and chosen[0] < first_optimizer, (
        f"{path.name} trains (it builds an optimizer) but does not choose its device first: add "
        "`device = hl.device(\"cuda\" if hl.cuda.is_available() else \"cpu\")` to its imports "
        "cell, print it, and move the model and data there with .to(device)")
    cell, source = cells[chosen[0]]
    assert re.search(r"print\(.*\bdevice\b", source), (
        f"{path.name}: the cell that chooses the device should print it, so that a reader sees "
        "where the chapter trained")
    assert "nbval-ignore-output" not in cell.metadata.get("tags", []), (
        f"{path.name}: nbval must compare the printed device (CI's output says cpu)")
    printed = "".join(output.get("text", "") for output in cell.outputs)
    assert re.search(r"\bcpu\b", printed), (
        f"{path.name}: the stored output of the device cell should say the chapter ran on the "
        f"CPU (it says {printed!r}); re-execute the notebook on a machine without a GPU")
    assert ".to(device" in "".join(source for _, source in cells), (
        f"{path.name} chooses a device but never moves anything there with .to(device)")


@pytest.mark.stand_in
@pytest.mark.parametrize("path", GPU_AWARE, ids=lambda path: path.stem)
def test_the_chapter_runs_on_the_stand_in_gpu(path):
    """The chapter as a reader with a GPU runs it, in its folder (it reads ../data and writes
    the same git-ignored files as under Jupyter)."""
    if os.environ.get("HANDBOOK_TEST_REAL_GPU") == "1":
        pytest.skip("make test-gpu runs chapter 3.2 on the real GPU instead")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(STAND_IN), str(ROOT)]),
           "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    result = subprocess.run([sys.executable, str(RUNNER), str(path), "--expect-device", "cuda"],
                            capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, (
        f"{path.name} on the stand-in GPU:\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}")
    assert "on cuda" in result.stdout.splitlines()[-1]


def test_every_training_chapter_runs_on_the_stand_in_gpu():
    assert set(TRAINING) <= set(GPU_AWARE)


def test_make_runs_the_notebooks_with_the_gpus_hidden():
    """The stored outputs are the CPU's: `make test-notebooks` (nbval compares against them) and
    `make notebooks` (writes them) hide a GPU machine's GPUs, so both run every chapter on the
    CPU there too."""
    recipes = subprocess.run(["make", "-n", "--no-print-directory", "test-notebooks",
                              "notebooks"], capture_output=True, text=True, cwd=ROOT,
                             timeout=60, check=True).stdout.splitlines()
    runs = [line for line in recipes if "--nbval" in line or "nbconvert" in line]
    assert len(runs) == 2, recipes
    assert all(line.startswith("CUDA_VISIBLE_DEVICES= ") for line in runs), runs
