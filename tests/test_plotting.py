"""Chinese text in matplotlib figures: no empty boxes, on any machine."""

from __future__ import annotations

import io
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib as mpl  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.ft2font import FT2Font  # noqa: E402

from handbook_lib.utils import plotting  # noqa: E402

TITLE = "训练损失随迭代次数的变化"
XLABEL = "迭代次数 $t$"
YLABEL = "损失 $L(w) = \\frac{1}{n}\\sum_i (y_i - w x_i)^2$"


def missing_glyph_warnings() -> list[str]:
    """Draws a small figure with Chinese labels and returns matplotlib's missing-glyph warnings."""
    fig, ax = plt.subplots(figsize=(3, 2))
    try:
        ax.plot([0, 1, 2], [-1.0, 0.5, -0.25], label="训练集")
        ax.set_title(TITLE)
        ax.set_xlabel(XLABEL)
        ax.set_ylabel(YLABEL)
        ax.legend()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fig.savefig(io.BytesIO(), format="png")
    finally:
        plt.close(fig)
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


@pytest.fixture(autouse=True)
def restore_rc_params():
    with mpl.rc_context():
        yield


def test_default_font_shows_empty_boxes():
    # The control: without setup the check below must see missing glyphs, so it can fail.
    mpl.rcParams["font.family"] = "sans-serif"
    mpl.rcParams["font.sans-serif"] = ["DejaVu Sans"]
    assert any("missing from font" in message for message in missing_glyph_warnings())


def test_setup_draws_chinese_without_missing_glyphs():
    family = plotting.setup_chinese_fonts()
    assert family in plotting.CJK_FAMILIES
    assert mpl.rcParams["font.family"] == ["sans-serif"]
    assert mpl.rcParams["font.sans-serif"][:2] == [family, "DejaVu Sans"]
    assert missing_glyph_warnings() == []


def test_resolved_font_has_chinese_glyphs():
    plotting.setup_chinese_fonts()
    path = font_manager.findfont(font_manager.FontProperties(family=["sans-serif"]), fallback_to_default=False)
    font = FT2Font(path)
    assert all(font.get_char_index(ord(char)) != 0 for char in TITLE)


def test_setup_is_idempotent():
    first = plotting.setup_chinese_fonts()
    second = plotting.setup_chinese_fonts()
    names = mpl.rcParams["font.sans-serif"]
    assert first == second
    assert len(names) == len(set(names))


def test_bundled_font_works_without_system_cjk_fonts(monkeypatch):
    # A fresh Linux machine without root: only the font shipped by mplfonts is there.
    bundled = plotting._bundled_font_files()
    assert bundled, "mplfonts (requirements.txt) should ship NotoSansCJKsc-Regular.otf"
    system_only = [entry for entry in font_manager.fontManager.ttflist if entry.name not in plotting.CJK_FAMILIES]
    monkeypatch.setattr(font_manager.fontManager, "ttflist", system_only)
    font_manager.fontManager._findfont_cached.cache_clear()
    try:
        assert plotting.setup_chinese_fonts() == "Noto Sans CJK SC"
        resolved = font_manager.findfont(font_manager.FontProperties(family=["sans-serif"]))
        assert str(resolved) in {str(path) for path in bundled}
        assert missing_glyph_warnings() == []
    finally:
        monkeypatch.undo()
        font_manager.fontManager._findfont_cached.cache_clear()


def test_no_chinese_font_raises_and_changes_nothing(monkeypatch):
    monkeypatch.setattr(plotting, "_bundled_font_files", lambda: [])
    monkeypatch.setattr(plotting, "CJK_FAMILIES", ("No Such Font SC",))
    before = (mpl.rcParams["font.family"], list(mpl.rcParams["font.sans-serif"]))
    with pytest.raises(RuntimeError, match="pip install mplfonts"):
        plotting.setup_chinese_fonts()
    assert (mpl.rcParams["font.family"], list(mpl.rcParams["font.sans-serif"])) == before
