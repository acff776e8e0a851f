"""PyTorch-style printing: ``tensor([1., 2.], requires_grad=True)``."""
from __future__ import annotations

import numpy as np

from . import _device

THRESHOLD, EDGE_ITEMS, LINE_WIDTH, PRECISION = 1000, 3, 80, 4
_DEFAULT_DTYPES = ("float32", "int64", "bool")


def tensor_repr(t) -> str:
    array = _device.move(t._data, _device.CPU)
    prefix = "tensor("
    body = _format_array(array, len(prefix))
    suffixes = []
    if array.size == 0 and array.shape != (0,):
        suffixes.append(f"size={tuple(array.shape)}")
    if t.device.type != "cpu":
        suffixes.append(f"device='{t.device}'")
    if array.dtype.name not in _DEFAULT_DTYPES or (array.size == 0 and array.dtype.name != "float32"):
        suffixes.append(f"dtype=torch.{array.dtype.name}")
    if t._grad_fn is not None:
        suffixes.append(f"grad_fn=<{t._grad_fn.name()}>")
    elif t._requires_grad:
        suffixes.append("requires_grad=True")
    return prefix + body + "".join(", " + s for s in suffixes) + ")"


def _format_array(array: np.ndarray, indent: int) -> str:
    summarize = array.size > THRESHOLD
    if array.size == 0:
        return "[]"
    formatter = _Formatter(_shown_values(array, summarize))
    return _format_nested(array, formatter, indent, summarize)


def _shown_values(array: np.ndarray, summarize: bool) -> np.ndarray:
    """The values that will be printed (the edges only, when the tensor is summarized)."""
    if not summarize or array.ndim == 0:
        return array.reshape(-1)
    parts = []
    for index in np.ndindex(*[min(s, 2 * EDGE_ITEMS) for s in array.shape]):
        real = tuple(i if i < EDGE_ITEMS else s - 2 * EDGE_ITEMS + i if s > 2 * EDGE_ITEMS else i
                     for i, s in zip(index, array.shape))
        parts.append(array[real])
    return np.asarray(parts)


class _Formatter:
    """Chooses one format for all elements: integers, ``1.``-style floats, fixed or scientific."""

    def __init__(self, values: np.ndarray) -> None:
        self.kind = values.dtype.kind
        self.sci = self.int_mode = False
        if self.kind == "f":
            finite = values[np.isfinite(values)].astype(np.float64)
            self.int_mode = finite.size == 0 or bool(np.all(finite == np.round(finite)))
            nonzero = np.abs(finite[finite != 0])
            if nonzero.size:
                big, small = nonzero.max(), nonzero.min()
                self.sci = big / small > 1000.0 or big > 1e8
                if not self.int_mode:
                    self.sci = self.sci or small < 1e-4
        self.width = max((len(self.format(v)) for v in values), default=1)

    def format(self, value) -> str:
        if self.kind == "b":
            return str(bool(value))
        if self.kind != "f":
            return str(int(value))
        if not np.isfinite(value):
            return str(float(value))
        if self.sci:
            return f"{float(value):.{PRECISION}e}"
        if self.int_mode:
            return f"{float(value):.0f}."
        return f"{float(value):.{PRECISION}f}"

    def __call__(self, value) -> str:
        return self.format(value).rjust(self.width)


def _format_nested(array: np.ndarray, fmt: _Formatter, indent: int, summarize: bool) -> str:
    if array.ndim == 0:
        return fmt.format(array.item())
    if array.ndim == 1:
        return _format_row(array, fmt, indent, summarize)
    rows = _edge_indices(array.shape[0], summarize)
    pieces = ["..." if i is None else _format_nested(array[i], fmt, indent + 1, summarize)
              for i in rows]
    separator = "," + "\n" * (array.ndim - 1) + " " * (indent + 1)
    return "[" + separator.join(pieces) + "]"


def _format_row(array: np.ndarray, fmt: _Formatter, indent: int, summarize: bool) -> str:
    items = [" ..." if i is None else fmt(array[i]) for i in _edge_indices(array.shape[0], summarize)]
    per_line = max(1, (LINE_WIDTH - indent) // (fmt.width + 2))
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _edge_indices(n: int, summarize: bool) -> list:
    if summarize and n > 2 * EDGE_ITEMS:
        return list(range(EDGE_ITEMS)) + [None] + list(range(n - EDGE_ITEMS, n))
    return list(range(n))
