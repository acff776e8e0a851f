"""show_source: the 底层实现 windows show real source, and refuse code that does not run."""
from __future__ import annotations

import pytest

import handbook_lib as hl
from handbook_lib.autograd import engine
from handbook_lib.ops import arithmetic
from handbook_lib.utils.source import runs_on_path, show_source


def backward_of_a_product() -> None:
    x = hl.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()


def test_shows_the_source_of_a_function_that_runs():
    window = show_source(arithmetic.mul, on_path=backward_of_a_product)
    assert window.text.startswith("def mul(")
    assert window._repr_markdown_().startswith("````python\ndef mul(")
    assert repr(window) == window.text


def test_a_class_runs_when_any_of_its_methods_does():
    assert runs_on_path(arithmetic.MulBackward0, backward_of_a_product)
    assert show_source(arithmetic.MulBackward0).text.startswith("class MulBackward0")


def test_a_property_runs_through_its_getter():
    assert runs_on_path(hl.Tensor.shape, lambda: hl.zeros(2).shape)
    assert show_source(hl.Tensor.shape).text.lstrip().startswith("@property")


def test_refuses_a_function_that_the_path_does_not_run():
    with pytest.raises(AssertionError, match="topological_order does not run"):
        show_source(engine.topological_order, on_path=backward_of_a_product)


def test_refuses_objects_without_python_source():
    with pytest.raises(TypeError, match="needs Python source"):
        show_source(len, on_path=lambda: None)


def test_shipped_data_files_are_found_from_any_directory(tmp_path, monkeypatch):
    from handbook_lib.utils.book_data import data_file

    monkeypatch.chdir(tmp_path)
    assert data_file("diabetes.csv").read_text().startswith("age,")
    with pytest.raises(FileNotFoundError, match="shipped: .*diabetes.csv"):
        data_file("nope.csv")
