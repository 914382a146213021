"""Fully connected networks assembled from the modular layers of `helpers.layers`.

- TwoLayerNet: affine - relu - affine - softmax, the first network built from modules.
- FullyConnectedNet: any number of hidden layers, with optional batch/layer normalization
  and dropout.

Both follow the CS231n model API used by the Solver: parameters live in the dict `params`,
and `loss(X, y=None)` returns class scores, or `(loss, grads)` when labels are given.
"""

from numbers import Integral, Real

import numpy as np

from helpers.layer_utils import (
    NORMALIZATIONS,
    affine_norm_relu_backward,
    affine_norm_relu_forward,
    affine_relu_backward,
    affine_relu_forward,
    layer_table,
)


def _check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, Integral) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _check_non_negative(name, value):
    if isinstance(value, bool) or not isinstance(value, Real) or not value >= 0:
        raise ValueError(f"{name} must be a non-negative number, got {value!r}")
    return float(value)


def _check_positive(name, value):
    if isinstance(value, bool) or not isinstance(value, Real) or not value > 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)


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
        y = np.asarray(y)
        if y.shape != (X.shape[0],):
            raise ValueError(f"y must have shape ({X.shape[0]},) to match X {X.shape}, got {y.shape}")
        if y.dtype.kind not in "iu" or (y.size and (y.min() < 0 or y.max() >= num_classes)):
            raise ValueError(f"y must hold integer labels in [0, {num_classes}), got dtype {y.dtype}"
                             + (f" and values in [{y.min()}, {y.max()}]" if y.size else ""))
    return X, y


class TwoLayerNet:
    """
    A two-layer fully-connected neural network with ReLU nonlinearity and
    softmax loss that uses a modular layer design. We assume an input dimension
    of D, a hidden dimension of H, and perform classification over C classes.

    The architecture is affine - relu - affine - softmax.

    Note that this class does not implement gradient descent; instead, it
    will interact with a separate Solver object that is responsible for running
    optimization.

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
        self.input_dim = _check_positive_int("input_dim", input_dim)
        hidden_dim = _check_positive_int("hidden_dim", hidden_dim)
        self.num_classes = _check_positive_int("num_classes", num_classes)
        weight_scale = _check_positive("weight_scale", weight_scale)
        self.reg = _check_non_negative("reg", reg)
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


class FullyConnectedNet:
    """
    Class for a multi-layer fully connected neural network.

    Network contains an arbitrary number of hidden layers, ReLU nonlinearities,
    and a softmax loss function. This will also implement dropout and batch/layer
    normalization as options. For a network with L layers, the architecture will be

    {affine - [batch/layer norm] - relu - [dropout]} x (L - 1) - affine - softmax

    where batch/layer normalization and dropout are optional and the {...} block is
    repeated L - 1 times.

    Learnable parameters are stored in the self.params dictionary and will be learned
    using the Solver class.
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
          a unit in dropout. If dropout_keep_ratio=1 then the network should not use
          dropout at all.
        - normalization: What type of normalization the network should use. Valid values
          are "batchnorm", "layernorm", or None for no normalization (the default).
        - reg: Scalar giving L2 regularization strength.
        - weight_scale: Scalar giving the standard deviation for random
          initialization of the weights.
        - dtype: A numpy datatype object; all computations will be performed using
          this datatype. float32 is faster but less accurate; numeric gradient
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
        hidden_dims = [_check_positive_int(f"hidden_dims[{i}]", h) for i, h in enumerate(hidden_dims)]
        self.input_dim = _check_positive_int("input_dim", input_dim)
        self.num_classes = _check_positive_int("num_classes", num_classes)
        if normalization not in NORMALIZATIONS:
            raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {normalization!r}")
        if isinstance(dropout_keep_ratio, bool) or not isinstance(dropout_keep_ratio, Real) \
                or not 0 < dropout_keep_ratio <= 1:
            raise ValueError(f"dropout_keep_ratio is the keep probability and must be in (0, 1], "
                             f"got {dropout_keep_ratio!r}")
        weight_scale = _check_positive("weight_scale", weight_scale)
        if np.dtype(dtype).kind != "f":
            raise ValueError(f"dtype must be a floating-point type such as np.float32, got {dtype!r}")

        self.normalization = normalization
        self.use_dropout = dropout_keep_ratio != 1
        self.reg = _check_non_negative("reg", reg)
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
