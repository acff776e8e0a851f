"""handbook_lib.vision.datasets: the real archive formats (synthetic, small), downloads from a
local server on 127.0.0.1, checksums, atomic extraction, folders of images and their errors,
and agreement with torchvision's own readers on the same files."""
from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import tarfile

import numpy as np
import pytest
from PIL import Image

import handbook_lib as hl
from handbook_lib.utils.data import DataLoader
from handbook_lib.vision import datasets, transforms
from handbook_lib.vision.datasets import utils
from local_server import local_server  # noqa: F401  (fixture)
from torchvision_ref import datasets as tv_datasets

RNG = np.random.default_rng(0)


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


# --- CIFAR -------------------------------------------------------------------------------------
def cifar_archive(cls, n_per_batch: int = 4) -> tuple[bytes, dict]:
    """A ``.tar.gz`` in CIFAR's real layout (pickled dicts, rows of 3,072 bytes) and the
    attributes that point a CIFAR class at it (file names, MD5s)."""
    folder, files = cls.base_folder, {}
    n_classes = 10 if cls is datasets.CIFAR10 else 100
    for name, _ in cls.train_list + cls.test_list:
        batch = {"data": RNG.integers(0, 256, (n_per_batch, 3072), dtype=np.uint8),
                 cls.labels_key: RNG.integers(0, n_classes, n_per_batch).tolist(),
                 "batch_label": name}
        files[name] = pickle.dumps(batch, protocol=2)
    names = [f"class{i}" for i in range(n_classes)]
    files[cls.meta["filename"]] = pickle.dumps({cls.meta["key"]: names}, protocol=2)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"{folder}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    archive = buffer.getvalue()
    attrs = {"tgz_md5": md5(archive),
             "train_list": [[n, md5(files[n])] for n, _ in cls.train_list],
             "test_list": [[n, md5(files[n])] for n, _ in cls.test_list],
             "meta": {**cls.meta, "md5": md5(files[cls.meta["filename"]])}}
    return archive, attrs


def point_at(monkeypatch, cls, server, attrs):
    monkeypatch.setattr(cls, "url", server.url + cls.filename)
    for name, value in attrs.items():
        monkeypatch.setattr(cls, name, value)


@pytest.mark.parametrize("cls, tv_cls", [(datasets.CIFAR10, tv_datasets.CIFAR10),
                                         (datasets.CIFAR100, tv_datasets.CIFAR100)])
def test_cifar_download_and_read_like_torchvision(tmp_path, local_server, monkeypatch, cls,
                                                  tv_cls):
    archive, attrs = cifar_archive(cls)
    server = local_server({cls.filename: archive})
    point_at(monkeypatch, cls, server, attrs)
    train = cls(tmp_path, train=True, download=True)
    test = cls(tmp_path, train=False)
    assert len(server.requests) == 1
    for name, value in attrs.items():  # torchvision's reader on the same extracted files
        monkeypatch.setattr(tv_cls, name, value)
    for ours, split in ((train, True), (test, False)):
        theirs = tv_cls(str(tmp_path), train=split)
        np.testing.assert_array_equal(ours.data, theirs.data)
        assert ours.targets == list(theirs.targets) and ours.classes == theirs.classes
        image, label = ours[1]
        expected_image, expected_label = theirs[1]
        assert label == expected_label
        np.testing.assert_array_equal(np.asarray(image), np.asarray(expected_image))
    assert len(train) == 4 * len(cls.train_list) and train.data.shape[1:] == (32, 32, 3)
    assert [p for p in os.listdir(tmp_path) if p.endswith(".tmp")] == []
    cls(tmp_path, train=True, download=True)  # intact: nothing downloaded again
    assert len(server.requests) == 1


def test_cifar_with_a_transform_in_a_dataloader(tmp_path, local_server, monkeypatch):
    archive, attrs = cifar_archive(datasets.CIFAR10)
    point_at(monkeypatch, datasets.CIFAR10, local_server({"cifar-10-python.tar.gz": archive}),
             attrs)
    normalize = transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    data = datasets.CIFAR10(tmp_path, download=True, transform=transforms.Compose(
        [transforms.RandomHorizontalFlip(), transforms.ToTensor(), normalize]))
    images, labels = next(iter(DataLoader(data, batch_size=6, shuffle=True)))
    assert tuple(images.shape) == (6, 3, 32, 32) and labels.dtype == hl.int64
    assert "Split: Train" in repr(data) and "Transform: Compose(" in repr(data)


def test_cifar_wrong_archive_checksum_leaves_nothing(tmp_path, local_server, monkeypatch):
    archive, attrs = cifar_archive(datasets.CIFAR10)
    attrs["tgz_md5"] = "0" * 32
    point_at(monkeypatch, datasets.CIFAR10, local_server({"cifar-10-python.tar.gz": archive}),
             attrs)
    with pytest.raises(RuntimeError, match="has MD5 .* expected 0000"):
        datasets.CIFAR10(tmp_path, download=True)
    assert os.listdir(tmp_path) == []


def test_cifar_truncated_download_leaves_nothing(tmp_path, local_server, monkeypatch):
    archive, attrs = cifar_archive(datasets.CIFAR10)
    server = local_server({"cifar-10-python.tar.gz": archive}, cut=("cifar-10-python.tar.gz",))
    point_at(monkeypatch, datasets.CIFAR10, server, attrs)
    with pytest.raises(RuntimeError, match="incomplete download"):
        datasets.CIFAR10(tmp_path, download=True)
    assert os.listdir(tmp_path) == []


def test_cifar_missing_corrupt_and_unsafe_batches(tmp_path, local_server, monkeypatch):
    with pytest.raises(RuntimeError, match="Dataset not found or corrupted: .*data_batch_1 is "
                                           "missing. You can use download=True"):
        datasets.CIFAR10(tmp_path)
    archive, attrs = cifar_archive(datasets.CIFAR10)
    point_at(monkeypatch, datasets.CIFAR10, local_server({"cifar-10-python.tar.gz": archive}),
             attrs)
    datasets.CIFAR10(tmp_path, download=True)
    batch = tmp_path / "cifar-10-batches-py" / "data_batch_3"
    batch.write_bytes(batch.read_bytes()[:-10])
    with pytest.raises(RuntimeError, match="data_batch_3 has the wrong MD5"):
        datasets.CIFAR10(tmp_path)

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo unsafe",))

    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps({"data": Evil()}))
    with pytest.raises(RuntimeError, match="refusing to load posix.system"):
        utils.load_array_pickle(evil)


def test_extraction_of_a_corrupt_archive_leaves_no_folder(tmp_path):
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(gzip.compress(b"not a tar archive at all" * 50))
    with pytest.raises(RuntimeError, match="bad.tar.gz is corrupt or truncated"):
        utils.extract_archive_atomically(bad, tmp_path, "cifar-10-batches-py")
    assert sorted(os.listdir(tmp_path)) == ["bad.tar.gz"]


# --- the MNIST family ----------------------------------------------------------------------------
def idx(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes())


@pytest.mark.parametrize("cls, tv_cls", [(datasets.FashionMNIST, tv_datasets.FashionMNIST),
                                         (datasets.KMNIST, tv_datasets.KMNIST)])
def test_mnist_family_download_and_read_like_torchvision(tmp_path, local_server, monkeypatch,
                                                         cls, tv_cls):
    arrays = {"train-images-idx3-ubyte.gz": RNG.integers(0, 256, (6, 28, 28)),
              "train-labels-idx1-ubyte.gz": RNG.integers(0, 10, 6),
              "t10k-images-idx3-ubyte.gz": RNG.integers(0, 256, (3, 28, 28)),
              "t10k-labels-idx1-ubyte.gz": RNG.integers(0, 10, 3)}
    files = {name: idx(a) for name, a in arrays.items()}
    resources = [(name, md5(data)) for name, data in files.items()]
    server = local_server(files)
    monkeypatch.setattr(cls, "mirrors", [server.url])
    monkeypatch.setattr(cls, "resources", resources)
    ours = cls(tmp_path, train=True, download=True)
    assert os.path.isdir(tmp_path / cls.__name__ / "raw")
    for name, data in files.items():  # torchvision reads the files it has unpacked
        (tmp_path / cls.__name__ / "raw" / name[:-3]).write_bytes(gzip.decompress(data))
    monkeypatch.setattr(tv_cls, "resources", resources)
    theirs = tv_cls(str(tmp_path), train=True)
    np.testing.assert_array_equal(ours.data.numpy(), theirs.data.numpy())
    np.testing.assert_array_equal(ours.targets.numpy(), theirs.targets.numpy())
    assert ours.classes == theirs.classes
    np.testing.assert_array_equal(ours[2][0], np.asarray(theirs[2][0]))  # numpy vs PIL
    assert ours[2][1] == theirs[2][1]


def test_the_mnist_family_urls_and_hashes_are_torchvisions():
    for ours, theirs in ((datasets.FashionMNIST, tv_datasets.FashionMNIST),
                         (datasets.KMNIST, tv_datasets.KMNIST)):
        assert ours.mirrors == theirs.mirrors and ours.resources == theirs.resources
    for ours, theirs in ((datasets.CIFAR10, tv_datasets.CIFAR10),
                         (datasets.CIFAR100, tv_datasets.CIFAR100)):
        assert (ours.url, ours.tgz_md5, ours.train_list, ours.test_list, ours.meta) == \
            (theirs.url, theirs.tgz_md5, theirs.train_list, theirs.test_list, theirs.meta)


# --- folders of images ---------------------------------------------------------------------------
def image_tree(root, layout: dict[str, list[str]]) -> None:
    for cls, names in layout.items():
        (root / cls).mkdir(parents=True)
        for name in names:
            array = RNG.integers(0, 256, (9, 7, 3), dtype=np.uint8)
            path = root / cls / name
            if name.endswith((".png", ".jpg", ".bmp")):
                Image.fromarray(array).save(path)
            else:
                path.write_text("not an image")


def test_image_folder_like_torchvision(tmp_path):
    image_tree(tmp_path, {"dog": ["b.png", "a.jpg", "notes.txt"], "cat": ["z.bmp"],
                          "cow": ["x.png"]})
    (tmp_path / "dog" / "nested").mkdir()
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "dog" / "nested" / "c.png")
    ours = datasets.ImageFolder(tmp_path)
    theirs = tv_datasets.ImageFolder(str(tmp_path))
    assert ours.classes == theirs.classes == ["cat", "cow", "dog"]
    assert ours.class_to_idx == theirs.class_to_idx
    assert ours.samples == theirs.samples and ours.targets == theirs.targets
    for i in range(len(ours)):
        (image, label), (expected, expected_label) = ours[i], theirs[i]
        assert image.mode == "RGB" and label == expected_label
        np.testing.assert_array_equal(np.asarray(image), np.asarray(expected))
    loader = DataLoader(datasets.ImageFolder(tmp_path, transform=transforms.Compose(
        [transforms.Resize((8, 8)), transforms.ToTensor()])), batch_size=5)
    images, labels = next(iter(loader))
    assert tuple(images.shape) == (5, 3, 8, 8) and labels.tolist() == [0, 1, 2, 2, 2]


def test_dataset_folder_with_a_custom_loader_and_filter(tmp_path):
    image_tree(tmp_path, {"a": ["1.txt", "2.txt"], "b": ["3.txt"]})
    data = datasets.DatasetFolder(tmp_path, loader=lambda p: open(p).read(),
                                  extensions=(".txt",))
    assert [data[i] for i in range(3)] == [("not an image", 0)] * 2 + [("not an image", 1)]
    only_b = datasets.DatasetFolder(tmp_path, loader=str, is_valid_file=lambda p: p.endswith("3.txt"),
                                    allow_empty=True)
    assert only_b.targets == [1]


def test_image_folder_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="Couldn't find any class folder in"):
        datasets.ImageFolder(tmp_path)
    image_tree(tmp_path, {"dog": ["a.png"], "cat": ["notes.txt", "data.csv"]})
    with pytest.raises(FileNotFoundError, match="Found no valid file for the classes cat. "
                                                "Supported extensions are: .jpg, .jpeg"):
        datasets.ImageFolder(tmp_path)
    assert len(datasets.ImageFolder(tmp_path, allow_empty=True)) == 1
    with pytest.raises(ValueError, match="Both extensions and is_valid_file cannot be None"):
        datasets.DatasetFolder(tmp_path, loader=str)
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        datasets.ImageFolder(tmp_path / "missing")


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_corrupt_or_truncated_image_names_the_file(tmp_path, damage):
    image_tree(tmp_path, {"dog": ["good.png", "bad.png"]})
    bad = tmp_path / "dog" / "bad.png"
    raw = bad.read_bytes()
    bad.write_bytes(b"\x89PNG garbage" if damage == "garbage" else raw[: len(raw) // 2])
    data = datasets.ImageFolder(tmp_path)
    data[1]  # good.png (sorted after bad.png: index 0 is bad.png)
    with pytest.raises(OSError, match="cannot read the image file .*bad.png"):
        data[0]


# --- offline sets ---------------------------------------------------------------------------------
def test_fake_data_is_repeatable_pil_images():
    data = datasets.FakeData(size=5, image_size=(3, 12, 10), num_classes=4)
    image, label = data[3]
    again, same = data[3]
    assert image.size == (10, 12) and image.mode == "RGB" and 0 <= label < 4
    assert np.array_equal(np.asarray(image), np.asarray(again)) and label == same
    assert len(data) == 5 and datasets.FakeData(2, (1, 4, 4))[0][0].mode == "L"
    with pytest.raises(IndexError):
        data[5]
    with pytest.raises(ValueError, match="image_size should be"):
        datasets.FakeData(image_size=(2, 4, 4))


def test_sklearn_digits_and_sample_images():
    train, test = datasets.Digits(train=True), datasets.Digits(train=False)
    assert len(train) + len(test) == 1797 and len(test) == 355
    image, label = train[0]
    assert image.size == (8, 8) and image.mode == "L" and label == 0
    assert max(int(np.asarray(train[i][0]).max()) for i in range(20)) == 255
    photos = datasets.SampleImages()
    assert [photos[i][0].size for i in range(2)] == [(640, 427), (640, 427)]
    assert photos.classes == ["china.jpg", "flower.jpg"]
