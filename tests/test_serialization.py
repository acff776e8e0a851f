"""hl.save / hl.load: round trips, clear errors for foreign or damaged files, no code run on load,
and atomic writes."""
import io
import json
import math
import os
import pickle
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import handbook_lib as hl
from handbook_lib import serialization
from handbook_lib.serialization import MANIFEST, CheckpointError

DTYPES = [np.float32, np.float64, np.float16, np.int64, np.int32, np.int16, np.int8, np.uint8,
          np.bool_]


def roundtrip(obj, **load_kwargs):
    buffer = io.BytesIO()
    hl.save(obj, buffer)
    buffer.seek(0)
    return hl.load(buffer, **load_kwargs)


def assert_same_tensor(a, b):
    assert isinstance(b, hl.Tensor)
    assert b.dtype == a.dtype and b.shape == a.shape and b.requires_grad == a.requires_grad
    np.testing.assert_array_equal(b.detach().numpy(), a.detach().numpy())


@pytest.mark.parametrize("np_dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_tensor_round_trip_keeps_dtype_and_values(np_dtype):
    values = (np.arange(24).reshape(2, 3, 4) - 7).astype(np_dtype)
    t = hl.from_numpy(values)
    assert_same_tensor(t, roundtrip(t))


@pytest.mark.parametrize("make", [
    lambda: hl.tensor(3.5),                                             # 0-dim
    lambda: hl.from_numpy(np.zeros((0, 3), np.float32)),                # empty
    lambda: hl.from_numpy(np.arange(12.0).reshape(3, 4)).t(),           # transposed view
    lambda: hl.from_numpy(np.arange(20, dtype=np.int64))[1::3],         # strided view
    lambda: hl.tensor([[1.0, -2.0], [math.inf, math.nan]]),
], ids=["0-dim", "empty", "transposed", "strided", "inf-nan"])
def test_round_trip_of_special_shapes(make):
    t = make()
    loaded = roundtrip(t)
    assert_same_tensor(t, loaded)
    assert loaded.is_contiguous()


def test_requires_grad_is_kept():
    w = hl.tensor([1.0, 2.0], requires_grad=True)
    loaded = roundtrip({"w": w, "b": w.detach()})
    assert loaded["w"].requires_grad and loaded["w"].is_leaf
    assert not loaded["b"].requires_grad


def test_nested_state_dicts_keep_their_types():
    model = OrderedDict([("fc.weight", hl.rand(3, 2)), ("fc.bias", hl.zeros(3)),
                         ("bn.num_batches_tracked", hl.tensor(7))])
    optimizer = {
        "state": {0: {"momentum_buffer": hl.rand(3, 2), "step": 3},
                  1: {"exp_avg": hl.rand(3), "step": hl.tensor(4.0)}},
        "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "nesterov": False, "eps": 1e-8,
                          "maximize": None, "name": "全连接层", "params": [0, 1],
                          "big": 2 ** 70, "inf": math.inf, "nan": math.nan}],
    }
    obj = {"model": model, "optimizer": optimizer, "epoch": 5, "arr": np.arange(3),
           "scalar": np.float32(0.25)}
    loaded = roundtrip(obj)
    assert type(loaded["model"]) is OrderedDict
    assert list(loaded["model"]) == list(model)
    for key in model:
        assert_same_tensor(model[key], loaded["model"][key])
    assert list(loaded["optimizer"]["state"]) == [0, 1]          # integer keys stay integers
    assert_same_tensor(optimizer["state"][0]["momentum_buffer"],
                       loaded["optimizer"]["state"][0]["momentum_buffer"])
    group = loaded["optimizer"]["param_groups"][0]
    assert group["betas"] == (0.9, 0.999) and type(group["betas"]) is tuple
    assert group["params"] == [0, 1] and group["nesterov"] is False and group["maximize"] is None
    assert group["name"] == "全连接层" and group["big"] == 2 ** 70 and group["eps"] == 1e-8
    assert group["inf"] == math.inf and math.isnan(group["nan"])
    assert loaded["epoch"] == 5
    np.testing.assert_array_equal(loaded["arr"], np.arange(3))
    assert loaded["scalar"] == np.float32(0.25) and loaded["scalar"].dtype == np.float32


def test_a_tensor_saved_twice_comes_back_once_but_views_are_separate():
    base = hl.arange(6.0)
    view = base[2:]
    loaded = roundtrip([base, base, view])
    assert loaded[0] is loaded[1]
    assert loaded[2] is not loaded[0]
    loaded[0].add_(1)                          # documented: views do not share after load
    np.testing.assert_array_equal(loaded[2].numpy(), [2, 3, 4, 5])


def test_save_and_load_by_path(tmp_path):
    path = tmp_path / "model.hlpt"
    hl.save({"x": hl.ones(2)}, path)
    assert zipfile.ZipFile(path).namelist()[0] == MANIFEST
    assert_same_tensor(hl.ones(2), hl.load(str(path))["x"])
    assert os.listdir(tmp_path) == ["model.hlpt"]


def test_map_location(tmp_path):
    path = tmp_path / "cuda.hlpt"
    hl.save({"x": hl.ones(2)}, path)
    rewrite_manifest(path, lambda m: m["object"]["items"][0][1].update(device="cuda:0"))
    for location in ("cpu", hl.device("cpu"), {"cuda:0": "cpu"}):
        assert hl.load(path, map_location=location)["x"].device == hl.device("cpu")
    if not hl.cuda.is_available():
        with pytest.raises(RuntimeError, match="map_location='cpu'"):
            hl.load(path)


def rewrite_manifest(path, edit):
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(members[MANIFEST])
    edit(manifest)
    members[MANIFEST] = json.dumps(manifest).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


# --- errors --------------------------------------------------------------------------------------
def test_unsupported_objects_are_refused_before_anything_is_written(tmp_path):
    path = tmp_path / "x.hlpt"
    with pytest.raises(TypeError, match=r"obj\['layers'\]\[1\] of type set"):
        hl.save({"layers": [1, {2}]}, path)
    with pytest.raises(TypeError, match="dtype object"):
        hl.save(np.array([None]), path)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("keep", [0.5, 0.9, -22])
def test_truncated_file(tmp_path, keep):
    path = tmp_path / "cut.hlpt"
    hl.save({"w": hl.rand(100, 10)}, path)
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)] if keep > 0 else data[:keep])
    with pytest.raises(CheckpointError, match="truncated") as info:
        hl.load(path)
    assert str(path) in str(info.value)


def test_a_damaged_byte_is_caught_by_the_checksum(tmp_path):
    path = tmp_path / "flip.hlpt"
    hl.save({"w": hl.full((64,), 1.5)}, path)
    data = bytearray(path.read_bytes())
    at = data.index(np.full(16, 1.5, np.float32).tobytes()) + 5
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        hl.load(path)


@pytest.mark.parametrize("content", [b"", b"hello world", pickle.dumps({"a": 1})],
                         ids=["empty", "text", "pickle"])
def test_file_that_is_not_a_checkpoint(tmp_path, content):
    path = tmp_path / "other.bin"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="is not a handbook_lib checkpoint"):
        hl.load(path)


def test_foreign_zip_and_torch_file(tmp_path):
    path = tmp_path / "foreign.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hi")
    with pytest.raises(CheckpointError, match="zip archive without"):
        hl.load(path)
    torch = pytest.importorskip("torch")
    torch.save({"w": torch.ones(2)}, tmp_path / "torch.pt")
    with pytest.raises(CheckpointError, match="torch.save"):
        hl.load(tmp_path / "torch.pt")


def test_wrong_format_and_version(tmp_path):
    path = tmp_path / "x.hlpt"
    hl.save(1, path)
    rewrite_manifest(path, lambda m: m.update(version=99))
    with pytest.raises(CheckpointError, match="version 99"):
        hl.load(path)
    rewrite_manifest(path, lambda m: m.update(format="other"))
    with pytest.raises(CheckpointError, match="not a handbook_lib checkpoint"):
        hl.load(path)


def test_corrupt_manifest(tmp_path):
    path = tmp_path / "x.hlpt"
    hl.save({"x": hl.ones(1)}, path)
    rewrite_manifest(path, lambda m: m["object"]["items"][0][1].update(type="code"))
    with pytest.raises(CheckpointError, match="corrupt.*unknown entry type 'code'"):
        hl.load(path)
    rewrite_manifest(path, lambda m: m["object"]["items"][0][1].update(type="tensor",
                                                                       array="arrays/9.npy"))
    with pytest.raises(CheckpointError, match="corrupt"):
        hl.load(path)


class _Payload:
    """Unpickling this calls os.mkdir: the proof that a loader ran code from the file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.mkdir, (self.marker,)


def test_a_pickle_inside_the_archive_is_never_executed(tmp_path):
    marker = str(tmp_path / "pwned")
    path = tmp_path / "evil.hlpt"
    hl.save({"x": hl.ones(1)}, path)
    with zipfile.ZipFile(path) as archive:
        manifest = archive.read(MANIFEST)
    evil = io.BytesIO()
    np.save(evil, np.array([_Payload(marker)], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(MANIFEST, manifest)
        archive.writestr("arrays/0.npy", evil.getvalue())
    with pytest.raises(CheckpointError, match="corrupt"):
        hl.load(path)
    pickle_file = tmp_path / "evil.pkl"
    pickle_file.write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(CheckpointError, match="not a handbook_lib checkpoint"):
        hl.load(pickle_file)
    assert not os.path.exists(marker)
    pickle.loads(pickle_file.read_bytes())   # the payload is live: this is what load avoided
    assert os.path.exists(marker)


# --- atomic writes -------------------------------------------------------------------------------
@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
def test_failure_mid_save_leaves_the_old_file_intact(tmp_path, monkeypatch, error):
    path = tmp_path / "ckpt.hlpt"
    hl.save({"w": hl.ones(3)}, path)
    before = path.read_bytes()
    calls = []
    write_array = np.lib.format.write_array

    def failing_write(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise error
        return write_array(*args, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", failing_write)
    with pytest.raises(type(error)):
        hl.save({"w": hl.zeros(3), "b": hl.zeros(1000)}, path)
    assert len(calls) == 2                            # it failed after writing part of the file
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt.hlpt"]      # no temporary file left behind
    monkeypatch.undo()
    assert_same_tensor(hl.ones(3), hl.load(path)["w"])


def test_new_file_gets_normal_permissions(tmp_path):
    path = tmp_path / "ckpt.hlpt"
    hl.save(1, path)
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask
    assert serialization.load(path) == 1


# --- devices -------------------------------------------------------------------------------------
def test_save_from_the_device_and_load_back_there(tmp_path, device):
    path = tmp_path / "model.hlpt"
    model = hl.nn.Linear(3, 2).to(device)
    hl.save({"state": model.state_dict(), "x": hl.arange(4, device=device)}, path)
    loaded = hl.load(path)
    assert loaded["x"].device == hl.device(device) and loaded["x"].tolist() == [0, 1, 2, 3]
    for key, value in model.state_dict().items():
        assert loaded["state"][key].device == value.device
        assert loaded["state"][key].tolist() == value.tolist()


@pytest.mark.parametrize("form", ["str", "device", "dict", "lambda", "lambda to cuda", "None"])
def test_map_location_in_every_pytorch_form(tmp_path, form, cuda_backend):
    path = tmp_path / "gpu.hlpt"
    hl.save({"w": hl.tensor([1.0, 2.0], device="cuda")}, path)
    location, expected = {
        "str": ("cpu", "cpu"), "device": (hl.device("cpu"), "cpu"),
        "dict": ({"cuda:0": "cpu"}, "cpu"), "lambda": (lambda storage, loc: storage, "cpu"),
        "lambda to cuda": (lambda storage, loc: storage.cuda(0), "cuda:0"),
        "None": (None, "cuda:0"),
    }[form]
    w = hl.load(path, map_location=location)["w"]
    assert w.device == hl.device(expected) and w.tolist() == [1.0, 2.0]
    module = hl.nn.Linear(2, 1)
    module.load_state_dict(hl.load(_saved_state(tmp_path, module), map_location=location))


def _saved_state(tmp_path, module):
    path = tmp_path / "state.hlpt"
    hl.save({k: v.cuda() for k, v in module.state_dict().items()}, path)
    return path


def test_map_location_function_must_return_a_tensor(tmp_path):
    path = tmp_path / "x.hlpt"
    hl.save({"x": hl.ones(1)}, path)
    with pytest.raises(RuntimeError, match="map_location returned str"):
        hl.load(path, map_location=lambda storage, loc: "cpu")
