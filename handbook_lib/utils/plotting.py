"""Chinese text in matplotlib figures, configured once for every notebook.

matplotlib's default font, DejaVu Sans, has no Chinese glyphs: a label such as
``"损失"`` comes out as empty boxes with a ``Glyph ... missing from font(s)``
warning. :func:`setup_chinese_fonts` registers a CJK font and puts it first in
matplotlib's sans-serif list, keeping DejaVu Sans behind it as the fallback for
any glyph the CJK font lacks. It needs no root and no font cache rebuild: the
``mplfonts`` package (in ``requirements.txt``) ships Noto Sans CJK SC, and a
system font (Debian's ``fonts-noto-cjk``, Windows' Microsoft YaHei, macOS'
PingFang SC) works as well.

Every notebook starts with::

    from handbook_lib.utils.plotting import setup_chinese_fonts
    setup_chinese_fonts()
"""

from __future__ import annotations

import importlib.util
import io
import sys
import time
from pathlib import Path

import matplotlib as mpl
from matplotlib import font_manager

__all__ = ["CJK_FAMILIES", "LivePlot", "setup_chinese_fonts"]

#: Font families with Simplified Chinese glyphs, in order of preference.
CJK_FAMILIES: tuple[str, ...] = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Noto Sans SC",
    "WenQuanYi Zen Hei",
    "Microsoft YaHei",
    "PingFang SC",
    "SimHei",
)

_FALLBACK_FAMILY = "DejaVu Sans"


def _bundled_font_files() -> list[Path]:
    """The Noto Sans CJK SC files shipped by ``mplfonts``, or ``[]`` without it."""
    spec = importlib.util.find_spec("mplfonts")
    if spec is None or spec.origin is None:
        return []
    return sorted((Path(spec.origin).parent / "fonts").glob("NotoSansCJKsc-*.otf"))


def _find_family(families: tuple[str, ...]) -> str | None:
    """The first of ``families`` that matplotlib knows, or ``None``."""
    known = {entry.name for entry in font_manager.fontManager.ttflist}
    return next((family for family in families if family in known), None)


def setup_chinese_fonts() -> str:
    """Make matplotlib draw Chinese text; returns the font family it will use.

    Registers the fonts shipped by ``mplfonts`` (if installed), picks the first
    family of :data:`CJK_FAMILIES` that is available and sets
    ``rcParams["font.family"]`` to sans-serif with that family first. In Jupyter it
    also renders inline figures at twice their pixel density ("retina"), so that
    they stay sharp on high-resolution screens. Calling it again is harmless. Chinese inside mathtext (``$...$``) is not covered: write
    Chinese outside the dollar signs, e.g. ``"损失 $L(w)$"``.

    Raises:
        RuntimeError: if no font with Chinese glyphs can be found.
    """
    for path in _bundled_font_files():
        font_manager.fontManager.addfont(str(path))
    family = _find_family(CJK_FAMILIES)
    if family is None:
        raise RuntimeError(
            "setup_chinese_fonts(): no font with Chinese glyphs was found "
            f"(looked for {', '.join(CJK_FAMILIES)}). Install one with "
            "`pip install mplfonts` (no root needed) or, on Debian/Ubuntu, "
            "`apt-get install fonts-noto-cjk`, then restart the kernel."
        )
    others = [name for name in mpl.rcParams["font.sans-serif"] if name not in (family, _FALLBACK_FAMILY)]
    mpl.rcParams["font.family"] = "sans-serif"
    mpl.rcParams["font.sans-serif"] = [family, _FALLBACK_FAMILY, *others]
    _use_retina_figures()
    return family


def _in_notebook() -> bool:
    """True inside a Jupyter kernel (where figures are shown inline)."""
    shell = sys.modules.get("IPython") and sys.modules["IPython"].get_ipython()
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def _use_retina_figures() -> None:
    """Inline figures at twice their pixel density, sharp on high-resolution screens."""
    if _in_notebook():
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("retina")


class LivePlot:
    """Training curves that redraw in place while a loop runs; the last drawing stays as the figure.

    ``panels`` maps a panel title to the names of its curves (a list puts every curve in one
    panel). ``update(x, name=value, ...)`` adds points and redraws at most every ``interval``
    seconds; ``close()`` draws the final state and returns the figure. In Jupyter the figure is one
    output that is replaced on every redraw (so the saved notebook holds the final curves);
    elsewhere nothing is shown until the caller shows the returned figure::

        live = LivePlot({"损失": ["训练", "测试"], "准确率": ["测试准确率"]}, xlabel="轮")
        for epoch in range(1, EPOCHS + 1):
            ...
            live.update(epoch, 训练=train_loss, 测试=test_loss, 测试准确率=accuracy)
        figure = live.close()
    """

    def __init__(self, panels: "dict[str, list[str]] | list[str]", *, xlabel: str = "",
                 interval: float = 1.0, figsize: "tuple[float, float] | None" = None) -> None:
        import matplotlib.pyplot as plt

        self.panels = {"": list(panels)} if isinstance(panels, (list, tuple)) else dict(panels)
        self.history: dict[str, tuple[list, list]] = {
            name: ([], []) for names in self.panels.values() for name in names}
        self.xlabel, self.interval = xlabel, interval
        width = 4.5 * len(self.panels) + 0.5
        self.figure, axes = plt.subplots(1, len(self.panels), figsize=figsize or (width, 3.4),
                                         squeeze=False)
        plt.close(self.figure)  # shown through the display below, not again at the cell's end
        self.axes = dict(zip(self.panels, axes[0]))
        self._last_draw = -float("inf")
        self._display = None

    def update(self, x: float, values: "dict[str, float] | None" = None, **named: float) -> None:
        """Add the point ``(x, value)`` to each named curve; redraw if ``interval`` has passed."""
        for name, value in {**(values or {}), **named}.items():
            if name not in self.history:
                raise KeyError(f"LivePlot has no curve named {name!r}; its curves are "
                               f"{list(self.history)}")
            xs, ys = self.history[name]
            xs.append(x)
            ys.append(float(value))
        if time.monotonic() - self._last_draw >= self.interval:
            self._show()

    def close(self):
        """Draw the final curves and return the figure."""
        self._show()
        return self.figure

    def _draw(self) -> None:
        for title, ax in self.axes.items():
            ax.clear()
            for name in self.panels[title]:
                xs, ys = self.history[name]
                ax.plot(xs, ys, marker="o" if len(xs) < 30 else None, markersize=3, label=name)
            ax.set(title=title, xlabel=self.xlabel)
            ax.grid(alpha=0.3)
            if len(self.panels[title]) > 1:
                ax.legend()
        self.figure.tight_layout()

    def _show(self) -> None:
        self._draw()
        self._last_draw = time.monotonic()
        if not _in_notebook():
            return
        from IPython.display import display

        image = {"image/png": self._png(), "text/plain": f"<LivePlot: {', '.join(self.panels)}>"}
        width = int(self.figure.get_figwidth() * self.figure.dpi)
        metadata = {"image/png": {"width": width}}
        if self._display is None:
            self._display = display(image, raw=True, metadata=metadata, display_id=True)
        else:
            self._display.update(image, raw=True, metadata=metadata)

    def _png(self) -> bytes:
        """The figure as a PNG at twice its pixel density (shown at its normal size)."""
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", dpi=2 * self.figure.dpi)
        return buffer.getvalue()
