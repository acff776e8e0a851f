"""The launch buttons give a fresh runtime what a chapter needs: Binder's environment installs
in a new virtual environment, and a notebook runs from a folder other than notebooks/ (as on
Colab and Binder, where nothing guarantees the working directory)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"


def test_binder_environment_installs_in_a_fresh_venv(tmp_path):
    # --dry-run resolves every pin of binder/requirements.txt (which includes the runtime's
    # requirements.txt) against the package index without installing: quick, and it fails on a
    # pin that does not exist for this Python. postBuild then installs the checkout itself.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    result = subprocess.run(
        [str(python), "-m", "pip", "install", "--dry-run", "--no-deps", "--quiet",
         "--disable-pip-version-check", "-r", str(BINDER / "requirements.txt")],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    post_build = (BINDER / "postBuild").read_text(encoding="utf-8")
    assert "pip install --no-deps -e ." in post_build
    assert os.access(BINDER / "postBuild", os.X_OK), "Binder runs postBuild only if executable"
    runtime = (BINDER / "runtime.txt").read_text(encoding="utf-8").strip()
    assert runtime.startswith("python-3.")


def test_a_notebook_runs_from_another_directory(tmp_path, monkeypatch):
    # 2.1.4 reads a CSV file shipped with the package and the MNIST sample: neither may depend
    # on the working directory being notebooks/.
    from nbclient import NotebookClient

    shutil.copy(ROOT / "notebooks" / "2_1_4_data_loading.ipynb", tmp_path)
    notebook = nbformat.read(tmp_path / "2_1_4_data_loading.ipynb", as_version=4)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    errors = [output for cell in notebook.cells if cell.cell_type == "code"
              for output in cell.outputs if output.output_type == "error"]
    assert errors == []
