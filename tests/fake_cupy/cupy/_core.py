"""The stand-in's array: a numpy array that lives on a pretend CUDA device.

:class:`ndarray` holds a numpy array (``_a``) and the id of its device (``_dev``). Every function
and operator of the stand-in unwraps its operands, runs numpy, and wraps the results, enforcing
cupy's rules on the way (the ones that break real code when a library gets them wrong):

- no implicit conversion to numpy: ``np.asarray(x)``, ``np.array(x)``, ``np.sum(x)`` and
  ``np.exp(x)`` raise TypeError (real cupy also raises for ``__array__``; it dispatches
  ``np.sum``/``np.exp`` to itself, which the stand-in refuses on purpose: a library must ask for
  its array module instead of calling numpy on device data);
- host arrays refused as operands: a ``numpy.ndarray`` (even 0-d) given to a stand-in function,
  operator or index raises TypeError, like cupy's ``Unsupported type <class 'numpy.ndarray'>``;
  Python and numpy scalars are accepted;
- reductions and full indexing return 0-d arrays, never numpy scalars;
- a kernel runs on the current device (``cupy.cuda.Device(i)``): an operand on another device
  raises ValueError, as cupy does where peer access is unavailable; views (reshape, transpose,
  slicing) do not launch kernels and keep their array's device;
- every new buffer is allocated from the memory pool of its device (``used_bytes``);
- ``STATE.launches`` counts the kernels a GPU would launch (ufunc calls, functions that compute,
  one per ``cupy.fuse`` call), for tests that hold the launch count of a training step.
"""
from __future__ import annotations

import threading
import weakref

import numpy as np

DEVICE_COUNT = 2


class _State(threading.local):
    """The current device and whether a ``cupy.fuse`` function is being traced, per thread."""

    def __init__(self) -> None:
        self.device = 0
        self.fusing = False
        self.allow_sync = True  # cupyx.allow_synchronize(False) clears it
        self.launches = 0  # kernels launched: ufunc calls, functions that compute, fused calls


STATE = _State()
_ALLOCATIONS: dict[int, object] = {}  # id(root numpy buffer) -> its MemoryPointer


def _unsupported(x) -> TypeError:
    return TypeError(f"Unsupported type {type(x)}")


def _root(a: np.ndarray) -> np.ndarray:
    """The numpy array that owns ``a``'s buffer."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def _allocate(root: np.ndarray) -> None:
    """Charge ``root``'s buffer to the current device's memory pool until numpy frees it."""
    key = id(root)
    if key in _ALLOCATIONS:
        return
    from .cuda import memory

    _ALLOCATIONS[key] = memory.alloc(root.nbytes)
    weakref.finalize(root, _ALLOCATIONS.pop, key, None)


def _new(a, device: int | None = None) -> "ndarray":
    """Wrap a numpy result. A fresh buffer is allocated on (and belongs to) ``device``."""
    if not isinstance(a, np.ndarray):
        a = np.asarray(a)
    x = object.__new__(ndarray)
    x._a = a
    x._dev = STATE.device if device is None else device
    _allocate(_root(a))
    return x


def sync() -> None:
    """A device-to-host transfer: refused inside ``cupyx.allow_synchronize(False)``."""
    if not STATE.allow_sync:
        from cupyx import DeviceSynchronized

        raise DeviceSynchronized()


def _check_device(device: int) -> None:
    current = STATE.device
    if device != current:
        raise ValueError(
            f"The device where the array resides ({device}) is different from the current "
            f"device ({current}). Peer access is unavailable between these devices.")


class _Inputs:
    """The numpy arrays behind a call's operands, with their devices and buffers."""

    __slots__ = ("devices", "roots")

    def __init__(self) -> None:
        self.devices: list[int] = []
        self.roots: dict[int, int] = {}  # id(root) -> device, to recognise views in results

    def unwrap(self, x, sequences: bool = True):
        if x.__class__ is ndarray:
            self.devices.append(x._dev)
            self.roots[id(_root(x._a))] = x._dev
            return x._a
        if isinstance(x, np.ndarray) or (x.__class__ is _FusionVar):
            raise _unsupported(x)
        if sequences and isinstance(x, (list, tuple)):
            return type(x)(self.unwrap(item) for item in x)
        return x

    def check_devices(self) -> None:
        for device in self.devices:
            _check_device(device)

    def wrap(self, result, views: bool):
        """Wrap numpy results; with ``views``, results on an input's buffer keep its device."""
        if isinstance(result, np.ndarray):
            device = self.roots.get(id(_root(result)))
            if device is None or not views:
                self.check_devices()  # a new buffer: a kernel ran on the current device
                return _new(result)
            return _new(result, device)
        if isinstance(result, np.generic):
            self.check_devices()
            return _new(result)
        if isinstance(result, (tuple, list)):
            return type(result)(self.wrap(r, views) for r in result)
        return result


def call(function, args: tuple, kwargs: dict, views: bool = False, sequences: bool = True):
    """Run ``function`` (numpy) on the unwrapped operands; wrap what it returns.

    Without ``views`` the devices are checked before the call (a kernel runs, maybe writing into
    an operand); with it, only a result that is not a view of an operand is checked."""
    inputs = _Inputs()
    args = tuple(inputs.unwrap(a, sequences) for a in args)
    kwargs = {k: inputs.unwrap(v, sequences) for k, v in kwargs.items()}
    if not views:
        STATE.launches += 1
        inputs.check_devices()
    return inputs.wrap(function(*args, **kwargs), views)


# --- ufuncs ----------------------------------------------------------------------------------------
class ufunc:
    """A cupy ufunc: numpy's, on stand-in arrays and scalars only (no lists, no host arrays)."""

    def __init__(self, np_ufunc) -> None:
        self._np = np_ufunc
        self.name = np_ufunc.__name__
        self.nin, self.nout, self.nargs = np_ufunc.nin, np_ufunc.nout, np_ufunc.nargs
        self.types = np_ufunc.types

    def __repr__(self) -> str:
        return f"<ufunc '{self.name}'>"

    def __call__(self, *args, **kwargs):
        if STATE.fusing and any(a.__class__ is _FusionVar for a in args):
            return _fused_call(self, args, kwargs)
        STATE.launches += 1
        return _ufunc_call(self._np, args, kwargs)

    def reduce(self, array, axis=0, dtype=None, out=None, keepdims=False):
        return _ufunc_call(self._np.reduce, (array,),
                           dict(axis=axis, dtype=dtype, out=out, keepdims=keepdims))

    def accumulate(self, array, axis=0, dtype=None, out=None):
        return _ufunc_call(self._np.accumulate, (array,), dict(axis=axis, dtype=dtype, out=out))

    def reduceat(self, array, indices, axis=0, dtype=None, out=None):
        return _ufunc_call(self._np.reduceat, (array, indices),
                           dict(axis=axis, dtype=dtype, out=out))

    def outer(self, A, B, **kwargs):
        return _ufunc_call(self._np.outer, (A, B), kwargs)

    def at(self, a, indices, b=None):
        """In place, unbuffered (repeated indices accumulate), as cupy's ``ufunc.at``."""
        args = (a, indices) if b is None else (a, indices, b)
        inputs = _Inputs()
        unwrapped = [inputs.unwrap(x, sequences=i == 1) for i, x in enumerate(args)]
        inputs.check_devices()
        self._np.at(*unwrapped)


def _ufunc_operand(inputs: _Inputs, x):
    if x is None or x.__class__ is ndarray or isinstance(x, (int, float, complex, np.generic)):
        return inputs.unwrap(x, sequences=False)
    raise _unsupported(x)


def _ufunc_call(np_callable, args, kwargs):
    inputs = _Inputs()
    args = tuple(_ufunc_operand(inputs, a) for a in args)
    if "out" in kwargs:
        out = kwargs["out"]
        kwargs["out"] = (tuple(_ufunc_operand(inputs, o) for o in out)
                         if isinstance(out, tuple) else _ufunc_operand(inputs, out))
    if kwargs.get("where") is not None and kwargs["where"] is not True:
        kwargs["where"] = _ufunc_operand(inputs, kwargs["where"])
    inputs.check_devices()
    return inputs.wrap(np_callable(*args, **kwargs), views=True)


# --- the array ---------------------------------------------------------------------------------------
class Flags:
    """``ndarray.flags``: cupy's three (no ``writeable``: cupy arrays are always writable)."""

    __slots__ = ("c_contiguous", "f_contiguous", "owndata")

    def __init__(self, a: np.ndarray) -> None:
        self.c_contiguous = a.flags.c_contiguous
        self.f_contiguous = a.flags.f_contiguous
        self.owndata = a.flags.owndata

    def __getitem__(self, name: str) -> bool:
        return {"C_CONTIGUOUS": self.c_contiguous, "F_CONTIGUOUS": self.f_contiguous,
                "OWNDATA": self.owndata}[name]

    def __repr__(self) -> str:
        return (f"  C_CONTIGUOUS : {self.c_contiguous}\n  F_CONTIGUOUS : {self.f_contiguous}\n"
                f"  OWNDATA : {self.owndata}")


def _operator(name: str, reflected: bool = False, inplace: bool = False):
    def op(self, other):
        if STATE.fusing:
            raise TypeError("a cupy.ndarray cannot be used inside a fused function")
        if other.__class__ is not ndarray and not isinstance(
                other, (int, float, complex, np.generic, np.ndarray)):
            return NotImplemented  # e.g. a Tensor: its reflected operator decides
        function = _UFUNCS[name]
        if inplace:
            return function(self, other, out=self)
        return function(other, self) if reflected else function(self, other)

    return op


def _unary(name: str):
    def op(self):
        return _UFUNCS[name](self)

    return op


def _method(name: str, views: bool = False):
    def method(self, *args, **kwargs):
        return call(getattr(np.ndarray, name), (self,) + args, kwargs, views=views)

    method.__name__ = name
    return method


class ndarray:
    """A stand-in ``cupy.ndarray``: a numpy array on a pretend device."""

    __slots__ = ("_a", "_dev", "__weakref__")
    __array_priority__ = 100
    __hash__ = None  # unhashable, like numpy and cupy arrays

    def __init__(self, shape, dtype=float, memptr=None, strides=None, order="C") -> None:
        if memptr is not None or strides is not None:
            raise NotImplementedError("the stand-in does not build arrays on raw memory")
        self._a = np.empty(shape, dtype, order=order)
        self._dev = STATE.device
        _allocate(self._a)

    # --- what numpy must not do with it ----------------------------------------------------------
    def __array__(self, dtype=None, copy=None):
        raise TypeError("Implicit conversion to a NumPy array is not allowed. "
                        "Please use `.get()` to construct a NumPy array explicitly.")

    def __array_function__(self, func, types, args, kwargs):
        return NotImplemented  # numpy then raises TypeError: no implementation found

    def __array_ufunc__(self, np_ufunc, method, *inputs, **kwargs):
        # `np.float32(2) * x` comes here (the numpy scalar's operator). Like cupy, run our ufunc;
        # but `np.exp(x)` on device data is refused: only calls with a numpy scalar operand pass.
        for i in inputs:
            if isinstance(i, np.ndarray):
                raise _unsupported(i)  # `np.ones(3) * x`: cupy refuses the host operand
        if method != "__call__" or np_ufunc.__name__ not in _UFUNCS or not any(
                isinstance(i, np.generic) for i in inputs):
            return NotImplemented
        return _UFUNCS[np_ufunc.__name__](*inputs, **kwargs)

    # --- attributes ---------------------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self._a.shape

    @shape.setter
    def shape(self, value) -> None:
        self._a.shape = value

    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    strides = property(lambda self: self._a.strides)
    flags = property(lambda self: Flags(self._a))
    T = property(lambda self: _new(self._a.T, self._dev))
    mT = property(lambda self: _new(np.swapaxes(self._a, -1, -2), self._dev))
    real = property(lambda self: _new(self._a.real, self._dev))
    imag = property(lambda self: _new(self._a.imag, self._dev))

    @property
    def base(self):
        return None if self._a.base is None else _new(_root(self._a), self._dev)

    @property
    def device(self):
        from .cuda import Device

        return Device(self._dev)

    @property
    def data(self):
        from .cuda.memory import MemoryPointer

        return MemoryPointer(self._a.__array_interface__["data"][0], self._dev)

    def __len__(self) -> int:
        return len(self._a)

    def __iter__(self):
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(len(self._a)))

    def __repr__(self) -> str:
        sync()
        return repr(self._a)

    def __str__(self) -> str:
        sync()
        return str(self._a)

    def __format__(self, spec: str) -> str:
        return format(self._a, spec)

    # --- to the host (explicit, or scalars) ----------------------------------------------------------
    def get(self, stream=None, order="C", out=None, blocking=True) -> np.ndarray:
        """A numpy copy of the data (the device-to-host transfer)."""
        sync()
        if out is not None:
            if not isinstance(out, np.ndarray):
                raise TypeError("Only numpy.ndarray can be obtained from cupy.ndarray")
            np.copyto(out, self._a)
            return out
        return np.array(self._a, order=order)

    def set(self, arr, stream=None) -> None:
        """Copy the numpy array ``arr`` (same shape and dtype) into this array."""
        if not isinstance(arr, np.ndarray):
            raise TypeError(f"Only numpy.ndarray can be set to cupy.ndarray: {type(arr)}")
        if arr.shape != self._a.shape or arr.dtype != self._a.dtype:
            raise ValueError("Shape or dtype mismatch")
        self._a[...] = arr

    def item(self, *args):
        sync()
        return self._a.item(*args)

    def tolist(self):
        sync()
        return self._a.tolist()

    def tobytes(self, order="C") -> bytes:
        sync()
        return self._a.tobytes(order)

    def _scalar(self):
        sync()
        if self._a.size != 1:
            raise TypeError("only length-1 arrays can be converted to Python scalars")
        return self._a.reshape(()).item()

    def __bool__(self) -> bool:
        if self._a.size != 1:
            raise ValueError("The truth value of an array with more than one element is "
                             "ambiguous. Use a.any() or a.all()")
        return bool(self._scalar())

    __int__ = lambda self: int(self._scalar())  # noqa: E731
    __float__ = lambda self: float(self._scalar())  # noqa: E731
    __complex__ = lambda self: complex(self._scalar())  # noqa: E731

    # --- copies and views -------------------------------------------------------------------------
    def copy(self, order="C"):
        """A copy on the current device (copying across devices, as cupy does)."""
        return _new(self._a.copy(order=order))

    def astype(self, dtype, order="K", casting=None, subok=None, copy=True):
        if not copy and np.dtype(dtype) == self._a.dtype:
            return self
        _check_device(self._dev)
        return _new(self._a.astype(dtype, order=order, casting=casting or "unsafe"))

    def __copy__(self):
        return self.copy()

    def __deepcopy__(self, memo):
        return self.copy()

    def __reduce__(self):
        from . import array

        return array, (self.get(),)

    def fill(self, value) -> None:
        if isinstance(value, np.ndarray) or not np.isscalar(value):
            raise _unsupported(value)
        _check_device(self._dev)
        self._a.fill(value)

    # --- indexing ---------------------------------------------------------------------------------
    def __getitem__(self, key):
        if _has_mask(key):
            sync()  # the number of selected elements is read back from the device
        return call(np.ndarray.__getitem__, (self, key), {}, views=True)

    def __setitem__(self, key, value) -> None:
        if value.__class__ is not ndarray and not (
                np.isscalar(value) and not isinstance(value, (str, bytes))):
            raise _unsupported(value)  # cupy refuses assignment from host arrays and lists
        call(np.ndarray.__setitem__, (self, key, value), {})

    def __delitem__(self, key):
        raise ValueError("cannot delete array elements")

    reshape = _method("reshape", views=True)
    ravel = _method("ravel", views=True)
    view = _method("view", views=True)
    transpose = _method("transpose", views=True)
    swapaxes = _method("swapaxes", views=True)
    squeeze = _method("squeeze", views=True)
    diagonal = _method("diagonal", views=True)


def _has_mask(key) -> bool:
    keys = key if isinstance(key, tuple) else (key,)
    return any(k.__class__ is ndarray and k.dtype == np.bool_ for k in keys)


# methods that launch kernels (on the array's device: checked against the current one)
for _name in ("all", "any", "argmax", "argmin", "argpartition", "argsort", "byteswap", "choose",
              "clip", "compress", "conj", "conjugate", "cumprod", "cumsum", "dot", "flatten",
              "max", "mean", "min", "nonzero", "partition", "prod", "ptp", "put", "repeat",
              "round", "searchsorted", "sort", "std", "sum", "take", "trace", "var"):
    setattr(ndarray, _name, _method(_name))

_BINARY = {"add": "add", "sub": "subtract", "mul": "multiply", "truediv": "true_divide",
           "div": "true_divide", "floordiv": "floor_divide", "mod": "remainder", "pow": "power",
           "and": "bitwise_and", "or": "bitwise_or", "xor": "bitwise_xor",
           "lshift": "left_shift", "rshift": "right_shift", "matmul": "matmul"}
for _op, _ufunc in _BINARY.items():
    setattr(ndarray, f"__{_op}__", _operator(_ufunc))
    if _op != "div":
        setattr(ndarray, f"__r{_op}__", _operator(_ufunc, reflected=True))
    if _op != "matmul":
        setattr(ndarray, f"__i{_op}__", _operator(_ufunc, inplace=True))
for _op, _ufunc in {"eq": "equal", "ne": "not_equal", "lt": "less", "le": "less_equal",
                    "gt": "greater", "ge": "greater_equal"}.items():
    setattr(ndarray, f"__{_op}__", _operator(_ufunc))
for _op, _ufunc in {"neg": "negative", "pos": "positive", "abs": "absolute",
                    "invert": "invert"}.items():
    setattr(ndarray, f"__{_op}__", _unary(_ufunc))
ndarray.__divmod__ = lambda self, other: (self // other, self % other)
ndarray.__rdivmod__ = lambda self, other: (other // self, other % self)


def _matmul(a, b, out=None):
    return call(np.matmul, (a, b), {} if out is None else {"out": out}, sequences=False)


def _matmul_operator(reflected: bool):
    def op(self, other):
        if STATE.fusing:
            raise TypeError("a cupy.ndarray cannot be used inside a fused function")
        if other.__class__ is not ndarray and not isinstance(other, np.ndarray):
            return NotImplemented  # e.g. a Tensor: its reflected operator decides
        return _matmul(other, self) if reflected else _matmul(self, other)

    return op


ndarray.__matmul__, ndarray.__rmatmul__ = _matmul_operator(False), _matmul_operator(True)


_UFUNCS: dict = {}  # name -> stand-in ufunc, filled by cupy/__init__.py
_FUSED_FUNCTIONS = {"where", "clip"}  # cupy functions that cupy.fuse can trace besides ufuncs


# --- cupy.fuse ------------------------------------------------------------------------------------
class _FusionVar:
    """What a fused function sees instead of an array: only elementwise operations work on it."""

    __slots__ = ("_x",)

    def __init__(self, x: ndarray) -> None:
        self._x = x

    dtype = property(lambda self: self._x.dtype)
    ndim = property(lambda self: self._x.ndim)

    def __bool__(self):
        raise Exception("Can't cast to bool")

    def __getattr__(self, name):
        raise AttributeError(f"'{name}' is not supported inside a fused function (cupy.fuse "
                             "traces elementwise operations only)")

    def astype(self, dtype, copy=True):
        return _FusionVar(self._x.astype(dtype, copy=copy))

    def copy(self):
        return _FusionVar(self._x.copy())

    def __setitem__(self, key, value) -> None:
        if key is not Ellipsis and key != slice(None):
            raise ValueError("The fusion supports `[...]` or `[:]`.")
        _copy_into(self, value)


def _copy_into(target: _FusionVar, value) -> None:
    source = value._x if value.__class__ is _FusionVar else value
    call(np.copyto, (target._x, source), {})


def _fusion_operand(x):
    if x.__class__ is _FusionVar:
        return x._x
    if x.__class__ is ndarray or isinstance(x, np.ndarray):
        raise TypeError(f"Invalid argument type inside a fused function: {type(x)}")
    return x


def _fused_call(function, args, kwargs):
    """A ufunc (or where/clip) applied while tracing a fused function."""
    args = tuple(_fusion_operand(a) for a in args)
    kwargs = {k: _fusion_operand(v) for k, v in kwargs.items()}
    STATE.fusing = False
    try:
        result = function(*args, **kwargs)
    finally:
        STATE.fusing = True
    if isinstance(result, tuple):
        return tuple(_FusionVar(r) for r in result)
    return _FusionVar(result)


def _fusion_operator(name: str, reflected: bool = False, inplace: bool = False):
    def op(self, other=None):
        function = _UFUNCS[name]
        if other is None and not inplace:
            return _fused_call(function, (self,), {})
        if inplace:
            return _fused_call(function, (self, other), {"out": self})
        return _fused_call(function, (other, self) if reflected else (self, other), {})

    return op


for _op, _ufunc in list(_BINARY.items()) + [("eq", "equal"), ("ne", "not_equal"),
                                              ("lt", "less"), ("le", "less_equal"),
                                              ("gt", "greater"), ("ge", "greater_equal")]:
    if _op == "matmul":
        continue
    setattr(_FusionVar, f"__{_op}__", _fusion_operator(_ufunc))
    setattr(_FusionVar, f"__r{_op}__", _fusion_operator(_ufunc, reflected=True))
    setattr(_FusionVar, f"__i{_op}__", _fusion_operator(_ufunc, inplace=True))
for _op, _ufunc in {"neg": "negative", "pos": "positive", "abs": "absolute",
                    "invert": "invert"}.items():
    setattr(_FusionVar, f"__{_op}__", _fusion_operator(_ufunc))


class Fusion:
    """``cupy.fuse(f)``: ``f`` traced with elementwise operations only, then run as one kernel.

    The stand-in runs ``f`` on proxies that allow what cupy's fusion allows (ufuncs, operators,
    in-place updates of arguments, ``astype``, ``where``, ``clip``) and refuse the rest. Like
    cupy, it calls ``f`` directly when no argument is a cupy array (numpy in, numpy out)."""

    def __init__(self, func, name: str | None = None) -> None:
        self.func = func
        self.name = name or func.__name__

    def __repr__(self) -> str:
        return f"<Fusion '{self.name}'>"

    def __call__(self, *args):
        if not any(a.__class__ is ndarray for a in args):
            return self.func(*args)
        for a in args:
            if not (a is None or a.__class__ is ndarray
                    or isinstance(a, (bool, int, float, complex, np.generic))):
                arg_types = ", ".join(repr(type(x)) for x in args)
                raise TypeError(f"Invalid argument type for '{self.name}': ({arg_types})")
            if a.__class__ is ndarray:
                _check_device(a._dev)
        STATE.fusing, launches = True, STATE.launches
        try:
            result = self.func(*(_FusionVar(a) if a.__class__ is ndarray else a for a in args))
        finally:
            STATE.fusing, STATE.launches = False, launches + 1  # the whole trace: one kernel
        return _unfuse(result, self.name)


def _unfuse(result, name: str):
    if result is None:
        return None
    if isinstance(result, tuple):
        return tuple(_unfuse(r, name) for r in result)
    if result.__class__ is _FusionVar:
        return result._x
    if isinstance(result, (bool, int, float, complex, np.generic)):
        return _new(np.asarray(result))
    raise TypeError(f"Fusion function can't return {type(result)}")


def _nonzero(self):
    sync()  # the number of nonzero elements is read back from the device
    return call(np.ndarray.nonzero, (self,), {})


ndarray.nonzero = _nonzero
