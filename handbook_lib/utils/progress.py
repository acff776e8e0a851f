"""Progress bars for training loops: ``tqdm.auto``, the same in JupyterLab, scripts and CI logs.

With ipywidgets installed, Jupyter shows tqdm's widget; without it (the book's own build, CI,
nbval) a text bar that redraws in place. tqdm warns about the missing widgets on import, with the
path of the installed package; the book prefers a quiet text bar, so the warning is dropped here.
The bars go to standard output, where the rendered book shows them as ordinary output::

    from handbook_lib.utils.progress import tqdm, trange

    for epoch in trange(EPOCHS, desc="训练"):
        ...
"""
from __future__ import annotations

import sys
import warnings

from tqdm import TqdmWarning

with warnings.catch_warnings():
    warnings.simplefilter("ignore", TqdmWarning)
    from tqdm.auto import tqdm as _auto_tqdm

__all__ = ["tqdm", "trange"]


class tqdm(_auto_tqdm):  # noqa: N801  (tqdm's own name)
    """``tqdm.auto.tqdm`` writing to standard output unless told otherwise."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("file", sys.stdout)
        super().__init__(*args, **kwargs)


def trange(*args, **kwargs) -> tqdm:
    """``tqdm(range(*args), **kwargs)``."""
    return tqdm(range(*args), **kwargs)
