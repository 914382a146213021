"""Random convolution inputs shared by the conv, fast-layer and torch-layer tests."""


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
