"""Switches for graph recording: ``no_grad``, ``enable_grad``, ``set_grad_enabled``, ``inference_mode``.

Each is a context manager and a decorator, like PyTorch's. The state is one process-wide flag
(PyTorch keeps it per thread; handbook_lib does not run autograd on several threads).
"""
from __future__ import annotations

import functools
from typing import Callable


class _State:
    enabled = True


STATE = _State()


def is_grad_enabled() -> bool:
    return STATE.enabled


class _GradModeSwitch:
    """Base: sets the flag on entry, restores it on exit; usable as a decorator."""

    mode: bool

    def __enter__(self) -> None:
        self._previous = STATE.enabled
        STATE.enabled = self.mode

    def __exit__(self, *exc) -> None:
        STATE.enabled = self._previous

    def __call__(self, func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self.__class__._fresh(self):
                return func(*args, **kwargs)

        return wrapper

    def _fresh(self) -> "_GradModeSwitch":
        return self.__class__()


class no_grad(_GradModeSwitch):
    """Operations inside record no graph: for evaluation and for updating weights."""

    mode = False


class enable_grad(_GradModeSwitch):
    """Record the graph again inside a ``no_grad`` block."""

    mode = True


class set_grad_enabled(_GradModeSwitch):
    """``set_grad_enabled(False)`` is ``no_grad``; it also takes effect when called as a function."""

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)
        self._previous = STATE.enabled
        STATE.enabled = self.mode

    def __enter__(self) -> None:
        pass

    def __call__(self, func: Callable) -> Callable:
        STATE.enabled = self._previous  # used as a decorator: undo the switch made in __init__
        return super().__call__(func)

    def _fresh(self) -> "_GradModeSwitch":
        return set_grad_enabled(self.mode)


class inference_mode(_GradModeSwitch):
    """Like ``no_grad`` (PyTorch also skips version counting here; handbook_lib does not)."""

    def __init__(self, mode: bool = True) -> None:
        self.mode = not mode

    def _fresh(self) -> "_GradModeSwitch":
        return inference_mode(not self.mode)
