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
from pathlib import Path

import matplotlib as mpl
from matplotlib import font_manager

__all__ = ["CJK_FAMILIES", "setup_chinese_fonts"]

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
    ``rcParams["font.family"]`` to sans-serif with that family first. Calling it
    again is harmless. Chinese inside mathtext (``$...$``) is not covered: write
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
    return family
