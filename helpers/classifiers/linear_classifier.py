"""Linear classifiers trained with minibatch stochastic gradient descent (SGD).

`LinearSVM` and `Softmax` differ only in their loss, which a notebook can replace by its own
(`LinearClassifier(loss_fn=my_svm_loss_vectorized)`). `LinearClassifier.train` is one loop of
the two pieces of SGD defined here, `sample_batch` and `sgd_step`; `hyperparameter_search`
trains one classifier per (learning rate, regularization strength) pair and keeps the best.
"""

import math

import numpy as np

from helpers._checks import (
    check_labels,
    check_ndim,
    non_negative_int,
    non_negative_number,
    positive_int,
    positive_number,
)
from helpers.classifiers.linear_svm import svm_loss_vectorized
from helpers.classifiers.softmax import softmax_loss_vectorized
from helpers.gradient_check import grad_check_sparse
from helpers.optim import TrainingDivergedError


def sample_batch(X, y, batch_size, rng):
    """
    Draw a minibatch of training rows uniformly at random, with replacement (as CS231n
    does: it is faster than sampling without replacement and just as good for SGD).

    Inputs:
    - X: A numpy array of shape (N, D) containing training data.
    - y: A numpy array of shape (N,) containing training labels.
    - batch_size: (integer) number of rows to draw.
    - rng: A numpy.random.Generator; the indices are `rng.choice(N, batch_size)`.

    Returns a tuple of:
    - X_batch: A numpy array of shape (batch_size, D)
    - y_batch: A numpy array of shape (batch_size,)
    """
    idx = rng.choice(X.shape[0], batch_size, replace=True)
    return X[idx], y[idx]


def sgd_step(W, dW, learning_rate):
    """
    One step of vanilla stochastic gradient descent.

    Inputs:
    - W: A numpy array of shape (D, C) containing weights.
    - dW: A numpy array of shape (D, C), the gradient of the loss with respect to W.
    - learning_rate: (float) step size.

    Returns:
    - next_W: A numpy array of shape (D, C), the weights after the step.
    """
    return W - learning_rate * dW


class LinearClassifier:
    """
    A linear classifier f(x) = x W trained by minibatch SGD on a loss function.

    Attributes:
    - W: A numpy array of shape (D, C), None until `train` is called (or set by hand).
    - loss_fn: The loss, a function (W, X, y, reg) -> (loss, dW).
    """

    # Subclasses name their loss here; a staticmethod so it is not bound to the instance.
    default_loss_fn = None

    def __init__(self, loss_fn=None):
        """
        Inputs:
        - loss_fn: Optional function (W, X, y, reg) -> (loss, dW) to train with, e.g. a
          notebook's own svm_loss_vectorized. None uses the class's reference loss.
        """
        self.W = None
        self.loss_fn = loss_fn if loss_fn is not None else type(self).default_loss_fn
        if self.loss_fn is None:
            raise ValueError("LinearClassifier needs a loss_fn (W, X, y, reg) -> (loss, dW); "
                             "or use LinearSVM / Softmax, which have one")

    def train(self, X, y, learning_rate=1e-3, reg=1e-5, num_iters=100, batch_size=200, verbose=False,
              seed=None):
        """
        Train this linear classifier using stochastic gradient descent.

        All random numbers come from one generator, rng = np.random.default_rng(seed):
        if self.W is None, it is first initialized to 0.001 * rng.standard_normal((D, C)),
        with C = np.max(y) + 1 classes. Then each of the num_iters iterations draws a
        minibatch with sample_batch(X, y, batch_size, rng), computes the loss and its
        gradient on it with self.loss, and updates self.W with sgd_step.

        Inputs:
        - X: A numpy array of shape (N, D) containing training data; there are N
          training samples each of dimension D.
        - y: A numpy array of shape (N,) containing training labels; y[i] = c
          means that X[i] has label 0 <= c < C for C classes.
        - learning_rate: (float) learning rate for optimization.
        - reg: (float) regularization strength.
        - num_iters: (integer) number of steps to take when optimizing
        - batch_size: (integer) number of training examples to use at each step.
        - verbose: (boolean) If true, print progress during optimization.
        - seed: (integer or None) seed of rng, so that a run can be repeated exactly.

        Outputs:
        A list containing the value of the loss function at each training iteration.

        Raises TrainingDivergedError, naming the iteration, if the loss becomes NaN or inf.
        """
        check_ndim("X", X, 2, "(N, D)")
        X_shape = np.shape(X)
        num_train, dim = X_shape
        if num_train == 0:
            raise ValueError(f"X has no rows (shape {X_shape}): there is nothing to train on")
        y = check_labels("y", y, n=num_train)
        num_iters, batch_size = non_negative_int("num_iters", num_iters), positive_int("batch_size", batch_size)
        learning_rate, reg = positive_number("learning_rate", learning_rate), non_negative_number("reg", reg)

        rng = np.random.default_rng(seed)
        if self.W is None:
            num_classes = int(np.max(y)) + 1  # assume y takes values 0...K-1 where K is number of classes
            # Small random weights: every class starts with (almost) the same score.
            self.W = 0.001 * rng.standard_normal((dim, num_classes))
        elif self.W.shape[0] != dim:
            raise ValueError(f"X has {dim} columns but W has {self.W.shape[0]} rows: X must have shape "
                             f"(N, {self.W.shape[0]}) matching W {self.W.shape}, got {X_shape}")

        loss_history = []
        for it in range(num_iters):
            X_batch, y_batch = sample_batch(X, y, batch_size, rng)
            loss, grad = self.loss(X_batch, y_batch, reg)
            if not math.isfinite(loss):
                raise TrainingDivergedError(
                    f"the training loss became {loss} at iteration {it + 1} of {num_iters} "
                    f"(learning_rate={learning_rate:g}, reg={reg:g}); lower the learning rate")
            loss_history.append(loss)
            self.W = sgd_step(self.W, grad, learning_rate)
            if verbose and (it % 100 == 0 or it == num_iters - 1):
                print(f"iteration {it + 1} / {num_iters}: loss {loss:f}")
        return loss_history

    def predict(self, X):
        """
        Use the trained weights of this linear classifier to predict labels for
        data points.

        Inputs:
        - X: A numpy array of shape (N, D) containing data; there are N
          samples each of dimension D.

        Returns:
        - y_pred: Predicted labels for the data in X. y_pred is a 1-dimensional
          numpy array of length N and integer dtype (int64), and each element is
          an integer giving the predicted class: the class with the highest score.
        """
        if self.W is None:
            raise ValueError("the classifier has no weights yet: call train() first")
        X_shape = np.shape(X)
        D = self.W.shape[0]
        if len(X_shape) != 2 or X_shape[1] != D:
            raise ValueError(f"X must have shape (N, {D}) matching W {self.W.shape}, got {X_shape}")
        return np.argmax(X @ self.W, axis=1)

    def loss(self, X_batch, y_batch, reg):
        """
        Compute the loss function and its derivative.

        Inputs:
        - X_batch: A numpy array of shape (N, D) containing a minibatch of N
          data points; each point has dimension D.
        - y_batch: A numpy array of shape (N,) containing labels for the minibatch.
        - reg: (float) regularization strength.

        Returns: A tuple containing:
        - loss as a single float
        - gradient with respect to self.W; an array of the same shape as W
        """
        return self.loss_fn(self.W, X_batch, y_batch, reg)


class LinearSVM(LinearClassifier):
    """A subclass that uses the Multiclass SVM loss function"""

    default_loss_fn = staticmethod(svm_loss_vectorized)


class Softmax(LinearClassifier):
    """A subclass that uses the Softmax + Cross-entropy loss function"""

    default_loss_fn = staticmethod(softmax_loss_vectorized)


def accuracy(classifier, X, y):
    """Fraction of rows of X (N, D) whose predicted label equals y (N,)."""
    return float(np.mean(classifier.predict(X) == y))


def hyperparameter_search(make_classifier, data, learning_rates, regularization_strengths, num_iters,
                          batch_size=200, seed=0, verbose=True):
    """
    Tune the learning rate and regularization strength on the validation set: train a new
    classifier for every (learning rate, regularization strength) pair on the training
    data, measure its accuracy on the training and validation data, and keep the one with
    the best validation accuracy.

    Every run calls classifier.train(X_train, y_train, learning_rate=lr, reg=reg,
    num_iters=num_iters, batch_size=batch_size, seed=seed), so that runs differ only by
    their hyperparameters. A run whose training raises TrainingDivergedError is recorded
    as (nan, nan) and never chosen.

    Inputs:
    - make_classifier: A function () -> a new, untrained LinearClassifier.
    - data: A dict with X_train of shape (N, D), y_train of shape (N,), X_val of
      shape (N_val, D) and y_val of shape (N_val,).
    - learning_rates: A list of learning rates to try.
    - regularization_strengths: A list of regularization strengths to try.
    - num_iters: (integer) number of SGD steps of every run.
    - batch_size: (integer) minibatch size of every run.
    - seed: (integer) seed of every run.
    - verbose: (boolean) If true, print one line per pair.

    Returns a tuple of:
    - results: A dict mapping each pair (learning_rate, reg) to a tuple
      (training_accuracy, validation_accuracy) of floats.
    - best_classifier: The trained classifier with the highest validation accuracy
      (the first one tried among equals).
    - best_val: (float) its validation accuracy.
    """
    if not learning_rates or not regularization_strengths:
        raise ValueError("hyperparameter_search needs at least one learning rate and one regularization strength")
    missing = [key for key in ("X_train", "y_train", "X_val", "y_val") if key not in data]
    if missing:
        raise ValueError(f"data must be a dict with X_train, y_train, X_val and y_val; missing {missing}")
    results = {}
    best_classifier, best_val = None, -1.0
    for lr in learning_rates:
        for reg in regularization_strengths:
            classifier = make_classifier()
            try:
                classifier.train(data["X_train"], data["y_train"], learning_rate=lr, reg=reg,
                                 num_iters=num_iters, batch_size=batch_size, seed=seed)
            except TrainingDivergedError as error:
                results[(lr, reg)] = (math.nan, math.nan)
                if verbose:
                    print(f"lr {lr:.2e} reg {reg:.2e}: diverged ({error})")
                continue
            train_acc = accuracy(classifier, data["X_train"], data["y_train"])
            val_acc = accuracy(classifier, data["X_val"], data["y_val"])
            results[(lr, reg)] = (train_acc, val_acc)
            if verbose:
                print(f"lr {lr:.2e} reg {reg:.2e}: train accuracy {train_acc:.3f} val accuracy {val_acc:.3f}")
            if val_acc > best_val:
                best_classifier, best_val = classifier, val_acc
    if best_classifier is None:
        raise TrainingDivergedError("every run diverged: try smaller learning rates")
    return results, best_classifier, best_val


def grad_check_loss(loss_fn, W, X, y, reg, num_checks=10, tol=1e-6, allowed_mismatches=0, seed=0):
    """
    Check the gradient of a linear-classifier loss against centered differences at a few
    random entries of W, print one line per entry and a verdict.

    Inputs:
    - loss_fn: function (W, X, y, reg) -> (loss, dW)
    - W: A numpy array of shape (D, C); restored after use
    - X: A numpy array of shape (N, D); y: A numpy array of shape (N,); reg: float
    - num_checks: number of random entries to check
    - tol: largest relative error counted as a match
    - allowed_mismatches: entries that may exceed tol (a loss with kinks, like the hinge
      loss, can legitimately disagree where a step crosses a kink)
    - seed: seed for choosing the entries

    Returns:
    - errors: list of relative errors, one per checked entry

    Raises AssertionError when more than allowed_mismatches entries exceed tol.
    """
    _, grad = loss_fn(W, X, y, reg)
    f = lambda w: loss_fn(w, X, y, reg)[0]
    errors = grad_check_sparse(f, W, grad, num_checks=num_checks, seed=seed)
    bad = [e for e in errors if e > tol]
    if len(bad) > allowed_mismatches:
        raise AssertionError(
            f"{len(bad)} of {num_checks} gradient entries have relative error above {tol:.0e} "
            f"(worst {max(bad):.1e}; at most {allowed_mismatches} allowed): re-derive dW, and check that "
            f"it is divided by N and includes 2 * reg * W")
    print(f"[check] gradient (reg={reg:g}): {num_checks - len(bad)} of {num_checks} entries agree within "
          f"{tol:.0e}" + (f"; {len(bad)} mismatch(es), allowed for a loss with kinks" if bad else ""))
    return errors
