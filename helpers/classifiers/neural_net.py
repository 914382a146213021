"""A two-layer fully-connected network: affine - ReLU - affine - softmax.

The forward and backward passes are plain functions of a parameter dict, so a notebook
exercise with the same parameters can replace them (`TwoLayerNet(..., loss_fn=...)`):

    two_layer_net_scores(params, X)              -> scores (N, C)
    two_layer_net_loss(params, X, y=None, reg)   -> scores, or (loss, grads)

`TwoLayerNet` keeps the CS231n 2019 API: `params`, `loss`, `train` (minibatch SGD with
per-epoch learning-rate decay) and `predict`.
"""

import math

import numpy as np

from helpers._checks import check_labels, check_ndim, non_negative_number

PARAM_NAMES = ("W1", "b1", "W2", "b2")


# ----------------------------------------------------------------------------- validation

def _check_params(params):
    """Check that params holds W1 (D, H), b1 (H,), W2 (H, C), b2 (C,); return (D, H, C)."""
    if not isinstance(params, dict):
        raise ValueError(f"params must be a dict with keys {PARAM_NAMES}, got {type(params).__name__}")
    missing = [name for name in PARAM_NAMES if name not in params]
    if missing:
        raise ValueError(f"params is missing {missing}; expected keys {PARAM_NAMES}")
    W1, b1, W2, b2 = (np.asarray(params[name]) for name in PARAM_NAMES)
    check_ndim("W1", W1, 2, "(D, H)")
    check_ndim("W2", W2, 2, "(H, C)")
    D, H = W1.shape
    C = W2.shape[1]
    expected = {"b1": (H,), "W2": (H, C), "b2": (C,)}
    for name, value in (("b1", b1), ("W2", W2), ("b2", b2)):
        if value.shape != expected[name]:
            raise ValueError(f"{name} must have shape {expected[name]} to match W1 {W1.shape} "
                             f"and W2 {W2.shape}, got {value.shape}")
    return D, H, C


def _check_inputs(params, X, y=None, reg=0.0):
    """Reject inputs that do not fit the network, with the expected and received values."""
    D, H, C = _check_params(params)
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != D:
        raise ValueError(f"X must have shape (N, {D}) to match W1 ({D}, {H}), got {X.shape}")
    if X.shape[0] == 0:
        raise ValueError(f"X must hold at least one example, got shape {X.shape}")
    if y is not None:
        check_labels("y", y, num_classes=C, n=X.shape[0], classes_from=f"W2 has {C} columns")
    non_negative_number("reg", reg)


# ----------------------------------------------------------------------------- forward / backward

def two_layer_net_scores(params, X):
    """
    Forward pass of the two-layer net: class scores for each example.

    The network computes scores = max(0, X W1 + b1) W2 + b2 (no softmax).

    Inputs:
    - params: Dict with W1 (D, H), b1 (H,), W2 (H, C), b2 (C,)
    - X: Input data of shape (N, D); each X[i] is one example

    Returns:
    - scores: Array of shape (N, C); scores[i, c] is the score of class c for X[i]
    """
    _check_inputs(params, X)
    hidden = np.maximum(0, X @ params["W1"] + params["b1"])
    return hidden @ params["W2"] + params["b2"]


def two_layer_net_loss(params, X, y=None, reg=0.0):
    """
    Loss and gradients of the two-layer net: softmax loss on its scores plus L2
    regularization reg * (sum(W1 ** 2) + sum(W2 ** 2)) (biases are not regularized).

    Inputs:
    - params: Dict with W1 (D, H), b1 (H,), W2 (H, C), b2 (C,)
    - X: Input data of shape (N, D)
    - y: Labels of shape (N,), y[i] in 0..C-1; None asks for the scores only
    - reg: Regularization strength (non-negative)

    Returns:
    If y is None: scores of shape (N, C), as two_layer_net_scores.
    Otherwise a tuple:
    - loss: Average softmax loss over the N examples plus the regularization term (float)
    - grads: Dict with the gradient of the loss for each key of params, same shapes
    """
    _check_inputs(params, X, y, reg)
    W1, b1, W2, b2 = (params[name] for name in PARAM_NAMES)
    hidden = np.maximum(0, X @ W1 + b1)
    scores = hidden @ W2 + b2
    if y is None:
        return scores

    N = X.shape[0]
    # Shifting by the row maximum leaves the softmax unchanged and keeps exp() from overflowing.
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(N), y].mean() + reg * (np.sum(W1 * W1) + np.sum(W2 * W2))

    dscores = np.exp(log_probs)
    dscores[np.arange(N), y] -= 1
    dscores /= N
    dhidden = dscores @ W2.T
    dhidden[hidden <= 0] = 0  # ReLU passes gradient only where it was active
    grads = {
        "W1": X.T @ dhidden + 2 * reg * W1,
        "b1": dhidden.sum(axis=0),
        "W2": hidden.T @ dscores + 2 * reg * W2,
        "b2": dscores.sum(axis=0),
    }
    return float(loss), grads


# ----------------------------------------------------------------------------- the model

def _random_source(seed):
    """np.random itself when seed is None (np.random.seed then works as in CS231n), else a RandomState."""
    return np.random if seed is None else np.random.RandomState(seed)


class TwoLayerNet:
    """
    A two-layer fully-connected network: input dimension D, hidden dimension H, C classes.

    input - fully connected layer - ReLU - fully connected layer - softmax

    Trained with a softmax loss and L2 regularization on the weight matrices. The
    parameters live in self.params: W1 (D, H), b1 (H,), W2 (H, C), b2 (C,).
    """

    def __init__(self, input_size, hidden_size, output_size, std=1e-4, seed=None, loss_fn=None):
        """
        Initialize the model: weights are small random values, biases zero.

        Inputs:
        - input_size: The dimension D of the input data
        - hidden_size: The number of neurons H in the hidden layer
        - output_size: The number of classes C
        - std: Standard deviation of the Gaussian initial weights
        - seed: Seed for the initial weights; None draws from np.random (as CS231n does),
          so np.random.seed(0) before the call gives CS231n's numbers
        - loss_fn: Function (params, X, y=None, reg=0.0) computing the scores or
          (loss, grads), e.g. the notebook exercise; defaults to two_layer_net_loss
        """
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size),
                            ("output_size", output_size)):
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not (math.isfinite(std) and std > 0):
            raise ValueError(f"std must be a positive number, got {std!r}")
        rand = _random_source(seed)
        # W1 before W2, each drawn right after the other: the order CS231n's toy values depend on.
        self.params = {
            "W1": std * rand.randn(input_size, hidden_size),
            "b1": np.zeros(hidden_size),
            "W2": std * rand.randn(hidden_size, output_size),
            "b2": np.zeros(output_size),
        }
        self.loss_fn = two_layer_net_loss if loss_fn is None else loss_fn

    def loss(self, X, y=None, reg=0.0):
        """
        Compute the loss and gradients of the network on a minibatch.

        Inputs:
        - X: Input data of shape (N, D)
        - y: Labels of shape (N,), y[i] in 0..C-1; None asks for the scores only
        - reg: Regularization strength

        Returns:
        If y is None: scores of shape (N, C).
        Otherwise (loss, grads): the data loss plus regularization (float), and a dict of
        gradients with the keys and shapes of self.params.
        """
        _check_inputs(self.params, X, y, reg)
        return self.loss_fn(self.params, X, y, reg)

    def train(self, X, y, X_val, y_val, learning_rate=1e-3, learning_rate_decay=0.95, reg=5e-6,
              num_iters=100, batch_size=200, verbose=False, seed=None):
        """
        Train the network with minibatch stochastic gradient descent.

        After every epoch the learning rate is multiplied by learning_rate_decay and the
        accuracy on the current minibatch and on the validation set is recorded. Training
        stops, with a message naming the iteration, if the loss becomes NaN or infinite.

        Inputs:
        - X: Training data of shape (N, D)
        - y: Training labels of shape (N,), y[i] in 0..C-1
        - X_val: Validation data of shape (N_val, D)
        - y_val: Validation labels of shape (N_val,)
        - learning_rate: Step size of the updates
        - learning_rate_decay: Factor applied to the learning rate after each epoch
        - reg: Regularization strength
        - num_iters: Number of updates
        - batch_size: Number of training examples per step (drawn with replacement)
        - verbose: Print the loss every 100 iterations
        - seed: Seed for drawing minibatches; None draws from np.random

        Returns a dict with:
        - loss_history: List of the loss at each completed iteration
        - train_acc_history: List of minibatch accuracies, one per epoch
        - val_acc_history: List of validation accuracies, one per epoch
        - stopped_at: Iteration at which a non-finite loss stopped training, else None
        """
        _check_inputs(self.params, X, y, reg)
        _check_inputs(self.params, X_val, y_val)
        if int(num_iters) != num_iters or num_iters < 0:
            raise ValueError(f"num_iters must be a non-negative integer, got {num_iters!r}")
        if int(batch_size) != batch_size or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if not (math.isfinite(learning_rate) and learning_rate > 0):
            raise ValueError(f"learning_rate must be a positive number, got {learning_rate!r}")
        if not (math.isfinite(learning_rate_decay) and learning_rate_decay > 0):
            raise ValueError(f"learning_rate_decay must be a positive number, got {learning_rate_decay!r}")

        rand = _random_source(seed)
        num_train = X.shape[0]
        iterations_per_epoch = max(num_train // batch_size, 1)
        loss_history, train_acc_history, val_acc_history = [], [], []
        stopped_at = None

        for it in range(num_iters):
            idx = rand.choice(num_train, batch_size)
            X_batch, y_batch = X[idx], y[idx]
            loss, grads = self.loss_fn(self.params, X_batch, y_batch, reg)
            if not math.isfinite(loss):
                stopped_at = it
                print(f"Training stopped at iteration {it} of {num_iters}: the loss is {loss} "
                      f"(learning rate {learning_rate:.3g}, reg {reg:.3g}). The updates diverged; "
                      "try a smaller learning rate.")
                break
            loss_history.append(loss)
            for name in self.params:
                self.params[name] -= learning_rate * grads[name]

            if verbose and (it % 100 == 0 or it == num_iters - 1):
                print(f"iteration {it} / {num_iters}: loss {loss:.6f}")

            if (it + 1) % iterations_per_epoch == 0:
                train_acc_history.append(float((self.predict(X_batch) == y_batch).mean()))
                val_acc_history.append(float((self.predict(X_val) == y_val).mean()))
                learning_rate *= learning_rate_decay

        return {
            "loss_history": loss_history,
            "train_acc_history": train_acc_history,
            "val_acc_history": val_acc_history,
            "stopped_at": stopped_at,
        }

    def predict(self, X):
        """
        Predict labels: for each example, the class with the highest score.

        Inputs:
        - X: Data of shape (N, D)

        Returns:
        - y_pred: Array of shape (N,) of int64 labels in 0..C-1
        """
        return np.argmax(self.loss(X), axis=1)


# ----------------------------------------------------------------------------- the toy problem

def init_toy_model(loss_fn=None):
    """
    CS231n's toy network: 4 inputs, 10 hidden units, 3 classes, weights drawn with
    np.random.seed(0) and std 1e-1 (the published expected scores and loss depend on it).

    Inputs:
    - loss_fn: Optional loss function for the net (see TwoLayerNet)

    Returns:
    - A TwoLayerNet
    """
    return TwoLayerNet(4, 10, 3, std=1e-1, seed=0, loss_fn=loss_fn)


def init_toy_data():
    """
    CS231n's toy data: 5 examples of dimension 4 drawn with np.random.seed(1).

    Returns:
    - X: Array of shape (5, 4)
    - y: Array of shape (5,) with labels [0, 1, 2, 2, 1]
    """
    X = 10 * np.random.RandomState(1).randn(5, 4)
    y = np.array([0, 1, 2, 2, 1])
    return X, y
