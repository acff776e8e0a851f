"""The 底层实现 windows of the book: a function's real source, shown only if it really runs.

Each chapter ends by opening the library: ``show_source(obj, on_path=...)`` displays the source
of ``obj`` as it is in this checkout, and first runs ``on_path`` (the code the chapter is
explaining, e.g. ``lambda: loss.backward()``) while watching which functions Python enters. If
``obj`` never runs on that path, it raises: the text around the window describes code that is no
longer what runs, and the chapter must be brought up to date. Under nbval the displayed source is
compared too, so a change to the shown function is a change the chapter must look at.
"""
from __future__ import annotations

import inspect
import sys
import textwrap
from types import CodeType, FunctionType
from typing import Any, Callable

__all__ = ["Source", "show_source", "code_objects", "runs_on_path"]


class Source:
    """Source code that renders as a highlighted block in Jupyter and as plain text elsewhere."""

    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.text = text

    def _repr_markdown_(self) -> str:
        return f"````python\n{self.text}````"

    def __repr__(self) -> str:
        return self.text


def show_source(obj: Any, *, on_path: Callable[[], Any] | None = None) -> Source:
    """The source of ``obj`` (function, method, class or property), checked against ``on_path``.

    Raises:
        AssertionError: if ``on_path`` is given and running it never enters ``obj``'s code.
    """
    target = obj.fget if isinstance(obj, property) else obj
    name = getattr(target, "__qualname__", repr(obj))
    if on_path is not None and not runs_on_path(obj, on_path):
        raise AssertionError(
            f"{name} does not run when the chapter's example runs: the text around this window "
            "describes code that is no longer what runs. Show the function that does."
        )
    return Source(name, textwrap.dedent(inspect.getsource(target)))


def code_objects(obj: Any) -> set[CodeType]:
    """The code objects that running ``obj`` means: a function's own, every method of a class."""
    if isinstance(obj, property):
        return set().union(*(code_objects(f) for f in (obj.fget, obj.fset, obj.fdel) if f))
    if isinstance(obj, (staticmethod, classmethod)):
        return code_objects(obj.__func__)
    if inspect.ismethod(obj):
        return code_objects(obj.__func__)
    if inspect.isclass(obj):
        return set().union(set(), *(code_objects(member) for member in vars(obj).values()
                                    if isinstance(member, (FunctionType, property,
                                                           staticmethod, classmethod))))
    function = inspect.unwrap(obj)
    if not isinstance(function, FunctionType):
        raise TypeError(f"show_source() needs Python source: {obj!r} has none")
    return {function.__code__}


def runs_on_path(obj: Any, path: Callable[[], Any]) -> bool:
    """True if calling ``path()`` enters the code of ``obj`` (in this thread)."""
    wanted = code_objects(obj)
    seen = False

    def watch(frame, event: str, arg) -> None:
        nonlocal seen
        if event == "call" and frame.f_code in wanted:
            seen = True

    previous = sys.getprofile()
    sys.setprofile(watch)
    try:
        path()
    finally:
        sys.setprofile(previous)
    return seen
