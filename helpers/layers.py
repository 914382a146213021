"""Modular layers: each layer is a `*_forward` function returning `(out, cache)` and a
`*_backward(dout, cache)` function returning the gradients with respect to its inputs.

Names, signatures and return conventions follow the CS231n starter code, so a network
is assembled by chaining forward calls and walking the caches back in reverse order.
Inputs are validated at the boundary: a wrong shape raises a ValueError naming the
expected and the received shape instead of a broadcast error deeper down.
"""

import numpy as np

# ----------------------------------------------------------------------------- validation


def _as_float_array(name, value):
    """Return `value` as a floating-point NumPy array (integers are promoted to float64)."""
    array = np.asarray(value)
    if array.dtype.kind not in "fiub":
        raise ValueError(f"{name} must be a numeric array, got dtype {array.dtype}")
    return array if array.dtype.kind == "f" else array.astype(np.float64)


def _check_shape(name, array, expected):
    """Raise a ValueError unless array.shape == expected."""
    if array.shape != tuple(expected):
        raise ValueError(f"{name} must have shape {tuple(expected)}, got {array.shape}")


def _check_scores_and_labels(x, y):
    """Validate class scores x of shape (N, C) and integer labels y of shape (N,) in [0, C)."""
    x = _as_float_array("x", x)
    if x.ndim != 2:
        raise ValueError(f"x must be class scores of shape (N, C), got shape {x.shape}")
    y = np.asarray(y)
    if y.shape != (x.shape[0],):
        raise ValueError(f"y must have shape ({x.shape[0]},) to match x {x.shape}, got {y.shape}")
    if y.dtype.kind not in "iu":
        raise ValueError(f"y must hold integer class labels, got dtype {y.dtype}")
    if y.size and (y.min() < 0 or y.max() >= x.shape[1]):
        raise ValueError(f"y must hold labels in [0, {x.shape[1]}), got values in [{y.min()}, {y.max()}]")
    return x, y


def _check_normalization_inputs(x, gamma, beta, layer):
    """Validate x of shape (N, D) and gamma, beta of shape (D,) for batch/layer normalization."""
    x = _as_float_array("x", x)
    if x.ndim != 2:
        raise ValueError(f"{layer}: x must have shape (N, D), got {x.shape}")
    gamma = _as_float_array("gamma", gamma)
    beta = _as_float_array("beta", beta)
    _check_shape(f"{layer}: gamma", gamma, (x.shape[1],))
    _check_shape(f"{layer}: beta", beta, (x.shape[1],))
    return x, gamma, beta


def _check_eps(eps, layer):
    if not np.isscalar(eps) or not eps > 0:
        raise ValueError(f"{layer}: eps must be a positive number, got {eps!r}")
    return eps


# ----------------------------------------------------------------------------- affine and ReLU


def affine_forward(x, w, b):
    """
    Forward pass for an affine (fully connected) layer.

    The input x has shape (N, d_1, ..., d_k): a minibatch of N examples, each of
    which is reshaped into a vector of dimension D = d_1 * ... * d_k and mapped to
    an output vector of dimension M.

    Inputs:
    - x: A numpy array containing input data, of shape (N, d_1, ..., d_k)
    - w: A numpy array of weights, of shape (D, M)
    - b: A numpy array of biases, of shape (M,)

    Returns a tuple of:
    - out: output, of shape (N, M)
    - cache: (x, w, b)
    """
    x = _as_float_array("x", x)
    w = _as_float_array("w", w)
    b = _as_float_array("b", b)
    if w.ndim != 2:
        raise ValueError(f"w must have shape (D, M), got {w.shape}")
    if x.ndim < 2:
        raise ValueError(f"x must have shape (N, d_1, ..., d_k), got {x.shape}")
    D, M = w.shape
    if int(np.prod(x.shape[1:])) != D:
        raise ValueError(f"x must have shape (N, d_1, ..., d_k) with d_1 * ... * d_k = {D} to match "
                         f"w {w.shape}, got {x.shape}")
    _check_shape("b", b, (M,))
    out = x.reshape(x.shape[0], D) @ w + b
    cache = (x, w, b)
    return out, cache


def affine_backward(dout, cache):
    """
    Backward pass for an affine layer.

    Inputs:
    - dout: Upstream derivative, of shape (N, M)
    - cache: Tuple of:
      - x: Input data, of shape (N, d_1, ..., d_k)
      - w: Weights, of shape (D, M)
      - b: Biases, of shape (M,)

    Returns a tuple of:
    - dx: Gradient with respect to x, of shape (N, d1, ..., d_k)
    - dw: Gradient with respect to w, of shape (D, M)
    - db: Gradient with respect to b, of shape (M,)
    """
    x, w, _ = cache
    dout = _as_float_array("dout", dout)
    _check_shape("dout", dout, (x.shape[0], w.shape[1]))
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


def relu_forward(x):
    """
    Forward pass for a layer of rectified linear units (ReLUs).

    Input:
    - x: Inputs, of any shape

    Returns a tuple of:
    - out: Output, of the same shape as x
    - cache: x
    """
    x = _as_float_array("x", x)
    out = np.maximum(x, 0)
    cache = x
    return out, cache


def relu_backward(dout, cache):
    """
    Backward pass for a layer of rectified linear units (ReLUs).

    Input:
    - dout: Upstream derivatives, of any shape
    - cache: Input x, of the same shape as dout

    Returns:
    - dx: Gradient with respect to x, of the same shape as x
    """
    x = cache
    dout = _as_float_array("dout", dout)
    _check_shape("dout", dout, x.shape)
    # The subgradient at exactly 0 is taken as 0, as PyTorch does.
    dx = dout * (x > 0)
    return dx


# ----------------------------------------------------------------------------- losses


def svm_loss(x, y):
    """
    Computes the loss and gradient for multiclass SVM classification.

    Inputs:
    - x: Input data, of shape (N, C) where x[i, j] is the score for the jth
      class for the ith input.
    - y: Vector of labels, of shape (N,) where y[i] is the label for x[i] and
      0 <= y[i] < C

    Returns a tuple of:
    - loss: Scalar giving the loss (mean over the N examples of the hinge losses with margin 1)
    - dx: Gradient of the loss with respect to x, of shape (N, C)
    """
    x, y = _check_scores_and_labels(x, y)
    N = x.shape[0]
    rows = np.arange(N)
    margins = np.maximum(0, x - x[rows, y][:, None] + 1.0)
    margins[rows, y] = 0
    loss = margins.sum() / N
    # Each positive margin pushes its class score up and the correct class score down.
    positive = (margins > 0).astype(x.dtype)
    positive[rows, y] = -positive.sum(axis=1)
    dx = positive / N
    return loss, dx


def softmax_loss(x, y):
    """
    Computes the loss and gradient for softmax classification.

    Inputs:
    - x: Input data, of shape (N, C) where x[i, j] is the score for the jth
      class for the ith input.
    - y: Vector of labels, of shape (N,) where y[i] is the label for x[i] and
      0 <= y[i] < C

    Returns a tuple of:
    - loss: Scalar giving the mean cross-entropy loss
    - dx: Gradient of the loss with respect to x, of shape (N, C)
    """
    x, y = _check_scores_and_labels(x, y)
    N = x.shape[0]
    rows = np.arange(N)
    # Shifting each row by its maximum leaves the softmax unchanged and keeps exp() finite.
    shifted = x - x.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[rows, y].sum() / N
    dx = np.exp(log_probs)
    dx[rows, y] -= 1
    dx /= N
    return loss, dx


# ----------------------------------------------------------------------------- batch normalization


def batchnorm_forward(x, gamma, beta, bn_param):
    """
    Forward pass for batch normalization.

    During training the sample mean and (uncorrected) sample variance are computed
    from minibatch statistics and used to normalize the incoming data. During
    training we also keep an exponentially decaying running mean of the mean and
    variance of each feature, and these averages are used to normalize data at
    test time. At each timestep we update the running averages using momentum:

    running_mean = momentum * running_mean + (1 - momentum) * sample_mean
    running_var = momentum * running_var + (1 - momentum) * sample_var

    Inputs:
    - x: Data of shape (N, D)
    - gamma: Scale parameter of shape (D,)
    - beta: Shift paremeter of shape (D,)
    - bn_param: Dictionary with the following keys:
      - mode: 'train' or 'test'; required
      - eps: Constant for numeric stability (default 1e-5)
      - momentum: Constant for running mean / variance (default 0.9)
      - running_mean: Array of shape (D,) giving running mean of features
        (created as zeros on the first call)
      - running_var Array of shape (D,) giving running variance of features
        (created as zeros on the first call)
      The running averages are updated in this dictionary in train mode.

    Returns a tuple of:
    - out: of shape (N, D)
    - cache: A dictionary of values needed in the backward pass
    """
    x, gamma, beta = _check_normalization_inputs(x, gamma, beta, "batchnorm_forward")
    if not isinstance(bn_param, dict) or "mode" not in bn_param:
        raise ValueError(f"bn_param must be a dict with a 'mode' key ('train' or 'test'), got {bn_param!r}")
    mode = bn_param["mode"]
    eps = _check_eps(bn_param.get("eps", 1e-5), "batchnorm_forward")
    momentum = bn_param.get("momentum", 0.9)
    if not np.isscalar(momentum) or not 0 <= momentum <= 1:
        raise ValueError(f"batchnorm_forward: momentum must be in [0, 1], got {momentum!r}")

    N, D = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(D, dtype=x.dtype))
    _check_shape("bn_param['running_mean']", np.asarray(running_mean), (D,))
    _check_shape("bn_param['running_var']", np.asarray(running_var), (D,))

    if mode == "train":
        if N < 2:
            raise ValueError(f"batchnorm_forward: training needs a batch of at least 2 rows to estimate a "
                             f"variance, got x of shape {x.shape}")
        mean = x.mean(axis=0)
        xmu = x - mean
        var = np.mean(xmu**2, axis=0)
        std = np.sqrt(var + eps)
        inv_std = 1.0 / std
        x_hat = xmu * inv_std
        out = gamma * x_hat + beta
        bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mean
        bn_param["running_var"] = momentum * running_var + (1 - momentum) * var
        cache = {"mode": "train", "x_hat": x_hat, "xmu": xmu, "std": std, "inv_std": inv_std,
                 "gamma": gamma}
    elif mode == "test":
        inv_std = 1.0 / np.sqrt(running_var + eps)
        x_hat = (x - running_mean) * inv_std
        out = gamma * x_hat + beta
        bn_param["running_mean"] = running_mean
        bn_param["running_var"] = running_var
        # At test time the statistics are constants, so the layer is a per-feature affine map.
        cache = {"mode": "test", "x_hat": x_hat, "inv_std": inv_std, "gamma": gamma}
    else:
        raise ValueError(f"bn_param['mode'] must be 'train' or 'test', got {mode!r}")
    return out.astype(x.dtype, copy=False), cache


def _check_normalization_dout(dout, cache, layer):
    dout = _as_float_array("dout", dout)
    _check_shape(f"{layer}: dout", dout, cache["x_hat"].shape)
    return dout


def _frozen_statistics_backward(dout, cache):
    """Backward pass of a normalization whose mean and variance are constants (test mode)."""
    dgamma = np.sum(dout * cache["x_hat"], axis=0)
    dbeta = dout.sum(axis=0)
    dx = dout * (cache["gamma"] * cache["inv_std"])
    return dx, dgamma, dbeta


def batchnorm_backward(dout, cache):
    """
    Backward pass for batch normalization, one node of the computational graph at a time.

    The forward pass is the graph
        mean = sum(x) / N,  xmu = x - mean,  var = sum(xmu**2) / N,
        std = sqrt(var + eps),  inv_std = 1 / std,  x_hat = xmu * inv_std,
        out = gamma * x_hat + beta
    and this function backpropagates through it node by node, in reverse.

    Inputs:
    - dout: Upstream derivatives, of shape (N, D)
    - cache: Variable of intermediates from batchnorm_forward.

    Returns a tuple of:
    - dx: Gradient with respect to inputs x, of shape (N, D)
    - dgamma: Gradient with respect to scale parameter gamma, of shape (D,)
    - dbeta: Gradient with respect to shift parameter beta, of shape (D,)
    """
    dout = _check_normalization_dout(dout, cache, "batchnorm_backward")
    if cache["mode"] == "test":
        return _frozen_statistics_backward(dout, cache)
    x_hat, xmu, std, inv_std, gamma = (cache[k] for k in ("x_hat", "xmu", "std", "inv_std", "gamma"))
    N = dout.shape[0]

    # out = gamma * x_hat + beta
    dbeta = dout.sum(axis=0)
    dgamma = np.sum(dout * x_hat, axis=0)
    dx_hat = dout * gamma
    # x_hat = xmu * inv_std: xmu feeds two branches (x_hat directly, and var through xmu**2)
    dinv_std = np.sum(dx_hat * xmu, axis=0)
    dxmu = dx_hat * inv_std
    # inv_std = 1 / std
    dstd = -dinv_std / std**2
    # std = sqrt(var + eps)
    dvar = 0.5 * dstd / std
    # var = sum(xmu**2) / N
    dsq = np.ones_like(dout) * dvar / N
    dxmu += 2 * xmu * dsq
    # xmu = x - mean: x feeds xmu directly and through the mean
    dmean = -dxmu.sum(axis=0)
    # mean = sum(x) / N
    dx = dxmu + np.ones_like(dout) * dmean / N
    return dx, dgamma, dbeta


def batchnorm_backward_alt(dout, cache):
    """
    Alternative backward pass for batch normalization: the gradients simplified on paper.

    With x_hat the normalized input and inv_std = 1 / sqrt(var + eps),
        dx = gamma * inv_std / N * (N * dout - sum(dout) - x_hat * sum(dout * x_hat))
    where the sums run over the batch; the two sums are exactly dbeta and dgamma.

    Inputs / outputs: Same as batchnorm_backward
    """
    dout = _check_normalization_dout(dout, cache, "batchnorm_backward_alt")
    if cache["mode"] == "test":
        return _frozen_statistics_backward(dout, cache)
    x_hat = cache["x_hat"]
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = np.sum(dout * x_hat, axis=0)
    dx = (cache["gamma"] * cache["inv_std"] / N) * (N * dout - dbeta - x_hat * dgamma)
    return dx, dgamma, dbeta


# ----------------------------------------------------------------------------- layer normalization


def layernorm_forward(x, gamma, beta, ln_param):
    """
    Forward pass for layer normalization.

    During both training and test-time, the incoming data is normalized per data-point,
    before being scaled by gamma and beta parameters identical to that of batch normalization.

    Note that in contrast to batch normalization, the behavior during train and test-time for
    layer normalization are identical, and we do not need to keep track of running averages
    of any sort.

    Inputs:
    - x: Data of shape (N, D)
    - gamma: Scale parameter of shape (D,)
    - beta: Shift paremeter of shape (D,)
    - ln_param: Dictionary with the following keys:
        - eps: Constant for numeric stability (default 1e-5)
      Other keys (such as 'mode') are ignored.

    Returns a tuple of:
    - out: of shape (N, D)
    - cache: A dictionary of values needed in the backward pass
    """
    x, gamma, beta = _check_normalization_inputs(x, gamma, beta, "layernorm_forward")
    if not isinstance(ln_param, dict):
        raise ValueError(f"ln_param must be a dict (possibly empty), got {ln_param!r}")
    eps = _check_eps(ln_param.get("eps", 1e-5), "layernorm_forward")
    # The same normalization as batchnorm, with the statistics taken over each row instead.
    xmu = x - x.mean(axis=1, keepdims=True)
    inv_std = 1.0 / np.sqrt(np.mean(xmu**2, axis=1, keepdims=True) + eps)
    x_hat = xmu * inv_std
    out = gamma * x_hat + beta
    cache = {"x_hat": x_hat, "inv_std": inv_std, "gamma": gamma}
    return out.astype(x.dtype, copy=False), cache


def layernorm_backward(dout, cache):
    """
    Backward pass for layer normalization.

    It is batchnorm_backward_alt with the roles of the two axes swapped: the statistics
    are per row, so the sums in dx run over the D features of each example.

    Inputs:
    - dout: Upstream derivatives, of shape (N, D)
    - cache: Variable of intermediates from layernorm_forward.

    Returns a tuple of:
    - dx: Gradient with respect to inputs x, of shape (N, D)
    - dgamma: Gradient with respect to scale parameter gamma, of shape (D,)
    - dbeta: Gradient with respect to shift parameter beta, of shape (D,)
    """
    dout = _check_normalization_dout(dout, cache, "layernorm_backward")
    x_hat = cache["x_hat"]
    D = dout.shape[1]
    dbeta = dout.sum(axis=0)
    dgamma = np.sum(dout * x_hat, axis=0)
    dx_hat = dout * cache["gamma"]
    dx = (cache["inv_std"] / D) * (D * dx_hat - dx_hat.sum(axis=1, keepdims=True)
                                   - x_hat * np.sum(dx_hat * x_hat, axis=1, keepdims=True))
    return dx, dgamma, dbeta


# ----------------------------------------------------------------------------- dropout


def dropout_forward(x, dropout_param):
    """
    Forward pass for inverted dropout.

    Note that this is different from the vanilla version of dropout.
    Here, p is the probability of keeping a neuron output, as opposed to
    the probability of dropping a neuron output. Kept values are divided by p
    during training, so the expected output equals the input and the test-time
    pass is the identity.

    Inputs:
    - x: Input data, of any shape
    - dropout_param: A dictionary with the following keys:
      - p: Dropout parameter. We keep each neuron output with probability p; 0 < p <= 1.
      - mode: 'test' or 'train'. If the mode is train, then perform dropout;
        if the mode is test, then just return the input.
      - seed: Seed for the random number generator. Passing seed makes this
        function deterministic (the same mask on every call), which is needed
        for gradient checking but not in real networks. Without it the mask is
        drawn from NumPy's global generator (seeded by np.random.seed).

    Outputs:
    - out: Array of the same shape as x.
    - cache: tuple (dropout_param, mask). In training mode, mask is the dropout
      mask (already divided by p) that was used to multiply the input; in
      test mode, mask is None.
    """
    x = _as_float_array("x", x)
    if not isinstance(dropout_param, dict) or "p" not in dropout_param or "mode" not in dropout_param:
        raise ValueError(f"dropout_param must be a dict with keys 'p' (keep probability) and 'mode', "
                         f"got {dropout_param!r}")
    p, mode = dropout_param["p"], dropout_param["mode"]
    if not np.isscalar(p) or not 0 < p <= 1:
        raise ValueError(f"dropout_param['p'] is the keep probability and must be in (0, 1], got {p!r}")

    if mode == "train":
        rng = np.random.default_rng(dropout_param["seed"]) if "seed" in dropout_param else np.random
        mask = ((rng.random(x.shape) < p) / p).astype(x.dtype)
        out = x * mask
    elif mode == "test":
        mask = None
        out = x
    else:
        raise ValueError(f"dropout_param['mode'] must be 'train' or 'test', got {mode!r}")
    cache = (dropout_param, mask)
    return out, cache


def dropout_backward(dout, cache):
    """
    Backward pass for inverted dropout.

    Inputs:
    - dout: Upstream derivatives, of any shape
    - cache: (dropout_param, mask) from dropout_forward.

    Returns:
    - dx: Gradient with respect to x, of the same shape as dout
    """
    _, mask = cache
    dout = _as_float_array("dout", dout)
    # Branch on the mask, not on dropout_param['mode'], which the caller may have changed since.
    if mask is None:
        return dout
    _check_shape("dout", dout, mask.shape)
    return dout * mask
