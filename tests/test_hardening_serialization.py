"""hl.save / hl.load against files an attacker made, corruption, and what a killed save leaves."""
from __future__ import annotations

import io
import json
import os
import random
import stat
import subprocess
import sys
import tracemalloc
import zipfile

import numpy as np
import pytest

import handbook_lib as hl
from handbook_lib import _files, serialization
from handbook_lib.serialization import MANIFEST, CheckpointError


def _archive(manifest_object, members: dict, compression=zipfile.ZIP_STORED) -> bytes:
    """A checkpoint-shaped zip written by hand: the manifest, then ``members``."""
    buffer = io.BytesIO()
    manifest = {"format": serialization.FORMAT, "version": serialization.VERSION,
                "object": manifest_object}
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        archive.writestr(MANIFEST, json.dumps(manifest))
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _tensor_entry(member: str = "arrays/0.npy") -> dict:
    return {"type": "tensor", "array": member, "device": "cpu", "requires_grad": False}


# --- limits before allocating ---------------------------------------------------------------------
def test_compressed_members_are_refused_before_they_expand():
    zeros = _npy(np.zeros(2**23))  # 64 MiB of zeros deflate to about 64 KiB
    bomb = _archive(_tensor_entry(), {"arrays/0.npy": zeros}, compression=zipfile.ZIP_DEFLATED)
    assert len(bomb) < 2**20
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError, match="compressed"):
            hl.load(io.BytesIO(bomb))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20


def test_an_array_referenced_many_times_is_read_once():
    member = _npy(np.ones(2**15))  # 256 KiB
    entries = [{"type": "ndarray", "array": "arrays/0.npy"}] * 400  # 100 MiB if copied each time
    data = _archive({"type": "list", "items": entries + [_tensor_entry()] * 400},
                    {"arrays/0.npy": member})
    tracemalloc.start()
    try:
        loaded = hl.load(io.BytesIO(data))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20
    assert loaded[0] is loaded[399] and loaded[400] is loaded[799]


def test_a_header_declaring_a_huge_array_is_a_checkpoint_error():
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                 "shape": (2**37,)})  # 1 TiB
    data = _archive(_tensor_entry(), {"arrays/0.npy": header.getvalue() + b"\0" * 64})
    with pytest.raises(CheckpointError, match="declares"):
        hl.load(io.BytesIO(data))


def test_a_zip_entry_declaring_more_bytes_than_the_file_is_a_checkpoint_error():
    data = bytearray(_archive(_tensor_entry(), {"arrays/0.npy": _npy(np.ones(4))}))
    directory = data.rfind(b"PK\x01\x02")  # the array's central directory entry
    for offset in (20, 24):  # compressed and uncompressed sizes
        data[directory + offset:directory + offset + 4] = (2**31).to_bytes(4, "little")
    with pytest.raises(CheckpointError):
        hl.load(io.BytesIO(bytes(data)))


def test_max_bytes_limit_and_how_to_raise_it(tmp_path):
    path = tmp_path / "big.hlpt"
    hl.save({"w": hl.zeros(1000)}, path)
    with pytest.raises(CheckpointError, match=r"max_bytes=4000"):
        hl.load(path, max_bytes=1000)
    assert hl.load(path, max_bytes=4000)["w"].shape == (1000,)
    with pytest.raises(CheckpointError, match="max_manifest_bytes"):
        hl.load(path, max_manifest_bytes=10)
    assert serialization.DEFAULT_MAX_BYTES == 16 * 2**30
    assert "max_bytes=2**40" in serialization.__doc__


def test_deep_nesting_in_a_file_is_a_checkpoint_error():
    node = 1
    for _ in range(250):  # past the 200 levels load accepts
        node = {"type": "list", "items": [node]}
    with pytest.raises(CheckpointError):
        hl.load(io.BytesIO(_archive(node, {})))


# --- corruption ------------------------------------------------------------------------------------
def test_every_single_bit_flip_loads_or_raises_the_checkpoint_error(tmp_path):
    path = tmp_path / "model.hlpt"
    hl.manual_seed(0)
    model = hl.nn.Linear(3, 2)
    optimizer = hl.optim.Adam(model.parameters())
    model(hl.randn(5, 3)).sum().backward()
    optimizer.step()
    hl.save({"model": model.state_dict(), "optim": optimizer.state_dict(), "epoch": 3}, path)
    data = path.read_bytes()
    flips = random.Random(0).sample(range(len(data) * 8), 2002)
    others = {}
    for bit in flips:
        corrupt = bytearray(data)
        corrupt[bit // 8] ^= 1 << (bit % 8)
        try:
            hl.load(io.BytesIO(bytes(corrupt)))
        except CheckpointError:
            pass
        except Exception as exc:  # noqa: BLE001 - collecting what escapes is the test
            others[bit] = f"{type(exc).__name__}: {exc}"
    assert not others, others


# --- names PyTorch scripts use ---------------------------------------------------------------------
def test_weights_only_is_accepted(tmp_path):
    path = tmp_path / "t.hlpt"
    hl.save({"x": hl.ones(2)}, path)
    assert hl.load(path, weights_only=True)["x"].tolist() == [1.0, 1.0]
    assert hl.load(path, weights_only=False)["x"].tolist() == [1.0, 1.0]


def test_safe_globals_exist_and_change_nothing(tmp_path):
    path = tmp_path / "t.hlpt"
    hl.save([1, 2], path)
    serialization.add_safe_globals([np.dtype])
    assert np.dtype in serialization.get_safe_globals()
    with hl.serialization.safe_globals([dict]):
        assert dict in serialization.get_safe_globals()
        assert hl.load(path) == [1, 2]
    assert dict not in serialization.get_safe_globals()
    serialization.clear_safe_globals()
    assert serialization.get_safe_globals() == []


@pytest.mark.parametrize("make", [lambda: hl.nn.Linear(2, 2),
                                  lambda: hl.optim.SGD(hl.nn.Linear(2, 2).parameters(), lr=0.1)])
def test_saving_a_whole_module_says_to_save_its_state_dict(make, tmp_path):
    with pytest.raises(TypeError, match=r"state_dict\(\)"):
        hl.save(make(), tmp_path / "m.hlpt")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("make", ["list", "dict", "deep"])
def test_an_object_that_contains_itself_is_a_clear_error(make, tmp_path):
    if make == "list":
        obj = [1]
        obj.append(obj)
    elif make == "dict":
        obj = {"a": 1}
        obj["self"] = [obj]
    else:
        obj = []
        for _ in range(5000):
            obj = [obj]
    with pytest.raises(ValueError, match="contains itself" if make != "deep" else "nested"):
        hl.save(obj, tmp_path / "x.hlpt")


def test_the_same_list_twice_is_not_a_cycle(tmp_path):
    shared = [1, 2]
    hl.save({"a": shared, "b": shared}, tmp_path / "x.hlpt")
    assert hl.load(tmp_path / "x.hlpt") == {"a": [1, 2], "b": [1, 2]}


# --- what a save leaves on disk --------------------------------------------------------------------
def test_saving_over_a_checkpoint_keeps_its_permissions(tmp_path):
    path = tmp_path / "secret.hlpt"
    hl.save([1], path)
    os.chmod(path, 0o600)
    hl.save([2], path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert hl.load(path) == [2]


def test_a_temporary_left_by_a_killed_save_is_removed_by_the_next(tmp_path):
    path = tmp_path / "model.hlpt"
    killed = ("import os, sys; from handbook_lib import _files\n"
              "d, n = os.path.split(sys.argv[1])\n"
              "open(os.path.join(d, _files._temp_name(n)), 'wb').write(b'half a checkpoint')\n"
              "os._exit(0)  # like kill -9: nothing cleans up\n")
    subprocess.run([sys.executable, "-c", killed, str(path)], check=True, timeout=60,
                   cwd=os.path.dirname(os.path.dirname(hl.__file__)))
    assert len(list(tmp_path.iterdir())) == 1
    other = tmp_path / "other.hlpt"
    hl.save([0], other)  # another target's save leaves it alone
    assert len(list(tmp_path.iterdir())) == 2
    hl.save([1], path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.hlpt", "other.hlpt"]


def test_a_live_writers_temporary_is_kept(tmp_path):
    live = tmp_path / _files._temp_name("model.hlpt")  # this process's pid: still running
    live.write_bytes(b"being written")
    hl.save([1], tmp_path / "model.hlpt")
    assert live.exists()


def test_a_250_character_file_name_saves(tmp_path):
    path = tmp_path / ("m" * 245 + ".hlpt")
    hl.save([1], path)
    assert hl.load(path) == [1]
    assert all(len(name) < 64 for name in [_files._temp_name(path.name)])
