"""A three-layer convolutional network, built from the layers of assignment 2."""

import numpy as np

from helpers._checks import check_labels, non_negative_number, positive_int, positive_number
from helpers.layer_utils import (
    affine_relu_backward,
    affine_relu_forward,
    conv_relu_pool_backward,
    conv_relu_pool_forward,
)
from helpers.layers import affine_backward, affine_forward, softmax_loss


class ThreeLayerConvNet:
    """
    A three-layer convolutional network with the following architecture:

    conv - relu - 2x2 max pool - affine - relu - affine - softmax

    The network operates on minibatches of data that have shape (N, C, H, W)
    consisting of N images, each with height H and width W and with C input
    channels. The convolution keeps the spatial size (stride 1, "same" padding),
    and the pool halves it.
    """

    def __init__(self, input_dim=(3, 32, 32), num_filters=32, filter_size=7, hidden_dim=100, num_classes=10,
                 weight_scale=1e-3, reg=0.0, dtype=np.float32, seed=None):
        """
        Initialize a new network.

        Inputs:
        - input_dim: Tuple (C, H, W) giving size of input data; H and W must be even
        - num_filters: Number of filters to use in the convolutional layer
        - filter_size: Width/height of filters to use in the convolutional layer (odd,
          so that "same" padding exists)
        - hidden_dim: Number of units to use in the fully-connected hidden layer
        - num_classes: Number of scores to produce from the final affine layer.
        - weight_scale: Scalar giving standard deviation for random initialization
          of weights.
        - reg: Scalar giving L2 regularization strength
        - dtype: numpy datatype to use for computation.
        - seed: If not None, seed of the generator that draws the initial weights

        The parameters go into the dictionary self.params: 'W1' and 'b1' for the
        convolution (W1 of shape (num_filters, C, filter_size, filter_size)), 'W2' and
        'b2' for the hidden affine layer (its input is the pooled output, flattened),
        'W3' and 'b3' for the output affine layer. Weights are drawn from a normal
        distribution with standard deviation weight_scale; biases start at zero.
        """
        if len(input_dim) != 3 or any(int(d) != d or d <= 0 for d in input_dim):
            raise ValueError(f"input_dim must be three positive integers (C, H, W), got {input_dim!r}")
        C, H, W = (int(d) for d in input_dim)
        if H % 2 or W % 2:
            raise ValueError(f"the 2x2 pool needs an even height and width, got input_dim {input_dim!r}")
        if positive_int("filter_size", filter_size) % 2 == 0:
            raise ValueError(f"filter_size must be a positive odd number (for 'same' padding), got {filter_size}")
        num_filters = positive_int("num_filters", num_filters)
        hidden_dim = positive_int("hidden_dim", hidden_dim)
        num_classes = positive_int("num_classes", num_classes)
        reg, weight_scale = non_negative_number("reg", reg), positive_number("weight_scale", weight_scale)

        self.params = {}
        self.reg = reg
        self.dtype = dtype
        self.input_dim = (C, H, W)
        self.filter_size = filter_size

        rng = np.random.default_rng(seed)
        pooled_dim = num_filters * (H // 2) * (W // 2)
        self.params["W1"] = weight_scale * rng.standard_normal((num_filters, C, filter_size, filter_size))
        self.params["b1"] = np.zeros(num_filters)
        self.params["W2"] = weight_scale * rng.standard_normal((pooled_dim, hidden_dim))
        self.params["b2"] = np.zeros(hidden_dim)
        self.params["W3"] = weight_scale * rng.standard_normal((hidden_dim, num_classes))
        self.params["b3"] = np.zeros(num_classes)

        for k, v in self.params.items():
            self.params[k] = v.astype(dtype)

    def loss(self, X, y=None):
        """
        Evaluate loss and gradient for the three-layer convolutional network.

        Inputs:
        - X: Array of input data of shape (N, C, H, W)
        - y: Array of labels, of shape (N,). y[i] gives the label for X[i].

        Returns:
        If y is None, then run a test-time forward pass of the model and return:
        - scores: Array of shape (N, num_classes) giving classification scores

        If y is not None, then run a training-time forward and backward pass and
        return a tuple of:
        - loss: Scalar value giving the loss
        - grads: Dictionary with the same keys as self.params, mapping parameter
          names to gradients of the loss with respect to those parameters.
        """
        X = np.asarray(X)
        if X.ndim != 4 or X.shape[1:] != self.input_dim:
            raise ValueError(f"X must have shape (N, {', '.join(map(str, self.input_dim))}), got {X.shape}")
        if y is not None:
            y = check_labels("y", y, num_classes=self.params["W3"].shape[1], n=X.shape[0])
        X = X.astype(self.dtype, copy=False)
        W1, b1 = self.params["W1"], self.params["b1"]
        W2, b2 = self.params["W2"], self.params["b2"]
        W3, b3 = self.params["W3"], self.params["b3"]

        # Stride 1 and this padding keep the spatial size, so only the pool changes it.
        conv_param = {"stride": 1, "pad": (self.filter_size - 1) // 2}
        pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}

        pooled, conv_cache = conv_relu_pool_forward(X, W1, b1, conv_param, pool_param)
        hidden, hidden_cache = affine_relu_forward(pooled, W2, b2)
        scores, scores_cache = affine_forward(hidden, W3, b3)

        if y is None:
            return scores

        data_loss, dscores = softmax_loss(scores, y)
        loss = data_loss + 0.5 * self.reg * sum(np.sum(W * W) for W in (W1, W2, W3))

        grads = {}
        dhidden, grads["W3"], grads["b3"] = affine_backward(dscores, scores_cache)
        dpooled, grads["W2"], grads["b2"] = affine_relu_backward(dhidden, hidden_cache)
        _, grads["W1"], grads["b1"] = conv_relu_pool_backward(dpooled, conv_cache)
        for name in ("W1", "W2", "W3"):
            grads[name] = grads[name] + self.reg * self.params[name]
        return loss, grads
