"""``handbook_lib.nn``: modules, parameters, losses, ``functional``, ``init`` and ``utils``."""
from . import functional, init, parallel, utils
from .modules import *  # noqa: F401,F403
from .modules import __all__ as _module_names
from .parameter import Buffer, Parameter
from .parallel import DataParallel

__all__ = ["Buffer", "DataParallel", "Parameter", "functional", "init", "parallel", "utils",
           *_module_names]
