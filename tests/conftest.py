"""The device axis: tests that take a ``device`` argument run on ``cpu`` and on ``cuda``.

``cuda`` is the CPU stand-in for cupy (tests/fake_cupy: numpy arrays on two pretend devices,
strict where real code breaks on a GPU), put first on ``sys.path`` only while a test that asks
for it runs. With ``HANDBOOK_TEST_REAL_GPU=1`` (``make test-gpu``) it is the real cupy on the
machine's GPU instead. Tests on the axis are marked ``gpu``; tests of the stand-in itself
(fixture ``stand_in``) are marked ``stand_in`` and need it even on a GPU machine.
"""
from __future__ import annotations

import os
import pathlib
import sys

import pytest

from handbook_lib import _device

STAND_IN_PATH = str(pathlib.Path(__file__).with_name("fake_cupy"))
REAL_GPU = os.environ.get("HANDBOOK_TEST_REAL_GPU") == "1"
_STAND_IN_MODULES: dict = {}  # the stand-in's modules once imported, reinstalled per test


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "gpu: runs on the cuda device (stand-in or real GPU)")
    config.addinivalue_line("markers", "stand_in: needs the CPU stand-in for cupy itself")


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        callspec = getattr(item, "callspec", None)
        on_cuda = callspec is not None and callspec.params.get("device") == "cuda"
        if on_cuda or "cuda_backend" in fixtures:
            item.add_marker(pytest.mark.gpu)
        if "stand_in" in fixtures:
            item.add_marker(pytest.mark.stand_in)


def _is_stand_in_module(name: str) -> bool:
    return name in ("cupy", "cupyx") or name.startswith(("cupy.", "cupyx."))


def _install_stand_in():
    """Import the stand-in (once per process) and make it ``cupy`` for handbook_lib."""
    if any(_is_stand_in_module(n) and n not in _STAND_IN_MODULES for n in sys.modules):
        raise RuntimeError("a real cupy is imported in this process: the stand-in cannot replace "
                           "it (run the stand-in tests without HANDBOOK_TEST_REAL_GPU=1)")
    sys.path.insert(0, STAND_IN_PATH)
    if _STAND_IN_MODULES:
        sys.modules.update(_STAND_IN_MODULES)
    else:
        import cupy  # noqa: F401
        import cupyx  # noqa: F401
        import cupyx.scipy.special  # noqa: F401

        _STAND_IN_MODULES.update({n: m for n, m in sys.modules.items() if _is_stand_in_module(n)})
    _device.forget_cupy()
    return sys.modules["cupy"]


def _remove_stand_in(cupy) -> None:
    cupy._reset()
    _device.forget_cupy()
    for name in _STAND_IN_MODULES:
        sys.modules.pop(name, None)
    sys.path.remove(STAND_IN_PATH)


@pytest.fixture
def stand_in():
    """The CPU stand-in for cupy, as ``cupy`` for this test only."""
    if REAL_GPU:
        pytest.skip("tests of the stand-in run in `make test` (HANDBOOK_TEST_REAL_GPU is set)")
    cupy = _install_stand_in()
    try:
        yield cupy
    finally:
        _remove_stand_in(cupy)


@pytest.fixture
def cuda_backend(request):
    """``cupy`` for a test on the cuda device: the real one on a GPU run, else the stand-in."""
    if not REAL_GPU:
        yield request.getfixturevalue("stand_in")
        return
    cupy = _device.load_cupy(required=False)
    if cupy is None:
        pytest.fail("HANDBOOK_TEST_REAL_GPU=1 but cupy does not import or sees no GPU: install "
                    "it with `pip install -r requirements-gpu.txt`")
    yield cupy
    cupy.cuda.Device(0).use()


@pytest.fixture(params=["cpu", "cuda"])
def device(request) -> str:
    """'cpu' or 'cuda:0' (see the module docstring): put a test's tensors on it. The GPU is
    named with its index, the device its tensors report (``cuda`` alone is not equal to
    ``cuda:0`` in PyTorch)."""
    if request.param == "cuda":
        request.getfixturevalue("cuda_backend")
        return "cuda:0"
    return request.param


@pytest.fixture(autouse=True)
def _no_stand_in_outside_its_tests(request):
    """A test that did not ask for the stand-in sees no cupy, whatever ran before it in this
    worker (a leaked stand-in would make ``hl.cuda.is_available()`` true on a CPU machine)."""
    if REAL_GPU or "stand_in" in request.fixturenames or "cuda_backend" in request.fixturenames:
        yield
        return
    while STAND_IN_PATH in sys.path:
        sys.path.remove(STAND_IN_PATH)
    for name in [n for n in sys.modules if _is_stand_in_module(n)]:
        del sys.modules[name]
    _device.forget_cupy()
    yield
