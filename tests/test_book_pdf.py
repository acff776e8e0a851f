"""The book as one PDF (`make pdf`): every chapter in it, in order, with every Chinese glyph drawn.

`make test` prints the PDF first and points HANDBOOK_PDF at it. poppler's pdfinfo and pdftotext
read it back (Debian: poppler-utils, which `.ci/run` installs). Without them, or without the PDF,
the tests skip with the reason, except under CI, where a skip would hide a missing check.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PDF = Path(os.environ.get("HANDBOOK_PDF", ROOT / "_build" / "pdf" / "book.pdf"))
IN_CI = os.environ.get("CI", "").lower() == "true"
CJK = re.compile(r"[\u4e00-\u9fff]")


def require_or_skip(condition: bool, reason: str) -> None:
    if not condition:
        (pytest.fail if IN_CI else pytest.skip)(reason)


def page_title(name: str) -> str:
    """The first heading of a page of the table of contents (a notebook or a Markdown file)."""
    notebook, markdown = ROOT / f"{name}.ipynb", ROOT / f"{name}.md"
    if notebook.is_file():
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        text = "".join(next(c for c in cells if c["cell_type"] == "markdown")["source"])
    else:
        text = markdown.read_text(encoding="utf-8")
    return next(line[2:].strip() for line in text.splitlines() if line.startswith("# "))


def toc_pages() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    pages = [toc["root"]]
    for part in toc.get("parts", []):
        for chapter in part.get("chapters", []):
            pages.append(chapter["file"])
            pages.extend(section["file"] for section in chapter.get("sections", []))
    return pages


def markdown_text(name: str) -> str:
    notebook = ROOT / f"{name}.ipynb"
    if notebook.is_file():
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return (ROOT / f"{name}.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def pdf_text() -> str:
    require_or_skip(shutil.which("pdftotext") is not None,
                    "pdftotext not found: install poppler-utils (Debian/Ubuntu) to check the PDF")
    require_or_skip(PDF.is_file(), f"no PDF at {PDF}: run `make pdf` first (`make test` does)")
    return subprocess.run(["pdftotext", "-raw", "-enc", "UTF-8", str(PDF), "-"], check=True,
                          capture_output=True, text=True, timeout=120).stdout


def normalized(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_pdf_is_a_whole_book():
    require_or_skip(shutil.which("pdfinfo") is not None, "pdfinfo not found: install poppler-utils")
    require_or_skip(PDF.is_file(), f"no PDF at {PDF}: run `make pdf` first")
    info = subprocess.run(["pdfinfo", str(PDF)], check=True, capture_output=True, text=True,
                          timeout=60).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE)[1])
    assert pages > 4 * len(toc_pages()), f"only {pages} pages for {len(toc_pages())} chapters"
    assert "A4" in info


def test_every_chapter_title_is_in_the_pdf_in_order(pdf_text):
    """The contents page lists every page of _toc.yml, sections (1.3.1) after their group
    (1.3), and the body holds them in the same order."""
    text = normalized(pdf_text)
    contents_end = text.index(normalized(page_title(toc_pages()[0])))  # after the contents page
    listed = body = 0
    for name in toc_pages()[1:]:
        title = normalized(page_title(name))
        listed = text.find(title, listed, contents_end)
        assert listed >= 0, f"the contents page does not list {title}, or lists it out of order"
        body = text.find(title, max(body, contents_end))
        assert body >= 0, f"chapter {title} is missing from the PDF, or out of order"


def test_every_chinese_character_of_the_prose_is_drawn(pdf_text):
    """A glyph that no font has prints as an empty box that pdftotext cannot read back."""
    printed = set(CJK.findall(pdf_text))
    missing = {char for name in toc_pages() for char in CJK.findall(markdown_text(name))} - printed
    assert missing == set(), f"characters with no glyph in the PDF: {''.join(sorted(missing))}"
