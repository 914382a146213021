"""Fully connected networks assembled from the modular layers of `helpers.layers`.

- TwoLayerNet: affine - relu - affine - softmax, the network of the whole course: assignment 1
  (two_layer_net.ipynb) writes its loss by hand and trains it with its own `train` and
  `predict` (minibatch SGD with learning-rate decay, as CS231n's assignment 1); assignment 2
  (FullyConnectedNets.ipynb) builds it from modular layers and trains it with the Solver.
- FullyConnectedNet: any number of hidden layers, with optional batch/layer normalization
  and dropout.

Both follow the CS231n model API used by the Solver: parameters live in the dict `params`,
and `loss(X, y=None)` returns class scores, or `(loss, grads)` when labels are given. The L2
regularization is 0.5 * reg * sum(W * W) over the weight matrices, so its gradient is reg * W.
"""

import math

import numpy as np

from helpers._checks import (
    check_labels,
    non_negative_int,
    non_negative_number,
    number_in,
    one_of,
    positive_int,
    positive_number,
)
from helpers.layer_utils import (
    NORMALIZATIONS,
    affine_norm_relu_backward,
    affine_norm_relu_forward,
    affine_relu_backward,
    affine_relu_forward,
    layer_table,
)
from helpers.optim import TrainingDivergedError


def _weight_generator(seed):
    """A seeded Generator, or NumPy's global generator (so np.random.seed applies) when seed is None."""
    return np.random.default_rng(seed) if seed is not None else np.random


def _check_batch(X, y, input_dim, num_classes):
    """Validate a minibatch X of shape (N, d_1, ..., d_k) with prod(d_i) = input_dim and labels y."""
    X = np.asarray(X)
    if X.ndim < 2 or int(np.prod(X.shape[1:])) != input_dim:
        raise ValueError(f"X must have shape (N, d_1, ..., d_k) with d_1 * ... * d_k = input_dim = "
                         f"{input_dim}, got {X.shape}")
    if y is not None:
        y = check_labels("y", y, num_classes=num_classes, n=X.shape[0])
    return X, y


class TwoLayerNet:
    """
    A two-layer fully-connected neural network with ReLU nonlinearity and
    softmax loss that uses a modular layer design. We assume an input dimension
    of D, a hidden dimension of H, and perform classification over C classes.

    The architecture is affine - relu - affine - softmax.

    The model can train itself with minibatch SGD (train, predict: CS231n's
    assignment 1), or interact with a separate Solver object that is responsible
    for running optimization (assignment 2).

    The learnable parameters of the model are stored in the dictionary
    self.params that maps parameter names to numpy arrays.
    """

    def __init__(self, input_dim=3 * 32 * 32, hidden_dim=100, num_classes=10, weight_scale=1e-3, reg=0.0,
                 seed=None, layers=None):
        """
        Initialize a new network.

        Inputs:
        - input_dim: An integer giving the size of the input
        - hidden_dim: An integer giving the size of the hidden layer
        - num_classes: An integer giving the number of classes to classify
        - weight_scale: Scalar giving the standard deviation for random
          initialization of the weights.
        - reg: Scalar giving L2 regularization strength.
        - seed: If not None, weights are drawn from np.random.default_rng(seed);
          otherwise from NumPy's global generator.
        - layers: Optional dict replacing functions of helpers.layers by name (see
          helpers.layer_utils.layer_table), e.g. a learner's affine_forward.
        """
        self.input_dim = positive_int("input_dim", input_dim)
        hidden_dim = positive_int("hidden_dim", hidden_dim)
        self.num_classes = positive_int("num_classes", num_classes)
        weight_scale = positive_number("weight_scale", weight_scale)
        self.reg = non_negative_number("reg", reg)
        self.layers = layer_table(layers)

        rng = _weight_generator(seed)
        self.params = {
            "W1": weight_scale * rng.standard_normal((self.input_dim, hidden_dim)),
            "b1": np.zeros(hidden_dim),
            "W2": weight_scale * rng.standard_normal((hidden_dim, self.num_classes)),
            "b2": np.zeros(self.num_classes),
        }

    def loss(self, X, y=None):
        """
        Compute loss and gradient for a minibatch of data.

        The loss is the average softmax loss over the minibatch plus the L2
        regularization 0.5 * self.reg * (sum(W1 * W1) + sum(W2 * W2)); the biases
        are not regularized.

        Inputs:
        - X: Array of input data of shape (N, d_1, ..., d_k)
        - y: Array of labels, of shape (N,). y[i] gives the label for X[i].

        Returns:
        If y is None, then run a test-time forward pass of the model and return:
        - scores: Array of shape (N, C) giving classification scores, where
          scores[i, c] is the classification score for X[i] and class c.

        If y is not None, then run a training-time forward and backward pass and
        return a tuple of:
        - loss: Scalar value giving the loss
        - grads: Dictionary with the same keys as self.params, mapping parameter
          names to gradients of the loss with respect to those parameters.
        """
        X, y = _check_batch(X, y, self.input_dim, self.num_classes)
        W1, b1, W2, b2 = (self.params[k] for k in ("W1", "b1", "W2", "b2"))
        hidden, hidden_cache = affine_relu_forward(X, W1, b1, layers=self.layers)
        scores, scores_cache = self.layers["affine_forward"](hidden, W2, b2)
        if y is None:
            return scores

        data_loss, dscores = self.layers["softmax_loss"](scores, y)
        # The factor 0.5 makes the gradient of the penalty reg * W, as in CS231n.
        loss = data_loss + 0.5 * self.reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
        grads = {}
        dhidden, grads["W2"], grads["b2"] = self.layers["affine_backward"](dscores, scores_cache)
        _, grads["W1"], grads["b1"] = affine_relu_backward(dhidden, hidden_cache)
        grads["W1"] += self.reg * W1
        grads["W2"] += self.reg * W2
        return loss, grads

    def train(self, X, y, X_val, y_val, learning_rate=1e-3, learning_rate_decay=0.95, num_iters=100,
              batch_size=200, verbose=False, seed=None):
        """
        Train this neural network using stochastic gradient descent.

        Each iteration draws batch_size training rows with replacement, as
        rng.choice(N, batch_size) with rng = np.random.RandomState(seed) (or the
        np.random module itself when seed is None); computes the loss and gradients
        on that minibatch with self.loss (the regularization strength is self.reg);
        and updates every parameter p in place: p -= learning_rate * dp. An epoch
        is max(N // batch_size, 1) iterations; after each epoch, the accuracy on the
        current minibatch and on the validation data is recorded (after the update),
        and learning_rate is multiplied by learning_rate_decay.

        Inputs:
        - X: A numpy array of shape (N, D) giving training data.
        - y: A numpy array of shape (N,) giving training labels; y[i] = c means that
          X[i] has label c, where 0 <= c < C.
        - X_val: A numpy array of shape (N_val, D) giving validation data.
        - y_val: A numpy array of shape (N_val,) giving validation labels.
        - learning_rate: Scalar giving learning rate for optimization.
        - learning_rate_decay: Scalar giving factor used to decay the learning rate
          after each epoch.
        - num_iters: Number of steps to take when optimizing.
        - batch_size: Number of training examples to use per step.
        - verbose: boolean; if true print progress during optimization.
        - seed: Integer seed of the minibatch draws, or None for NumPy's global
          generator (so that np.random.seed applies, as in CS231n).

        Returns a dict with:
        - loss_history: A list of num_iters floats, the loss at each iteration.
        - train_acc_history: A list of floats, the minibatch accuracy after each epoch.
        - val_acc_history: A list of floats, the validation accuracy after each epoch.

        Raises TrainingDivergedError, naming the iteration, if the loss becomes NaN or
        infinite (the parameters are then left as they were before that iteration).
        """
        X, y = _check_batch(X, y, self.input_dim, self.num_classes)
        X_val, y_val = _check_batch(X_val, y_val, self.input_dim, self.num_classes)
        if y is None or y_val is None:
            raise ValueError("train needs the labels y and y_val, got None")
        learning_rate = positive_number("learning_rate", learning_rate)
        learning_rate_decay = positive_number("learning_rate_decay", learning_rate_decay)
        num_iters = non_negative_int("num_iters", num_iters)
        batch_size = positive_int("batch_size", batch_size)

        rng = np.random if seed is None else np.random.RandomState(seed)
        num_train = X.shape[0]
        iterations_per_epoch = max(num_train // batch_size, 1)
        loss_history, train_acc_history, val_acc_history = [], [], []
        for it in range(num_iters):
            batch = rng.choice(num_train, batch_size)  # (batch_size,) row indices, with replacement
            X_batch, y_batch = X[batch], y[batch]
            loss, grads = self.loss(X_batch, y_batch)
            if not math.isfinite(loss):
                raise TrainingDivergedError(
                    f"the training loss became {loss} at iteration {it + 1} of {num_iters} "
                    f"(learning_rate={learning_rate:g}, reg={self.reg:g}); lower the learning rate")
            loss_history.append(float(loss))
            for name in self.params:
                self.params[name] -= learning_rate * grads[name]

            if verbose and (it % 100 == 0 or it == num_iters - 1):
                print(f"iteration {it + 1} / {num_iters}: loss {loss:f}")

            if (it + 1) % iterations_per_epoch == 0:
                train_acc_history.append(float(np.mean(self.predict(X_batch) == y_batch)))
                val_acc_history.append(float(np.mean(self.predict(X_val) == y_val)))
                learning_rate *= learning_rate_decay

        return {
            "loss_history": loss_history,
            "train_acc_history": train_acc_history,
            "val_acc_history": val_acc_history,
        }

    def predict(self, X):
        """
        Use the trained weights of this two-layer network to predict labels for
        data points. For each data point we predict scores for each of the C
        classes, and assign each data point to the class with the highest score.

        Inputs:
        - X: A numpy array of shape (N, D) giving N D-dimensional data points to
          classify.

        Returns:
        - y_pred: A numpy array of shape (N,) and integer dtype (int64) giving
          predicted labels for each of the elements of X. For all i, y_pred[i] = c
          means that X[i] is predicted to have class c, where 0 <= c < C.
        """
        return np.argmax(self.loss(X), axis=1)


class FullyConnectedNet:
    """
    Class for a multi-layer fully connected neural network.

    Network contains an arbitrary number of hidden layers, ReLU nonlinearities,
    and a softmax loss function, with dropout and batch/layer normalization as
    options. For a network with L layers, the architecture is

    {affine - [batch/layer norm] - relu - [dropout]} x (L - 1) - affine - softmax

    where batch/layer normalization and dropout are optional and the {...} block is
    repeated L - 1 times.

    Learnable parameters are stored in the self.params dictionary and are learned
    with the Solver class.
    """

    def __init__(self, hidden_dims, input_dim=3 * 32 * 32, num_classes=10, dropout_keep_ratio=1,
                 normalization=None, reg=0.0, weight_scale=1e-2, dtype=np.float32, seed=None, layers=None):
        """
        Initialize a new FullyConnectedNet.

        Inputs:
        - hidden_dims: A list of integers giving the size of each hidden layer.
        - input_dim: An integer giving the size of the input.
        - num_classes: An integer giving the number of classes to classify.
        - dropout_keep_ratio: Scalar between 0 and 1 giving the probability of keeping
          a unit in dropout. With dropout_keep_ratio=1 the network uses no dropout.
        - normalization: The type of normalization the network uses. Valid values
          are "batchnorm", "layernorm", or None for no normalization (the default).
        - reg: Scalar giving L2 regularization strength.
        - weight_scale: Scalar giving the standard deviation for random
          initialization of the weights.
        - dtype: A numpy datatype object; all computations are performed in this
          datatype. float32 is faster but less accurate; numeric gradient
          checks need float64.
        - seed: If not None, this random seed is passed to the dropout layers,
          which makes them deterministic (the same mask on every forward pass)
          so that the model can be gradient checked; the weights are then
          drawn from np.random.default_rng(seed). With None, weights and dropout masks
          come from NumPy's global generator (seeded by np.random.seed).
        - layers: Optional dict replacing functions of helpers.layers by name (see
          helpers.layer_utils.layer_table), e.g. a learner's batchnorm_forward.
        """
        if isinstance(hidden_dims, (str, bytes)) or not hasattr(hidden_dims, "__len__") or not hidden_dims:
            raise ValueError(f"hidden_dims must be a non-empty list of positive integers, got {hidden_dims!r}")
        hidden_dims = [positive_int(f"hidden_dims[{i}]", h) for i, h in enumerate(hidden_dims)]
        self.input_dim = positive_int("input_dim", input_dim)
        self.num_classes = positive_int("num_classes", num_classes)
        one_of("normalization", normalization, NORMALIZATIONS)
        number_in("dropout_keep_ratio (the keep probability)", dropout_keep_ratio, 0, 1, low_open=True)
        weight_scale = positive_number("weight_scale", weight_scale)
        if np.dtype(dtype).kind != "f":
            raise ValueError(f"dtype must be a floating-point type such as np.float32, got {dtype!r}")

        self.normalization = normalization
        self.use_dropout = dropout_keep_ratio != 1
        self.reg = non_negative_number("reg", reg)
        self.num_layers = 1 + len(hidden_dims)
        self.dtype = dtype
        self.layers = layer_table(layers)
        self.params = {}

        rng = _weight_generator(seed)
        dims = [self.input_dim, *hidden_dims, self.num_classes]
        for i, (fan_in, fan_out) in enumerate(zip(dims[:-1], dims[1:], strict=True), start=1):
            self.params[f"W{i}"] = weight_scale * rng.standard_normal((fan_in, fan_out))
            self.params[f"b{i}"] = np.zeros(fan_out)
            if normalization is not None and i < self.num_layers:
                self.params[f"gamma{i}"] = np.ones(fan_out)
                self.params[f"beta{i}"] = np.zeros(fan_out)

        # One dropout_param, shared by every dropout layer: loss() sets its mode.
        self.dropout_param = {}
        if self.use_dropout:
            self.dropout_param = {"mode": "train", "p": dropout_keep_ratio}
            if seed is not None:
                self.dropout_param["seed"] = seed

        # One bn_param per normalization layer: self.bn_params[i] goes to layer i + 1 and keeps
        # its running mean and variance (batchnorm), or its eps (layernorm).
        self.bn_params = []
        if self.normalization == "batchnorm":
            self.bn_params = [{"mode": "train"} for _ in range(self.num_layers - 1)]
        if self.normalization == "layernorm":
            self.bn_params = [{} for _ in range(self.num_layers - 1)]

        # Cast all parameters to the correct datatype.
        for k, v in self.params.items():
            self.params[k] = v.astype(dtype)

    def loss(self, X, y=None):
        """
        Compute loss and gradient for the fully connected net.

        Inputs:
        - X: Array of input data of shape (N, d_1, ..., d_k)
        - y: Array of labels, of shape (N,). y[i] gives the label for X[i].

        Returns:
        If y is None, then run a test-time forward pass of the model and return:
        - scores: Array of shape (N, C) giving classification scores, where
          scores[i, c] is the classification score for X[i] and class c.

        If y is not None, then run a training-time forward and backward pass and
        return a tuple of:
        - loss: Scalar value giving the loss
        - grads: Dictionary with the same keys as self.params, mapping parameter
          names to gradients of the loss with respect to those parameters.
        """
        X, y = _check_batch(X, y, self.input_dim, self.num_classes)
        X = X.astype(self.dtype)
        mode = "test" if y is None else "train"

        # Set train/test mode for batchnorm params and dropout param since they
        # behave differently during training and testing.
        if self.use_dropout:
            self.dropout_param["mode"] = mode
        if self.normalization == "batchnorm":
            for bn_param in self.bn_params:
                bn_param["mode"] = mode

        layers, params = self.layers, self.params
        out = X
        caches = []
        for i in range(1, self.num_layers):
            out, cache = affine_norm_relu_forward(
                out, params[f"W{i}"], params[f"b{i}"], params.get(f"gamma{i}"), params.get(f"beta{i}"),
                self.bn_params[i - 1] if self.normalization else None, self.normalization, layers=layers)
            dropout_cache = None
            if self.use_dropout:
                out, dropout_cache = layers["dropout_forward"](out, self.dropout_param)
            caches.append((cache, dropout_cache))
        L = self.num_layers
        scores, scores_cache = layers["affine_forward"](out, params[f"W{L}"], params[f"b{L}"])

        # If test mode return early.
        if mode == "test":
            return scores

        loss, dscores = layers["softmax_loss"](scores, y)
        grads = {}
        dout, grads[f"W{L}"], grads[f"b{L}"] = layers["affine_backward"](dscores, scores_cache)
        for i in range(L - 1, 0, -1):
            cache, dropout_cache = caches[i - 1]
            if self.use_dropout:
                dout = layers["dropout_backward"](dout, dropout_cache)
            dout, grads[f"W{i}"], grads[f"b{i}"], dgamma, dbeta = affine_norm_relu_backward(dout, cache)
            if self.normalization is not None:
                grads[f"gamma{i}"], grads[f"beta{i}"] = dgamma, dbeta

        # L2 regularization of the weights only; the factor 0.5 makes its gradient reg * W.
        for i in range(1, L + 1):
            W = params[f"W{i}"]
            loss += 0.5 * self.reg * np.sum(W * W)
            grads[f"W{i}"] += self.reg * W
        return loss, grads
