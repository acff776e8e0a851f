"""What every op needs: operand handling, dims, PyTorch's errors, in-place and ``out=`` plumbing."""
from __future__ import annotations

import numbers
from typing import Callable, Sequence

import numpy as np

from .. import _device, _dtype
from .._tensor import Tensor, _normalize_dim
from ..autograd.grad_mode import STATE
from ..autograd.graph import OUTPUT, record  # noqa: F401  (re-exported for the op modules)

wrap = Tensor._wrap


def is_tensor(x) -> bool:
    return isinstance(x, Tensor)


def operand_arrays(a, b) -> tuple:
    """The arrays of a binary op's operands, cast to PyTorch's result dtype.

    A Python number stays a number (numpy treats it as weakly typed, like PyTorch does).
    Tensors on different devices are an error naming both devices. The common cases (two numpy
    arrays of one dtype, a tensor with a number of its own kind) return at once.
    """
    if isinstance(a, Tensor):
        if isinstance(b, Tensor):
            ad, bd = a._data, b._data
            if ad.dtype == bd.dtype and ad.__class__ is np.ndarray and bd.__class__ is np.ndarray:
                return ad, bd
        elif _keeps_dtype(a._data.dtype.kind, b):  # x * 2.0
            return a._data, b
    elif isinstance(b, Tensor) and _keeps_dtype(b._data.dtype.kind, a):  # 1 - x
        return a, b._data
    return _promoted_arrays(a, b)


def _promoted_arrays(a, b) -> tuple:
    ad = a._data if isinstance(a, Tensor) else _python_scalar(a)
    bd = b._data if isinstance(b, Tensor) else _python_scalar(b)
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        if ad.__class__ is not bd.__class__ or not isinstance(ad, np.ndarray):
            check_same_device(a, b)
        if ad.dtype == bd.dtype:
            return ad, bd
    result = _dtype.result_type(ad, bd)
    if isinstance(ad, _device.ARRAY_TYPES) and ad.dtype != result:
        ad = ad.astype(result)
    if isinstance(bd, _device.ARRAY_TYPES) and bd.dtype != result:
        bd = bd.astype(result)
    return ad, bd


def _keeps_dtype(kind: str, number) -> bool:
    """True if a tensor of this dtype kind keeps its dtype with this Python number."""
    return (number.__class__ is float and kind == "f") or (number.__class__ is int and kind in "fi")


def _python_scalar(x):
    """A scalar operand as a Python number, which numpy treats as weakly typed (as PyTorch does).

    numpy scalars are checked first: ``np.float64`` is a subclass of ``float``, but numpy keeps
    its dtype strong, so ``float32 * np.float64(2)`` would silently become float64.
    """
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, (bool, int, float)):
        return x
    if isinstance(x, numbers.Number):
        return x
    raise TypeError(
        f"unsupported operand type: expected a Tensor or a Python number, got {type(x).__name__}"
    )


def check_same_device(*tensors: Tensor) -> None:
    """PyTorch's error when tensors (None and numbers are skipped) are on different devices."""
    devices = {t.device for t in tensors if isinstance(t, Tensor)}
    if len(devices) > 1:
        first, second = sorted(devices, key=lambda d: (d.type == "cpu", str(d)))[:2]
        raise RuntimeError(
            "Expected all tensors to be on the same device, but found at least two devices, "
            f"{first} and {second}!"
        )


def broadcast_error(shape_a: tuple, shape_b: tuple) -> RuntimeError:
    """PyTorch's message for shapes that do not broadcast, naming both shapes."""
    for i in range(1, max(len(shape_a), len(shape_b)) + 1):
        sa = shape_a[-i] if i <= len(shape_a) else 1
        sb = shape_b[-i] if i <= len(shape_b) else 1
        if sa != sb and sa != 1 and sb != 1:
            dim = max(len(shape_a), len(shape_b)) - i
            return RuntimeError(
                f"The size of tensor a ({sa}) must match the size of tensor b ({sb}) at "
                f"non-singleton dimension {dim} (shapes {list(shape_a)} and {list(shape_b)})"
            )
    return RuntimeError(f"shapes {list(shape_a)} and {list(shape_b)} are not broadcastable")


def shape_of(x) -> tuple:
    return tuple(x._data.shape) if isinstance(x, Tensor) else ()


def apply_binary(kernel: "str | Callable", a, b):
    """``xp.<kernel>(a, b)`` on the operands' arrays, with PyTorch's broadcasting error.

    ``kernel`` names a ufunc of the array module (``"add"``), or is a function
    ``kernel(xp, a, b)``; ``xp`` is numpy or cupy, whichever holds the operands."""
    ad, bd = operand_arrays(a, b)
    xp = _device.xp_of(ad, bd)
    try:
        if kernel.__class__ is str:
            return getattr(xp, kernel)(ad, bd)
        return kernel(xp, ad, bd)
    except ValueError:
        raise broadcast_error(shape_of(a), shape_of(b)) from None


def normalize_dim(dim: int, ndim: int) -> int:
    return _normalize_dim(dim, ndim)


def normalize_dims(dim, ndim: int) -> tuple:
    """``dim`` (None, int or sequence) as a sorted tuple of non-negative axes; None means all."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    if not dims:
        return tuple(range(ndim))
    axes = tuple(sorted(_normalize_dim(d, ndim) for d in dims))
    if ndim == 0:
        return ()  # dim 0 or -1 of a 0-dim tensor names the tensor itself: nothing to reduce
    if len(set(axes)) != len(axes):
        raise RuntimeError(f"dim {axes[0]} appears multiple times in the list of dims")
    return axes


def requires_graph(*tensors) -> bool:
    """True when grad mode is on and an operand requires grad (the op must be recorded)."""
    if STATE.enabled:
        for t in tensors:
            if isinstance(t, Tensor) and t._requires_grad:
                return True
    return False


def check_inplace(target: Tensor, *others) -> bool:
    """Refuse in-place changes autograd could not follow; return whether a graph is recorded."""
    if not requires_graph(target, *others):
        return False
    if target._grad_fn is None and target._requires_grad:
        raise RuntimeError(
            "a leaf Variable that requires grad is being used in an in-place operation. "
            "Do it inside `with torch.no_grad():` (as optimizers do), or use an out-of-place op."
        )
    if target._base is not None:
        raise RuntimeError(
            "in-place operation on a view of another tensor while recording gradients: "
            "handbook_lib does not rewrite the base tensor's history (PyTorch does). "
            "Use an out-of-place operation, or .clone() the view first."
        )
    return True


def _history_snapshot(target: Tensor) -> Tensor:
    """A copy of ``target`` that carries its place in the graph (the value before the update)."""
    old = wrap(target._data.copy())
    old._grad_fn, old._output_nr, old._requires_grad = (
        target._grad_fn, target._output_nr, target._requires_grad)
    return old


def write_into(target: Tensor, data) -> None:
    """Copy ``data`` into ``target``'s storage, with PyTorch's casting and shape rules."""
    result_dtype = getattr(data, "dtype", None)
    if result_dtype is not None and not _can_cast(result_dtype, target._data.dtype):
        raise RuntimeError(
            f"result type {_type_name(result_dtype)} can't be cast to the desired output type "
            f"{_type_name(target._data.dtype)}"
        )
    try:
        xp = _device.xp_of(target._data)
        xp.copyto(target._data, data, casting="unsafe")
    except ValueError as exc:
        if "read-only" in str(exc):
            raise RuntimeError(
                "unsupported operation: more than one element of the written-to tensor refers to "
                "a single memory location (it was made by expand). Please clone() the tensor "
                "before performing the operation."
            ) from None
        raise RuntimeError(
            f"output with shape {list(target.shape)} doesn't match the broadcast shape "
            f"{list(np.broadcast_shapes(target._data.shape, _shape(data)))}"
            if _broadcasts(target._data.shape, _shape(data))
            else f"The size of tensor a ({list(target.shape)}) must match the size of tensor b "
                 f"({list(_shape(data))})"
        ) from None
    target._version_counter[0] += 1


def _shape(data) -> tuple:
    """The shape of an array or a Python number (``()``), without touching the data."""
    return tuple(getattr(data, "shape", ()))


def _broadcasts(a: tuple, b: tuple) -> bool:
    try:
        np.broadcast_shapes(a, b)
        return True
    except ValueError:
        return False


def _can_cast(src: np.dtype, dst: np.dtype) -> bool:
    """PyTorch's rule: no float → integer and no non-bool → bool."""
    src_cat, dst_cat = _dtype._category(np.dtype(src)), _dtype._category(np.dtype(dst))
    return src_cat <= dst_cat


def _type_name(np_dtype) -> str:
    names = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
             "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}
    return names[np.dtype(np_dtype).name]


def inplace(target: Tensor, out_of_place: Callable, *args, **kwargs) -> Tensor:
    """Run ``out_of_place(target, *args)`` and store the result in ``target``'s own storage.

    When a graph is recorded, the op sees a snapshot of the old value, and ``target`` takes
    the new node as its ``grad_fn``; tensors saved earlier see the version change.
    """
    recording = check_inplace(target, *args)
    source = _history_snapshot(target) if recording else target
    result = out_of_place(source, *args, **kwargs)
    write_into(target, result._data)
    if recording and result._grad_fn is not None:
        target._grad_fn, target._output_nr, target._requires_grad = result._grad_fn, 0, True
    return target


def write_out(result: Tensor, out: Tensor | None) -> Tensor:
    """Handle an ``out=`` argument: copy ``result`` into ``out`` (resizing it if needed)."""
    if out is None:
        return result
    if STATE.enabled and (out._requires_grad or result._requires_grad):
        raise RuntimeError(
            "out=... arguments don't support automatic differentiation, but one of the arguments "
            "requires grad."
        )
    if out._data.__class__ is not result._data.__class__ or out.device != result.device:
        raise RuntimeError(f"Expected out tensor to have device {result.device}, but got "
                           f"{out.device} instead")
    if out._data.shape != result._data.shape:
        out._data = result._data.astype(out._data.dtype)
        out._version_counter[0] += 1
    else:
        write_into(out, result._data)
    return out


def size_args(size: Sequence) -> tuple:
    """Accept ``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])`` alike."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    elif len(size) == 1 and isinstance(size[0], Tensor):
        size = size[0].tolist()
    for position, s in enumerate(size):
        if not isinstance(s, (int, np.integer)) and not (isinstance(s, Tensor) and s.numel() == 1
                                                          and s._data.dtype.kind in "iu"):
            raise TypeError(f"argument 'size' must be tuple of ints, but found element of type "
                            f"{type(s).__name__} at pos {position}")
    shape = tuple(int(s) for s in size)
    negative = [s for s in shape if s < 0]
    if negative:
        raise RuntimeError(f"Trying to create tensor with negative dimension {negative[0]}: "
                           f"{list(shape)}")
    return shape
