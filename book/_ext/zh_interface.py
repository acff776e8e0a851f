"""The book in Chinese beyond its prose: the interface strings, and search that knows its terms.

The themes translate part of their interface to zh_CN and leave the rest in English (the
folding prompts of code cells, the sidebar toggles, the launch buttons), some of it hard-coded in
their templates, and their zh_CN catalogue uses Taiwan wording in places (列印成 PDF). Once the
HTML is written, this extension replaces each of those strings with its Chinese, in attribute
values, button texts and the theme's inline scripts. ``INTERFACE`` is the one table;
tests/test_book_browser.py fails when a page shows an interface string that is not Chinese.

Sphinx's Chinese search cuts text into words with jieba, whose general dictionary splits the
book's own terms (过拟合 becomes 过 + 拟合, so a search for 过拟合 finds nothing). Before the build,
the terms of the glossary (book/appendix_glossary.md) are written to a jieba user dictionary and
given to the search index (``html_search_options['dict']``).
"""
from __future__ import annotations

import html
import os
import re
from pathlib import Path

from sphinx.application import Sphinx

#: English (or Taiwan) interface strings of the themes → the book's Chinese.
INTERFACE: dict[str, str] = {
    # myst-nb: folded code cells (hide-cell, hide-input, hide-output)
    "Show code cell content": "显示代码单元",
    "Hide code cell content": "隐藏代码单元",
    "Show code cell source": "显示代码",
    "Hide code cell source": "隐藏代码",
    "Show code cell output": "显示输出",
    "Hide code cell output": "隐藏输出",
    "Show code cell outputs": "显示输出",
    "Hide code cell outputs": "隐藏输出",
    "Toggle hidden content": "显示或隐藏折叠的内容",
    # sphinx-togglebutton: folded admonitions
    "Click to show": "点击显示",
    "Click to hide": "点击隐藏",
    # sphinx-book-theme and pydata-sphinx-theme
    "列印成 PDF": "打印为 PDF",
    "Search this book...": "搜索本书……",
    "Toggle primary sidebar": "显示或隐藏导航栏",
    "Toggle secondary sidebar": "显示或隐藏本页目录",
    "Launch interactive content": "在线运行本页",
    "Launch on Binder": "在 Binder 中运行",
    "Launch on Colab": "在 Colab 中运行",
    "Source repositories": "源码库",
    "Repository": "源码库",
    "Open issue": "创建议题",
    "Color mode": "配色模式",
    "System Settings": "跟随系统",
    "Link to this heading": "链接到此标题",
    "Link to this code": "链接到此代码",
    "Link to this image": "链接到此图片",
    "Link to this table": "链接到此表格",
    "Link to this equation": "链接到此公式",
    "Link to this definition": "链接到此定义",
    "Main": "主导航",
    "Page": "本页",
}

_ATTRIBUTE = re.compile(r'\b(title|aria-label|data-bs-title|placeholder)="([^"]*)"')
# Only the interface's own elements: folding prompts and the texts of header buttons (code and
# prose are never touched, even where they contain a word of the table).
_ELEMENT_TEXT = re.compile(
    r'(<(?:p|span) class="(?:collapsed |expanded )?(?:admonition-title|btn__text-container)">)'
    r"(\s*)([^<>]+?)(\s*)(?=</)")
_SCRIPT_STRING = re.compile(r"(let toggleHint(?:Show|Hide) = ')([^']*)(';)")


def translate(value: str) -> str:
    """The Chinese of one interface string (the string itself when it is not in the table)."""
    text = html.unescape(value)
    return html.escape(INTERFACE[text], quote=True) if text in INTERFACE else value


def translate_page(page: str) -> str:
    """``page`` (HTML) with every interface string of the table in Chinese."""
    page = translate_attributes(page)
    page = _ELEMENT_TEXT.sub(lambda m: m[1] + m[2] + translate(m[3]) + m[4], page)
    return _SCRIPT_STRING.sub(lambda m: m[1] + translate(m[2]) + m[3], page)


def translate_attributes(text: str) -> str:
    """``text`` (HTML, or a theme's script that builds HTML) with its interface attributes in Chinese."""
    return _ATTRIBUTE.sub(lambda m: f'{m[1]}="{translate(m[2])}"', text)


def translate_build(app: Sphinx, exception: Exception | None) -> None:
    """Rewrite every page and script of a successful build (each file replaced atomically)."""
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    for paths, translator in ((outdir.rglob("*.html"), translate_page),
                              ((outdir / "_static").rglob("*.js"), translate_attributes)):
        for path in paths:
            _rewrite(path, translator)


def _rewrite(path: Path, translator) -> None:
    text = path.read_text(encoding="utf-8")
    translated = translator(text)
    if translated != text:
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_text(translated, encoding="utf-8")
        os.replace(temporary, path)


GLOSSARY = "book/appendix_glossary.md"
_NOTE = re.compile(r"（[^）]*）|\([^)]*\)")
_CJK = re.compile(r"[\u4e00-\u9fff]")


def glossary_terms(markdown: str) -> list[str]:
    """The Chinese terms in the first column of the glossary's tables (header rows skipped).

    ``| 标量 / 向量 / 矩阵 | ...`` gives three terms; a note in brackets (``步长（内存）``) is dropped.
    """
    lines = markdown.splitlines()
    terms: list[str] = []
    for line, following in zip(lines, lines[1:] + [""]):
        if not line.startswith("|") or following.startswith("|---") or line.startswith("|---"):
            continue
        first_column = line.split("|")[1]
        for term in _NOTE.sub("", first_column).split("/"):
            term = term.strip()
            if _CJK.search(term) and " " not in term and "`" not in term and term not in terms:
                terms.append(term)
    return terms


def add_search_terms(app: Sphinx, config) -> None:
    """Write the glossary's terms as a jieba user dictionary and point the search index at it."""
    terms = glossary_terms((Path(app.srcdir) / GLOSSARY).read_text(encoding="utf-8"))
    dictionary = Path(app.doctreedir) / "search_terms.txt"
    dictionary.parent.mkdir(parents=True, exist_ok=True)
    dictionary.write_text("".join(f"{term} 1000 n\n" for term in terms), encoding="utf-8")
    config.html_search_options = {**(config.html_search_options or {}), "dict": str(dictionary)}


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", add_search_terms)
    app.connect("build-finished", translate_build)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
