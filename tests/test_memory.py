"""handbook_lib._memory: with glibc told to keep freed memory, reallocating a buffer of the same
size costs no page faults; without it, every new buffer page-faults again."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from handbook_lib import _memory

GLIBC = _memory._glibc() is not None

FAULTS_PER_ROUND = """
import resource, sys
import numpy as np
from handbook_lib._memory import keep_freed_memory
active = keep_freed_memory()
def touch():  # like a training step: several MB-sized buffers alive at once, then all freed
    buffers = [np.empty(250_000 + 1000 * i, dtype=np.float32) for i in range(16)]
    for b in buffers:
        b.fill(1.0)
touch()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    touch()
after = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
print(active, (after - before) / 20)
"""


def faults_per_round(opt_out: bool) -> tuple[bool, float]:
    env = {k: v for k, v in os.environ.items() if k != _memory.ENV_VAR}
    if opt_out:
        env[_memory.ENV_VAR] = "0"
    out = subprocess.run([sys.executable, "-c", FAULTS_PER_ROUND], env=env, check=True,
                         capture_output=True, text=True).stdout.split()
    return out[0] == "True", float(out[1])


@pytest.mark.skipif(not GLIBC, reason="the allocator setting exists only with glibc")
def test_freed_buffers_are_reused_without_page_faults():
    active, faults = faults_per_round(opt_out=False)
    assert active
    assert faults < 50  # 16 MB of buffers is 4,000 pages: (almost) none of them faults again


@pytest.mark.skipif(not GLIBC, reason="the allocator setting exists only with glibc")
def test_opting_out_restores_glibcs_default():
    active, faults = faults_per_round(opt_out=True)
    assert not active
    assert faults > 2000  # the freed heap top went back to the OS and faults page by page
