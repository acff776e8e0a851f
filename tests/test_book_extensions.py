"""The book's Sphinx extensions (book/_ext): interface strings, search terms, progress bars."""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))

import progress_bars  # noqa: E402
import zh_interface  # noqa: E402


def stream(text: str, name: str = "stdout") -> dict:
    return {"output_type": "stream", "name": name, "text": text}


def test_a_redrawn_bar_keeps_its_final_line():
    redraws = [stream("\r  0%|          | 0/3"), stream("\r 33%|###       | 1/3"),
               stream("\r100%|##########| 3/3"), stream("\n"), stream("done\n")]
    joined = progress_bars.join_streams(redraws)
    assert joined == [stream("100%|##########| 3/3\ndone\n")]
    assert redraws[0]["text"] == "\r  0%|          | 0/3", "the notebook's outputs are not changed"


def test_other_outputs_and_streams_stay_apart():
    image = {"output_type": "display_data", "data": {"text/plain": "<Figure>"}}
    outputs = [stream("a\n"), stream("warn\n", "stderr"), image, stream("b\r\n")]
    assert progress_bars.join_streams(outputs) == [stream("a\n"), stream("warn\n", "stderr"),
                                                   image, stream("b\n")]


def test_interface_strings_become_chinese_and_code_does_not():
    page = ('<button title="Toggle secondary sidebar"></button>'
            '<p class="collapsed admonition-title">Show code cell source</p>'
            "<script>let toggleHintShow = 'Click to show';</script>"
            '<span class="n">Page</span>')
    translated = zh_interface.translate_page(page)
    assert 'title="显示或隐藏本页目录"' in translated
    assert ">显示代码</p>" in translated and "'点击显示'" in translated
    assert '<span class="n">Page</span>' in translated, "code is never translated"


def test_glossary_terms_feed_the_search_dictionary():
    glossary = "| 中文 | 英文 |\n|---|---|\n| 过拟合 / 欠拟合 | overfitting |\n| 步长（内存） | stride |\n"
    assert zh_interface.glossary_terms(glossary) == ["过拟合", "欠拟合", "步长"]
