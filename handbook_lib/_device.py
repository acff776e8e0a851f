"""Devices: the one place that knows which array library backs a tensor.

A :class:`device` carries its array module ``xp``: numpy for ``'cpu'``, cupy for ``'cuda:N'``.
Operations never import a backend for tensor data; they ask the tensor's device (or the array
itself) for ``xp``, so the same op code runs on both.

Where this differs from PyTorch: an operation launches its kernels on the current GPU, as cupy
does (creation, moves, backward and DataParallel's replicas do select their tensors' GPU).
PyTorch switches to each operation's device; here, compute on a tensor of ``cuda:1`` inside
``with hl.cuda.device(1):`` or after ``hl.cuda.set_device(1)``, as a DDP script does per rank.
"""
from __future__ import annotations

import contextlib

import numpy as np

_GPU_INSTALL_HINT = (
    "handbook_lib runs on NVIDIA GPUs through CuPy. Install the GPU requirements on a machine "
    "with an NVIDIA GPU and CUDA 12: `pip install -r requirements-gpu.txt` (cupy-cuda12x[ctk])."
)

_cupy = None  # the cupy module once it has been imported successfully
ARRAY_TYPES: tuple = (np.ndarray,)  # extended with cupy.ndarray when cupy loads


def load_cupy(required: bool = True):
    """Import cupy on first use. Raise a clear error if it is missing and ``required``."""
    global _cupy, ARRAY_TYPES
    if _cupy is None:
        try:
            import cupy  # noqa: F401
            cupy.cuda.runtime.getDeviceCount()
        except Exception as exc:  # ImportError, or CUDA driver errors
            if required:
                raise RuntimeError(f"CUDA is not available: {exc}. {_GPU_INSTALL_HINT}") from None
            return None
        _cupy = cupy
        ARRAY_TYPES = (np.ndarray, cupy.ndarray)
    return _cupy


def forget_cupy() -> None:
    """Import cupy afresh on next use (the tests swap the real cupy and a CPU stand-in)."""
    global _cupy, ARRAY_TYPES
    _cupy = None
    ARRAY_TYPES = (np.ndarray,)


class device:
    """``device('cpu')``, ``device('cuda')``, ``device('cuda:1')`` or ``device('cuda', 1)``."""

    __slots__ = ("type", "index")

    def __init__(self, type: "str | device", index: int | None = None) -> None:
        if isinstance(type, device):
            type, index = type.type, type.index
        elif ":" in type:
            type, _, number = type.partition(":")
            if not number.isdigit():
                raise RuntimeError(f"Invalid device string: '{type}:{number}'")
            index = int(number)
        if type not in ("cpu", "cuda"):
            raise RuntimeError(
                f"Expected one of cpu, cuda device type at start of device string: {type}"
            )
        self.type = type
        self.index = index

    @property
    def xp(self):
        """The array module: numpy or cupy."""
        return np if self.type == "cpu" else load_cupy()

    def __eq__(self, other) -> bool:
        """As in PyTorch: type and index as written (``cuda`` is not ``cuda:0``), and never
        equal to a string (compare ``str(d)`` or ``d.type``)."""
        if not isinstance(other, device):
            return NotImplemented
        return (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    @property
    def _index(self) -> int | None:
        """The GPU this device means: its index, or the current GPU for plain ``cuda``."""
        return resolve(self).index

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"


CPU = device("cpu")


def as_device(d: "str | device | int | None") -> device:
    if d is None:
        return CPU
    if isinstance(d, int):
        return device("cuda", d)
    return d if isinstance(d, device) else device(d)


def resolve(d: device) -> device:
    """``d`` with its GPU filled in: plain ``cuda`` is the current GPU, as in PyTorch."""
    if d.type == "cpu" or d.index is not None:
        return d
    return device("cuda", int(load_cupy().cuda.Device().id))


_NOTHING = contextlib.nullcontext()


def allocating_on(target: device):
    """A context in which cupy allocates and launches on ``target``'s GPU (cupy works on the
    current GPU); nothing to do for the CPU."""
    if target.type == "cpu":
        return _NOTHING
    return load_cupy().cuda.Device(resolve(target).index)


def device_of(array) -> device:
    """The device an array lives on."""
    if isinstance(array, np.ndarray):
        return CPU
    return device("cuda", array.device.id)


def xp_of(*arrays):
    """numpy or cupy: the array module of the data among ``arrays`` (arrays or Tensors; numbers
    and None are skipped). This is the one way an op gets its array module: every mask, buffer,
    index and random draw of the op is then made with it, on the operands' device."""
    if _cupy is not None:
        for a in arrays:
            if isinstance(getattr(a, "_data", a), _cupy.ndarray):
                return _cupy
    return np


def special_functions(xp):
    """``scipy.special`` for numpy, ``cupyx.scipy.special`` for cupy (erf, gammaln...)."""
    if xp is np:
        import scipy.special

        return scipy.special
    import cupyx.scipy.special

    return cupyx.scipy.special


def move(array, target: device):
    """Copy ``array`` to ``target`` (no copy when it is already there)."""
    if target.type == "cpu":
        return array if isinstance(array, np.ndarray) else array.get()
    try:
        with allocating_on(target):
            return load_cupy().asarray(array)
    except MemoryError as exc:  # the copy does not fit on the GPU: PyTorch's error
        from . import cuda

        raise cuda.out_of_memory(exc) from None
