"""The backend seam holds: ops get their array module from their inputs (``_device.xp_of``) and
never hand device data to numpy.

A static check reads every module under handbook_lib/ops/ and fails on a numpy function called
where tensor data could reach it; the runtime checks run the places that were broken once on the
cuda device (the stand-in in `make test`, the GPU in `make test-gpu`) and assert that every
result stays on the device of its inputs.
"""
from __future__ import annotations

import ast
import pathlib

import numpy as np
import pytest

import handbook_lib as hl
import handbook_lib.nn.functional as F

OPS_DIR = pathlib.Path(hl.__file__).parent / "ops"
# numpy names that only handle dtypes, shapes and error state: never tensor data
HOST_HELPERS = {"dtype", "result_type", "promote_types", "min_scalar_type", "can_cast",
                "broadcast_shapes", "iinfo", "finfo", "errstate"}
HOST_ANNOTATIONS = {"int", "float", "bool", "str", "tuple", "None", "Sequence"}


def _is_host_annotation(annotation) -> bool:
    """True for parameters annotated with plain host values (``int``, ``float | None``...)."""
    if annotation is None:
        return False
    names = {n.id for n in ast.walk(annotation) if isinstance(n, ast.Name)}
    names |= {n.value for n in ast.walk(annotation) if isinstance(n, ast.Constant)
              and isinstance(n.value, str)}
    words = {w.strip() for name in names for w in str(name).replace("|", " ").split()}
    return bool(words) and words <= HOST_ANNOTATIONS


def _host_only(function: ast.FunctionDef) -> bool:
    """A function whose every parameter is a host value builds tables from shapes alone."""
    params = function.args.args + function.args.kwonlyargs
    return bool(params) and all(_is_host_annotation(p.annotation) for p in params)


def numpy_calls_on_data(source: str) -> list:
    """``(line, name)`` of each ``np.<function>(...)`` call that could see tensor data: not a
    dtype/shape helper, not a numpy type (``np.float32(1e-12)``), not inside a function whose
    parameters are all host values, and not on a line that says ``# host:`` why it is one."""
    tree = ast.parse(source)
    lines = source.splitlines()
    host_lines: set = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _host_only(node):
            host_lines.update(range(node.lineno, node.end_lineno + 1))
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        target = node.func
        while isinstance(target.value, ast.Attribute):  # np.add.at(...), np.random.x(...)
            target = target.value
        if not (isinstance(target.value, ast.Name) and target.value.id == "np"):
            continue
        name = target.attr
        if name in HOST_HELPERS or isinstance(getattr(np, name, None), type):
            continue
        if node.lineno in host_lines or "# host:" in lines[node.lineno - 1]:
            continue
        found.append((node.lineno, ast.unparse(node.func)))
    return found


def test_no_op_module_calls_numpy_on_tensor_data() -> None:
    offenders = {path.name: calls for path in sorted(OPS_DIR.glob("*.py"))
                 if (calls := numpy_calls_on_data(path.read_text()))}
    assert not offenders, f"numpy called on tensor data (use xp_of(...)): {offenders}"


def test_the_static_check_can_fail() -> None:
    bad = "import numpy as np\ndef f(x):\n    return np.exp(x._data) + np.add.at(x, 0, 1)\n"
    assert [name for _, name in numpy_calls_on_data(bad)] == ["np.exp", "np.add.at"]
    fine = ("import numpy as np\ndef table(size: int, out: int | None) -> None:\n"
            "    return np.arange(size)\n"
            "def g(x):\n    return np.float32(1) + np.arange(3)  # host: a shape table\n")
    assert numpy_calls_on_data(fine) == []


def test_one_helper_gives_the_array_module() -> None:
    from handbook_lib import _device

    x = hl.ones(2)
    assert _device.xp_of(x) is np and _device.xp_of(x._data, 2.0, None) is np
    ops_sources = "".join(p.read_text() for p in OPS_DIR.glob("*.py"))
    for other_way in (".xp.", "get_array_module", "as_device(device).xp"):
        assert other_way not in ops_sources.replace("_device.as_device(device)", ""), other_way


# --- runtime: the places where host numpy once met device data ------------------------------------
def _on(device: str, *values, **kwargs):
    return hl.tensor(*values, device=device, **kwargs)


def _assert_on(device: str, *tensors) -> None:
    for t in tensors:
        assert t.device == hl.device(device), f"{t.device} != {device}"


SEAM_CASES = {
    "tril/triu": lambda d: (hl.tril(hl.ones(3, 3, device=d)), hl.triu(hl.ones(3, 3, device=d))),
    "masked_fill": lambda d: (_on(d, [1.0, 2.0]).masked_fill(_on(d, [True, False]), 0.5),),
    "embedding padding_idx": lambda d: (
        hl.nn.Embedding(4, 2, padding_idx=0).to(d)(_on(d, [0, 1, 0])),),
    "setitem with a mask": lambda d: (_setitem_mask(d),),
    "gather": lambda d: (hl.gather(_on(d, [[1.0, 2.0]]), 1, _on(d, [[1, 0]])),),
    "scatter": lambda d: (hl.zeros(2, 2, device=d).scatter(0, _on(d, [[1, 0]]),
                                                           _on(d, [[5.0, 6.0]])),),
    "one_hot": lambda d: (F.one_hot(_on(d, [0, 2]), 3),),
    "argmax/argmin": lambda d: (_on(d, [1.0, 3.0]).argmax(), _on(d, [1.0, 3.0]).argmin()),
    "normal(mean=Tensor)": lambda d: (hl.normal(mean=hl.zeros(3, device=d)),),
    "multinomial": lambda d: (hl.multinomial(_on(d, [[0.2, 0.8], [0.5, 0.5]]), 2),
                              hl.multinomial(_on(d, [0.5, 0.5]), 4, replacement=True)),
    "bernoulli": lambda d: (hl.bernoulli(hl.full((3,), 0.5, device=d)),),
    "empty logsumexp": lambda d: (hl.logsumexp(hl.zeros(0, 3, device=d), 0),),
    "max(dim) of 0-d": lambda d: tuple(_on(d, 2.0).max(0)),
    "max(dim) backward": lambda d: (_max_dim_grad(d),),
    "pow gradient": lambda d: (_pow_grad(d),),
    "dropout": lambda d: (F.dropout(hl.ones(8, device=d), 0.5),),
}


def _setitem_mask(device: str):
    x = _on(device, [1.0, 2.0, 3.0])
    x[x > 1.5] = 0.0
    assert x.tolist() == [1.0, 0.0, 0.0]
    return x


def _max_dim_grad(device: str):
    x = _on(device, [[1.0, 5.0], [7.0, 2.0]], requires_grad=True)
    x.max(1).values.sum().backward()
    assert x.grad.tolist() == [[0.0, 1.0], [1.0, 0.0]]
    return x.grad


def _pow_grad(device: str):
    x = _on(device, [0.0, 2.0], requires_grad=True)
    y = _on(device, [2.0, 3.0], requires_grad=True)
    (x ** y).sum().backward()
    assert y.grad.tolist()[0] == 0.0
    return y.grad


@pytest.mark.parametrize("case", list(SEAM_CASES))
def test_the_broken_places_stay_on_the_device(case: str, device: str) -> None:
    _assert_on(device, *SEAM_CASES[case](device))


def test_out_on_another_device_raises_like_pytorch(device: str, stand_in) -> None:
    other = "cpu" if device != "cpu" else "cuda:0"
    out, x = hl.empty(2, device=other), hl.ones(2, device=device)
    with pytest.raises(RuntimeError, match=f"Expected out tensor to have device {x.device}, "
                                           f"but got {out.device} instead"):
        hl.add(x, 1.0, out=out)
    assert out.device == hl.device(other)


def test_mixed_devices_give_pytorch_s_error(stand_in) -> None:
    message = ("Expected all tensors to be on the same device, but found at least two devices, "
               "cuda:0 and cpu!")
    a, b = hl.ones(2), hl.ones(2, device="cuda")
    for op in (lambda: a + b, lambda: b * a, lambda: hl.where(a > 0, a, b),
               lambda: hl.cat([a, b]), lambda: hl.matmul(a, b),
               lambda: a.masked_fill(b > 0, 0.0), lambda: hl.gather(a, 0, b.long())):
        with pytest.raises(RuntimeError) as info:
            op()
        assert str(info.value) == message


def test_device_draws_are_reproducible_under_manual_seed(device: str) -> None:
    def draws():
        hl.manual_seed(3)
        return [hl.rand(4, device=device).tolist(), hl.randn(2, device=device).tolist(),
                F.dropout(hl.ones(6, device=device)).tolist(),
                hl.randint(0, 9, (3,), device=device).tolist()]

    assert draws() == draws()
    hl.manual_seed(4)
    assert hl.rand(4, device=device).tolist() != draws()[0]


def test_a_training_step_reads_nothing_back_from_the_device(stand_in) -> None:
    """No host synchronisation on the hot path: forward, loss, backward and an optimizer step
    of a small classifier run with cupyx.allow_synchronize(False)."""
    import cupyx

    hl.manual_seed(0)
    model = hl.nn.Sequential(hl.nn.Conv2d(1, 2, 3), hl.nn.ReLU(), hl.nn.MaxPool2d(2),
                             hl.nn.Flatten(), hl.nn.Linear(2 * 3 * 3, 3), hl.nn.Dropout(0.1))
    model.to("cuda")
    optimizer = hl.optim.Adam(model.parameters(), lr=0.01)
    x, y = hl.randn(4, 1, 8, 8, device="cuda"), hl.tensor([0, 1, 2, 1], device="cuda")
    for _ in range(2):
        with cupyx.allow_synchronize(False):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
    assert loss.device.type == "cuda" and np.isfinite(loss.item())
