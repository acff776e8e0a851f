"""``cupyx`` of the stand-in: scatter operations, ``rsqrt``, ``errstate`` and synchronisation
checks (``allow_synchronize(False)`` makes any device-to-host transfer raise)."""
import contextlib as _contextlib

import numpy as _np

import cupy as _cupy
from cupy import _core

from . import scipy  # noqa: F401



class DeviceSynchronized(RuntimeError):
    """Raised when the device synchronises inside ``allow_synchronize(False)``."""

    def __init__(self, message=None) -> None:
        super().__init__(message or "Device synchronization was detected while disallowed.")


@_contextlib.contextmanager
def allow_synchronize(allow: bool):
    previous = _core.STATE.allow_sync
    _core.STATE.allow_sync = allow
    try:
        yield
    finally:
        _core.STATE.allow_sync = previous


def errstate(**kwargs):
    return _np.errstate(**kwargs)


def seterr(**kwargs):
    return _np.seterr(**kwargs)


def geterr():
    return _np.geterr()


def _scatter(np_ufunc):
    def scatter(a, slices, value):
        _cupy.ufunc(np_ufunc).at(a, slices, value)

    return scatter


scatter_add = _scatter(_np.add)
scatter_max = _scatter(_np.maximum)
scatter_min = _scatter(_np.minimum)


def rsqrt(x, out=None):
    """``1 / sqrt(x)`` elementwise."""
    return _cupy.reciprocal(_cupy.sqrt(x), out=out)
