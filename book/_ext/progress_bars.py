"""Progress bars render in the book as their final line, as they end in a terminal or JupyterLab.

tqdm redraws a bar by writing a carriage return and the new bar; every redraw reaches the notebook
as one more stream output. myst-nb merges those outputs with a newline between them before it
resolves carriage returns, so a training loop's bar would show as one line per redraw. Here the
outputs of a stream are first joined as they were written and each line keeps what follows its last
carriage return; myst-nb's own merging then has nothing left to split.
"""
from __future__ import annotations

from typing import Callable

from sphinx.application import Sphinx


def resolve_carriage_returns(text: str) -> str:
    """``text`` as a terminal shows it: each line keeps what follows its last ``\\r``."""
    lines = text.split("\n")
    return "\n".join(line.rstrip("\r").rsplit("\r", 1)[-1] for line in lines)


def join_streams(outputs: list) -> list:
    """Consecutive outputs of one stream joined as written, carriage returns resolved."""
    joined: list = []
    for output in outputs:
        previous = joined[-1] if joined else None
        if (output["output_type"] == "stream" and previous is not None
                and previous["output_type"] == "stream" and previous["name"] == output["name"]):
            previous["text"] += output["text"]
        else:
            joined.append(output.copy() if output["output_type"] == "stream" else output)
    for output in joined:
        if output["output_type"] == "stream":
            output["text"] = resolve_carriage_returns(output["text"])
    return joined


def _after_joining(coalesce: Callable[[list], list]) -> Callable[[list], list]:
    def coalesce_joined_streams(outputs: list) -> list:
        return coalesce(join_streams(outputs))

    return coalesce_joined_streams


def setup(app: Sphinx) -> dict:
    from myst_nb.core import render

    if not getattr(render.coalesce_streams, "joins_streams_first", False):
        render.coalesce_streams = _after_joining(render.coalesce_streams)
        render.coalesce_streams.joins_streams_first = True
    return {"parallel_read_safe": True, "parallel_write_safe": True}
