"""Small data files that the book ships inside the package, so that a chapter finds them
wherever it runs: in notebooks/, in a temporary folder, on Binder or on Colab.

- ``diabetes.csv``: the diabetes data of Efron, Hastie, Johnstone and Tibshirani, *Least Angle
  Regression* (Annals of Statistics, 2004), as scikit-learn distributes it (unscaled): 442
  patients, 10 baseline measurements and ``progression``, a measure of disease progression one
  year later. Used by chapter 2.1.4.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["data_file"]


def data_file(name: str) -> Path:
    """The path of the shipped data file ``name`` (e.g. ``"diabetes.csv"``)."""
    path = Path(str(resources.files(__name__).joinpath(name)))
    if not path.is_file():
        shipped = sorted(entry.name for entry in resources.files(__name__).iterdir()
                         if not entry.name.startswith(("_", ".")))
        raise FileNotFoundError(f"no data file {name!r} in handbook_lib; shipped: {shipped}")
    return path
