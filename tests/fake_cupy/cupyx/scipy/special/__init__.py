"""``cupyx.scipy.special`` of the stand-in: scipy.special's ufuncs that cupy also has."""
import scipy.special as _special

from cupy import _SNAPSHOT, _core

for _name, _kind in _SNAPSHOT["cupyx.scipy.special"].items():
    _value = getattr(_special, _name, None)
    if _kind == "ufunc" and isinstance(_value, _core.np.ufunc):
        globals()[_name] = _core.ufunc(_value)
