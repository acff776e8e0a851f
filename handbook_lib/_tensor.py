"""Tensor: a thin wrapper over one backend array (numpy or cupy) plus autograd fields.

The data lives in ``_data``. Autograd adds: ``requires_grad``, ``grad``, ``grad_fn`` (the
:class:`~handbook_lib.autograd.graph.Node` that made it), and a version counter shared by all
views of one storage, bumped by every in-place operation so that backward can detect that a
tensor it saved was changed. Operations live in :mod:`handbook_lib.ops`; they are bound to this
class as methods there.
"""
from __future__ import annotations

import weakref
from typing import Any, Callable

import numpy as np

from . import _device, _dtype
from .autograd.grad_mode import STATE


class Tensor:
    """A multi-dimensional array that can record the operations applied to it."""

    __slots__ = (
        "_data", "_requires_grad", "grad", "_grad_fn", "_output_nr", "_version_counter",
        "_base", "_accumulator", "_hooks", "_retains_grad", "__weakref__",
    )
    __array_priority__ = 1000  # numpy scalars on the left defer to our reflected operators

    def __init__(self, *args: Any, dtype=None, device=None, requires_grad: bool = False):
        """PyTorch's legacy constructor: ``Tensor(2, 3)`` is uninitialised of that shape,
        ``Tensor(data)`` a tensor of the default dtype. Prefer ``hl.tensor``/``hl.empty``."""
        from ._tensor_types import legacy_array

        _init(self, legacy_array(args, dtype, device))
        if requires_grad:
            self.requires_grad_(True)

    # --- construction helpers used by every op (kept lean: they run per operation) ----------
    @classmethod
    def _wrap(cls, data, base: "Tensor | None" = None) -> "Tensor":
        """A new tensor over ``data``; ``base`` makes it a view sharing the version counter."""
        t = object.__new__(cls)
        if not isinstance(data, _device.ARRAY_TYPES):
            data = np.asarray(data)  # numpy returns scalars from some 0-dim operations
        _init(t, data)
        if base is not None:
            t._version_counter = base._version_counter
            t._base = base if base._base is None else base._base
        return t

    def _detached_alias(self) -> "Tensor":
        """Same storage and version counter, no autograd history (``detach``)."""
        t = Tensor._wrap(self._data)
        t._version_counter = self._version_counter
        return t

    def _attached_alias(self, node) -> "Tensor":
        """An alias that carries ``node`` as grad_fn (a saved output, unpacked for double backward)."""
        t = self._detached_alias()
        t._grad_fn, t._requires_grad = node, True
        return t

    def _owned_detached(self) -> "Tensor":
        """A detached tensor whose buffer no other tensor uses (safe to accumulate into)."""
        return Tensor._wrap(self._data.copy())

    # --- attributes --------------------------------------------------------------------------
    @property
    def data(self) -> "Tensor":
        """A detached tensor on the same storage. Changes to it are invisible to autograd."""
        return Tensor._wrap(self._data)

    @data.setter
    def data(self, value: "Tensor") -> None:
        self._data = value._data

    @property
    def shape(self) -> "Size":
        return Size(self._data.shape)

    def size(self, dim: int | None = None):
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_normalize_dim(dim, self._data.ndim)]

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return self._data.size

    nelement = numel

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    @property
    def dtype(self) -> _dtype.dtype:
        return _dtype.from_numpy_dtype(self._data.dtype)

    @property
    def device(self) -> _device.device:
        return _device.device_of(self._data)

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def xp(self):
        """The array module holding the data: numpy or cupy."""
        return _device.xp_of(self._data)

    def element_size(self) -> int:
        return self._data.itemsize

    def stride(self, dim: int | None = None):
        strides = tuple(s // self._data.itemsize for s in self._data.strides)
        return strides if dim is None else strides[_normalize_dim(dim, self._data.ndim)]

    def is_contiguous(self) -> bool:
        return bool(self._data.flags.c_contiguous)

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f"

    def data_ptr(self) -> int:
        if isinstance(self._data, np.ndarray):
            return self._data.__array_interface__["data"][0]
        return self._data.data.ptr

    def type(self, dtype=None):
        """``'torch.FloatTensor'`` (PyTorch's name); with a dtype, a type such as
        ``hl.LongTensor`` or a name such as ``'torch.IntTensor'``, the converted tensor."""
        from ._tensor_types import BY_DTYPE, LegacyTensorType, dtype_and_device_of_type_name

        if dtype is None:
            prefix = "torch.cuda." if self.is_cuda else "torch."
            return prefix + BY_DTYPE[self.dtype]
        if isinstance(dtype, LegacyTensorType):
            return self.to(dtype.dtype)
        if isinstance(dtype, str):
            target, device = dtype_and_device_of_type_name(dtype)
            return self.to(device=device, dtype=target)
        return self.to(dtype)

    # --- autograd fields -----------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if self._grad_fn is not None and not requires_grad:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use a "
                "computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach()."
            )
        if requires_grad and self._data.dtype.kind != "f":
            raise RuntimeError(
                "only Tensors of floating point dtype can require gradients "
                f"(got {self.dtype}); convert first, e.g. x = x.float()"
            )
        self._requires_grad = bool(requires_grad)
        return self

    @property
    def grad_fn(self):
        return self._grad_fn

    @property
    def is_leaf(self) -> bool:
        return self._grad_fn is None

    @property
    def output_nr(self) -> int:
        return self._output_nr

    @property
    def _version(self) -> int:
        return self._version_counter[0]

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    def detach(self) -> "Tensor":
        """A tensor on the same storage, cut from the graph (shares the version counter)."""
        return self._detached_alias()

    def detach_(self) -> "Tensor":
        self._grad_fn, self._requires_grad = None, False
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        if self._grad_fn is None:
            if not self._requires_grad:
                raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
            return
        if self._retains_grad:
            return
        ref = weakref.ref(self)

        def store(grad: "Tensor") -> None:
            tensor = ref()
            if tensor is not None:
                detached = grad if STATE.enabled else grad.detach()
                tensor.grad = detached if tensor.grad is None else tensor.grad + detached

        store.runs_last = True
        self._grad_fn.register_prehook(store, self._output_nr)
        self._retains_grad = True

    def register_hook(self, hook: Callable[["Tensor"], "Tensor | None"]):
        """Run ``hook(grad)`` when this tensor's gradient is computed; it may return a new one."""
        from .autograd.graph import accumulator_of

        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._grad_fn is not None:
            return self._grad_fn.register_prehook(hook, self._output_nr)
        accumulator = accumulator_of(self)
        self._hooks = accumulator  # the leaf only holds a weak reference: keep its hooks alive
        return accumulator.register_prehook(hook, 0)

    def register_post_accumulate_grad_hook(self, hook: Callable[["Tensor"], None]):
        """Run ``hook(tensor)`` on this leaf each time backward has added into its ``.grad``
        (DistributedDataParallel starts a bucket's all-reduce from here)."""
        from .autograd.graph import accumulator_of

        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf "
                               "tensors")
        accumulator = accumulator_of(self)
        self._hooks = accumulator  # the leaf only holds a weak reference: keep its hooks alive
        return accumulator.register_post_accumulate_hook(hook)

    def backward(self, gradient: "Tensor | None" = None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs=None) -> None:
        """Compute the gradient of this tensor w.r.t. the graph leaves into their ``.grad``."""
        from .autograd import backward

        backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    # --- conversion ----------------------------------------------------------------------------
    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The numpy array behind a CPU tensor, sharing memory (no copy)."""
        if self._requires_grad and not force:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead."
            )
        if not isinstance(self._data, np.ndarray):
            if not force:
                raise TypeError(
                    f"can't convert {self.device} device type tensor to numpy. Use Tensor.cpu() to "
                    "copy the tensor to host memory first."
                )
            return self._data.get()
        return self._data

    def __array__(self, dtype=None, copy=None):
        """numpy's protocol: ``copy=True`` always copies, ``copy=False`` never does (and raises
        where it would have to: another dtype, or a GPU tensor), ``None`` copies when needed.
        Where we differ: a tensor that requires grad converts too (PyTorch raises)."""
        on_host = isinstance(self._data, np.ndarray)
        array = self._data if on_host else self._data.get()
        converts = dtype is not None and np.dtype(dtype) != array.dtype
        if copy is False and (converts or not on_host):
            raise ValueError("Unable to avoid copy while creating an array as requested.")
        if converts:
            return array.astype(dtype)
        return array.copy() if copy and on_host else array

    def item(self):
        if self._data.size != 1:
            raise RuntimeError(
                f"a Tensor with {self._data.size} elements cannot be converted to Scalar"
            )
        return self._data.reshape(()).item()

    def tolist(self):
        return _device.move(self._data, _device.CPU).tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iu" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(
                "Boolean value of Tensor with more than one value is ambiguous"
            )
        return bool(self.item())

    def __repr__(self) -> str:
        from ._tensor_str import tensor_repr

        return tensor_repr(self)

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0:
            return self.item().__format__(spec)
        return object.__format__(self, spec)

    def __hash__(self) -> int:
        return id(self)

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __reduce_ex__(self, protocol):
        """Pickling (used by DataLoader workers) sends the data as a CPU numpy array, or, for a
        tensor in shared memory (``share_memory_``), the name of that memory."""
        if isinstance(self._data, np.memmap):
            from .multiprocessing._shared import shared_handle

            handle = shared_handle(self._data)
            if handle is not None:
                return (_rebuild_shared, (handle, self._requires_grad))
        return (_rebuild, (_device.move(self._data, _device.CPU), self._requires_grad))

    def share_memory_(self) -> "Tensor":
        """Move the data into shared memory, so that processes it is sent to share it."""
        from .multiprocessing._shared import share_memory_

        return share_memory_(self)

    def is_shared(self) -> bool:
        return isinstance(self._data, np.memmap)

    def __deepcopy__(self, memo) -> "Tensor":
        if self._grad_fn is not None:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) support the deepcopy "
                "protocol at the moment. If you were attempting to deepcopy a module, this may be "
                "because of a torch.nn.utils.weight_norm usage, see "
                "https://github.com/pytorch/pytorch/pull/103001"
            )
        copied = type(self)._wrap(self._data.copy())
        copied._requires_grad = self._requires_grad
        if self.grad is not None:
            copied.grad = self.grad.__deepcopy__(memo)
        memo[id(self)] = copied
        return copied


def _init(t: Tensor, data) -> None:
    t._data = data
    t._requires_grad = False
    t.grad = None
    t._grad_fn = None
    t._output_nr = 0
    t._version_counter = [0]
    t._base = None
    t._accumulator = None
    t._hooks = None
    t._retains_grad = False


def _rebuild(array: np.ndarray, requires_grad: bool) -> Tensor:
    t = Tensor._wrap(array)
    t._requires_grad = requires_grad
    return t


def _rebuild_shared(handle: tuple, requires_grad: bool) -> Tensor:
    from .multiprocessing._shared import open_shared

    return _rebuild(open_shared(*handle), requires_grad)


def _normalize_dim(dim: int, ndim: int) -> int:
    """Turn a possibly negative ``dim`` into an index; PyTorch's IndexError when out of range."""
    low, high = (-1, 0) if ndim == 0 else (-ndim, ndim - 1)
    if not low <= dim <= high:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{low}, {high}], but got {dim})"
        )
    return dim % ndim if ndim else 0


class Size(tuple):
    """``tensor.shape``: a tuple that prints as ``torch.Size([2, 3])``."""

    def __repr__(self) -> str:
        return f"torch.Size({list(self)})"

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n
