"""``cupy.random`` of the stand-in: per-device random states that draw with numpy on the device.

The numbers differ from real cupy's (cuRAND): what matters is the interface and that a seeded
state repeats itself. Like cupy, dtypes are restricted (floats: float32/float64; integers:
``randint`` any integer dtype) and the results are arrays on the current device.
"""
import numpy as _np

from .. import _core

_FLOATS = (_np.float32, _np.float64)


def _float_dtype(dtype):
    dtype = _np.dtype(dtype)
    if dtype.type not in _FLOATS:
        raise TypeError(f"cupy.random only supports float32 and float64 (got {dtype})")
    return dtype


def _host(x):
    """A stand-in array argument (e.g. ``loc``) as numpy; host arrays are refused."""
    if x.__class__ is _core.ndarray:
        _core._check_device(x._dev)
        return x._a
    if isinstance(x, _np.ndarray):
        raise _core._unsupported(x)
    return x


def _device(a):
    return _core._new(_np.asarray(a))


class RandomState:
    """cupy's legacy random state (``cupy.random.RandomState(seed)``)."""

    def __init__(self, seed=None, method=None) -> None:
        self.seed(seed)

    def seed(self, seed=None) -> None:
        self._rng = _np.random.Generator(_np.random.PCG64(seed))

    def random_sample(self, size=None, dtype=float):
        return _device(self._rng.random(size, dtype=_float_dtype(dtype)))

    def rand(self, *size, dtype=float):
        return self.random_sample(size or None, dtype)

    def standard_normal(self, size=None, dtype=float):
        return _device(self._rng.standard_normal(size, dtype=_float_dtype(dtype)))

    def randn(self, *size, dtype=float):
        return self.standard_normal(size or None, dtype)

    def normal(self, loc=0.0, scale=1.0, size=None, dtype=float):
        draws = self._rng.normal(_host(loc), _host(scale), size)
        return _device(draws.astype(_float_dtype(dtype)))

    def uniform(self, low=0.0, high=1.0, size=None, dtype=float):
        draws = self._rng.uniform(_host(low), _host(high), size)
        return _device(draws.astype(_float_dtype(dtype)))

    def randint(self, low, high=None, size=None, dtype="l"):
        return _device(self._rng.integers(low, high, size, dtype=_np.dtype(dtype)))

    def standard_exponential(self, size=None, dtype=float):
        return _device(self._rng.standard_exponential(size, dtype=_float_dtype(dtype)))

    def exponential(self, scale=1.0, size=None, dtype=float):
        draws = self._rng.exponential(_host(scale), size)
        return _device(draws.astype(_float_dtype(dtype)))

    def binomial(self, n, p, size=None, dtype=int):
        return _device(self._rng.binomial(_host(n), _host(p), size).astype(dtype))

    def permutation(self, num):
        if isinstance(num, int):
            return _device(self._rng.permutation(num))
        return _core.call(self._rng.permutation, (num,), {})

    def shuffle(self, a) -> None:
        _core._check_device(a._dev)
        self._rng.shuffle(a._a)

    def choice(self, a, size=None, replace=True, p=None):
        return _device(self._rng.choice(_host(a), size, replace, _host(p)))


_states: dict[int, RandomState] = {}


def get_random_state() -> RandomState:
    """The random state of the current device (created on first use)."""
    device = _core.STATE.device
    if device not in _states:
        _states[device] = RandomState()
    return _states[device]


def set_random_state(rs: RandomState) -> None:
    _states[_core.STATE.device] = rs


def seed(seed=None) -> None:
    get_random_state().seed(seed)


def reset_states() -> None:
    _states.clear()


def _module_level(name: str):
    def draw(*args, **kwargs):
        return getattr(get_random_state(), name)(*args, **kwargs)

    draw.__name__ = name
    return draw


for _name in ("random_sample", "rand", "randn", "standard_normal", "normal", "uniform", "randint",
              "standard_exponential", "exponential", "binomial", "permutation", "shuffle",
              "choice"):
    globals()[_name] = _module_level(_name)
random = ranf = sample = globals()["random_sample"]


class BitGenerator:
    def __init__(self, seed=None) -> None:
        self._seed = seed


class XORWOW(BitGenerator):
    pass


class MRG32k3a(BitGenerator):
    pass


class Philox4x3210(BitGenerator):
    pass


class Generator:
    """cupy's ``Generator`` over a bit generator (``cupy.random.default_rng(seed)``)."""

    def __init__(self, bit_generator: BitGenerator) -> None:
        self._rng = _np.random.Generator(_np.random.PCG64(bit_generator._seed))

    def random(self, size=None, dtype=_np.float64, out=None):
        return _device(self._rng.random(size, dtype=_float_dtype(dtype)))

    def standard_normal(self, size=None, dtype=_np.float64, out=None):
        return _device(self._rng.standard_normal(size, dtype=_float_dtype(dtype)))

    def uniform(self, low=0.0, high=1.0, size=None, dtype=_np.float64):
        return _device(self._rng.uniform(_host(low), _host(high), size).astype(dtype))

    def integers(self, low, high=None, size=None, dtype=_np.int64, endpoint=False):
        return _device(self._rng.integers(low, high, size, dtype=dtype, endpoint=endpoint))

    def standard_exponential(self, size=None, dtype=_np.float64, method="inv", out=None):
        return _device(self._rng.standard_exponential(size, dtype=_float_dtype(dtype)))

    def exponential(self, scale=1.0, size=None):
        return _device(self._rng.exponential(_host(scale), size))


def default_rng(seed=None) -> Generator:
    return Generator(XORWOW(seed))


def _reset() -> None:
    reset_states()
