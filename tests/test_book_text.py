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
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_code_lines_fit_the_page(path):
    long = [line for cell in code_cells(path) for line in cell.source.splitlines()
            if len(line) > MAX_LINE]
    assert long == [], f"wrap code lines at {MAX_LINE} characters (the book clips them): {long[:3]}"


ABSOLUTE_PATH = re.compile(r"(?<![\w.:/])/(home|root|work|tmp|usr|opt|srv|var|mnt|Users)/[\w.+-]+")
OBJECT_ADDRESS = re.compile(r"\bat 0x[0-9a-fA-F]{4,}|\b0x[0-9a-fA-F]{8,}\b")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_outputs_show_nothing_of_the_build_machine(path):
    found = []
    for cell in code_cells(path):
        for output in cell.outputs:
            text = output_text(output)
            found += [match.group(0) for match in ABSOLUTE_PATH.finditer(text)]
            found += [match.group(0) for match in OBJECT_ADDRESS.finditer(text)]
    assert found == [], (
        "outputs show absolute paths or object addresses; print paths relative to the "
        f"repository and objects by their repr: {found[:5]}")


def sources(path: Path) -> str:
    return "\n".join(cell.source for cell in code_cells(path))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_source_windows_show_code_that_runs(path):
    # show_source(obj, on_path=...) runs the chapter's example and fails if obj is not on
    # that path; a pasted helper or a bare inspect.getsource shows code whether it runs or not.
    code = sources(path)
    assert "getsource" not in code, "show library code with handbook_lib.utils.source.show_source"
    assert "def show_source" not in code, "use handbook_lib.utils.source.show_source"
    for start in [match.end() for match in re.finditer(r"(?<!def )\bshow_source\(", code)]:
        depth, end = 1, start
        while depth and end < len(code):
            depth += {"(": 1, ")": -1}.get(code[end], 0)
            end += 1
        call = code[start:end]
        assert "on_path=" in call, f"say which example runs the shown code: {call[:80]}"
    for cell in code_cells(path):
        if "show_source(" in cell.source and "import" not in cell.source.split("show_source(")[0]:
            assert "nbval-ignore-output" not in cell.metadata.get("tags", []), (
                "nbval compares the shown source, so a change to it is a change the chapter sees")


def config() -> dict:
    import yaml

    return yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_colab_install_cell_comes_first_and_names_the_configured_repository(path):
    # The launch buttons open a notebook on a fresh runtime: its first code cell installs what
    # the chapter needs, from the one repository URL that _config.yml sets.
    repository = config()["repository"]
    first = next(cell for cell in code_cells(path) if cell.source.strip())
    assert '"google.colab" in sys.modules' in first.source, "start with the Colab install cell"
    assert f'REPOSITORY = "{repository["url"]}"' in first.source, (
        "the install cell must use repository.url from _config.yml")
    assert f"/raw/{repository['branch']}/requirements.txt" in first.source
    assert first.outputs == [], "the install cell does nothing outside Colab"


CHAPTER_REFERENCE = re.compile(r"(?<![\d.])(\d\.\d(?:\.\d)?)(?![\d.])\s*节|第\s*(\d\.\d(?:\.\d)?)\s*章")


def toc_numbers() -> set[str]:
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    names = [chapter["file"] for part in toc["parts"] for chapter in part["chapters"]]
    names += [section["file"] for part in toc["parts"] for chapter in part["chapters"]
              for section in chapter.get("sections", [])]
    numbers = set()
    for name in names:
        digits = [part for part in Path(name).name.split("_") if part.isdigit()]
        numbers.add(".".join(digits))
    return numbers


PROMISES = [ROOT / "book" / "intro.md", ROOT / "notebooks" / "1_2_setup.ipynb"]


@pytest.mark.parametrize("path", PROMISES, ids=lambda path: path.name)
def test_preface_and_setup_promise_only_chapters_that_exist(path):
    # A chapter the book points at either exists in _toc.yml or is marked （计划中）.
    existing = toc_numbers()
    broken = []
    for text in markdown_texts(path):
        for sentence in re.split(r"(?<=[。；！？])", FENCE.sub("", text)):
            for match in CHAPTER_REFERENCE.finditer(sentence):
                number = match.group(1) or match.group(2)
                if number not in existing and "计划中" not in sentence:
                    broken.append(number)
    assert broken == [], f"these chapters do not exist yet: mark them （计划中） {broken}"


def test_progress_bar_times_are_sanitized_for_nbval():
    import configparser

    parser = configparser.ConfigParser()
    parser.read(ROOT / "tests" / "nbval_sanitize.cfg", encoding="utf-8")
    patterns = [(parser[name]["regex"], parser[name]["replace"]) for name in parser.sections()]

    def sanitize(text: str) -> str:
        for regex, replace in patterns:
            text = re.sub(regex, replace, text)
        return text

    one = "训练: 100%|██████████| 30/30 [00:02<00:00, 13.18it/s]"
    two = "训练: 100%|██████████| 30/30 [00:05<00:00,  5.91it/s]"
    assert sanitize(one) == sanitize(two)
    slow = "训练: 100%|██████████| 6/6 [01:04<00:00, 10.66s/it, 损失=0.123]"
    assert sanitize(slow) == "训练: 100%|BAR| 6/6 [ELAPSED<REMAINING, RATE]"
    wide = "训练: 100%|██████████████████████████████| 30/30 [00:02<00:00, 13.18it/s]"
    assert sanitize(wide) == sanitize(one)  # the bar's width depends on the frontend
    assert sanitize("6/6") == "6/6" and sanitize("loss 0.123") == "loss 0.123"


# Every number the prose quotes must come from a cell: it appears in the notebook's code or its
# outputs (a formatted result, or an assert that checks it). Facts that are not results
# (60000 training images, a CUDA driver version, a published error rate) are listed with
# their reason in the notebook's metadata, under handbook.prose_numbers.
NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(%|％)?(?![\w.]*\d)")

def prose_of(markdown: str) -> str:
    text = re.sub(r"^ *(```+|~~~+)[^\n]*\n.*?^ *\1 *$", " ", markdown, flags=re.M | re.S)
    text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.S)
    text = re.sub(r"\$[^$\n]+\$", " ", text)
    text = re.sub(r"`[^`\n]+`", " ", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    text = re.sub(r"\{\w+\}`[^`]*`", " ", text)
    text = re.sub(r"<[^>]+>", " ", text)
    text = re.sub(r"^#+ .*$", " ", text, flags=re.M)
    text = re.sub(r"(?<![\d.])\d+\.\d+\.\d+(?![\d.])", " ", text)          # 2.1.4
    text = re.sub(r"(?<![\d.])\d+\.\d+(?=\s*(节|章))", " ", text)            # 2.2 节
    text = re.sub(r"第\s*\d+(\.\d+)*\s*(节|章|部分)", " ", text)
    text = re.sub(r"(1[89]|20)\d\d\s*年", " ", text)                          # years
    text = re.sub(r"^\s*\d+\.\s", " ", text, flags=re.M)                      # list numbers
    return text

def quoted_numbers(markdown: str) -> list[str]:
    found = []
    for match in NUMBER.finditer(prose_of(markdown)):
        number, percent = match.group(1), match.group(2)
        plain = number.replace(",", "")
        if percent or "." in plain or int(plain) >= 10:
            found.append(number + (percent or ""))
    return found

def checked(number: str, haystack: str) -> bool:
    core = number.rstrip("%％")
    variants = {core, core.replace(",", "")}
    if "," not in core and core.isdigit() and len(core) > 3:
        variants.add(f"{int(core):,}")
    if number.endswith(("%", "％")) and "." not in core:
        variants = {v + "%" for v in variants} | {f"{int(core) / 100:g}"}
    return any(re.search(rf"(?<![\d.]){re.escape(v)}(?![\d])", haystack) for v in variants)


def cell_text(path: Path) -> str:
    parts = []
    for cell in code_cells(path):
        parts.append(cell.source)
        parts += [output_text(output) for output in cell.outputs]
    return "\n".join(parts)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_numbers_in_the_prose_come_from_cells(path):
    facts = read(path).metadata.get("handbook", {}).get("prose_numbers", {})
    haystack = cell_text(path)
    unchecked = sorted({number for text in markdown_texts(path) for number in quoted_numbers(text)
                        if number not in facts and not checked(number, haystack)})
    assert unchecked == [], (
        f"the prose quotes {unchecked}, which no cell computes or asserts: print or assert them "
        "in a cell, or, for a fact that is not a result, list it with its reason in the "
        "notebook's metadata handbook.prose_numbers")
    stale = sorted(number for number in facts
                   if not any(number in quoted_numbers(text) for text in markdown_texts(path)))
    assert stale == [], f"handbook.prose_numbers lists numbers the prose no longer quotes: {stale}"


def test_number_check_can_fail():
    assert quoted_numbers("准确率 97.5%，共 4,000 张图，3 个类别，见 2.1.4 节，2012 年") == [
        "97.5%", "4,000"]
    assert checked("97.5%", "测试准确率：97.5%") and not checked("97.5%", "测试准确率：97.6%")
    assert checked("4,000", "print(4000)") and checked("96%", "acc = 0.96")
