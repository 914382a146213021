"""Modular layers: each layer is a `*_forward` function returning `(out, cache)` and a
`*_backward(dout, cache)` function returning the gradients with respect to its inputs.

Names, signatures and return conventions follow the CS231n starter code, so a network
is assembled by chaining forward calls and walking the caches back in reverse order.
Inputs are validated at the boundary: a wrong shape raises a ValueError naming the
expected and the received shape instead of a broadcast error deeper down.
"""

import numpy as np

from helpers._checks import (
    as_float_array,
    check_labels,
    check_ndim,
    check_shape,
    conv_geometry,
    conv_transpose_geometry,
    number_in,
    one_of,
    pool_geometry,
    positive_int,
    positive_number,
)

MODES = ("train", "test")


def _check_affine(x, w, b):
    """x (N, d_1, ..., d_k), w (D, M) with D = d_1 * ... * d_k, b (M,), as float arrays."""
    x, w, b = as_float_array("x", x), as_float_array("w", w), as_float_array("b", b)
    check_ndim("w", w, 2, "(D, M)")
    if x.ndim < 2 or int(np.prod(x.shape[1:])) != w.shape[0]:
        raise ValueError(f"x must have shape (N, d_1, ..., d_k) with d_1 * ... * d_k = {w.shape[0]} to match "
                         f"w {w.shape}, got {x.shape}")
    check_shape("b", b, (w.shape[1],))
    return x, w, b


def _check_scores_and_labels(x, y):
    """Class scores x of shape (N, C) and integer labels y of shape (N,) in 0..C-1."""
    x = as_float_array("x", x)
    check_ndim("x (class scores)", x, 2, "(N, C)")
    if x.shape[0] == 0:
        raise ValueError(f"x must hold at least one example (the loss is a mean over N >= 1), got shape {x.shape}")
    return x, check_labels("y", y, num_classes=x.shape[1], n=x.shape[0])


def _check_normalization(x, gamma, beta, eps, layer):
    """x of shape (N, D), gamma and beta of shape (D,), eps > 0, for batch/layer normalization."""
    x, gamma, beta = as_float_array("x", x), as_float_array("gamma", gamma), as_float_array("beta", beta)
    check_ndim(f"{layer}: x", x, 2, "(N, D)")
    check_shape(f"{layer}: gamma", gamma, (x.shape[1],))
    check_shape(f"{layer}: beta", beta, (x.shape[1],))
    return x, gamma, beta, positive_number(f"{layer}: eps", eps)


def _check_dout(dout, shape, layer=None):
    dout = as_float_array("dout", dout)
    check_shape(f"{layer}: dout" if layer else "dout", dout, shape)
    return dout


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
    x, w, b = _check_affine(x, w, b)
    out = x.reshape(x.shape[0], -1) @ w + b  # (N, D) @ (D, M) + (M,) -> (N, M)
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
    dout = _check_dout(dout, (x.shape[0], w.shape[1]))
    dx = (dout @ w.T).reshape(x.shape)  # (N, D) -> (N, d_1, ..., d_k)
    dw = x.reshape(x.shape[0], -1).T @ dout  # (D, N) @ (N, M)
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
    x = as_float_array("x", x)
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
    dout = _check_dout(dout, x.shape)
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
    - beta: Shift parameter of shape (D,)
    - bn_param: Dictionary with the following keys:
      - mode: 'train' or 'test'; required
      - eps: Constant for numeric stability (default 1e-5)
      - momentum: Constant for running mean / variance (default 0.9)
      - running_mean: Array of shape (D,) giving running mean of features
        (created as zeros on the first call)
      - running_var: Array of shape (D,) giving running variance of features
        (created as zeros on the first call)
      The running averages are updated in this dictionary in train mode.

    Returns a tuple of:
    - out: of shape (N, D)
    - cache: A dictionary of values needed in the backward pass.
      In train mode: {'training': True, 'x_hat': (N, D) normalized x, 'xmu': (N, D) x minus the
      batch mean, 'std': (D,) sqrt(batch variance + eps), 'inv_std': (D,) 1 / std, 'gamma': gamma}
      In test mode: {'training': False, 'x_hat': (N, D) x normalized with the running averages,
      'inv_std': (D,) 1 / sqrt(running_var + eps), 'gamma': gamma}
    """
    if not isinstance(bn_param, dict) or "mode" not in bn_param:
        raise ValueError(f"bn_param must be a dict with a 'mode' key ('train' or 'test'), got {bn_param!r}")
    x, gamma, beta, eps = _check_normalization(x, gamma, beta, bn_param.get("eps", 1e-5), "batchnorm_forward")
    mode = one_of("bn_param['mode']", bn_param["mode"], MODES)
    momentum = number_in("batchnorm_forward: momentum", bn_param.get("momentum", 0.9), 0, 1)
    N, D = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(D, dtype=x.dtype))
    check_shape("bn_param['running_mean']", running_mean, (D,))
    check_shape("bn_param['running_var']", running_var, (D,))
    if mode == "train" and N < 2:
        raise ValueError(f"batchnorm_forward: training needs a batch of at least 2 rows to estimate a "
                         f"variance, got x of shape {x.shape}")

    if mode == "train":
        mean = x.mean(axis=0)
        xmu = x - mean
        var = np.mean(xmu**2, axis=0)
        std = np.sqrt(var + eps)
        inv_std = 1.0 / std
        x_hat = xmu * inv_std
        out = gamma * x_hat + beta
        bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mean
        bn_param["running_var"] = momentum * running_var + (1 - momentum) * var
        cache = {"training": True, "x_hat": x_hat, "xmu": xmu, "std": std, "inv_std": inv_std,
                 "gamma": gamma}
    else:
        inv_std = 1.0 / np.sqrt(running_var + eps)
        x_hat = (x - running_mean) * inv_std
        out = gamma * x_hat + beta
        bn_param["running_mean"] = running_mean
        bn_param["running_var"] = running_var
        # At test time the statistics are constants, so the layer is a per-feature affine map.
        cache = {"training": False, "x_hat": x_hat, "inv_std": inv_std, "gamma": gamma}
    return out.astype(x.dtype, copy=False), cache


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
    dout = _check_dout(dout, cache["x_hat"].shape, "batchnorm_backward")
    if not cache["training"]:
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
    Alternative backward pass for batch normalization: the same gradients as
    batchnorm_backward, with dx simplified on paper into one expression over whole
    (N, D) arrays instead of a pass through the graph node by node.

    Inputs / outputs: Same as batchnorm_backward
    """
    dout = _check_dout(dout, cache["x_hat"].shape, "batchnorm_backward_alt")
    if not cache["training"]:
        return _frozen_statistics_backward(dout, cache)
    x_hat = cache["x_hat"]
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = np.sum(dout * x_hat, axis=0)
    # x reaches x_hat directly, through the mean and through the variance; the last two paths
    # contribute a sum over the batch each, and those sums are exactly dbeta and dgamma.
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
    - beta: Shift parameter of shape (D,)
    - ln_param: Dictionary with the following keys:
        - eps: Constant for numeric stability (default 1e-5)
      Other keys (such as 'mode') are ignored.

    Returns a tuple of:
    - out: of shape (N, D)
    - cache: {'x_hat': (N, D) normalized x, 'inv_std': (N, 1) 1 / sqrt(per-example variance + eps),
      'gamma': gamma}
    """
    if not isinstance(ln_param, dict):
        raise ValueError(f"ln_param must be a dict (possibly empty), got {ln_param!r}")
    x, gamma, beta, eps = _check_normalization(x, gamma, beta, ln_param.get("eps", 1e-5), "layernorm_forward")
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
    dout = _check_dout(dout, cache["x_hat"].shape, "layernorm_backward")
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

    The mask keeps the units where u < p, for u = rng.random(x.shape) drawn with
    rng = np.random.default_rng(seed) when dropout_param has a seed, and with
    rng = np.random otherwise (so that a seeded mask is the same in every implementation).

    Outputs:
    - out: Array of the same shape and dtype as x.
    - cache: mask. In training mode, the dropout mask (already divided by p) that
      was used to multiply the input, of the same shape as x; in test mode, None.
      (CS231n's cache also holds dropout_param; the mask alone determines the
      backward pass.)
    """
    if not isinstance(dropout_param, dict) or "p" not in dropout_param or "mode" not in dropout_param:
        raise ValueError(f"dropout_param must be a dict with keys 'p' (keep probability) and 'mode', "
                         f"got {dropout_param!r}")
    x = as_float_array("x", x)
    p = number_in("dropout_param['p'] (the keep probability)", dropout_param["p"], 0, 1, low_open=True)
    mode = one_of("dropout_param['mode']", dropout_param["mode"], MODES)

    if mode == "train":
        rng = np.random.default_rng(dropout_param["seed"]) if "seed" in dropout_param else np.random
        mask = ((rng.random(x.shape) < p) / p).astype(x.dtype)
        out = x * mask
    else:
        mask = None
        out = x
    cache = mask
    return out, cache


def dropout_backward(dout, cache):
    """
    Backward pass for inverted dropout.

    Inputs:
    - dout: Upstream derivatives, of any shape
    - cache: mask from dropout_forward (None in test mode).

    Returns:
    - dx: Gradient with respect to x, of the same shape as dout
    """
    mask = cache
    if mask is None:
        return as_float_array("dout", dout)
    return _check_dout(dout, mask.shape) * mask


# ----------------------------------------------------------------------------- convolutional layers
# Shapes follow CS231n: images are (N, C, H, W), filters (F, C, HH, WW). When a window does not
# fit a whole number of times, i.e. (H + 2 * pad - HH) is not a multiple of stride, the output
# size is floored, exactly as in PyTorch: the last rows/columns that no window reaches are simply
# not used (and get zero gradient). Every implementation (naive, fast_layers, torch_layers)
# takes its geometry from helpers._checks.conv_geometry / pool_geometry.


def conv_forward_naive(x, w, b, conv_param):
    """
    A naive implementation of the forward pass for a convolutional layer.

    The input consists of N data points, each with C channels, height H and width W.
    We convolve each input with F different filters, where each filter spans all C
    channels and has height HH and width WW.

    Inputs:
    - x: Input data of shape (N, C, H, W)
    - w: Filter weights of shape (F, C, HH, WW)
    - b: Biases, of shape (F,)
    - conv_param: A dictionary with the following keys:
      - 'stride': The number of pixels between adjacent receptive fields in the
        horizontal and vertical directions.
      - 'pad': The number of pixels that will be used to zero-pad the input.

    During padding, 'pad' zeros are placed symmetrically (i.e. equally on both sides)
    along the height and width axes of the input; x itself is left unchanged.

    Returns a tuple of:
    - out: Output data, of shape (N, F, H', W') where H' and W' are given by
      H' = 1 + (H + 2 * pad - HH) // stride
      W' = 1 + (W + 2 * pad - WW) // stride
    - cache: (x, w, b, conv_param)
    """
    stride, pad, H_out, W_out = conv_geometry(np.shape(x), np.shape(w), np.shape(b), conv_param)
    N, F = x.shape[0], w.shape[0]
    HH, WW = w.shape[2], w.shape[3]
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
    out = np.zeros((N, F, H_out, W_out), dtype=np.result_type(x, w, b))
    # One dot product per output value: the receptive field of output (i, j) is the
    # HH x WW window whose top-left corner is at (i * stride, j * stride) in x_pad.
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    window = x_pad[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    cache = (x, w, b, conv_param)
    return out, cache


def conv_backward_naive(dout, cache):
    """
    A naive implementation of the backward pass for a convolutional layer.

    Inputs:
    - dout: Upstream derivatives, of shape (N, F, H', W')
    - cache: A tuple of (x, w, b, conv_param) as in conv_forward_naive

    Returns a tuple of:
    - dx: Gradient with respect to x, of shape (N, C, H, W)
    - dw: Gradient with respect to w, of shape (F, C, HH, WW)
    - db: Gradient with respect to b, of shape (F,)
    """
    x, w, b, conv_param = cache
    stride, pad, H_out, W_out = conv_geometry(x.shape, w.shape, b.shape, conv_param)
    N, F = x.shape[0], w.shape[0]
    HH, WW = w.shape[2], w.shape[3]
    check_shape("dout", dout, (N, F, H_out, W_out))
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
    dx_pad = np.zeros_like(x_pad, dtype=np.result_type(x, w, dout))
    dw = np.zeros_like(w, dtype=dx_pad.dtype)
    # Each output value is a dot product of one window with w[f], so its upstream
    # gradient flows back into that window (through w[f]) and into w[f] (through the window).
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    rows = slice(i * stride, i * stride + HH)
                    cols = slice(j * stride, j * stride + WW)
                    dx_pad[n, :, rows, cols] += w[f] * dout[n, f, i, j]
                    dw[f] += x_pad[n, :, rows, cols] * dout[n, f, i, j]
    db = dout.sum(axis=(0, 2, 3))
    # The gradient of the padding zeros is not part of dx.
    dx = dx_pad[:, :, pad:pad + x.shape[2], pad:pad + x.shape[3]]
    return dx, dw, db


def max_pool_forward_naive(x, pool_param):
    """
    A naive implementation of the forward pass for a max-pooling layer.

    Inputs:
    - x: Input data, of shape (N, C, H, W)
    - pool_param: dictionary with the following keys:
      - 'pool_height': The height of each pooling region
      - 'pool_width': The width of each pooling region
      - 'stride': The distance between adjacent pooling regions

    There is no padding.

    Returns a tuple of:
    - out: Output data, of shape (N, C, H', W') where H' and W' are given by
      H' = 1 + (H - pool_height) // stride
      W' = 1 + (W - pool_width) // stride
    - cache: (x, pool_param)
    """
    ph, pw, stride, H_out, W_out = pool_geometry(np.shape(x), pool_param)
    N, C = x.shape[:2]
    out = np.zeros((N, C, H_out, W_out), dtype=x.dtype)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    out[n, c, i, j] = x[n, c, i * stride:i * stride + ph, j * stride:j * stride + pw].max()
    cache = (x, pool_param)
    return out, cache


def max_pool_backward_naive(dout, cache):
    """
    A naive implementation of the backward pass for a max-pooling layer.

    The whole upstream gradient of a window goes to its maximum; when several values tie
    for the maximum it goes to the first one in row-major order, like np.argmax (and like
    every fast implementation in helpers.fast_layers and helpers.torch_layers).

    Inputs:
    - dout: Upstream derivatives, of shape (N, C, H', W')
    - cache: A tuple of (x, pool_param) as in the forward pass.

    Returns:
    - dx: Gradient with respect to x, of shape (N, C, H, W)
    """
    x, pool_param = cache
    ph, pw, stride, H_out, W_out = pool_geometry(x.shape, pool_param)
    N, C = x.shape[:2]
    check_shape("dout", dout, (N, C, H_out, W_out))
    dx = np.zeros_like(x, dtype=np.result_type(x, dout))
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    window = x[n, c, i * stride:i * stride + ph, j * stride:j * stride + pw]
                    di, dj = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, i * stride + di, j * stride + dj] += dout[n, c, i, j]
    return dx


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    """
    Computes the forward pass for spatial batch normalization.

    Each channel is normalized with the mean and variance over the minibatch AND the
    spatial positions, so the layer is vanilla batch normalization applied to the
    N * H * W vectors of C channels.

    Inputs:
    - x: Input data of shape (N, C, H, W)
    - gamma: Scale parameter, of shape (C,)
    - beta: Shift parameter, of shape (C,)
    - bn_param: Dictionary with the following keys:
      - mode: 'train' or 'test'; required
      - eps: Constant for numeric stability
      - momentum: Constant for running mean / variance. momentum=0 means that
        old information is discarded completely at every time step, while
        momentum=1 means that new information is never incorporated. The
        default of momentum=0.9 should work well in most situations.
      - running_mean: Array of shape (C,) giving running mean of features
      - running_var: Array of shape (C,) giving running variance of features

    Returns a tuple of:
    - out: Output data, of shape (N, C, H, W)
    - cache: Values needed for the backward pass
    """
    check_ndim("x", x, 4, "(N, C, H, W)")
    N, C, H, W = x.shape
    # Channels last, so that each row of the matrix is one "example" of C features.
    x_rows = x.transpose(0, 2, 3, 1).reshape(-1, C)  # (N * H * W, C)
    out_rows, cache = batchnorm_forward(x_rows, gamma, beta, bn_param)
    out = out_rows.reshape(N, H, W, C).transpose(0, 3, 1, 2)  # (N, C, H, W)
    return out, cache


def spatial_batchnorm_backward(dout, cache):
    """
    Computes the backward pass for spatial batch normalization.

    Inputs:
    - dout: Upstream derivatives, of shape (N, C, H, W)
    - cache: Values from the forward pass

    Returns a tuple of:
    - dx: Gradient with respect to inputs, of shape (N, C, H, W)
    - dgamma: Gradient with respect to scale parameter, of shape (C,)
    - dbeta: Gradient with respect to shift parameter, of shape (C,)
    """
    check_ndim("dout", dout, 4, "(N, C, H, W)")
    N, C, H, W = dout.shape
    dout_rows = dout.transpose(0, 2, 3, 1).reshape(-1, C)  # (N * H * W, C)
    dx_rows, dgamma, dbeta = batchnorm_backward_alt(dout_rows, cache)
    dx = dx_rows.reshape(N, H, W, C).transpose(0, 3, 1, 2)  # (N, C, H, W)
    return dx, dgamma, dbeta


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    """
    Computes the forward pass for spatial group normalization.

    In contrast to layer normalization, group normalization splits each entry in the data
    into G contiguous pieces, which it then normalizes independently. Per-feature shifting
    and scaling are then applied to the data, in a manner identical to that of batch
    normalization and layer normalization.

    Inputs:
    - x: Input data of shape (N, C, H, W)
    - gamma: Scale parameter, of shape (1, C, 1, 1)
    - beta: Shift parameter, of shape (1, C, 1, 1)
    - G: Integer number of groups to split into, a divisor of C
    - gn_param: Dictionary with the following keys:
      - eps: Constant for numeric stability

    Returns a tuple of:
    - out: Output data, of shape (N, C, H, W)
    - cache: Values needed for the backward pass
    """
    x = as_float_array("x", x)
    check_ndim("x", x, 4, "(N, C, H, W)")
    N, C, H, W = x.shape
    G = positive_int("G", G)
    if C % G != 0:
        raise ValueError(f"G must divide the number of channels C = {C}, got G = {G}")
    check_shape("gamma", gamma, (1, C, 1, 1))
    check_shape("beta", beta, (1, C, 1, 1))
    eps = positive_number("gn_param['eps']", gn_param.get("eps", 1e-5))
    x_groups = x.reshape(N, G, -1)  # (N, G, C // G * H * W)
    mean = x_groups.mean(axis=2, keepdims=True)
    inv_std = 1.0 / np.sqrt(x_groups.var(axis=2, keepdims=True) + eps)
    x_hat = ((x_groups - mean) * inv_std).reshape(N, C, H, W)  # (N, C, H, W)
    out = gamma * x_hat + beta
    cache = (x_hat, inv_std, gamma, G)
    return out, cache


def spatial_groupnorm_backward(dout, cache):
    """
    Computes the backward pass for spatial group normalization.

    Inputs:
    - dout: Upstream derivatives, of shape (N, C, H, W)
    - cache: Values from the forward pass

    Returns a tuple of:
    - dx: Gradient with respect to inputs, of shape (N, C, H, W)
    - dgamma: Gradient with respect to scale parameter, of shape (1, C, 1, 1)
    - dbeta: Gradient with respect to shift parameter, of shape (1, C, 1, 1)
    """
    x_hat, inv_std, gamma, G = cache
    check_shape("dout", dout, x_hat.shape)
    N = dout.shape[0]
    dgamma = np.sum(dout * x_hat, axis=(0, 2, 3), keepdims=True)
    dbeta = np.sum(dout, axis=(0, 2, 3), keepdims=True)
    # Within a group this is the layer-norm gradient: each group of M values was
    # normalized by its own mean and standard deviation.
    dx_hat = (dout * gamma).reshape(N, G, -1)  # (N, G, M), M = C // G * H * W
    x_hat_groups = x_hat.reshape(N, G, -1)  # (N, G, M)
    M = dx_hat.shape[2]
    dx = (inv_std / M) * (M * dx_hat - dx_hat.sum(axis=2, keepdims=True)
                          - x_hat_groups * np.sum(dx_hat * x_hat_groups, axis=2, keepdims=True))
    return dx.reshape(dout.shape), dgamma, dbeta  # dx (N, G, M) -> (N, C, H, W)


# ----------------------------------------------------------------------------- upsampling
# The decoder of a fully convolutional network grows its feature maps back to the image's size.
# A transpose convolution learns how; the unpooling layers below have no parameters.


def conv_transpose_forward_naive(x, w, b, conv_param):
    """
    A naive implementation of the forward pass for a transpose convolutional layer.

    Each input value paints a copy of its filter, scaled by the value, onto the output: the
    copy of input pixel (i, j) lands with its top-left corner at (i * stride, j * stride),
    overlapping copies add up, and 'pad' rows and columns are then cropped from every border
    (the padding a convolution with the same parameters would have added). This is the
    adjoint of conv_forward_naive with the same w, stride and pad: that convolution maps F
    channels of size (H', W') to C channels of size (H, W), and this layer maps them back.

    Inputs:
    - x: Input data of shape (N, C, H, W)
    - w: Filter weights of shape (C, F, HH, WW), input channels first, as in PyTorch's
      conv_transpose2d
    - b: Biases, of shape (F,)
    - conv_param: A dictionary with the following keys:
      - 'stride': The distance in the output between the copies painted by neighbouring inputs
      - 'pad': The number of rows and columns cropped from each border of the output

    Returns a tuple of:
    - out: Output data, of shape (N, F, H', W') where H' and W' are given by
      H' = (H - 1) * stride - 2 * pad + HH
      W' = (W - 1) * stride - 2 * pad + WW
    - cache: (x, w, b, conv_param)
    """
    x, w, b = as_float_array("x", x), as_float_array("w", w), as_float_array("b", b)
    stride, pad, H_out, W_out = conv_transpose_geometry(x.shape, w.shape, b.shape, conv_param)
    N, C, H, W = x.shape
    F, HH, WW = w.shape[1:]
    # The uncropped output: the last copy ends at (H - 1) * stride + HH.
    out_full = np.zeros((N, F, (H - 1) * stride + HH, (W - 1) * stride + WW), dtype=np.result_type(x, w, b))
    for n in range(N):
        for i in range(H):
            for j in range(W):
                # sum over c of x[n, c, i, j] * w[c]: every channel paints its own filter
                painted = np.tensordot(x[n, :, i, j], w, axes=(0, 0))  # (F, HH, WW)
                out_full[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW] += painted
    out = out_full[:, :, pad:pad + H_out, pad:pad + W_out] + b.reshape(1, F, 1, 1)
    cache = (x, w, b, conv_param)
    return out, cache


def conv_transpose_backward_naive(dout, cache):
    """
    A naive implementation of the backward pass for a transpose convolutional layer.

    Inputs:
    - dout: Upstream derivatives, of shape (N, F, H', W')
    - cache: A tuple of (x, w, b, conv_param) as in conv_transpose_forward_naive

    Returns a tuple of:
    - dx: Gradient with respect to x, of shape (N, C, H, W)
    - dw: Gradient with respect to w, of shape (C, F, HH, WW)
    - db: Gradient with respect to b, of shape (F,)
    """
    x, w, b, conv_param = cache
    stride, pad, H_out, W_out = conv_transpose_geometry(x.shape, w.shape, b.shape, conv_param)
    N, C, H, W = x.shape
    F, HH, WW = w.shape[1:]
    dout = _check_dout(dout, (N, F, H_out, W_out), "conv_transpose_backward_naive")
    # The cropped borders received no gradient: restore them as zeros.
    dout_full = np.pad(dout, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
    dx = np.zeros_like(x, dtype=np.result_type(x, w, dout))
    dw = np.zeros_like(w, dtype=dx.dtype)
    # Input pixel (i, j) painted one window of the output, so the window's upstream gradient
    # flows back into x[n, :, i, j] (through w) and into w (through x[n, :, i, j]).
    for n in range(N):
        for i in range(H):
            for j in range(W):
                window = dout_full[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW]  # (F, HH, WW)
                dx[n, :, i, j] = np.tensordot(w, window, axes=3)  # (C,)
                dw += x[n, :, i, j].reshape(C, 1, 1, 1) * window  # (C, 1, 1, 1) * (F, HH, WW)
    db = dout.sum(axis=(0, 2, 3))
    return dx, dw, db


def max_pool_switches(pool_cache):
    """
    The "switches" of a max-pooling layer: where in its window each output value was taken from
    (the first maximum in row-major order, the one the backward pass sends the gradient to).

    Accepts the cache of max_pool_forward_naive, (x, pool_param), and the caches of
    helpers.fast_layers.max_pool_forward_fast on both of its paths: the 'reshape' cache holds x
    as the naive one does, and the 'im2col' cache holds the argmax of every window.

    Inputs:
    - pool_cache: The cache returned by the max-pooling forward pass

    Returns a tuple of:
    - switches: Integer array of shape (N, C, H', W'): the flat index, in 0..H*W-1, of the input
      pixel each output value came from
    - x_shape: The shape (N, C, H, W) of the pooled input
    """
    if isinstance(pool_cache, tuple) and len(pool_cache) == 7 and pool_cache[0] == "im2col":
        _, x_shape, out_shape, _, pool_param, argmax, _ = pool_cache
        ph, pw, stride, H_out, W_out = pool_geometry(x_shape, pool_param)
        offsets = argmax.reshape(out_shape)  # (N * C, H' * W') -> (N, C, H', W'), in 0..ph*pw-1
    elif isinstance(pool_cache, tuple) and (len(pool_cache) == 2 or len(pool_cache) == 4 and
                                            pool_cache[0] == "reshape"):
        x, pool_param = pool_cache if len(pool_cache) == 2 else pool_cache[1:3]
        x_shape = np.shape(x)
        ph, pw, stride, H_out, W_out = pool_geometry(x_shape, pool_param)
        windows = np.lib.stride_tricks.sliding_window_view(np.asarray(x), (ph, pw), axis=(2, 3))
        windows = windows[:, :, ::stride, ::stride]  # (N, C, H', W', ph, pw)
        # argmax returns the first maximum: the same tie rule as max_pool_backward_naive.
        offsets = windows.reshape(*windows.shape[:4], ph * pw).argmax(axis=4)  # (N, C, H', W')
    else:
        raise ValueError(f"pool_cache must be the cache of max_pool_forward_naive or max_pool_forward_fast, "
                         f"got {type(pool_cache).__name__}")
    rows = np.arange(H_out).reshape(-1, 1) * stride + offsets // pw  # (N, C, H', W')
    cols = np.arange(W_out).reshape(1, -1) * stride + offsets % pw  # (N, C, H', W')
    return rows * x_shape[3] + cols, tuple(x_shape)


def max_unpool_forward(x, pool_cache):
    """
    Max unpooling: every value goes back to the position its max-pooling layer took the
    maximum from (the layer's "switches"), and every other output value is zero. It pairs with
    a max-pooling layer of the encoder, so the decoder puts detail back where it was found.

    Routing each value to its switch is exactly what max pooling's backward pass does to its
    upstream gradient, so this layer is max_pool_backward applied to x. Where windows overlap
    (stride < pool size) and share their maximum, the values sent there add up.

    Inputs:
    - x: Input data of shape (N, C, H', W'), the output shape of the pooling layer
    - pool_cache: The cache of that layer's forward pass (max_pool_forward_naive, or
      max_pool_forward_fast on either path; see max_pool_switches)

    Returns a tuple of:
    - out: Output data, of shape (N, C, H, W), the pooling layer's input shape
    - cache: (switches, x_shape)
    """
    switches, x_shape = max_pool_switches(pool_cache)
    x = as_float_array("x", x)
    check_shape("x", x, switches.shape, "(the output shape of the max-pooling layer whose cache is given)")
    N, C, H, W = x_shape
    out = np.zeros((N, C, H * W), dtype=x.dtype)
    # Each (n, c) row scatters into its own H * W slots; np.add.at sums repeated switches.
    flat = switches.reshape(N, C, -1)  # (N, C, H' * W')
    np.add.at(out, (np.arange(N)[:, None, None], np.arange(C)[None, :, None], flat), x.reshape(N, C, -1))
    return out.reshape(x_shape), (switches, x_shape)  # (N, C, H * W) -> (N, C, H, W)


def max_unpool_backward(dout, cache):
    """
    Backward pass for max unpooling: each input value reaches exactly one output position, so
    its gradient is the upstream gradient at that position.

    Inputs:
    - dout: Upstream derivatives, of shape (N, C, H, W)
    - cache: (switches, x_shape) from max_unpool_forward

    Returns:
    - dx: Gradient with respect to x, of shape (N, C, H', W')
    """
    switches, x_shape = cache
    dout = _check_dout(dout, x_shape, "max_unpool_backward")
    N, C = x_shape[:2]
    dx = np.take_along_axis(dout.reshape(N, C, -1), switches.reshape(N, C, -1), axis=2)  # (N, C, H' * W')
    return dx.reshape(switches.shape)  # (N, C, H', W')


def _check_unpool_input(x, factor):
    x = as_float_array("x", x)
    check_ndim("x", x, 4, "(N, C, H, W)")
    return x, positive_int("factor", factor)


def nearest_unpool_forward(x, factor):
    """
    Nearest-neighbour unpooling: every input value is copied into a factor x factor block.

    Inputs:
    - x: Input data of shape (N, C, H, W)
    - factor: Integer upsampling factor along both axes

    Returns a tuple of:
    - out: Output data, of shape (N, C, H * factor, W * factor)
    - cache: (x.shape, factor)
    """
    x, factor = _check_unpool_input(x, factor)
    out = np.repeat(np.repeat(x, factor, axis=2), factor, axis=3)
    return out, (x.shape, factor)


def nearest_unpool_backward(dout, cache):
    """
    Backward pass for nearest-neighbour unpooling: an input value fed its whole block, so its
    gradient is the sum of the block's upstream gradient.

    Inputs:
    - dout: Upstream derivatives, of shape (N, C, H * factor, W * factor)
    - cache: (x.shape, factor) from nearest_unpool_forward

    Returns:
    - dx: Gradient with respect to x, of shape (N, C, H, W)
    """
    (N, C, H, W), factor = cache
    dout = _check_dout(dout, (N, C, H * factor, W * factor), "nearest_unpool_backward")
    return dout.reshape(N, C, H, factor, W, factor).sum(axis=(3, 5))  # (N, C, H, f, W, f) -> (N, C, H, W)


def bed_of_nails_unpool_forward(x, factor):
    """
    "Bed of nails" unpooling: every input value goes to the top-left corner of its
    factor x factor block, and the rest of the block is zero (max unpooling with every switch
    in the corner).

    Inputs:
    - x: Input data of shape (N, C, H, W)
    - factor: Integer upsampling factor along both axes

    Returns a tuple of:
    - out: Output data, of shape (N, C, H * factor, W * factor)
    - cache: (x.shape, factor)
    """
    x, factor = _check_unpool_input(x, factor)
    N, C, H, W = x.shape
    out = np.zeros((N, C, H * factor, W * factor), dtype=x.dtype)
    out[:, :, ::factor, ::factor] = x
    return out, (x.shape, factor)


def bed_of_nails_unpool_backward(dout, cache):
    """
    Backward pass for bed-of-nails unpooling: only the corners depended on x.

    Inputs:
    - dout: Upstream derivatives, of shape (N, C, H * factor, W * factor)
    - cache: (x.shape, factor) from bed_of_nails_unpool_forward

    Returns:
    - dx: Gradient with respect to x, of shape (N, C, H, W)
    """
    (N, C, H, W), factor = cache
    dout = _check_dout(dout, (N, C, H * factor, W * factor), "bed_of_nails_unpool_backward")
    return dout[:, :, ::factor, ::factor].copy()
