"""CIFAR-10 loading and preprocessing, the scale switch and results reporting."""

import json
import os
import pickle

import numpy as np
import pytest

from helpers.course.results import recorded_results, report
from helpers.course.scale import current_scale, pick
from helpers.data import DatasetMissingError, get_CIFAR10_data, get_CIFAR10_linear_data, load_CIFAR10, load_CIFAR_batch


def write_batch(path, n, seed=0, labels=None):
    rng = np.random.default_rng(seed)
    batch = {"batch_label": "test", "data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
             "labels": list(rng.integers(0, 10, n)) if labels is None else labels}
    with open(path, "wb") as f:
        pickle.dump(batch, f, protocol=2)
    return batch


@pytest.fixture
def cifar_dir(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for i in range(1, 6):
        write_batch(folder / f"data_batch_{i}", 7, seed=i)
    write_batch(folder / "test_batch", 5, seed=9)
    return folder


def test_batch_of_any_row_count_loads_channels_last(cifar_dir):
    X, y = load_CIFAR_batch(cifar_dir / "data_batch_1")
    raw = pickle.load(open(cifar_dir / "data_batch_1", "rb"))
    assert X.shape == (7, 32, 32, 3) and X.dtype == np.float64 and y.dtype == np.int64
    # R plane first in the file: pixel (row 0, col 1) of channel R is data[:, 1]
    np.testing.assert_array_equal(X[:, 0, 1, 0], raw["data"][:, 1])
    np.testing.assert_array_equal(X[:, 0, 0, 2], raw["data"][:, 2048])


def test_load_folder(cifar_dir, capsys):
    X_train, y_train, X_test, y_test = load_CIFAR10(cifar_dir)
    assert X_train.shape == (35, 32, 32, 3) and X_test.shape == (5, 32, 32, 3)
    assert "Data: CIFAR-10 from" in capsys.readouterr().out


def test_malicious_pickle_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    with open(tmp_path / "data_batch_1", "wb") as f:
        pickle.dump({"data": Evil(), "labels": []}, f)
    with pytest.raises(ValueError, match="refusing to load"):
        load_CIFAR_batch(tmp_path / "data_batch_1")


def test_bad_batches_are_rejected(tmp_path):
    write_batch(tmp_path / "b", 3, labels=[0, 1, 12])
    with pytest.raises(ValueError, match="labels must be in 0..9"):
        load_CIFAR_batch(tmp_path / "b")
    write_batch(tmp_path / "c", 3, labels=[0, 1])
    with pytest.raises(ValueError, match=r"'labels' must be a list of 3 integers"):
        load_CIFAR_batch(tmp_path / "c")
    (tmp_path / "d").write_bytes(b"\x80\x02truncated")
    with pytest.raises(ValueError, match="not a readable CIFAR-10 batch"):
        load_CIFAR_batch(tmp_path / "d")


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_batches_of_every_pickle_protocol_and_of_no_rows_load(tmp_path, protocol):
    for n in (0, 3):
        batch = {"data": np.zeros((n, 3072), dtype=np.uint8), "labels": list(range(n))}
        (tmp_path / "b").write_bytes(pickle.dumps(batch, protocol=protocol))
        X, y = load_CIFAR_batch(tmp_path / "b")
        assert X.shape == (n, 32, 32, 3) and y.shape == (n,) and y.dtype == np.int64


@pytest.mark.parametrize("labels, message", [
    (np.arange(3).reshape(3, 1), r"'labels' must be a list of 3 integers .*got an array of shape \(3, 1\)"),
    ([3.7, 1.2, 0.0], r"'labels' must be a list of 3 integers .*of type float"),
    (["cat", "dog", "car"], r"'labels' must be a list of 3 integers .*of type str"),
])
def test_labels_that_are_not_a_flat_list_of_integers_are_refused(tmp_path, labels, message):
    batch = {"data": np.zeros((3, 3072), dtype=np.uint8), "labels": labels}
    (tmp_path / "data_batch_1").write_bytes(pickle.dumps(batch, protocol=2))
    with pytest.raises(ValueError, match="data_batch_1: " + message):
        load_CIFAR_batch(tmp_path / "data_batch_1")


@pytest.mark.parametrize("data", [
    np.full((2, 3072), 1e6), np.full((2, 3072), np.nan), -np.ones((2, 3072), dtype=np.int64),
    np.array([["x"] * 3072] * 2), np.array([[object()] * 3072] * 2, dtype=object), [[0] * 3072] * 2,
])
def test_data_that_is_not_uint8_pixels_is_refused(tmp_path, data):
    batch = {"data": data, "labels": [0, 1]}
    try:
        (tmp_path / "b").write_bytes(pickle.dumps(batch, protocol=2))
    except pickle.PicklingError:
        pytest.skip("cannot be pickled")
    with pytest.raises(ValueError, match=r"'data' must be a uint8 array of shape \(N, 3072\)|not a readable"):
        load_CIFAR_batch(tmp_path / "b")


def test_a_small_pickle_cannot_declare_a_huge_batch(tmp_path):
    row = [0] * 3072
    rows = [row] * 4000  # a few KB of pickle: every row is a reference to the same list
    (tmp_path / "b").write_bytes(pickle.dumps({"data": rows, "labels": [0] * 4000}, protocol=2))
    assert (tmp_path / "b").stat().st_size < 40_000
    with pytest.raises(ValueError, match=r"'data' must be a uint8 array .*got a list of 4000 items"):
        load_CIFAR_batch(tmp_path / "b")


def test_quick_scale_without_full_set_uses_bundled_sample(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CS231N_DATASETS", str(tmp_path))
    monkeypatch.setenv("CS231N_SCALE", "quick")
    X_train, y_train, X_test, y_test = load_CIFAR10()
    assert X_train.shape == (2000, 32, 32, 3) and X_test.shape == (500, 32, 32, 3)
    assert set(np.unique(y_train)) == set(range(10))
    assert "bundled CIFAR-10 sample" in capsys.readouterr().out


def test_full_scale_without_full_set_names_the_command(tmp_path, monkeypatch):
    monkeypatch.setenv("CS231N_DATASETS", str(tmp_path))
    monkeypatch.setenv("CS231N_SCALE", "full")
    with pytest.raises(DatasetMissingError, match=r"\./setup_datasets\.sh cifar10"):
        load_CIFAR10()


def test_linear_and_network_splits(tmp_path, monkeypatch):
    monkeypatch.setenv("CS231N_DATASETS", str(tmp_path))
    d = get_CIFAR10_linear_data(num_training=100, num_validation=20, num_test=30, num_dev=10, verbose=False)
    assert d["X_train"].shape == (100, 3073) and d["X_val"].shape == (20, 3073) and d["X_dev"].shape == (10, 3073)
    np.testing.assert_allclose(d["X_train"][:, :-1].mean(axis=0), 0, atol=1e-9)
    np.testing.assert_array_equal(d["X_test"][:, -1], 1.0)
    plain = get_CIFAR10_linear_data(num_training=10, num_validation=0, num_test=5, num_dev=0, bias_trick=False,
                                    verbose=False)
    assert plain["X_train"].shape == (10, 3072) and plain["X_dev"].shape == (0, 3072)
    n = get_CIFAR10_data(num_training=50, num_validation=10, num_test=10, verbose=False)
    assert n["X_train"].shape == (50, 3, 32, 32) and n["mean_image"].shape == (3, 32, 32)
    with pytest.raises(ValueError, match="exceeds the 2000 training images"):
        get_CIFAR10_data(num_training=2000, num_validation=1, verbose=False)
    with pytest.raises(ValueError, match="num_dev = 200 exceeds num_training = 100"):
        get_CIFAR10_linear_data(num_training=100, num_validation=1, num_test=1, num_dev=200, verbose=False)


def test_scale_switch(monkeypatch):
    monkeypatch.setenv("CS231N_SCALE", "full")
    assert pick(quick=1, full=2) == 2 and current_scale() == "full"
    monkeypatch.setenv("CS231N_SCALE", "")
    assert pick(quick=1, full=2) == 1
    monkeypatch.setenv("CS231N_SCALE", "huge")
    with pytest.raises(ValueError, match="CS231N_SCALE must be one of"):
        pick(quick=1, full=2)


def test_report_merges_results(tmp_path, monkeypatch, capsys):
    path = tmp_path / "results.json"
    monkeypatch.setenv("CS231N_RESULTS_FILE", str(path))
    monkeypatch.setenv("CS231N_SCALE", "quick")
    report("knn", accuracy_k1=np.float64(0.274))
    report("knn", best_k=np.int64(10))
    monkeypatch.setenv("CS231N_SCALE", "full")
    report("svm", val_accuracy=0.39)
    assert json.loads(path.read_text()) == {"knn": {"accuracy_k1": 0.274, "best_k": 10, "scale": "quick"},
                                            "svm": {"val_accuracy": 0.39, "scale": "full"}}
    assert "[result] knn.accuracy_k1 = 0.2740" in capsys.readouterr().out
    with pytest.raises(ValueError, match="at least one metric"):
        report("knn")


def test_recorded_results_join_the_collected_file_and_the_running_notebooks_own(tmp_path, monkeypatch):
    # under `make run` a notebook reports into a file of its own, and reads the other notebooks' results
    # from build/results.json
    collected, own = tmp_path / "results.json", tmp_path / ".results-svm.json"
    collected.write_text(json.dumps({"knn": {"accuracy_k1": 0.27, "scale": "full"}, "svm": {"val_accuracy": 0.3}}))
    monkeypatch.setenv("CS231N_RESULTS_FILE", str(own))
    monkeypatch.setenv("CS231N_SCALE", "full")
    report("svm", val_accuracy=0.39)
    assert recorded_results(collected) == {"knn": {"accuracy_k1": 0.27, "scale": "full"},
                                           "svm": {"val_accuracy": 0.39, "scale": "full"}}
    monkeypatch.setenv("CS231N_RESULTS_FILE", str(collected))
    assert recorded_results(collected)["svm"] == {"val_accuracy": 0.3}
    assert recorded_results(tmp_path / "missing.json") == json.loads(collected.read_text())
