"""torchvision as a test reference, imported without its compiled operators.

The torchvision wheel on PyPI is built against a CUDA torch; beside the CPU torch the tests
use, its compiled library (``torchvision/_C.so``) does not load, and ``import torchvision`` then
fails in ``torchvision._meta_registrations``, which registers shape functions for those missing
operators (``torchvision::nms`` ...). The tests need only torchvision's Python parts (datasets,
transforms, models, utils), none of which calls the compiled operators, so this module puts an
empty stand-in for ``_meta_registrations`` in ``sys.modules`` before the import. Everything
else is torchvision's own code, unchanged.

Use: ``from torchvision_ref import torchvision`` (tests/ is on ``sys.path``), or the
``torchvision`` fixture, which skips nothing: a missing torchvision is a failing test.
"""
from __future__ import annotations

import sys
import types

import torch

if "torchvision" not in sys.modules:
    _stub = types.ModuleType("torchvision._meta_registrations")
    _stub.__doc__ = "Stand-in: the compiled torchvision operators are absent beside CPU torch."
    sys.modules["torchvision._meta_registrations"] = _stub

import torchvision  # noqa: E402
from torchvision import datasets, models, transforms, utils  # noqa: E402,F401
from torchvision.transforms import functional  # noqa: E402,F401

torch.set_num_threads(1)
