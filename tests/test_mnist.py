"""MNIST: the IDX reader on small generated files of the real format (well-formed, corrupt and
truncated), the bundled sample, the scale switch, and the tensors and loader of the GANs notebook."""

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers.data import mnist
from helpers.data.mnist import (
    MNIST_FILES,
    MNISTFormatError,
    get_MNIST_data,
    load_MNIST,
    load_mnist_split,
    mnist_loader,
    preprocess_MNIST,
    read_idx,
)
from helpers.data.paths import DatasetMissingError

ROOT = Path(__file__).resolve().parent.parent
REFETCH = "setup_datasets.sh --force mnist"
TYPE_CODES = {np.dtype("uint8"): 0x08, np.dtype("int8"): 0x09, np.dtype("int16"): 0x0B, np.dtype("int32"): 0x0C,
              np.dtype("float32"): 0x0D, np.dtype("float64"): 0x0E}


def idx_bytes(array):
    """The IDX encoding of an array, written from the format's definition (independent of read_idx)."""
    array = np.asarray(array)
    header = bytes([0, 0, TYPE_CODES[array.dtype], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_gz(path, raw):
    with gzip.open(path, "wb") as f:
        f.write(raw)
    return path


def write_split(folder, split, n, seed=0, labels=None):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    y = rng.integers(0, 10, n).astype(np.uint8) if labels is None else np.asarray(labels, dtype=np.uint8)
    images, label_file = MNIST_FILES[split]
    write_gz(folder / images, idx_bytes(X))
    write_gz(folder / label_file, idx_bytes(y))
    return X, y


@pytest.fixture
def mnist_dir(tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    arrays = (*write_split(folder, "train", 12, seed=1), *write_split(folder, "test", 5, seed=2))
    return folder, arrays


# ----------------------------------------------------------------------------- the IDX reader

@pytest.mark.parametrize("dtype", list(TYPE_CODES))
def test_read_idx_round_trips_every_element_type(tmp_path, dtype):
    array = (np.arange(24).reshape(2, 3, 4) - 7).astype(dtype)
    got = read_idx(write_gz(tmp_path / "a.gz", idx_bytes(array)))
    assert got.dtype == dtype and got.dtype.isnative
    np.testing.assert_array_equal(got, array)


def test_load_split_reads_images_and_labels(mnist_dir):
    folder, (X_train, y_train, X_test, y_test) = mnist_dir
    X, y = load_mnist_split(folder, "train")
    assert X.shape == (12, 28, 28) and X.dtype == np.uint8 and y.dtype == np.int64
    np.testing.assert_array_equal(X, X_train)
    np.testing.assert_array_equal(y, y_train)
    X, y = load_mnist_split(folder, "test")
    np.testing.assert_array_equal(X, X_test)


def test_load_folder_announces_the_data(mnist_dir, capsys):
    folder, _ = mnist_dir
    X_train, y_train, X_test, y_test = load_MNIST(folder)
    assert X_train.shape == (12, 28, 28) and X_test.shape == (5, 28, 28)
    assert capsys.readouterr().out.strip() == f"Data: MNIST from {folder}: 12 training and 5 test digits"


def _assert_names_file_and_fix(error, path):
    message = str(error.value)
    assert str(path) in message and REFETCH in message


def test_file_that_is_not_gzip_is_rejected(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(idx_bytes(np.zeros((2, 28, 28), np.uint8)))  # right content, not compressed
    with pytest.raises(MNISTFormatError, match="cannot be decompressed") as error:
        read_idx(path)
    _assert_names_file_and_fix(error, path)


def test_truncated_gzip_stream_is_rejected(tmp_path):
    path = write_gz(tmp_path / "x.gz", idx_bytes(np.arange(4000, dtype=np.int32)))
    path.write_bytes(path.read_bytes()[:-40])  # a download cut short
    with pytest.raises(MNISTFormatError, match="cannot be decompressed") as error:
        read_idx(path)
    _assert_names_file_and_fix(error, path)


def test_corrupt_gzip_data_is_rejected(tmp_path):
    path = write_gz(tmp_path / "x.gz", idx_bytes(np.arange(4000, dtype=np.int32)))
    raw = bytearray(path.read_bytes())
    raw[30:60] = bytes(30)  # damage inside the deflate stream
    path.write_bytes(bytes(raw))
    with pytest.raises(MNISTFormatError, match="cannot be decompressed"):
        read_idx(path)


def test_truncated_content_is_rejected(tmp_path):
    raw = idx_bytes(np.zeros((3, 28, 28), np.uint8))
    path = write_gz(tmp_path / "x.gz", raw[:-100])  # a valid gzip file of a cut IDX file
    needs = r"is truncated: a uint8 array of shape \(3, 28, 28\) needs 2368 bytes"
    with pytest.raises(MNISTFormatError, match=needs) as error:
        read_idx(path)
    _assert_names_file_and_fix(error, path)


def test_extra_bytes_are_rejected(tmp_path):
    path = write_gz(tmp_path / "x.gz", idx_bytes(np.zeros(5, np.uint8)) + b"\x00")
    with pytest.raises(MNISTFormatError, match="longer than its header says"):
        read_idx(path)


@pytest.mark.parametrize("magic", [b"\x01\x00\x08\x01", b"\x00\x00\x07\x01", b"\x00\x00\x08\x00"])
def test_bad_magic_number_is_rejected(tmp_path, magic):
    path = write_gz(tmp_path / "x.gz", magic + idx_bytes(np.zeros(5, np.uint8))[4:])
    with pytest.raises(MNISTFormatError, match=f"starts with {magic.hex()}, not an IDX magic number") as error:
        read_idx(path)
    _assert_names_file_and_fix(error, path)


@pytest.mark.parametrize("raw", [b"", b"\x00\x00", b"\x00\x00\x08\x03\x00\x00\x00\x02"])
def test_file_shorter_than_its_header_is_rejected(tmp_path, raw):
    with pytest.raises(MNISTFormatError, match="shorter than"):
        read_idx(write_gz(tmp_path / "x.gz", raw))


def test_images_of_the_wrong_size_are_rejected(tmp_path):
    write_split(tmp_path, "train", 3)
    write_gz(tmp_path / MNIST_FILES["train"][0], idx_bytes(np.zeros((3, 27, 28), np.uint8)))
    with pytest.raises(MNISTFormatError, match=r"expected uint8 images \(N, 28, 28\)") as error:
        load_mnist_split(tmp_path, "train")
    _assert_names_file_and_fix(error, tmp_path / MNIST_FILES["train"][0])


def test_labels_that_do_not_fit_are_rejected(tmp_path):
    write_split(tmp_path, "test", 4, labels=[0, 1, 2, 12])
    with pytest.raises(MNISTFormatError, match="holds label 12, expected digits 0..9"):
        load_mnist_split(tmp_path, "test")
    write_split(tmp_path, "test", 4)
    write_gz(tmp_path / MNIST_FILES["test"][1], idx_bytes(np.zeros(3, np.uint8)))
    with pytest.raises(MNISTFormatError, match="has 3 labels for the 4 images"):
        load_mnist_split(tmp_path, "test")
    write_gz(tmp_path / MNIST_FILES["test"][1], idx_bytes(np.zeros((4, 1), np.uint8)))
    with pytest.raises(MNISTFormatError, match=r"expected uint8 labels \(N,\)"):
        load_mnist_split(tmp_path, "test")


def test_missing_file_names_the_fetch_command(tmp_path):
    write_split(tmp_path, "train", 3)
    (tmp_path / MNIST_FILES["train"][1]).unlink()
    with pytest.raises(DatasetMissingError, match=r"train-labels-idx1-ubyte.gz is missing.*setup_datasets.sh mnist"):
        load_mnist_split(tmp_path, "train")
    with pytest.raises(ValueError, match="split must be one of"):
        load_mnist_split(tmp_path, "val")


# ----------------------------------------------------------------------------- scale switch and sample

def test_quick_scale_uses_the_balanced_bundled_sample(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CS231N_DATASETS", str(tmp_path))
    monkeypatch.setenv("CS231N_SCALE", "quick")
    X_train, y_train, X_test, y_test = load_MNIST()
    assert X_train.shape == (5000, 28, 28) and X_test.shape == (1000, 28, 28) and X_train.dtype == np.uint8
    assert np.bincount(y_train).tolist() == [500] * 10 and np.bincount(y_test).tolist() == [100] * 10
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "bundled MNIST sample" in out and "./setup_datasets.sh mnist" in out


def test_full_scale_without_the_files_names_the_fetch_command(tmp_path, monkeypatch):
    monkeypatch.setenv("CS231N_DATASETS", str(tmp_path))
    monkeypatch.setenv("CS231N_SCALE", "full")
    with pytest.raises(DatasetMissingError, match=r"setup_datasets.sh mnist"):
        load_MNIST()


def test_full_scale_reads_the_installed_files(mnist_dir, monkeypatch, capsys):
    folder, (X_train, *_) = mnist_dir
    monkeypatch.setenv("CS231N_DATASETS", str(folder.parent))
    monkeypatch.setenv("CS231N_SCALE", "full")
    got = load_MNIST()
    np.testing.assert_array_equal(got[0], X_train)
    assert "MNIST, full set" in capsys.readouterr().out


def _mnist_folder():
    for folder in (ROOT / "datasets" / "mnist", ROOT.parent / "shared" / "datasets" / "mnist"):
        if all((folder / name).exists() for pair in MNIST_FILES.values() for name in pair):
            return folder
    return None


@pytest.mark.skipif(_mnist_folder() is None, reason="MNIST is not installed (./setup_datasets.sh mnist) "
                                                    "and no mirror is at ../shared/datasets")
def test_bundled_sample_holds_genuine_digits():
    """The sample is the first 500 (training) and 100 (test) digits of each class, in file order."""
    X_sample, y_sample, X_sample_test, y_sample_test = mnist._load_sample()
    for split, X_s, y_s, per_class in (("train", X_sample, y_sample, 500), ("test", X_sample_test, y_sample_test, 100)):
        X, y = load_mnist_split(_mnist_folder(), split)
        rows = np.sort(np.concatenate([np.flatnonzero(y == d)[:per_class] for d in range(10)]))
        np.testing.assert_array_equal(X_s, X[rows])
        np.testing.assert_array_equal(y_s, y[rows])


# ----------------------------------------------------------------------------- tensors and loader

def test_preprocess_maps_pixels_to_minus_one_one():
    X = np.array([[[0] * 28] * 28, [[255] * 28] * 28], dtype=np.uint8)
    X[0, 3, 4] = 51
    t = preprocess_MNIST(X)
    assert t.shape == (2, 1, 28, 28) and t.dtype == torch.float32
    assert t[0, 0, 0, 0] == -1 and t[1, 0, 5, 5] == 1
    assert t[0, 0, 3, 4].item() == pytest.approx(51 / 127.5 - 1)
    with pytest.raises(ValueError, match=r"X must be a uint8 array of shape \(N, 28, 28\), got float64"):
        preprocess_MNIST(X.astype(np.float64))
    with pytest.raises(ValueError, match=r"got uint8 \(2, 784\)"):
        preprocess_MNIST(X.reshape(2, 784))


def test_get_MNIST_data_splits_and_scales(monkeypatch):
    monkeypatch.setenv("CS231N_SCALE", "quick")
    data = get_MNIST_data(num_training=300, num_test=20, verbose=False)
    assert data["X_train"].shape == (300, 1, 28, 28) and data["y_train"].shape == (300,)
    assert data["X_test"].shape == (20, 1, 28, 28) and data["y_test"].dtype == torch.int64
    assert data["X_train"].min() == -1 and data["X_train"].max() == 1
    with pytest.raises(ValueError, match=r"num_training must be an integer in 1..5000"):
        get_MNIST_data(num_training=6000, verbose=False)
    with pytest.raises(ValueError, match=r"num_test must be an integer in 1..1000"):
        get_MNIST_data(num_test=0, verbose=False)


def test_loader_yields_full_seeded_batches():
    X = torch.linspace(-1, 1, 10 * 784).reshape(10, 1, 28, 28)
    y = torch.arange(10)
    batches = [b for _, b in mnist_loader(X, y, batch_size=4, seed=3)]
    assert [len(b) for b in batches] == [4, 4]  # the incomplete last batch is dropped
    again = [b for _, b in mnist_loader(X, y, batch_size=4, seed=3)]
    assert all(torch.equal(a, b) for a, b in zip(batches, again, strict=True))
    ordered = [b.tolist() for _, b in mnist_loader(X, y, batch_size=5, shuffle=False)]
    assert ordered == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]


def test_loader_bad_inputs():
    X, y = torch.zeros(10, 1, 28, 28), torch.zeros(10, dtype=torch.int64)
    with pytest.raises(ValueError, match=r"X must be a tensor of shape \(N, 1, 28, 28\), got \(10, 784\)"):
        mnist_loader(X.reshape(10, 784), y)
    with pytest.raises(ValueError, match=r"y must be a tensor of shape \(10,\)"):
        mnist_loader(X, y[:9])
    with pytest.raises(ValueError, match="batch_size = 11 exceeds the 10 digits"):
        mnist_loader(X, y, batch_size=11)
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        mnist_loader(X, y, batch_size=0)
