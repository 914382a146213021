"""Random convolution inputs and the naive reference layers, shared by the conv, fast-layer and torch-layer tests."""

from helpers import layers


def random_conv_case(rng, max_size=10):
    """Random shapes: non-square kernels, strides 1-3, padding 0-2, sizes that need not divide.

    Returns x (N, C, H, W), w (F, C, HH, WW), b (F,) and conv_param, with H and W below max_size."""
    N, C, F_ = rng.integers(1, 4), rng.integers(1, 4), rng.integers(1, 5)
    HH, WW = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    stride, pad = int(rng.integers(1, 4)), int(rng.integers(0, 3))
    H = int(rng.integers(max(1, HH - 2 * pad), max_size))
    W = int(rng.integers(max(1, WW - 2 * pad), max_size))
    x = rng.standard_normal((N, C, H, W))
    w = rng.standard_normal((F_, C, HH, WW))
    b = rng.standard_normal(F_)
    return x, w, b, {"stride": stride, "pad": pad}


def random_pool_case(rng, N=None, C=None, max_size=10):
    """Random max pooling: any window that fits, strides 1-3. Returns x (N, C, H, W) and pool_param."""
    H, W = int(rng.integers(2, max_size)), int(rng.integers(2, max_size))
    pool_param = {"pool_height": int(rng.integers(1, H + 1)), "pool_width": int(rng.integers(1, W + 1)),
                  "stride": int(rng.integers(1, 4))}
    N = N or int(rng.integers(1, 4))
    C = C or int(rng.integers(1, 4))
    return rng.standard_normal((N, C, H, W)), pool_param


def naive_conv(conv_param):
    """The naive convolution as a (forward(x, w, b), backward) pair: the oracle of every fast path."""
    return (lambda x, w, b: layers.conv_forward_naive(x, w, b, conv_param)), layers.conv_backward_naive


def naive_pool(pool_param):
    """The naive max pooling as a (forward(x), backward) pair."""
    return (lambda x: layers.max_pool_forward_naive(x, pool_param)), layers.max_pool_backward_naive


def random_conv_transpose_case(rng, max_size=7):
    """Random transpose convolutions: non-square kernels, strides 1-3, crops (pad) 0-2 that leave an output.

    Returns x (N, C, H, W), w (C, F, HH, WW), b (F,) and conv_param."""
    while True:
        N, C, F_ = int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(1, 4))
        HH, WW = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        stride, pad = int(rng.integers(1, 4)), int(rng.integers(0, 3))
        H, W = int(rng.integers(1, max_size)), int(rng.integers(1, max_size))
        if (H - 1) * stride - 2 * pad + HH >= 1 and (W - 1) * stride - 2 * pad + WW >= 1:
            break
    x = rng.standard_normal((N, C, H, W))
    w = rng.standard_normal((C, F_, HH, WW))
    b = rng.standard_normal(F_)
    return x, w, b, {"stride": stride, "pad": pad}


def naive_conv_transpose(conv_param):
    """The naive transpose convolution as a (forward(x, w, b), backward) pair."""
    return (lambda x, w, b: layers.conv_transpose_forward_naive(x, w, b, conv_param)), \
        layers.conv_transpose_backward_naive
