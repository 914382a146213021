"""Linear SVM and softmax losses, and the SGD-trained linear classifiers.

Naive against vectorized, both against numerical gradients and against PyTorch's own
losses (with autograd for dW), training on a separable problem, and bad-input errors.
"""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from oracles import check_loss

from helpers.classifiers.linear_classifier import (
    LinearClassifier,
    LinearSVM,
    Softmax,
    TrainingDivergedError,
    grad_check_loss,
    hyperparameter_search,
    sample_batch,
    sgd_step,
)
from helpers.classifiers.linear_svm import svm_loss_naive, svm_loss_vectorized
from helpers.classifiers.softmax import softmax_loss_naive, softmax_loss_vectorized
from helpers.gradient_check import eval_numerical_gradient, rel_error

LOSSES = {
    "svm": (svm_loss_naive, svm_loss_vectorized),
    "softmax": (softmax_loss_naive, softmax_loss_vectorized),
}
ALL_LOSSES = [fn for pair in LOSSES.values() for fn in pair]


def problem(N=40, D=17, C=6, scale=1.0, seed=0):
    rng = np.random.default_rng(seed)
    W = scale * rng.standard_normal((D, C))
    X = rng.standard_normal((N, D))
    y = rng.integers(0, C, N)
    return W, X, y


def torch_loss(name, X, y, reg):
    """The same loss through PyTorch, as a function of the weights W (a tensor)."""
    X, target = torch.tensor(X), torch.tensor(y)

    def loss(W):
        scores = X @ W
        if name == "svm":
            # multi_margin_loss divides each row's hinge sum by C; CS231n's loss does not.
            data_loss = F.multi_margin_loss(scores, target, p=1, margin=1.0) * W.shape[1]
        else:
            data_loss = F.cross_entropy(scores, target)
        return data_loss + reg * (W * W).sum()

    return loss


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("reg", [0.0, 0.3])
@pytest.mark.parametrize("shape", [(40, 17, 6), (1, 5, 2), (25, 3073, 10)])
def test_naive_matches_vectorized(name, reg, shape):
    naive, vectorized = LOSSES[name]
    W, X, y = problem(*shape, scale=0.01)
    loss_n, dW_n = naive(W, X, y, reg)
    loss_v, dW_v = vectorized(W, X, y, reg)
    assert isinstance(loss_v, float)
    assert dW_v.shape == W.shape and dW_v.dtype == np.float64
    assert rel_error(loss_n, loss_v) < 1e-10
    assert rel_error(dW_n, dW_v) < 1e-10


@pytest.mark.parametrize("name, fn", [(name, fn) for name, fns in LOSSES.items() for fn in fns],
                         ids=lambda v: getattr(v, "__name__", v))
@pytest.mark.parametrize("reg", [0.0, 0.7])
def test_losses_match_pytorch(name, fn, reg):
    W, X, y = problem(N=30, D=9, C=5, seed=1)
    check_loss(lambda W: fn(W, X, y, reg), torch_loss(name, X, y, reg), W, tol={"loss": 1e-12, "dW": 1e-10})


@pytest.mark.parametrize("fn", ALL_LOSSES, ids=lambda f: f.__name__)
@pytest.mark.parametrize("reg", [0.0, 0.5])
def test_gradient_matches_numerical(fn, reg):
    # Weights of scale 1 keep every hinge margin well away from its kink at 0, so the
    # centered difference is exact up to rounding for the SVM as well.
    W, X, y = problem(N=12, D=7, C=4, seed=2)
    margins = X @ W - (X @ W)[np.arange(12), y][:, None] + 1
    assert np.abs(margins).min() > 1e-3
    _, dW = fn(W, X, y, reg)
    numeric = eval_numerical_gradient(lambda w: fn(w, X, y, reg)[0], W.copy(), verbose=False, h=1e-6)
    assert rel_error(dW, numeric) < 1e-7


def test_grad_check_loss_reports_and_rejects():
    W, X, y = problem(N=12, D=7, C=4, seed=2)
    errors = grad_check_loss(softmax_loss_vectorized, W, X, y, 0.1, num_checks=5)
    assert len(errors) == 5 and max(errors) < 1e-6
    wrong = lambda W, X, y, reg: (softmax_loss_vectorized(W, X, y, reg)[0],
                                  2 * softmax_loss_vectorized(W, X, y, reg)[1])
    with pytest.raises(AssertionError, match="relative error above"):
        grad_check_loss(wrong, W, X, y, 0.1, num_checks=5)


@pytest.mark.parametrize("fn", [softmax_loss_naive, softmax_loss_vectorized], ids=lambda f: f.__name__)
@pytest.mark.parametrize("C", [3, 10])
def test_softmax_sanity_loss_is_log_C(fn, C):
    # Tiny weights give nearly equal scores, so every class gets probability ~1/C.
    W, X, y = problem(N=200, D=50, C=C, scale=1e-6, seed=3)
    loss, _ = fn(W, X, y, 0.0)
    assert abs(loss - math.log(C)) < 1e-4


@pytest.mark.parametrize("fn", [svm_loss_naive, svm_loss_vectorized], ids=lambda f: f.__name__)
def test_svm_sanity_loss_is_C_minus_1(fn):
    W, X, y = problem(N=50, D=20, C=7, scale=1e-8, seed=3)
    loss, _ = fn(W, X, y, 0.0)
    assert abs(loss - 6.0) < 1e-5


def test_softmax_is_stable_for_huge_scores():
    W, X, y = problem(N=20, D=8, C=5, scale=1e4, seed=4)
    loss, (dW,) = check_loss(lambda W: softmax_loss_vectorized(W, X, y, 0.0), torch_loss("softmax", X, y, 0.0), W,
                             tol={"loss": 1e-12, "dW": 1e-10})
    assert np.isfinite(loss) and np.all(np.isfinite(dW))


def test_losses_keep_float32():
    W, X, y = problem(scale=0.01)
    loss, dW = svm_loss_vectorized(W.astype(np.float32), X.astype(np.float32), y, 0.1)
    assert dW.dtype == np.float32
    assert abs(loss - svm_loss_vectorized(W, X, y, 0.1)[0]) < 1e-4


# ----------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("fn", ALL_LOSSES, ids=lambda f: f.__name__)
def test_losses_reject_bad_input(fn):
    W, X, y = problem(N=5, D=8, C=3)
    with pytest.raises(ValueError, match=r"X has 7 columns but W has 8 rows.*got \(5, 7\)"):
        fn(W, X[:, :7], y, 0.0)
    with pytest.raises(ValueError, match=r"W must have shape \(D, C\)"):
        fn(W[:, 0], X, y, 0.0)
    with pytest.raises(ValueError, match=r"y must have shape \(5,\)"):
        fn(W, X, y[:4], 0.0)
    with pytest.raises(ValueError, match=r"y must hold labels in 0..2 \(W has 3 columns\), got range 0..3"):
        fn(W, X, np.array([0, 1, 2, 3, 0]), 0.0)
    with pytest.raises(ValueError, match=r"got range -1..2"):
        fn(W, X, np.array([0, 1, 2, -1, 0]), 0.0)
    with pytest.raises(ValueError, match="integer class labels"):
        fn(W, X, y.astype(np.float64), 0.0)
    with pytest.raises(ValueError, match="empty minibatch"):
        fn(W, X[:0], y[:0], 0.0)
    with pytest.raises(ValueError, match=r"reg must be a finite number >= 0, got -0.1"):
        fn(W, X, y, -0.1)
    with pytest.raises(ValueError, match="reg must be"):
        fn(W, X, y, float("nan"))


# ----------------------------------------------------------------------------- training

def separable_problem(N=300, D=5, C=3, seed=0):
    """Gaussian blobs around well separated centres, with a bias column."""
    rng = np.random.default_rng(seed)
    centres = 6.0 * rng.standard_normal((C, D))
    y = rng.integers(0, C, N)
    X = centres[y] + rng.standard_normal((N, D))
    return np.hstack([X, np.ones((N, 1))]), y


@pytest.mark.parametrize("cls", [LinearSVM, Softmax])
def test_training_separates_blobs(cls):
    X, y = separable_problem()
    clf = cls()
    history = clf.train(X, y, learning_rate=1e-2, reg=1e-4, num_iters=300, batch_size=50, seed=0)
    assert len(history) == 300
    assert np.mean(history[-20:]) < history[0]
    assert np.mean(clf.predict(X) == y) > 0.97
    X_new, y_new = separable_problem(seed=0, N=600)
    assert np.mean(clf.predict(X_new[300:]) == y_new[300:]) > 0.95


def test_training_is_a_seeded_loop_of_sample_batch_loss_and_sgd_step():
    X, y = separable_problem()
    clf = Softmax()
    history = clf.train(X, y, learning_rate=1e-2, reg=1e-3, num_iters=7, batch_size=50, seed=3)
    # The same loop written out, as train's docstring describes it.
    rng = np.random.default_rng(3)
    W = 0.001 * rng.standard_normal((X.shape[1], int(y.max()) + 1))
    expected = []
    for _ in range(7):
        X_batch, y_batch = sample_batch(X, y, 50, rng)
        loss, dW = softmax_loss_vectorized(W, X_batch, y_batch, 1e-3)
        expected.append(loss)
        W = sgd_step(W, dW, 1e-2)
    assert history == expected
    np.testing.assert_array_equal(clf.W, W)
    assert Softmax().train(X, y, num_iters=7, seed=4) != Softmax().train(X, y, num_iters=7, seed=3)


def test_training_continues_from_existing_weights_with_the_given_loss():
    X, y = separable_problem()
    calls = []

    def loss_fn(W, X, y, reg):
        calls.append(W.copy())
        return softmax_loss_vectorized(W, X, y, reg)

    clf = LinearClassifier(loss_fn=loss_fn)
    clf.W = np.full((X.shape[1], 3), 0.5)
    clf.train(X, y, num_iters=2, seed=0)
    assert len(calls) == 2
    np.testing.assert_array_equal(calls[0], np.full((X.shape[1], 3), 0.5))  # no re-initialization


def test_predict_returns_int64_labels_of_the_highest_score():
    clf = LinearSVM()
    clf.W = np.array([[1.0, 0.0, -1.0], [0.0, 2.0, 0.0]])
    pred = clf.predict(np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]]))
    np.testing.assert_array_equal(pred, [0, 1, 2])
    assert pred.dtype == np.int64


def test_sample_batch_and_sgd_step():
    X = np.arange(20.0).reshape(10, 2)
    y = np.arange(10)
    Xb, yb = sample_batch(X, y, 50, np.random.default_rng(0))
    assert Xb.shape == (50, 2) and yb.shape == (50,)
    assert np.array_equal(Xb[:, 0], 2.0 * yb)  # rows stay paired with their labels
    assert len(np.unique(yb)) < 50  # drawn with replacement
    W, dW = np.ones((3, 2)), np.full((3, 2), 4.0)
    assert np.array_equal(sgd_step(W, dW, 0.25), np.zeros((3, 2)))
    assert np.array_equal(W, np.ones((3, 2)))


def test_training_stops_on_divergence_naming_the_iteration():
    X, y = separable_problem()
    clf = LinearSVM()
    with np.errstate(all="ignore"), pytest.raises(TrainingDivergedError, match=r"at iteration \d+ of 50"):
        clf.train(X * 1e150, y, learning_rate=1e150, num_iters=50, seed=0)


def test_training_rejects_bad_input():
    X, y = separable_problem(N=20)
    clf = LinearSVM()
    with pytest.raises(ValueError, match=r"y must have shape \(20,\)"):
        clf.train(X, y[:5])
    with pytest.raises(ValueError, match="no rows"):
        clf.train(X[:0], y[:0])
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        clf.train(X, y, batch_size=0)
    with pytest.raises(ValueError, match="reg must be a finite number >= 0, got -1"):
        clf.train(X, y, reg=-1)
    with pytest.raises(ValueError, match="learning_rate must be a positive number, got 0.0"):
        clf.train(X, y, learning_rate=0.0)
    with pytest.raises(ValueError, match="call train"):
        clf.predict(X)
    clf.train(X, y, num_iters=2, seed=0)
    with pytest.raises(ValueError, match=r"X has 5 columns but W has 6 rows"):
        clf.train(X[:, :5], y)
    with pytest.raises(ValueError, match=r"X must have shape \(N, 6\) matching W \(6, 3\), got \(20, 5\)"):
        clf.predict(X[:, :5])
    with pytest.raises(ValueError, match=r"y must hold labels in 0..2 \(W has 3 columns\), got range 3..3"):
        clf.train(X, np.full(20, 3), num_iters=1)
    with pytest.raises(ValueError, match="needs a loss_fn"):
        LinearClassifier()


def test_hyperparameter_search_keeps_best_and_survives_divergence():
    X, y = separable_problem(N=400)
    data = {"X_train": X[:300], "y_train": y[:300], "X_val": X[300:], "y_val": y[300:]}
    with np.errstate(all="ignore"):
        results, best, best_val = hyperparameter_search(
            Softmax, data, [1e-6, 1e-2, 1e300], [1e-4], num_iters=100, batch_size=50, verbose=False)
    assert set(results) == {(1e-6, 1e-4), (1e-2, 1e-4), (1e300, 1e-4)}
    assert all(math.isnan(v) for v in results[(1e300, 1e-4)])
    assert best_val == max(v for _, v in results.values() if not math.isnan(v))
    assert best_val == results[(1e-2, 1e-4)][1] > 0.9
    assert np.mean(best.predict(data["X_val"]) == data["y_val"]) == best_val


def test_hyperparameter_search_trains_a_new_classifier_per_pair_with_the_same_seed():
    X, y = separable_problem(N=400)
    data = {"X_train": X[:300], "y_train": y[:300], "X_val": X[300:], "y_val": y[300:]}
    results, _, _ = hyperparameter_search(LinearSVM, data, [1e-3, 1e-2], [1e-4, 1e-1], num_iters=20, batch_size=50,
                                          seed=5, verbose=False)
    for (lr, reg), (train_acc, val_acc) in results.items():
        alone = LinearSVM()
        alone.train(data["X_train"], data["y_train"], learning_rate=lr, reg=reg, num_iters=20, batch_size=50, seed=5)
        assert (train_acc, val_acc) == (np.mean(alone.predict(data["X_train"]) == data["y_train"]),
                                        np.mean(alone.predict(data["X_val"]) == data["y_val"]))


def test_hyperparameter_search_rejects_incomplete_data():
    with pytest.raises(ValueError, match=r"missing \['X_val', 'y_val'\]"):
        hyperparameter_search(LinearSVM, {"X_train": np.zeros((3, 2)), "y_train": np.zeros(3, int)}, [1e-3], [0.0],
                              num_iters=1)
