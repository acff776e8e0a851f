"""The book's structure: the table of contents matches the files, and every notebook is
committed as a clean top-to-bottom run (nbval then checks that those outputs are still true)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]
    for part in toc.get("parts", []):
        assert part.get("caption"), "every part of _toc.yml needs a caption such as 第二章 基础"
        for chapter in part["chapters"]:
            files.append(chapter["file"])
            files.extend(section["file"] for section in chapter.get("sections", []))
    return files


def test_every_toc_entry_exists():
    missing = [name for name in toc_files()
               if not any((ROOT / f"{name}{suffix}").is_file() for suffix in (".md", ".ipynb"))]
    assert missing == [], "_toc.yml lists pages that do not exist"


def test_every_notebook_is_in_the_toc():
    listed = set(toc_files())
    unlisted = [path.name for path in NOTEBOOKS if f"notebooks/{path.stem}" not in listed]
    assert unlisted == [], "add these to _toc.yml (see the comment at its top)"


def test_no_dots_in_page_names():
    # Sphinx reads what follows a dot as a suffix: 1.2_setup.ipynb would become page "1".
    assert [name for name in toc_files() if "." in Path(name).name] == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_is_committed_as_one_clean_run(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    code = [cell for cell in notebook.cells if cell.cell_type == "code" and cell.source.strip()]
    counts = [cell.execution_count for cell in code]
    assert counts == list(range(1, len(code) + 1)), (
        "outputs must come from one top-to-bottom run of the current code: run `make notebooks`")
    errors = [output.get("ename") for cell in code for output in cell.outputs if output.output_type == "error"]
    assert errors == []
    streams = "".join(output.get("text", "") for cell in code for output in cell.outputs
                      if output.output_type == "stream" and output.name == "stderr")
    assert "missing from font" not in streams, "call setup_chinese_fonts() before plotting"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_with_figures_sets_up_chinese_fonts(path):
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    first_figure = next((i for i, cell in enumerate(code)
                         if any("image/png" in output.get("data", {}) for output in cell.outputs)), None)
    if first_figure is None:
        return  # no figure, nothing to set up
    setup = next((i for i, cell in enumerate(code) if "setup_chinese_fonts()" in cell.source), None)
    assert setup is not None and setup <= first_figure, (
        "call handbook_lib.utils.plotting.setup_chinese_fonts() before the first figure")


def chapter_number(name: str) -> tuple[str, ...]:
    """notebooks/2_1_4_data_loading -> ("2", "1", "4"); book/intro -> ()."""
    parts = Path(name).name.split("_")
    return tuple(part for part in parts if part.isdigit()) if parts[0].isdigit() else ()


def test_sidebar_nests_as_the_numbering():
    # x.y.z is a section of its group page x.y, so the sidebar reads 1.3 > 1.3.1, never 1.2, 1.3.1
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    misplaced = []
    for part in toc["parts"]:
        for chapter in part["chapters"]:
            number = chapter_number(chapter["file"])
            if len(number) > 2:
                misplaced.append(f"{chapter['file']} belongs under sections: of its group page")
            for section in chapter.get("sections", []):
                if chapter_number(section["file"])[:-1] != number:
                    misplaced.append(f"{section['file']} is not a section of {chapter['file']}")
    assert misplaced == []


def test_every_group_of_sections_has_a_group_page():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    groups = {chapter_number(chapter["file"]) for part in toc["parts"] for chapter in part["chapters"]}
    wanted = {chapter_number(name)[:2] for name in toc_files() if len(chapter_number(name)) == 3}
    assert wanted <= groups, f"add a group page (like book/1_3_blitz.md) for {sorted(wanted - groups)}"
