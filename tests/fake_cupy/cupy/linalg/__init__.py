"""``cupy.linalg`` of the stand-in: numpy.linalg's functions that cupy also has."""
import numpy as _np

from .. import _SNAPSHOT, _core

LinAlgError = _np.linalg.LinAlgError


def _function(name: str):
    np_function = getattr(_np.linalg, name)

    def function(*args, **kwargs):
        return _core.call(np_function, args, kwargs)

    function.__name__ = name
    return function


for _name, _kind in _SNAPSHOT["cupy.linalg"].items():
    if _kind == "function" and hasattr(_np.linalg, _name):
        globals()[_name] = _function(_name)
