"""Random number generators: ``Generator``, ``manual_seed``, ``seed``, ``initial_seed``.

Each generator wraps numpy's PCG64 for the CPU and, once a GPU tensor asks for random numbers,
one cupy ``RandomState`` per GPU seeded from the same seed: GPU draws are made on the GPU (no
host-to-device copy per dropout mask) and ``manual_seed`` makes them reproducible, as in
PyTorch. As in PyTorch, the CPU and the GPU give different numbers for one seed.
``get_state``/``set_state`` cover the CPU state only (``torch.get_rng_state`` likewise).
"""
from __future__ import annotations

import json
import time

import numpy as np


class Generator:
    """A source of random numbers with its own state, like ``torch.Generator``."""

    def __init__(self, device: str = "cpu") -> None:
        self.device = device
        self.manual_seed(int(time.time_ns()) % (2**63))

    def manual_seed(self, seed: int) -> "Generator":
        seed = int(seed)
        if not -(2**63) <= seed < 2**64:
            raise RuntimeError(f"Overflow when unpacking long: seed {seed} is out of range")
        self._initial = seed % (2**64)
        self.rng = np.random.Generator(np.random.PCG64(self._initial))
        self._device_rngs: dict = {}  # GPU index -> its draws, made again from the new seed
        return self

    def device_rng(self, cupy) -> "_CupyDraws":
        """The draws for the current GPU: a cupy RandomState seeded from this generator's seed
        and the GPU's index, created on first use."""
        index = cupy.cuda.Device().id
        draws = self._device_rngs.get(index)
        if draws is None:
            seed = (self._initial + index) % (2**63)
            draws = self._device_rngs[index] = _CupyDraws(cupy.random.RandomState(seed))
        return draws

    def seed(self) -> int:
        """Re-seed from a non-deterministic source and return the new seed."""
        new = int(np.random.SeedSequence().entropy) % (2**63)
        self.manual_seed(new)
        return new

    def initial_seed(self) -> int:
        return self._initial

    def get_state(self):
        """The state as a uint8 tensor (JSON of numpy's bit-generator state)."""
        from . import tensor, uint8

        blob = json.dumps({"seed": self._initial, "state": self.rng.bit_generator.state})
        return tensor(list(blob.encode("utf-8")), dtype=uint8)

    def set_state(self, state) -> "Generator":
        data = json.loads(bytes(state.tolist()).decode("utf-8"))
        self._initial = data["seed"]
        self.rng = np.random.Generator(np.random.PCG64())
        self.rng.bit_generator.state = data["state"]
        return self


default_generator = Generator()
default_generator.manual_seed(67280421310721)  # PyTorch's default initial seed


class _CupyDraws:
    """cupy's RandomState under the names of numpy's Generator that the ops use, so that one op
    draws with ``rng_of(generator, xp).random(shape, dtype=...)`` on either device."""

    __slots__ = ("state",)

    def __init__(self, state) -> None:
        self.state = state

    def random(self, size, dtype=np.float64):
        return self.state.random_sample(size, dtype=dtype)

    def standard_normal(self, size, dtype=np.float64):
        return self.state.standard_normal(size, dtype=dtype)

    def normal(self, loc, scale, size):
        return self.state.normal(loc, scale, size)

    def integers(self, low, high, size):
        return self.state.randint(low, high, size, dtype=np.int64)

    def permutation(self, n: int):
        return self.state.permutation(n)

    def exponential(self, scale, size):
        return self.state.exponential(scale, size)


def rng_of(generator: Generator | None, xp=np):
    """The draws of ``generator`` (the default one if None) for arrays of module ``xp``: numpy's
    Generator for the CPU, the generator's cupy RandomState for the current GPU."""
    generator = generator or default_generator
    return generator.rng if xp is np else generator.device_rng(xp)


def manual_seed(seed: int) -> Generator:
    """Seed the default generator: every random result after this is reproducible."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(state) -> None:
    default_generator.set_state(state)
