"""Write cupy_names.json: the names that the real cupy offers, for the CPU stand-in to obey.

The stand-in (``tests/fake_cupy``) exposes only names listed here, so code that runs on it uses
nothing real cupy lacks. The cupy wheel imports without a GPU, so this runs on any machine:

    python3 -m venv /tmp/cupy-names && /tmp/cupy-names/bin/pip install cupy-cuda12x==14.2.0
    /tmp/cupy-names/bin/python tests/fake_cupy/make_snapshot.py

Run it with that throwaway environment, never with the project's (which must not depend on cupy).
"""
from __future__ import annotations

import json
import pathlib
import sys

import cupy
import cupyx
import cupyx.scipy.special

TARGET = pathlib.Path(__file__).with_name("cupy_names.json")


def names(obj, dunder: bool = False) -> list[str]:
    """Public attribute names of ``obj``; with ``dunder``, its special methods too."""
    return sorted(n for n in dir(obj)
                  if not n.startswith("_") or (dunder and n.startswith("__") and n.endswith("__")))


def kinds(module) -> dict[str, str]:
    """Each public name of ``module`` with what it is: ufunc, function, type, module or value."""
    result = {}
    for name in names(module):
        value = getattr(module, name)
        if isinstance(value, cupy.ufunc):
            result[name] = "ufunc"
        elif isinstance(value, type):
            result[name] = "type"
        elif type(value).__name__ == "module":
            result[name] = "module"
        elif callable(value):
            result[name] = "function"
        else:
            result[name] = "value"
    return result


def snapshot() -> dict:
    cuda = cupy.cuda
    return {
        "version": cupy.__version__,
        "cupy": kinds(cupy),
        "cupy.ndarray": names(cupy.ndarray, dunder=True),
        "cupy.ufunc": names(cupy.add),
        "cupy.random": kinds(cupy.random),
        "cupy.random.RandomState": names(cupy.random.RandomState),
        "cupy.random.Generator": names(cupy.random.Generator),
        "cupy.linalg": kinds(cupy.linalg),
        "cupy.cuda": kinds(cuda),
        "cupy.cuda.Device": names(cuda.Device, dunder=True),
        "cupy.cuda.runtime": kinds(cuda.runtime),
        "cupy.cuda.memory": kinds(cuda.memory),
        "cupy.cuda.MemoryPool": names(cuda.MemoryPool),
        "cupy.cuda.MemoryPointer": names(cuda.MemoryPointer),
        "cupy.cuda.Stream": names(cuda.Stream, dunder=True),
        "cupy.cuda.Event": names(cuda.Event),
        "cupy.ElementwiseKernel": names(cupy.ElementwiseKernel, dunder=True),
        "cupy.ReductionKernel": names(cupy.ReductionKernel, dunder=True),
        "cupyx": kinds(cupyx),
        "cupyx.scipy": kinds(cupyx.scipy),
        "cupyx.scipy.special": kinds(cupyx.scipy.special),
    }


def main() -> None:
    if cupy.__version__ != "14.2.0":
        sys.exit(f"expected cupy 14.2.0, found {cupy.__version__}")
    TARGET.write_text(json.dumps(snapshot(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {TARGET}")


if __name__ == "__main__":
    main()
