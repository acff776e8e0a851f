"""handbook_lib.hub and the weights path of vision.models: verified, cached, atomic downloads
from a local server on 127.0.0.1; torch.save files read without torch; the converter script;
a converted torchvision resnet18 computes torchvision's outputs."""
from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import handbook_lib as hl
from handbook_lib import hub
from handbook_lib.vision import models
from local_server import local_server  # noqa: F401  (fixture)
from torchvision_ref import models as tv_models

ROOT = Path(__file__).resolve().parents[1]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def torch_bytes(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def hl_bytes(obj) -> bytes:
    buffer = io.BytesIO()
    hl.save(obj, buffer)
    return buffer.getvalue()


@pytest.fixture
def hub_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(hub, "_hub_dir", str(tmp_path / "hub"))
    return tmp_path / "hub" / "checkpoints"


def test_get_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setattr(hub, "_hub_dir", None)
    monkeypatch.setenv("HANDBOOK_LIB_HOME", str(tmp_path / "home"))
    assert hub.get_dir() == str(tmp_path / "home" / "hub")
    monkeypatch.delenv("HANDBOOK_LIB_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert hub.get_dir() == str(tmp_path / "cache" / "handbook_lib" / "hub")
    hub.set_dir(tmp_path / "chosen")
    assert hub.get_dir() == str(tmp_path / "chosen")


def test_a_torch_checkpoint_downloads_once_verified_and_reads_without_torch(hub_dir,
                                                                           local_server):
    state = {"w": torch.randn(3, 4), "b": torch.arange(5), "t": torch.randn(4, 6).t(),
             "s": torch.tensor(2.5, dtype=torch.float64)}
    data = torch_bytes(state)
    name = f"tiny-{sha256(data)[:8]}.pth"
    server = local_server({name: data})
    loaded = hub.load_state_dict_from_url(server.url + name, check_hash=True, progress=False)
    assert list(loaded) == list(state)
    for key, value in state.items():
        assert isinstance(loaded[key], hl.Tensor)
        np.testing.assert_array_equal(loaded[key].numpy(), value.numpy())
    assert os.listdir(hub_dir) == [name]
    hub.load_state_dict_from_url(server.url + name, check_hash=True)
    assert len(server.requests) == 1  # cached


def test_a_wrong_hash_writes_nothing(hub_dir, local_server):
    data = hl_bytes({"w": hl.ones(2)})
    server = local_server({"weights-00000000.hlpt": data})
    with pytest.raises(RuntimeError, match='invalid hash value \\(expected "00000000"'):
        hub.load_state_dict_from_url(server.url + "weights-00000000.hlpt", check_hash=True)
    assert not hub_dir.exists() or os.listdir(hub_dir) == []


def test_a_truncated_download_writes_nothing(hub_dir, local_server):
    data = hl_bytes({"w": hl.ones(1000)})
    server = local_server({"w.hlpt": data}, cut=("w.hlpt",))
    with pytest.raises(RuntimeError, match="incomplete download"):
        hub.load_state_dict_from_url(server.url + "w.hlpt", hash_prefix=sha256(data),
                                     check_hash=True)
    assert os.listdir(hub_dir) == []


def test_a_corrupt_cached_file_is_named(hub_dir, local_server):
    data = hl_bytes({"w": hl.ones(3)})
    server = local_server({"w.hlpt": data})
    hub.load_state_dict_from_url(server.url + "w.hlpt", hash_prefix=sha256(data),
                                 check_hash=True)
    (hub_dir / "w.hlpt").write_bytes(data[:-5] + b"xxxxx")
    with pytest.raises(RuntimeError, match="w.hlpt has SHA-256 .* Delete it"):
        hub.load_state_dict_from_url(server.url + "w.hlpt", hash_prefix=sha256(data),
                                     check_hash=True)
    with pytest.raises(RuntimeError, match="has no '-<sha256>.' part"):
        hub.load_state_dict_from_url(server.url + "w.hlpt", check_hash=True)


def test_a_pickle_that_runs_code_is_refused(hub_dir, local_server):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo unsafe",))

    buffer = io.BytesIO()
    torch.save({"w": Evil()}, buffer, _use_new_zipfile_serialization=True)
    server = local_server({"evil.pth": buffer.getvalue()})
    with pytest.raises(Exception, match="refusing to load posix.system"):
        hub.load_state_dict_from_url(server.url + "evil.pth")


def test_weights_entries_load_through_the_builder(hub_dir, local_server):
    source = models.resnet_mini(num_classes=3)
    data = hl_bytes(source.state_dict())
    server = local_server({"mini.hlpt": data})
    weights = models.Weights(url=server.url + "mini.hlpt", sha256=sha256(data),
                             transforms=lambda: None, meta={"categories": ["a", "b", "c"]})
    model = models.resnet_mini(weights=weights).eval()
    x = hl.randn(2, 1, 28, 28)
    np.testing.assert_array_equal(model(x).detach().numpy(), source.eval()(x).detach().numpy())
    wrong = models.Weights(url=server.url + "mini.hlpt", sha256=sha256(data), transforms=None,
                           meta={})
    with pytest.raises(RuntimeError, match="does not match ResNetMini"):
        models.resnet_mini(weights=wrong, num_classes=10)


def test_registry_weights_with_a_bad_cached_file_fail_clearly(hub_dir):
    hub_dir.mkdir(parents=True)
    (hub_dir / "resnet18-f37072fd.pth").write_bytes(b"not the weights")
    with pytest.raises(RuntimeError, match="resnet18-f37072fd.pth has SHA-256 .*expected "
                                           "f37072fd"):
        models.resnet18(weights="IMAGENET1K_V1")
    with pytest.warns(UserWarning, match="'pretrained' is deprecated"), \
            pytest.raises(RuntimeError, match="resnet18-f37072fd.pth has SHA-256"):
        models.resnet18(pretrained=True)


def test_a_converted_torchvision_resnet18_gives_torchvisions_outputs(tmp_path):
    torch.manual_seed(0)
    theirs = tv_models.resnet18(weights=None).eval()
    for m in theirs.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 2.0)
    torch.save(theirs.state_dict(), tmp_path / "resnet18.pth")
    result = subprocess.run([sys.executable, str(ROOT / "scripts/convert_torch_checkpoint.py"),
                             str(tmp_path / "resnet18.pth"), str(tmp_path / "resnet18.hlpt"),
                             "--print-sha256"], capture_output=True, text=True, timeout=300,
                            check=True)
    converted = tmp_path / "resnet18.hlpt"
    assert result.stdout.strip() == sha256(converted.read_bytes())
    ours = models.resnet18()
    ours.load_state_dict(hl.load(converted))
    ours.eval()
    x = np.random.default_rng(1).standard_normal((2, 3, 64, 64)).astype(np.float32)
    with torch.no_grad():
        expected = theirs(torch.from_numpy(x)).numpy()
    with hl.no_grad():
        got = ours(hl.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())
    direct = models.resnet18()  # the .pth itself, read without torch, gives the same weights
    direct.load_state_dict(hub.load_file(str(tmp_path / "resnet18.pth")))
    for (k, a), (_, b) in zip(direct.state_dict().items(), ours.state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
