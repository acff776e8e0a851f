"""A CPU stand-in for cupy 14.2, for the tests only: numpy arrays on two pretend CUDA devices.

It lets the test suite run handbook_lib's GPU path on a machine without a GPU, and it is strict
where real code breaks on a real GPU (see ``_core``): no implicit conversion to numpy, host arrays
refused as operands, 0-d arrays from reductions, kernels only on the current device. It offers
only names that cupy 14.2 has: ``cupy_names.json`` (written by ``make_snapshot.py`` from the
real wheel) lists them, and a name in cupy that the stand-in does not emulate raises an
AttributeError that says so. The tests put it first on ``sys.path`` (tests/conftest.py) only
for the tests that ask for the ``cuda`` device.
"""
from __future__ import annotations

import builtins as _builtins
import json as _json
import pathlib as _pathlib

import numpy as _np

from . import _core
from ._core import Fusion as _Fusion, call as _call, ndarray, ufunc

_SNAPSHOT = _json.loads((_pathlib.Path(__file__).parent.parent / "cupy_names.json").read_text())
__version__ = _SNAPSHOT["version"]
_NAMES = _SNAPSHOT["cupy"]

# functions that may return views of their operands (no kernel: the device is not checked)
_VIEW_FUNCTIONS = {
    "reshape", "ravel", "transpose", "swapaxes", "moveaxis", "rollaxis", "squeeze",
    "expand_dims", "broadcast_to", "broadcast_arrays", "atleast_1d", "atleast_2d", "atleast_3d",
    "diagonal", "split", "array_split", "hsplit", "vsplit", "dsplit", "flip", "fliplr", "flipud",
    "real", "imag", "rot90", "matrix_transpose", "permute_dims",
}
# numpy returns Python values here, cupy 0-d arrays
_ARRAY_RESULTS = {"allclose", "array_equal", "array_equiv", "count_nonzero"}
_HANDWRITTEN = {"ndarray", "ufunc", "array", "asarray", "asanyarray", "asnumpy",
                "get_array_module", "fuse", "ElementwiseKernel", "ReductionKernel",
                "get_default_memory_pool", "get_default_pinned_memory_pool", "is_available",
                "cuda", "random", "linalg", "lib", "copyto"}
_SCALAR_RESULTS = (bool, int, float, complex)
# results whose size depends on the data: cupy reads a count back from the device; and
# shares_memory, which compares every element address of both arrays on the device (an
# a.size × b.size table) and reads the answer back (may_share_memory compares bounds on the host)
_SYNCHRONIZING = {"nonzero", "argwhere", "flatnonzero", "unique", "compress", "extract",
                  "bincount", "shares_memory"}


def _function(name: str, np_function):
    views = name in _VIEW_FUNCTIONS
    to_array = name in _ARRAY_RESULTS
    synchronizes = name in _SYNCHRONIZING

    def function(*args, **kwargs):
        if _core.STATE.fusing and name in _core._FUSED_FUNCTIONS and _builtins.any(
                a.__class__ is _core._FusionVar for a in args):
            return _core._fused_call(_PLAIN[name], args, kwargs)
        if synchronizes:
            _core.sync()
        result = _call(np_function, args, kwargs, views=views)
        if to_array and isinstance(result, _SCALAR_RESULTS):
            return _core._new(_np.asarray(result))
        return result

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"cupy.{name} (stand-in: numpy.{name} on the current device)"
    return function


def _is_exported_value(value) -> bool:
    """numpy objects that cupy re-exports as they are: dtypes, scalar types, constants, errors."""
    if isinstance(value, type):
        return (issubclass(value, (_np.generic, BaseException, Warning))
                or value in (_np.dtype, _np.finfo, _np.iinfo))
    return isinstance(value, (float, type(None), tuple)) or value is _np.s_ \
        or value is _np.index_exp


_PLAIN: dict = {}


def _build(namespace: dict) -> None:
    for name, kind in _NAMES.items():
        if name in _HANDWRITTEN or not hasattr(_np, name):
            continue
        value = getattr(_np, name)
        if kind == "ufunc" and isinstance(value, _np.ufunc):
            namespace[name] = _core._UFUNCS[name] = ufunc(value)
        elif kind == "function" and callable(value):
            namespace[name] = _PLAIN[name] = _function(name, value)
        elif kind in ("type", "value") and _is_exported_value(value):
            namespace[name] = value


_build(globals())  # from here on `any`, `all`, `sum`... name cupy's functions: use _builtins


# --- host <-> device -------------------------------------------------------------------------------
def _to_numpy(obj, dtype=None, copy: bool = True):
    """numpy data for ``obj``: host data as it is, stand-in arrays (also nested in lists) via a
    device-to-host copy; the caller then puts it on the current device."""
    if obj.__class__ is ndarray:
        return obj._a.astype(dtype) if dtype is not None else obj._a
    if isinstance(obj, (list, tuple)) and _builtins.any(o.__class__ is ndarray for o in obj):
        return _np.array([_to_numpy(o) for o in obj], dtype=dtype)
    return _np.array(obj, dtype=dtype, copy=copy)


def array(obj, dtype=None, copy=True, order="K", subok=False, ndmin=0, *, blocking=False):
    """A new array on the current device (a host-to-device copy for numpy data)."""
    data = _np.array(_to_numpy(obj, dtype), dtype=dtype, copy=True, order=order, ndmin=ndmin)
    return _core._new(data)


def asarray(a, dtype=None, order=None, *, blocking=False):
    """``a`` itself if it is already an array of that dtype on the current device, else a copy."""
    if a.__class__ is ndarray:
        if a._dev == _core.STATE.device:
            return a.astype(dtype, copy=False) if dtype is not None else a
        return _core._new(a._a.astype(dtype or a.dtype, copy=True))
    return _core._new(_np.array(_to_numpy(a, dtype), dtype=dtype, copy=True, order=order or "K"))


asanyarray = asarray


def asnumpy(a, stream=None, order="C", out=None, *, blocking=True):
    """A numpy array with the data of ``a`` (a copy from the device; host data as it is)."""
    if a.__class__ is ndarray:
        return a.get(order=order, out=out)
    result = _np.asarray(a, order=order)
    if out is not None:
        out[...] = result
        return out
    return result


def copyto(dst, src, casting="same_kind", where=None):
    """cupy's copyto: a stand-in array or a scalar (or a size-1 host array) as the source."""
    if isinstance(src, _np.ndarray):
        if src.size != 1:
            raise ValueError("non-scalar numpy.ndarray cannot be used for copyto")
        src = src.reshape(())[()]
    kwargs = {"casting": casting} if where is None else {"casting": casting, "where": where}
    _call(_np.copyto, (dst, src), kwargs)


def get_array_module(*args):
    """``cupy`` if any argument is a (stand-in) cupy array, else ``numpy``."""
    import sys

    return sys.modules[__name__] if _builtins.any(a.__class__ is ndarray for a in args) else _np


def is_available() -> bool:
    return True


# --- kernels -------------------------------------------------------------------------------------
def fuse(*args, **kwargs):
    """``@cupy.fuse`` or ``@cupy.fuse(kernel_name=...)``: see :class:`_core.Fusion`."""
    import functools

    def wrapper(f, kernel_name=None):
        return _Fusion(f, kernel_name)

    if len(args) == 1 and not kwargs and callable(args[0]):
        return functools.update_wrapper(wrapper(args[0]), args[0])
    return lambda f: functools.update_wrapper(wrapper(f, *args, **kwargs), f)


class _Kernel:
    """A kernel in CUDA C, which the stand-in cannot compile: it runs the kernel's numpy twin.

    Give the twin as ``numpy_twin`` on a subclass (cupy's kernel classes take no new
    attributes on instances): a callable with the kernel's parameters, returning its outputs."""

    numpy_twin = None

    def __init__(self, in_params, out_params, *args, name="kernel", **kwargs) -> None:
        self.in_params, self.out_params, self.name = in_params, out_params, name
        self.nin = len([p for p in in_params.split(",") if p.strip()])

    def __call__(self, *args, **kwargs):
        if type(self).numpy_twin is None:
            raise NotImplementedError(
                f"the CPU stand-in cannot run the CUDA C of kernel '{self.name}': define "
                "numpy_twin on a subclass of the kernel class")
        return _call(type(self).numpy_twin, args, kwargs)


class ElementwiseKernel(_Kernel):
    def __init__(self, in_params, out_params, operation, name="kernel", reduce_dims=True,
                 preamble="", no_return=False, return_tuple=False, **kwargs) -> None:
        super().__init__(in_params, out_params, name=name)
        self.operation = operation


class ReductionKernel(_Kernel):
    def __init__(self, in_params, out_params, map_expr, reduce_expr, post_map_expr, identity,
                 name="reduce_kernel", reduce_type=None, reduce_dims=True, preamble="",
                 options=(), **kwargs) -> None:
        super().__init__(in_params, out_params, name=name)
        self.map_expr, self.reduce_expr = map_expr, reduce_expr
        self.post_map_expr, self.identity = post_map_expr, identity


from . import cuda, lib, linalg, random  # noqa: E402  (they use the names above)


def get_default_memory_pool():
    return cuda.memory._DEFAULT_POOL


def get_default_pinned_memory_pool():
    return cuda.memory._PINNED_POOL


def __getattr__(name: str):
    if name in _NAMES:
        raise AttributeError(f"cupy.{name} exists in cupy {__version__}, but the CPU stand-in "
                             "for the tests does not emulate it")
    raise AttributeError(f"module 'cupy' has no attribute '{name}'")


def _reset() -> None:
    """Back to a fresh process: device 0 current, no pool limits, random states forgotten."""
    _core.STATE.device = 0
    _core.STATE.fusing = False
    cuda.memory._reset()
    random._reset()
