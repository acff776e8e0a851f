"""``handbook_lib.nn``: modules, parameters, losses, ``functional``, ``init`` and ``utils``."""
from . import functional, init, utils
from .modules import *  # noqa: F401,F403
from .modules import __all__ as _module_names
from .parameter import Buffer, Parameter

__all__ = ["Buffer", "Parameter", "functional", "init", "utils", *_module_names]
