"""Tests for edgelearn.core.data: real offline MNIST / Fashion-MNIST files and synthetic IDX files."""

from __future__ import annotations

import gzip
import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from edgelearn.core import data
from edgelearn.core.data import DataUnavailableError, ImageDataset, load_dataset, read_idx, train_val_split

pytestmark = pytest.mark.usefixtures("isolated_data_env")


def _mnist_test_available() -> bool:
    try:
        load_dataset("mnist", "test", download=False)
        return True
    except DataUnavailableError:
        return False


def _mnist_train_available() -> bool:
    try:
        load_dataset("mnist", "train", download=False)
        return True
    except DataUnavailableError:
        return False


needs_mnist = pytest.mark.skipif(not _mnist_test_available(), reason="no local MNIST test set")
needs_fashion = pytest.mark.skipif(
    not data.DEBIAN_FASHION_MNIST_DIR.is_dir(), reason="apt-get install -y dataset-fashion-mnist not done"
)


def _write_idx(path: Path, array: np.ndarray, compress: bool) -> None:
    codes = {np.dtype(np.uint8): 0x08, np.dtype(">i4"): 0x0C}
    payload = bytes([0, 0, codes[array.dtype], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload += array.tobytes()
    path.write_bytes(gzip.compress(payload) if compress else payload)


def _digest(images: torch.Tensor) -> set[str]:
    return {hashlib.sha1(img.numpy().tobytes()).hexdigest() for img in images}


# --- real data -------------------------------------------------------------------------------------


@needs_mnist
def test_mnist_test_set_from_shared_folder():
    ds = load_dataset("mnist", "test", download=False)
    assert isinstance(ds, ImageDataset) and (ds.name, ds.split) == ("mnist", "test")
    assert len(ds) == 10_000
    assert ds.images.dtype == torch.uint8 and ds.images.shape == (10_000, 28, 28)
    assert ds.labels.dtype == torch.int64 and ds.labels.shape == (10_000,)
    assert int(ds.labels.min()) == 0 and int(ds.labels.max()) == 9
    counts = torch.bincount(ds.labels, minlength=10)
    assert counts.sum() == 10_000 and 800 <= int(counts.min()) and int(counts.max()) <= 1200
    assert counts.tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]  # the official test set
    assert "datasets" in ds.source and "mnist" in ds.source
    assert int(ds.images.max()) == 255 and int(ds.images.min()) == 0

    x = ds.as_float()
    assert x.shape == (10_000, 1, 28, 28) and x.dtype == torch.float32
    assert abs(float(x.mean())) < 0.05 and abs(float(x.std()) - 1.0) < 0.05  # train stats fit test data
    raw = ds.as_float(normalize=False)
    assert float(raw.min()) == 0.0 and float(raw.max()) == 1.0


@needs_mnist
def test_mnist_train_offline_raises_with_advice():
    if _mnist_train_available():
        pytest.skip("a full MNIST training set is available here")
    with pytest.raises(DataUnavailableError) as info:
        load_dataset("mnist", "train", download=False)
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    assert "mnist train" in message
    assert "EDGELEARN_DATA_DIR" in message and "data_dir" in message
    assert "only the 10k test set is available offline" in message and "train_val_split" in message
    assert "missing train-images-idx3-ubyte" in message  # the shared folder has train labels only


@needs_mnist
def test_train_val_split_offline_falls_back_to_test_set():
    if _mnist_train_available():
        pytest.skip("a full MNIST training set is available here")
    train, val = train_val_split("mnist", 2_000, 1_000, seed=0, download=False)
    assert (len(train), len(val)) == (2_000, 1_000)
    assert (train.split, val.split) == ("test[train-part]", "test[val-part]")
    for part in (train, val):
        assert "drawn from the 10,000-image test set because the training images are unavailable offline" in part.source
        assert part.images.shape[1:] == (28, 28) and part.labels.dtype == torch.int64
    assert set(train.indices.tolist()).isdisjoint(val.indices.tolist())
    assert len(_digest(train.images)) == 2_000  # the 10,000 test images are pairwise distinct
    assert _digest(train.images).isdisjoint(_digest(val.images))
    full = load_dataset("mnist", "test", download=False)
    assert torch.equal(full.images[train.indices], train.images)
    assert torch.equal(full.labels[val.indices], val.labels)

    again, again_val = train_val_split("mnist", 2_000, 1_000, seed=0, download=False)
    assert torch.equal(again.indices, train.indices) and torch.equal(again_val.labels, val.labels)
    other, _ = train_val_split("mnist", 2_000, 1_000, seed=1, download=False)
    assert not torch.equal(other.indices, train.indices)

    with pytest.raises(ValueError, match="10000"):
        train_val_split("mnist", 9_000, 2_000, download=False)


@needs_fashion
def test_fashion_mnist_from_debian_package():
    train = load_dataset("fashion-mnist", "train", download=False)
    test = load_dataset("fashion_mnist", "test", download=False)
    assert (len(train), len(test)) == (60_000, 10_000)
    assert train.images.shape == (60_000, 28, 28) and train.images.dtype == torch.uint8
    assert torch.bincount(train.labels).tolist() == [6_000] * 10
    assert torch.bincount(test.labels).tolist() == [1_000] * 10
    assert test.name == "fashion-mnist" and "fashion-mnist" in train.source
    x = train.as_float()
    assert abs(float(x.mean())) < 0.01 and abs(float(x.std()) - 1.0) < 0.01

    tr, va = train_val_split("fashionmnist", 20_000, 10_000, seed=0, download=False)
    assert (tr.split, va.split) == ("train[train-part]", "train[val-part]")
    assert "train split" in tr.source and "unavailable" not in tr.source
    assert set(tr.indices.tolist()).isdisjoint(va.indices.tolist())


# --- nothing found -----------------------------------------------------------------------------------


def test_empty_data_dir_raises_listing_searched_places(tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("EDGELEARN_DATA_DIR", str(empty))
    monkeypatch.setattr(data, "_shared_dirs", lambda: [])
    assert data.data_dirs(name="mnist") == [empty, Path(data._cache_dir())]
    with pytest.raises(DataUnavailableError) as info:
        load_dataset("mnist", "test", download=False)
    message = str(info.value)
    assert "mnist test" in message
    assert str(empty / "mnist") in message and str(empty / "MNIST" / "raw") in message
    assert str(data._cache_dir()) in message
    assert "EDGELEARN_DATA_DIR" in message and "download=False" in message
    assert "train_val_split" not in message  # that advice is for the missing MNIST train images only

    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST_DIR", tmp_path / "no-debian")
    with pytest.raises(DataUnavailableError, match="apt-get install -y dataset-fashion-mnist"):
        load_dataset("fashion-mnist", "train", download=False)


# --- synthetic IDX files -----------------------------------------------------------------------------


@pytest.mark.parametrize("compress", [True, False])
def test_synthetic_idx_roundtrip(tmp_path, compress):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(7, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=7, dtype=np.uint8)
    suffix = ".gz" if compress else ""
    _write_idx(tmp_path / f"t10k-images-idx3-ubyte{suffix}", images, compress)
    _write_idx(tmp_path / f"t10k-labels-idx1-ubyte{suffix}", labels, compress)
    other = np.arange(6, dtype=">i4").reshape(2, 3)
    _write_idx(tmp_path / "ints.idx", other, compress)

    np.testing.assert_array_equal(read_idx(tmp_path / f"t10k-images-idx3-ubyte{suffix}"), images)
    np.testing.assert_array_equal(read_idx(tmp_path / "ints.idx"), other)

    ds = load_dataset("mnist", "test", data_dir=tmp_path, download=False)  # bare files in an explicit dir
    assert ds.source == str(tmp_path)
    assert torch.equal(ds.images, torch.from_numpy(images))
    assert torch.equal(ds.labels, torch.from_numpy(labels.astype(np.int64)))
    ds.images[0, 0, 0] += 1  # the returned tensors are copies: the cached array stays intact
    np.testing.assert_array_equal(read_idx(tmp_path / f"t10k-images-idx3-ubyte{suffix}"), images)


def test_torchvision_and_named_layouts(tmp_path):
    images = np.full((3, 28, 28), 9, dtype=np.uint8)
    labels = np.array([1, 2, 3], dtype=np.uint8)
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    _write_idx(raw / "train-images-idx3-ubyte", images, compress=False)
    _write_idx(raw / "train-labels-idx1-ubyte.gz", labels, compress=True)
    ds = load_dataset("fashion-mnist", "train", data_dir=tmp_path, download=False)
    assert ds.source == str(raw) and ds.labels.tolist() == [1, 2, 3]

    named = tmp_path / "mnist"
    named.mkdir()
    _write_idx(named / "train-images-idx3-ubyte.gz", images, compress=True)
    _write_idx(named / "train-labels-idx1-ubyte.gz", labels, compress=True)
    assert load_dataset("mnist", "train", data_dir=tmp_path, download=False).source == str(named)


def test_not_an_idx_file(tmp_path):
    (tmp_path / "junk").write_bytes(b"hello world")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(tmp_path / "junk")


# --- argument checking -------------------------------------------------------------------------------


def test_bad_arguments_raise_value_error():
    with pytest.raises(ValueError, match="name must be one of .*fashion-mnist"):
        load_dataset("cifar10")
    with pytest.raises(ValueError, match="split must be one of .*'train', 'test'"):
        load_dataset("mnist", "validation")
    with pytest.raises(ValueError, match="n_train"):
        train_val_split("mnist", 0, 10, download=False)
    with pytest.raises(ValueError, match="n_val"):
        train_val_split("mnist", 10, -1, download=False)
    with pytest.raises(ValueError, match="name must be one of"):
        train_val_split("emnist", 10, 10, download=False)


def test_a_data_dir_that_does_not_exist_fails_instead_of_falling_back(tmp_path):
    with pytest.raises(DataUnavailableError, match="data_dir=.*is not a folder"):
        load_dataset("mnist", "test", data_dir=tmp_path / "no-such-folder", download=False)


@pytest.mark.parametrize("damage", ["truncate", "bad-gzip"])
def test_a_corrupt_idx_file_names_the_file(tmp_path, damage):
    images = np.zeros((4, 28, 28), dtype=np.uint8)
    raw = struct.pack(">BBBB", 0, 0, 0x08, 3) + struct.pack(">III", 4, 28, 28) + images.tobytes()
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    if damage == "truncate":
        path.write_bytes(gzip.compress(raw[: len(raw) // 2]))
        match = "t10k-images-idx3-ubyte.gz is truncated or corrupt"
    else:
        path.write_bytes(gzip.compress(raw)[:-20])
        match = "t10k-images-idx3-ubyte.gz is a corrupt or truncated gzip file"
    with pytest.raises(ValueError, match=match):
        read_idx(path)


def test_datacheck_names_what_to_install_when_a_data_set_is_missing(tmp_path, monkeypatch, capsys):
    from edgelearn.core import datacheck

    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST_DIR", tmp_path / "no-debian-package")
    monkeypatch.setattr(data, "_shared_dirs", lambda: [])
    missing = datacheck.missing_datasets(["fashion-mnist"], download=False)
    assert list(missing) == ["fashion-mnist"] and "apt-get install -y dataset-fashion-mnist" in missing["fashion-mnist"]
    monkeypatch.setattr(datacheck, "missing_datasets", lambda names: {n: "reason" for n in names})
    assert datacheck.main(["fashion-mnist"]) == 1
    assert "== fashion-mnist" in capsys.readouterr().err
    assert datacheck.main(["cifar"]) == 2


@needs_mnist
def test_datacheck_passes_when_the_data_are_here(capsys):
    from edgelearn.core import datacheck

    assert datacheck.main(["mnist"]) == 0 and "available: mnist" in capsys.readouterr().out
