"""``handbook_lib.nn``: modules, parameters, losses, ``functional``, ``init`` and ``utils``."""
from .parameter import Buffer, Parameter
from .modules import *  # noqa: F401,F403
from .modules import __all__ as _module_names

__all__ = ["Buffer", "Parameter", *_module_names]
