"""Making tensors: from data (``tensor``, ``as_tensor``, ``from_numpy``), filled (``zeros``,
``ones``, ``full``, ``arange``, ``linspace``, ``eye``...) and random (``rand``, ``randn``...).

dtype inference follows PyTorch: Python floats → float32 (the default dtype), ints → int64,
bools → bool; numpy arrays keep their dtype.
"""
from __future__ import annotations

import numbers
from typing import Sequence

import numpy as np

from .. import _device, _dtype
from .._device import xp_of
from .._tensor import Tensor
from ..autograd.graph import Node, record
from ..random import rng_of
from ._util import size_args, wrap


def _np_dtype(dtype) -> np.dtype | None:
    return None if dtype is None else _dtype.to_numpy_dtype(dtype)


def _infer_dtype(data) -> np.dtype:
    """PyTorch's inference for Python data: any float → default float; else int64 or bool."""
    kinds = set()
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, Tensor):
            kinds.add(item._data.dtype.kind)
        elif isinstance(item, (bool, np.bool_)):
            kinds.add("b")
        elif isinstance(item, (numbers.Integral,)):
            kinds.add("i")
        elif isinstance(item, numbers.Real):
            kinds.add("f")
        else:
            raise TypeError(f"Could not infer dtype of {type(item).__name__}")
    if "f" in kinds:
        return _dtype.get_default_dtype().np_dtype
    if "i" in kinds or "u" in kinds:
        return np.dtype(np.int64)
    return np.dtype(np.bool_) if kinds else _dtype.get_default_dtype().np_dtype


def _plain(data):
    """Nested lists with 0-dim tensors replaced by numbers."""
    if isinstance(data, (list, tuple)):
        return [_plain(x) for x in data]
    if isinstance(data, Tensor):
        return data.tolist()
    return data


def _to_array(data, dtype=None, device=None, copy: bool = True):
    """A backend array for ``data`` on ``device`` (a copy unless ``copy=False`` allows sharing)."""
    target = _device.as_device(device)
    wanted = _np_dtype(dtype)
    if isinstance(data, Tensor):
        array = data._data
    elif isinstance(data, _device.ARRAY_TYPES):
        array = data
        _dtype.from_numpy_dtype(array.dtype)  # a clear error for unsupported numpy dtypes
    elif isinstance(data, np.generic):
        array = np.asarray(data)  # host: a numpy scalar from the user
    else:
        # host: the user's lists and numbers, moved to the device below
        array = np.asarray(_plain(data), dtype=wanted or _infer_dtype(data))  # host: user data
        copy = False
    if wanted is not None and array.dtype != wanted:
        array, copy = array.astype(wanted), False
    if _device.device_of(array) != _device.resolve(target):
        array, copy = _device.move(array, target), False
    return array.copy() if copy else array


def tensor(data, *, dtype=None, device=None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:
    """A new tensor that owns a copy of ``data`` (lists, numbers, numpy arrays, tensors)."""
    if isinstance(data, Tensor):
        import warnings

        warnings.warn("To copy construct from a tensor, it is recommended to use "
                      "sourceTensor.clone().detach() or sourceTensor.clone().detach()."
                      "requires_grad_(True), rather than torch.tensor(sourceTensor).",
                      UserWarning, stacklevel=2)
    result = wrap(_to_array(data, dtype, device, copy=True))
    return result.requires_grad_(True) if requires_grad else result


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like ``tensor`` but shares memory with a numpy array or tensor when it can."""
    if isinstance(data, Tensor) and dtype is None and device is None:
        return data
    return wrap(_to_array(data, dtype, device, copy=False))


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array``: changing one changes the other."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    _dtype.from_numpy_dtype(array.dtype)
    return wrap(array)


def _filled(fill, size: Sequence, dtype, device, requires_grad: bool, default=None) -> Tensor:
    shape = size_args(size)
    np_dtype = _np_dtype(dtype) or default or _dtype.get_default_dtype().np_dtype
    target = _device.as_device(device)
    xp = target.xp
    try:
        with _device.allocating_on(target):
            data = xp.full(shape, fill, dtype=np_dtype) if fill is not None else xp.empty(
                shape, np_dtype)
    except MemoryError as exc:  # a GPU allocation that does not fit: PyTorch's error
        raise _cuda_out_of_memory(exc) from None
    result = wrap(data)
    return result.requires_grad_(True) if requires_grad else result


def _cuda_out_of_memory(exc: MemoryError) -> Exception:
    from .. import cuda

    return cuda.out_of_memory(exc)


def zeros(*size, dtype=None, device=None, requires_grad: bool = False, out=None) -> Tensor:
    from ._util import write_out

    return write_out(_filled(0, size, dtype, device, requires_grad), out)


def ones(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return _filled(1, size, dtype, device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Uninitialised memory (whatever the allocator hands back)."""
    return _filled(None, size, dtype, device, requires_grad)


def full(size, fill_value, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    if dtype is None:
        dtype = _infer_dtype(fill_value)
    return _filled(fill_value, (size,) if isinstance(size, int) else tuple(size), dtype, device,
                   requires_grad)


def _like(input: Tensor, dtype, device):
    return (dtype or input.dtype), (device or input.device)


def zeros_like(input: Tensor, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    dtype, device = _like(input, dtype, device)
    return zeros(input.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def ones_like(input: Tensor, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    dtype, device = _like(input, dtype, device)
    return ones(input.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def empty_like(input: Tensor, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    dtype, device = _like(input, dtype, device)
    return empty(input.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def full_like(input: Tensor, fill_value, *, dtype=None, device=None,
              requires_grad: bool = False) -> Tensor:
    dtype, device = _like(input, dtype, device)
    return full(input.shape, fill_value, dtype=dtype, device=device, requires_grad=requires_grad)


def arange(start, end=None, step=1, *, dtype=None, device=None,
           requires_grad: bool = False) -> Tensor:
    """``[start, end)`` in steps; int64 for integer arguments, else the default float dtype."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and larger bound inconsistent with step sign")
    if dtype is None:
        dtype = _infer_dtype([start, end, step])
    target = _device.as_device(device)
    xp = target.xp
    with _device.allocating_on(target):
        data = xp.arange(start, end, step, dtype=np.float64).astype(_np_dtype(dtype))
    result = wrap(data)
    return result.requires_grad_(True) if requires_grad else result


def linspace(start, end, steps: int, *, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    target = _device.as_device(device)
    xp, np_dtype = target.xp, _np_dtype(dtype) or _dtype.get_default_dtype().np_dtype
    with _device.allocating_on(target):
        result = wrap(xp.linspace(start, end, steps).astype(np_dtype))
    return result.requires_grad_(True) if requires_grad else result


def logspace(start, end, steps: int, base: float = 10.0, *, dtype=None, device=None) -> Tensor:
    target = _device.as_device(device)
    xp, np_dtype = target.xp, _np_dtype(dtype) or _dtype.get_default_dtype().np_dtype
    with _device.allocating_on(target):
        return wrap(xp.logspace(start, end, steps, base=base).astype(np_dtype))


def eye(n: int, m: int | None = None, *, dtype=None, device=None,
        requires_grad: bool = False) -> Tensor:
    target = _device.as_device(device)
    xp, np_dtype = target.xp, _np_dtype(dtype) or _dtype.get_default_dtype().np_dtype
    with _device.allocating_on(target):
        result = wrap(xp.eye(n, m, dtype=np_dtype))
    return result.requires_grad_(True) if requires_grad else result


# --- random -------------------------------------------------------------------------------------
def _random(draw, size: Sequence, dtype, device, requires_grad: bool, generator=None) -> Tensor:
    """``draw(rng, shape, dtype)`` with the generator's draws for ``device``: numpy's on the CPU,
    cupy's on the GPU (drawn there, no copy; reproducible under ``manual_seed``)."""
    shape = size_args(size)
    np_dtype = _np_dtype(dtype) or _dtype.get_default_dtype().np_dtype
    target = _device.as_device(device)
    if target.type == "cpu":
        data = draw(rng_of(generator), shape, np_dtype)
    else:
        with _device.allocating_on(target):
            data = draw(rng_of(generator, target.xp), shape, np_dtype)
    result = wrap(data.astype(np_dtype, copy=False))
    return result.requires_grad_(True) if requires_grad else result


def _float_draw(np_dtype) -> np.dtype:
    """numpy draws float32 or float64 directly; other float types are drawn as float32."""
    return np_dtype if np_dtype in (np.float32, np.float64) else np.dtype(np.float32)


def rand(*size, generator=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Uniform on [0, 1)."""
    return _random(lambda rng, s, d: rng.random(s, dtype=_float_draw(d)), size, dtype, device,
                   requires_grad, generator)


def randn(*size, generator=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Standard normal."""
    return _random(lambda rng, s, d: rng.standard_normal(s, dtype=_float_draw(d)), size, dtype,
                   device, requires_grad, generator)


def randint(low, high=None, size=None, *, generator=None, dtype=None, device=None,
            requires_grad: bool = False) -> Tensor:
    """Integers uniform on [low, high); int64 by default."""
    if size is None:
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} "
                           f">= to={high}")
    return _random(lambda rng, s, d: rng.integers(low, high, s), tuple(size),
                   dtype or np.int64, device, requires_grad, generator)


def randperm(n: int, *, generator=None, dtype=None, device=None) -> Tensor:
    """A random permutation of 0..n-1 (int64)."""
    return _random(lambda rng, s, d: rng.permutation(n), (n,), dtype or np.int64, device, False,
                   generator)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, device=None) -> Tensor:
    """Normal samples; ``mean``/``std`` may be tensors (one sample per element) or numbers."""
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        from ._util import check_same_device

        check_same_device(mean, std)
        mean_d = mean._data if isinstance(mean, Tensor) else mean
        std_d = std._data if isinstance(std, Tensor) else std
        shape = np.broadcast_shapes(getattr(mean_d, "shape", ()), getattr(std_d, "shape", ()))
        like = mean if isinstance(mean, Tensor) else std
        noise = rng_of(generator, xp_of(like)).standard_normal(shape)
        return wrap(noise.astype(like._data.dtype) * std_d + mean_d)
    return _random(lambda rng, s, d: rng.normal(mean, std, s), size, dtype, device, False,
                   generator)


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,
                generator=None) -> Tensor:
    """Indices drawn with probability proportional to the (non-negative) weights in each row."""
    xp = xp_of(input)
    weights = input._data.astype(np.float64)
    rows = weights.reshape(-1, weights.shape[-1])
    if not replacement and num_samples > rows.shape[1]:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                           "replacement")
    totals = rows.sum(axis=1, keepdims=True)
    # one read-back of two flags: the checks PyTorch makes too
    if bool(((weights < 0) | ~xp.isfinite(weights)).any()):
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if bool((totals <= 0).any()):
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    picks = _multinomial_rows(rows / totals, num_samples, replacement,
                              rng_of(generator, xp), xp)
    return wrap(picks.reshape(weights.shape[:-1] + (num_samples,)))


def _multinomial_rows(probs, num_samples: int, replacement: bool, rng, xp):
    """Draws from each row of ``probs`` on its device: inverse-CDF sampling with replacement,
    the Gumbel-top-k trick without (the k largest of log p + Gumbel noise are a sample without
    replacement)."""
    n, k = probs.shape
    if xp is np:  # numpy's own sampler, row by row (the CPU's numbers stay what they were)
        return np.asarray([rng.choice(k, num_samples, replace=replacement, p=row)  # host: CPU
                           for row in probs], dtype=np.int64).reshape(n, num_samples)
    if replacement:
        cdf = xp.cumsum(probs, axis=1)
        u = rng.random((n, num_samples), dtype=np.float64)
        picks = (cdf[:, None, :] <= u[:, :, None]).sum(axis=2)
        return xp.minimum(picks, k - 1).astype(np.int64)
    gumbel = -xp.log(-xp.log(rng.random((n, k), dtype=np.float64) + 1e-300) + 1e-300)
    keys = xp.where(probs > 0, xp.log(xp.maximum(probs, 1e-300)) + gumbel, -xp.inf)
    return xp.argsort(-keys, axis=1)[:, :num_samples].astype(np.int64)


def bernoulli(input: Tensor, p: float | None = None, *, generator=None) -> Tensor:
    """1 with probability ``input`` (or ``p``) elementwise, else 0; same dtype as ``input``."""
    prob = input._data if p is None else p
    draws = rng_of(generator, xp_of(input)).random(input._data.shape)
    return wrap((draws < prob).astype(input._data.dtype))


def rand_like(input: Tensor, *, dtype=None, device=None, generator=None) -> Tensor:
    dtype, device = _like(input, dtype, device)
    return rand(input.shape, dtype=dtype, device=device, generator=generator)


def randn_like(input: Tensor, *, dtype=None, device=None, generator=None) -> Tensor:
    dtype, device = _like(input, dtype, device)
    return randn(input.shape, dtype=dtype, device=device, generator=generator)


def randint_like(input: Tensor, low, high=None, *, dtype=None, device=None) -> Tensor:
    dtype, device = _like(input, dtype, device)
    return randint(low, high, tuple(input.shape), dtype=dtype, device=device)


# --- in-place fills (also used by nn.init) -------------------------------------------------------------
class FillBackward0(Node):
    """The new values do not depend on the old ones: no gradient flows back through a fill."""

    def backward(self, grad):
        return None


class CopyBackwards(Node):
    """``self.copy_(src)``: the gradient goes to ``src`` (summed and cast back by the engine)."""

    def backward(self, grad):
        return None, grad if self.needs_input_grad[1] else None


def _fill_with(self: Tensor, data) -> Tensor:
    from ._util import check_inplace, write_into

    recording = check_inplace(self)
    write_into(self, data)
    if recording:  # the old history is cut: the values now come from the fill
        record(self, FillBackward0, (self,))
        self._output_nr = 0
    return self


def _rng_for(tensor: Tensor, generator):
    """The generator's draws for ``tensor``'s device."""
    return rng_of(generator, xp_of(tensor))


def uniform_(self: Tensor, a: float = 0.0, b: float = 1.0, *, generator=None) -> Tensor:
    draws = _rng_for(self, generator).random(self._data.shape,
                                             dtype=_float_draw(self._data.dtype))
    return _fill_with(self, draws * (b - a) + a)


def normal_(self: Tensor, mean: float = 0.0, std: float = 1.0, *, generator=None) -> Tensor:
    draws = _rng_for(self, generator).standard_normal(self._data.shape,
                                                      dtype=_float_draw(self._data.dtype))
    return _fill_with(self, draws * std + mean)


def bernoulli_(self: Tensor, p: float = 0.5, *, generator=None) -> Tensor:
    return _fill_with(self, _rng_for(self, generator).random(self._data.shape) < p)


def random_(self: Tensor, low: int = 0, high: int | None = None, *, generator=None) -> Tensor:
    if high is None:
        low, high = 0, low if low else 2**24
    return _fill_with(self, _rng_for(self, generator).integers(low, high, self._data.shape))


def exponential_(self: Tensor, lambd: float = 1.0, *, generator=None) -> Tensor:
    return _fill_with(self, _rng_for(self, generator).exponential(1.0 / lambd,
                                                                  self._data.shape))


def fill_(self: Tensor, value) -> Tensor:
    if isinstance(value, Tensor):
        value = value.item()
    return _fill_with(self, value)


def zero_(self: Tensor) -> Tensor:
    return _fill_with(self, 0)


def copy_(self: Tensor, src: Tensor, non_blocking: bool = False) -> Tensor:
    """Copy ``src`` (broadcast, cast, moved across devices) into this tensor's storage.

    Recorded in the graph like PyTorch's: the gradient flows to ``src``, none to the old values."""
    from ._util import check_inplace, write_into

    if not isinstance(src, Tensor):
        src = tensor(src)
    recording = check_inplace(self, src)
    write_into(self, _device.move(src._data, self.device).astype(self._data.dtype, copy=False))
    if recording:
        record(self, CopyBackwards, (self, src))
        self._output_nr = 0
    return self
