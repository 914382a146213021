"""k-nearest neighbours: the three distance versions against each other and torch.cdist,
the vote (majority, ties to the smallest label), the classifier end to end, and bad input."""

import numpy as np
import pytest
import torch

from helpers.classifiers import k_nearest_neighbor as knn
from helpers.classifiers.k_nearest_neighbor import KNearestNeighbor

DISTANCE_FNS = [knn.compute_distances_two_loops, knn.compute_distances_one_loop,
                knn.compute_distances_no_loops]


@pytest.mark.parametrize("shape", [(7, 13, 5), (1, 4, 3072), (20, 31, 1)])
@pytest.mark.parametrize("fn", DISTANCE_FNS, ids=lambda f: f.__name__)
def test_distances_match_torch_cdist(fn, shape):
    num_test, num_train, D = shape
    rng = np.random.default_rng(sum(shape))
    X = rng.normal(size=(num_test, D)) * 50
    X_train = rng.normal(size=(num_train, D)) * 50
    expected = torch.cdist(torch.from_numpy(X), torch.from_numpy(X_train)).numpy()
    dists = fn(X, X_train)
    assert dists.shape == (num_test, num_train)
    np.testing.assert_allclose(dists, expected, rtol=1e-9, atol=1e-9)


def test_three_versions_agree_on_pixel_data():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(9, 48)).astype(np.float64)
    X_train = rng.integers(0, 256, size=(17, 48)).astype(np.float64)
    two = knn.compute_distances_two_loops(X, X_train)
    np.testing.assert_allclose(knn.compute_distances_one_loop(X, X_train), two, rtol=1e-12)
    np.testing.assert_allclose(knn.compute_distances_no_loops(X, X_train), two, rtol=1e-9)


def test_no_loops_is_zero_not_nan_for_identical_points():
    # Large norms make ||a||^2 - 2ab + ||b||^2 cancel to tiny negatives for a == b.
    rng = np.random.default_rng(1)
    X = rng.uniform(0, 255, size=(6, 3072)) + 1e4
    dists = knn.compute_distances_no_loops(X, X.copy())
    assert np.all(np.isfinite(dists))
    assert np.all(dists >= 0)
    # The expansion's rounding error is about sqrt(eps * ||x||^2) ~ 0.02 here, far below the
    # typical distance between different points (~ 8000): small, but not exactly zero.
    np.testing.assert_allclose(np.diag(dists), 0, atol=0.1)


def test_integer_inputs_are_not_overflowed():
    # uint8 pixels must not wrap around when subtracted or multiplied.
    X = np.array([[0, 255]], dtype=np.uint8)
    X_train = np.array([[255, 0], [0, 255]], dtype=np.uint8)
    expected = np.array([[255 * np.sqrt(2), 0.0]])
    for fn in DISTANCE_FNS:
        np.testing.assert_allclose(fn(X, X_train), expected)


def test_predict_labels_majority_vote():
    y_train = np.array([0, 1, 1, 2, 2, 2])
    dists = np.array([[0.1, 0.2, 0.3, 5.0, 6.0, 7.0],    # nearest three: 0, 1, 1 -> 1
                      [9.0, 8.0, 7.0, 0.1, 0.2, 0.3]])   # nearest three: 2, 2, 2 -> 2
    np.testing.assert_array_equal(knn.predict_labels(dists, y_train, k=3), [1, 2])
    np.testing.assert_array_equal(knn.predict_labels(dists, y_train, k=1), [0, 2])


def test_predict_labels_ties_go_to_smallest_label():
    y_train = np.array([3, 1, 2, 0])
    dists = np.array([[0.1, 0.2, 0.3, 0.4]])
    # k=2: labels 3 and 1 tie with one vote each -> 1; k=4: all tie -> 0.
    np.testing.assert_array_equal(knn.predict_labels(dists, y_train, k=2), [1])
    np.testing.assert_array_equal(knn.predict_labels(dists, y_train, k=4), [0])


def test_predict_labels_equal_distances_taken_in_training_order():
    y_train = np.array([5, 4, 4])
    dists = np.array([[1.0, 1.0, 1.0]])
    np.testing.assert_array_equal(knn.predict_labels(dists, y_train, k=1), [5])
    np.testing.assert_array_equal(knn.predict_labels(dists, y_train, k=3), [4])


def test_predict_labels_matches_loop_over_rows():
    """The vectorized vote against CS231n's per-row argsort + bincount.argmax."""
    rng = np.random.default_rng(2)
    dists = rng.random((40, 30))
    y_train = rng.integers(0, 4, size=30)
    for k in (1, 2, 5, 30):
        expected = [np.bincount(y_train[np.argsort(row, kind="stable")[:k]]).argmax() for row in dists]
        np.testing.assert_array_equal(knn.predict_labels(dists, y_train, k=k), expected)


def _blobs(rng, n_per_class, num_classes=3, D=4):
    centres = np.eye(num_classes, D) * 100
    X = np.concatenate([c + rng.normal(size=(n_per_class, D)) for c in centres])
    y = np.repeat(np.arange(num_classes), n_per_class)
    return X, y


@pytest.mark.parametrize("num_loops", [0, 1, 2])
@pytest.mark.parametrize("k", [1, 3])
def test_classifier_end_to_end_on_separable_data(num_loops, k):
    rng = np.random.default_rng(3)
    X_train, y_train = _blobs(rng, 10)
    X_test, y_test = _blobs(rng, 4)
    classifier = KNearestNeighbor()
    classifier.train(X_train, y_train)
    np.testing.assert_array_equal(classifier.predict(X_test, k=k, num_loops=num_loops), y_test)
    dists = classifier.compute_distances_no_loops(X_test)
    np.testing.assert_allclose(classifier.compute_distances_two_loops(X_test), dists, rtol=1e-9)
    np.testing.assert_allclose(classifier.compute_distances_one_loop(X_test), dists, rtol=1e-9)
    np.testing.assert_array_equal(classifier.predict_labels(dists, k=k), y_test)


def test_classifier_runs_the_functions_it_is_given():
    calls = []

    def my_no_loops(X, X_train):
        calls.append("distances")
        return knn.compute_distances_no_loops(X, X_train)

    def my_vote(dists, y_train, k=1):
        calls.append("vote")
        return knn.predict_labels(dists, y_train, k=k)

    rng = np.random.default_rng(4)
    X_train, y_train = _blobs(rng, 5)
    classifier = KNearestNeighbor(compute_distances_no_loops=my_no_loops, predict_labels=my_vote)
    classifier.train(X_train, y_train)
    classifier.predict(X_train[:2], k=1)
    assert calls == ["distances", "vote"]
    with pytest.raises(ValueError, match="predict_labels must be a function"):
        KNearestNeighbor(predict_labels=3)


@pytest.fixture
def trained():
    rng = np.random.default_rng(5)
    classifier = KNearestNeighbor()
    classifier.train(rng.random((6, 4)), np.array([0, 1, 2, 0, 1, 2]))
    return classifier


@pytest.mark.parametrize("k, message", [
    (7, "k=7 exceeds the 6 training examples"),
    (0, "k must be at least 1, got k=0"),
    (-2, "k must be at least 1"),
    (2.0, "k must be an integer in 1..6, got 2.0"),
    (True, "k must be an integer"),
])
def test_bad_k_is_rejected(trained, k, message):
    with pytest.raises(ValueError, match=message):
        trained.predict(np.zeros((2, 4)), k=k)
    with pytest.raises(ValueError, match=message):
        knn.predict_labels(np.zeros((2, 6)), trained.y_train, k=k)


def test_k_larger_than_training_set_names_both_numbers():
    with pytest.raises(ValueError, match="k=6000 exceeds the 5000 training examples"):
        knn.predict_labels(np.zeros((1, 5000)), np.zeros(5000, dtype=np.int64), k=6000)


def test_wrong_feature_dimension_is_rejected(trained):
    with pytest.raises(ValueError, match=r"X must have shape \(num_test, 4\) matching X_train \(6, 4\), "
                                         r"got \(2, 5\)"):
        trained.predict(np.zeros((2, 5)))
    for fn in DISTANCE_FNS:
        with pytest.raises(ValueError, match="got \\(3,\\)"):
            fn(np.zeros(3), np.zeros((6, 3)))


def test_empty_batch_is_rejected(trained):
    with pytest.raises(ValueError, match="at least one example"):
        trained.predict(np.zeros((0, 4)))
    for fn in DISTANCE_FNS:
        with pytest.raises(ValueError, match="at least one example"):
            fn(np.zeros((0, 4)), np.zeros((6, 4)))
    with pytest.raises(ValueError, match="num_train >= 1"):
        KNearestNeighbor().train(np.zeros((0, 4)), np.zeros(0, dtype=int))


@pytest.mark.parametrize("y, message", [
    (np.array([0, 1, -1]), "non-negative integer labels, got minimum -1"),
    (np.array([0.0, 1.0, 2.0]), "y_train must hold integer class labels, got dtype float64"),
    (np.array([0, 1]), r"y_train must have shape \(3,\)"),
])
def test_bad_labels_are_rejected(y, message):
    with pytest.raises(ValueError, match=message):
        KNearestNeighbor().train(np.zeros((3, 2)), y)
    with pytest.raises(ValueError, match=message):
        knn.predict_labels(np.zeros((1, 3)), y, k=1)


@pytest.mark.parametrize("num_loops", [3, -1, 1.0, True, "0"])
def test_bad_num_loops_is_rejected(trained, num_loops):
    with pytest.raises(ValueError, match="num_loops must be 0, 1 or 2"):
        trained.predict(np.zeros((1, 4)), num_loops=num_loops)


def test_predict_before_train_is_rejected():
    with pytest.raises(ValueError, match="call train"):
        KNearestNeighbor().predict(np.zeros((1, 4)))


def test_dists_of_wrong_width_are_rejected(trained):
    with pytest.raises(ValueError, match=r"dists must have shape \(num_test, 6\), got \(2, 5\)"):
        trained.predict_labels(np.zeros((2, 5)))


# ----------------------------------------------------------------------------- cross-validation

@pytest.mark.parametrize("N, num_folds", [(10, 5), (1003, 5), (7, 3), (4, 4)])
def test_split_folds_is_array_split_in_order(N, num_folds):
    X = np.arange(N * 2.0).reshape(N, 2)
    y = np.arange(N)
    X_folds, y_folds = knn.split_folds(X, y, num_folds)
    assert len(X_folds) == len(y_folds) == num_folds
    sizes = [len(f) for f in X_folds]
    assert sizes == [N // num_folds + (i < N % num_folds) for i in range(num_folds)]
    np.testing.assert_array_equal(np.concatenate(X_folds), X)  # every row once, in order
    for Xf, yf in zip(X_folds, y_folds, strict=True):
        np.testing.assert_array_equal(Xf[:, 0], 2.0 * yf)  # rows stay paired with their labels


def test_cross_validate_k_matches_a_loop_over_held_out_folds():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(53, 6))
    y = rng.integers(0, 4, size=53)
    k_choices = [1, 3, 7]
    k_to_accuracies, best_k = knn.cross_validate_k(X, y, k_choices, 4)
    folds = np.array_split(np.arange(53), 4)
    for i, held_out in enumerate(folds):
        rest = np.setdiff1d(np.arange(53), held_out)  # in order, as the concatenated other folds
        clf = KNearestNeighbor()
        clf.train(X[rest], y[rest])
        for k in k_choices:
            assert k_to_accuracies[k][i] == pytest.approx(np.mean(clf.predict(X[held_out], k=k) == y[held_out]))
    means = {k: np.mean(v) for k, v in k_to_accuracies.items()}
    assert best_k == min(k for k in k_choices if means[k] == max(means.values()))
    assert isinstance(best_k, int)


def test_cross_validate_k_picks_the_smallest_k_on_a_tie():
    # Two well-separated clusters: every k up to the cluster size classifies every fold perfectly.
    X = np.concatenate([np.zeros((10, 2)), np.full((10, 2), 100.0)])
    X += np.random.default_rng(0).normal(scale=0.1, size=X.shape)
    y = np.repeat([0, 1], 10)
    order = np.random.default_rng(1).permutation(20)
    k_to_accuracies, best_k = knn.cross_validate_k(X[order], y[order], [5, 3, 1], 5)
    assert all(acc == [1.0] * 5 for acc in k_to_accuracies.values())
    assert best_k == 1


@pytest.mark.parametrize("num_folds, message", [(1, "between 2 and the 6 rows"), (7, "between 2 and the 6 rows"),
                                                (2.0, "num_folds must be a positive integer")])
def test_bad_num_folds_is_rejected(num_folds, message):
    with pytest.raises(ValueError, match=message):
        knn.split_folds(np.zeros((6, 2)), np.zeros(6, dtype=int), num_folds)


def test_bad_k_choices_are_rejected():
    X, y = np.zeros((10, 2)), np.arange(10) % 2
    with pytest.raises(ValueError, match="k_choices must be a non-empty list"):
        knn.cross_validate_k(X, y, [], 5)
    with pytest.raises(ValueError, match="k=9 exceeds the 8 training examples"):
        knn.cross_validate_k(X, y, [1, 9], 5)
