"""What a reader meets in every chapter, present and future: answers that fold in the HTML book,
JupyterLab and Colab alike, Chinese paragraphs without stray spaces, code that fits the page,
and outputs that show nothing of the machine that built them.

Each test walks every notebook in notebooks/ and every page in book/, so a new chapter is held
to the same rules as soon as it is added."""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
PAGES = sorted((ROOT / "book").glob("*.md"))
ANSWER = "<details><summary>参考答案</summary>"
MAX_LINE = 80

# CJK ideographs, CJK and full-width punctuation, and the curly quotes Chinese text uses
CJK = "[\u2e80-\u9fff\u3000-\u303f\uff00-\uffef\u201c\u201d\u2018\u2019]"
FENCE = re.compile(r"^ *(```+|~~~+)[^\n]*\n.*?^ *\1 *$", re.M | re.S)


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def code_cells(path: Path) -> list[nbformat.NotebookNode]:
    return [cell for cell in read(path).cells if cell.cell_type == "code"]


def markdown_texts(path: Path) -> list[str]:
    if path.suffix == ".md":
        return [path.read_text(encoding="utf-8")]
    return [cell.source for cell in read(path).cells if cell.cell_type == "markdown"]


def exercise_cells(path: Path) -> list[nbformat.NotebookNode]:
    """The cells from the heading 练习 to the next heading of the same or a higher level."""
    cells, inside = [], False
    for cell in read(path).cells:
        if cell.cell_type == "markdown":
            for hashes, title in re.findall(r"^(#{1,2}) +(.*)$", cell.source, re.M):
                inside = title.strip().startswith("练习")
        if inside:
            cells.append(cell)
    return cells


def output_text(output: nbformat.NotebookNode) -> str:
    if output.output_type == "stream":
        return output.text
    data = output.get("data", {})
    return "\n".join(data.get(kind, "") for kind in ("text/plain", "text/markdown", "text/html"))


@pytest.mark.parametrize("path", NOTEBOOKS + PAGES, ids=lambda path: path.name)
def test_answers_fold_everywhere(path):
    # A MyST dropdown folds only in the HTML book; JupyterLab and Colab show it as literal text
    # with the answer in full. HTML <details> folds in all three.
    text = "\n".join(markdown_texts(path))
    assert not re.search(r"\{admonition\}[^\n]*\n(:[^\n]*\n)*:class: *dropdown", text), (
        f"fold answers as {ANSWER} ... </details>, not as a MyST dropdown")
    summaries = re.findall(r"<details>\s*<summary>(.*?)</summary>", text)
    assert set(summaries) <= {"参考答案"}, "one label for every folded answer: 参考答案"
    assert text.count("<details>") == text.count("</details>")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_exercise_answers_are_folded(path):
    cells = exercise_cells(path)
    if not cells:
        pytest.fail("every chapter ends with 练习 and folded answers")
    assert any(ANSWER in cell.source for cell in cells if cell.cell_type == "markdown"), (
        f"the answers to the exercises go in {ANSWER} ... </details>")
    for cell in cells:
        if cell.cell_type != "code":
            continue
        tags = cell.metadata.get("tags", [])
        # hide-input would fold the code but leave its output, the answer, in plain sight
        assert "hide-cell" in tags and "hide-input" not in tags, (
            f"tag the solution cell hide-cell (not hide-input):\n{cell.source[:200]}")


@pytest.mark.parametrize("path", NOTEBOOKS + PAGES, ids=lambda path: path.name)
def test_no_line_break_between_chinese_characters(path):
    # Markdown renders a line break as a space, which Chinese text does not have:
    # keep each paragraph on one line.
    breaks = []
    for text in markdown_texts(path):
        prose = FENCE.sub("", text)
        breaks += [match.group(0) for match in re.finditer(f"{CJK}\n{CJK}", prose)]
    assert breaks == [], f"join these paragraphs onto one line: {breaks[:5]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_nbval_instructions_are_tags_not_comments(path):
    commented = [cell.source[:80] for cell in code_cells(path) if "NBVAL_" in cell.source]
    assert commented == [], "readers see comments: tag the cell nbval-ignore-output instead"
