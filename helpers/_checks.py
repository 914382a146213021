"""Input validation for the whole library: one copy of each check, one wording of each message.

A public function checks its inputs at the boundary and raises a ValueError that names the
argument, what was expected and what was received, instead of failing with a broadcast
error three calls deeper. The reference bodies then read like the math.
"""

import numbers

import numpy as np


def as_float_array(name, value):
    """
    `value` as a floating-point NumPy array: integers and booleans are promoted to float64,
    float arrays are returned as they are (no copy).

    Raises ValueError for anything that is not numeric (strings, objects, complex numbers).
    """
    array = np.asarray(value)
    if array.dtype.kind not in "fiub":
        raise ValueError(f"{name} must be a numeric array, got dtype {array.dtype}")
    return array if array.dtype.kind == "f" else array.astype(np.float64)


def float_dtype(*arrays):
    """float32 if every array is float32, else float64 (what a computation on them should use)."""
    for array in arrays:
        if np.asarray(array).dtype.kind not in "fiub":
            raise ValueError(f"expected real-valued arrays, got dtype {np.asarray(array).dtype}")
    dtype = np.result_type(*arrays)
    return dtype if dtype in (np.float32, np.float64) else np.dtype(np.float64)


def check_shape(name, array, expected):
    """
    Raise a ValueError unless np.shape(array) matches `expected`, a tuple whose entries are
    sizes or None (any size), e.g. check_shape("w", w, (D, None)).
    """
    shape = np.shape(array)
    if len(shape) != len(expected) or any(e is not None and s != e for s, e in zip(shape, expected, strict=False)):
        sizes = ", ".join("any" if e is None else str(e) for e in expected)
        shown = f"({sizes},)" if len(expected) == 1 else f"({sizes})"
        raise ValueError(f"{name} must have shape {shown}, got {shape}")


def check_ndim(name, array, ndim, layout):
    """Raise unless `array` has `ndim` dimensions; `layout` names them, e.g. "(N, C, H, W)"."""
    if np.ndim(array) != ndim:
        raise ValueError(f"{name} must have shape {layout}, got {np.shape(array)}")


def positive_int(name, value):
    """`value` as an int, or a ValueError if it is not an integer >= 1 (booleans are refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def non_negative_int(name, value):
    """`value` as an int, or a ValueError if it is not an integer >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def positive_number(name, value):
    """`value` as a float, or a ValueError if it is not a finite real number > 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def non_negative_number(name, value):
    """`value` as a float, or a ValueError if it is not a finite real number >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def number_in(name, value, low, high, low_open=False, high_open=False):
    """`value` as a float, or a ValueError if it is not a real number in the interval
    [low, high] (each end open when asked, e.g. the keep probability of dropout in (0, 1])."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value)
    ok = ok and (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
    if not ok:
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"{name} must be a number in {interval}, got {value!r}")
    return float(value)


def check_labels(name, y, num_classes=None, n=None):
    """
    Integer class labels: an array of shape (n,) (any length when n is None) with values in
    0..num_classes-1 (any value >= 0 when num_classes is None).

    Floats that hold whole numbers (3.0) are accepted and converted; 3.7, strings, NaN are not.

    Returns:
    - y as an int64 array
    """
    y = np.asarray(y)
    if n is not None and y.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), one label per example, got {y.shape}")
    if y.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of labels, got shape {y.shape}")
    if y.dtype.kind == "f" and y.size and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
        y = y.astype(np.int64)
    if y.dtype.kind not in "iu":
        raise ValueError(f"{name} must hold integer class labels, got dtype {y.dtype}")
    if y.size:
        low, high = int(y.min()), int(y.max())
        top = "" if num_classes is None else f"..{num_classes - 1}"
        if low < 0 or (num_classes is not None and high >= num_classes):
            raise ValueError(f"{name} must hold labels in 0{top}, got values in {low}..{high}")
    return y.astype(np.int64, copy=False)


def check_finite(name, array):
    """Raise a ValueError naming how many entries of `array` are NaN or infinite."""
    bad = np.count_nonzero(~np.isfinite(array))
    if bad:
        raise ValueError(f"{name} holds {bad} NaN or infinite values")


# ----------------------------------------------------------------------------- convolution geometry
# Shapes follow CS231n: images (N, C, H, W), filters (F, C, HH, WW). When a window does not fit a
# whole number of strides, the output size is floored, exactly as in PyTorch; every implementation
# (naive, im2col, Cython, torch) computes its geometry here.


def conv_geometry(x_shape, w_shape, b_shape, conv_param):
    """
    Validate the shapes and parameters of a convolution and compute its output size.

    Inputs:
    - x_shape: Shape of the input, (N, C, H, W)
    - w_shape: Shape of the filters, (F, C, HH, WW)
    - b_shape: Shape of the biases, (F,)
    - conv_param: Dictionary with 'stride' (positive int) and 'pad' (non-negative int)

    Returns a tuple of:
    - stride, pad: The validated integers
    - H_out, W_out: 1 + (H + 2 * pad - HH) // stride and 1 + (W + 2 * pad - WW) // stride
    """
    if len(x_shape) != 4:
        raise ValueError(f"x must have shape (N, C, H, W), got {tuple(x_shape)}")
    if len(w_shape) != 4:
        raise ValueError(f"w must have shape (F, C, HH, WW), got {tuple(w_shape)}")
    if w_shape[1] != x_shape[1]:
        raise ValueError(f"w must have C = {x_shape[1]} channels like x {tuple(x_shape)}, got w {tuple(w_shape)}")
    if tuple(b_shape) != (w_shape[0],):
        raise ValueError(f"b must have shape ({w_shape[0]},) matching w {tuple(w_shape)}, got {tuple(b_shape)}")
    if not isinstance(conv_param, dict) or not {"stride", "pad"} <= set(conv_param):
        got = sorted(conv_param) if isinstance(conv_param, dict) else repr(conv_param)
        raise ValueError(f"conv_param must be a dict with 'stride' and 'pad', got {got}")
    stride = positive_int("conv_param['stride']", conv_param["stride"])
    pad = non_negative_int("conv_param['pad']", conv_param["pad"])
    H, W = x_shape[2] + 2 * pad, x_shape[3] + 2 * pad
    HH, WW = w_shape[2], w_shape[3]
    if HH < 1 or WW < 1 or HH > H or WW > W:
        raise ValueError(f"filter {HH}x{WW} must fit in the padded input {H}x{W} "
                         f"(x {tuple(x_shape)} with pad {pad})")
    return stride, pad, 1 + (H - HH) // stride, 1 + (W - WW) // stride


def pool_geometry(x_shape, pool_param):
    """
    Validate the input shape and parameters of max pooling and compute its output size.

    Inputs:
    - x_shape: Shape of the input, (N, C, H, W)
    - pool_param: Dictionary with positive integers 'pool_height', 'pool_width' and 'stride'

    Returns a tuple of:
    - pool_height, pool_width, stride: The validated integers
    - H_out, W_out: 1 + (H - pool_height) // stride and 1 + (W - pool_width) // stride
    """
    if len(x_shape) != 4:
        raise ValueError(f"x must have shape (N, C, H, W), got {tuple(x_shape)}")
    keys = ("pool_height", "pool_width", "stride")
    if not isinstance(pool_param, dict) or any(key not in pool_param for key in keys):
        got = sorted(pool_param) if isinstance(pool_param, dict) else repr(pool_param)
        raise ValueError(f"pool_param must be a dict with {keys}, got {got}")
    ph, pw, stride = (positive_int(f"pool_param['{key}']", pool_param[key]) for key in keys)
    H, W = x_shape[2], x_shape[3]
    if ph > H or pw > W:
        raise ValueError(f"pooling window {ph}x{pw} must fit in the input {H}x{W} (x {tuple(x_shape)})")
    return ph, pw, stride, 1 + (H - ph) // stride, 1 + (W - pw) // stride
