"""Random number generators: ``Generator``, ``manual_seed``, ``seed``, ``initial_seed``.

Each generator wraps numpy's PCG64. Random tensors are drawn on the CPU and then moved to their
device, so the same seed gives the same numbers on CPU and GPU (PyTorch's generators differ
between devices; ours do not).
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
        return self

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


def rng_of(generator: Generator | None) -> np.random.Generator:
    return (generator or default_generator).rng


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
