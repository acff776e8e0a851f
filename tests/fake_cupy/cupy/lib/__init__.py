"""``cupy.lib`` of the stand-in: ``stride_tricks.as_strided`` (a view, on its array's device)."""
from . import stride_tricks  # noqa: F401
