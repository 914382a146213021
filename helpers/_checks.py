"""Input validation for the whole library: one copy of each check, one wording of each message.

A public function checks its inputs at the boundary and raises a ValueError that names the
argument, what was expected and what was received, instead of failing with a broadcast
error three calls deeper. The reference bodies then read like the math:

    x, w, b = (as_float_array(name, a) for name, a in (("x", x), ("w", w), ("b", b)))
    stride, pad, H_out, W_out = conv_geometry(x.shape, w.shape, b.shape, conv_param)

Every function here is generic (it knows nothing about a particular layer or model); a check
that only one function needs stays in that function.
"""

import numbers

import numpy as np

# ----------------------------------------------------------------------------- arrays


def shape_of(value):
    """How to name what was received in an error: the shape of an array or tensor, else the type."""
    return tuple(value.shape) if hasattr(value, "shape") else type(value).__name__


def as_float_array(name: str, value) -> np.ndarray:
    """
    `value` as a floating-point NumPy array: integers and booleans are promoted to float64,
    float arrays are returned as they are (no copy).

    Raises ValueError for anything that is not real-valued (strings, objects, complex numbers).
    """
    array = np.asarray(value)
    if array.dtype.kind not in "fiub":
        raise ValueError(f"{name} must be a real-valued array, got dtype {array.dtype}")
    return array if array.dtype.kind == "f" else array.astype(np.float64)


def float_dtype(*arrays) -> np.dtype:
    """float32 if every array is float32, else float64: the dtype a computation on them uses.
    Integers and booleans are promoted to float64; anything else raises ValueError."""
    for array in arrays:
        if np.asarray(array).dtype.kind not in "fiub":
            raise ValueError(f"expected real-valued arrays, got dtype {np.asarray(array).dtype}")
    dtype = np.result_type(*arrays)
    return dtype if dtype in (np.float32, np.float64) else np.dtype(np.float64)


def _layout(expected) -> str:
    sizes = ", ".join("any" if e is None else str(e) for e in expected)
    return f"({sizes},)" if len(expected) == 1 else f"({sizes})"


def check_shape(name: str, array, expected: tuple, context: str = "") -> None:
    """
    Raise a ValueError unless np.shape(array) matches `expected`, a tuple whose entries are
    sizes, or names of free sizes ("N"), or None (any size), e.g. check_shape("w", w, ("D", 10)).
    `context` says where the expected sizes come from, e.g. "to match x (N, D)".
    """
    shape = np.shape(array)
    fixed = [isinstance(e, numbers.Integral) for e in expected]
    if len(shape) != len(expected) or any(f and s != e for f, s, e in zip(fixed, shape, expected, strict=False)):
        context = f" {context}" if context else ""
        raise ValueError(f"{name} must have shape {_layout(expected)}{context}, got {tuple(shape)}")


def check_ndim(name: str, array, ndim: int, layout: str) -> None:
    """Raise unless `array` has `ndim` dimensions; `layout` names them, e.g. "(N, C, H, W)"."""
    if np.ndim(array) != ndim:
        raise ValueError(f"{name} must have shape {layout}, got {tuple(np.shape(array))}")


def check_finite(name: str, array) -> None:
    """Raise a ValueError naming how many entries of `array` are NaN or infinite."""
    bad = np.count_nonzero(~np.isfinite(array))
    if bad:
        raise ValueError(f"{name} holds {bad} NaN or infinite values")


# ----------------------------------------------------------------------------- numbers and choices


def _is_integer(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and bool(np.isfinite(value))


def positive_int(name: str, value) -> int:
    """`value` as an int, or a ValueError if it is not an integer >= 1 (booleans and 2.0 are refused)."""
    if not _is_integer(value) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def non_negative_int(name: str, value) -> int:
    """`value` as an int, or a ValueError if it is not an integer >= 0."""
    if not _is_integer(value) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def positive_number(name: str, value) -> float:
    """`value` as a float, or a ValueError if it is not a finite real number > 0."""
    if not _is_real(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def non_negative_number(name: str, value) -> float:
    """`value` as a float, or a ValueError if it is not a finite real number >= 0."""
    if not _is_real(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def number_in(name: str, value, low: float, high: float, low_open: bool = False, high_open: bool = False) -> float:
    """`value` as a float, or a ValueError if it is not a real number in the interval
    [low, high] (each end open when asked, e.g. the keep probability of dropout in (0, 1])."""
    ok = _is_real(value)
    ok = ok and (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
    if not ok:
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"{name} must be in {interval}, got {value!r}")
    return float(value)


def one_of(name: str, value, choices: tuple):
    """`value`, or a ValueError naming the choices if it is not one of them (strings or None)."""
    if not any(value is choice or (isinstance(value, str) and value == choice) for choice in choices):
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return value


# ----------------------------------------------------------------------------- labels


def check_labels(name: str, y, num_classes: int | None = None, n: int | None = None,
                 classes_from: str | None = None) -> np.ndarray:
    """
    Integer class labels: an array of shape (n,) (any length when n is None) with values in
    0..num_classes-1 (any value >= 0 when num_classes is None). Float arrays are refused,
    even when they hold whole numbers: a float label is almost always a mix-up of X and y.

    Inputs:
    - name: The argument's name in the messages
    - y: The labels
    - num_classes: Number of classes C, or None
    - n: Number of examples the labels belong to, or None
    - classes_from: What fixes C, named in the message, e.g. "W has 10 columns"

    Returns:
    - y as an integer array (not copied)
    """
    y = np.asarray(y)
    if n is not None and y.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), one label per example, got {y.shape}")
    if y.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of labels, got shape {y.shape}")
    if y.dtype.kind not in "iu":
        raise ValueError(f"{name} must hold integer class labels, got dtype {y.dtype}")
    if y.size:
        low, high = int(y.min()), int(y.max())
        if num_classes is None and low < 0:
            raise ValueError(f"{name} must hold non-negative integer labels, got minimum {low}")
        if num_classes is not None and (low < 0 or high >= num_classes):
            source = f" ({classes_from})" if classes_from else ""
            raise ValueError(f"{name} must hold labels in 0..{num_classes - 1}{source}, got range {low}..{high}")
    return y


# ----------------------------------------------------------------------------- sliding windows
# Shapes follow CS231n: images (N, C, H, W), filters (F, C, HH, WW). When a window does not fit a
# whole number of strides, the output size is floored, exactly as in PyTorch. Every implementation
# (naive, im2col, Cython, torch) takes its geometry from window_output_size.


def window_output_size(x_shape: tuple, field_height: int, field_width: int, padding: int, stride: int,
                       window: str = "window") -> tuple[int, int]:
    """
    Validate the geometry of a window sliding over an image batch and compute the output size.

    Inputs:
    - x_shape: Shape of the input, (N, C, H, W)
    - field_height, field_width: Size of the window (positive integers)
    - padding: Zero padding on each side of H and W (non-negative integer)
    - stride: Distance between neighbouring windows (positive integer)
    - window: What the window is, for the message ("filter", "pooling window")

    Returns a tuple of:
    - H_out, W_out: 1 + (H + 2 * padding - field_height) // stride, likewise for W
    """
    if len(x_shape) != 4:
        raise ValueError(f"x must have shape (N, C, H, W), got {tuple(x_shape)}")
    field_height, field_width = positive_int("field_height", field_height), positive_int("field_width", field_width)
    padding, stride = non_negative_int("padding", padding), positive_int("stride", stride)
    H, W = x_shape[2] + 2 * padding, x_shape[3] + 2 * padding
    if field_height > H or field_width > W:
        where = f"the padded input {H}x{W} (x {tuple(x_shape)} with padding {padding})" if padding else \
            f"the input {H}x{W} (x {tuple(x_shape)})"
        raise ValueError(f"{window} {field_height}x{field_width} must fit in {where}")
    return 1 + (H - field_height) // stride, 1 + (W - field_width) // stride


def conv_geometry(x_shape: tuple, w_shape: tuple, b_shape: tuple, conv_param: dict) -> tuple[int, int, int, int]:
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
    x_shape, w_shape, b_shape = tuple(x_shape), tuple(w_shape), tuple(b_shape)
    if len(x_shape) != 4:
        raise ValueError(f"x must have shape (N, C, H, W), got {x_shape}")
    if len(w_shape) != 4:
        raise ValueError(f"w must have shape (F, C, HH, WW), got {w_shape}")
    if w_shape[1] != x_shape[1]:
        raise ValueError(f"w must have C = {x_shape[1]} channels like x {x_shape}, got w {w_shape}")
    if b_shape != (w_shape[0],):
        raise ValueError(f"b must have shape ({w_shape[0]},) matching w {w_shape}, got {b_shape}")
    stride, pad = _stride_and_pad(conv_param)
    H_out, W_out = window_output_size(x_shape, w_shape[2], w_shape[3], pad, stride, window="filter")
    return stride, pad, H_out, W_out


def _stride_and_pad(conv_param) -> tuple[int, int]:
    if not isinstance(conv_param, dict) or not {"stride", "pad"} <= set(conv_param):
        got = f"keys {sorted(conv_param)}" if isinstance(conv_param, dict) else repr(conv_param)
        raise ValueError(f"conv_param must be a dict with 'stride' and 'pad', got {got}")
    stride = positive_int("conv_param['stride']", conv_param["stride"])
    pad = non_negative_int("conv_param['pad']", conv_param["pad"])
    return stride, pad


def conv_transpose_geometry(x_shape: tuple, w_shape: tuple, b_shape: tuple,
                            conv_param: dict) -> tuple[int, int, int, int]:
    """
    Validate the shapes and parameters of a transpose convolution and compute its output size.

    The weights are laid out as PyTorch's conv_transpose2d lays them out, input channels first:
    a transpose convolution is the adjoint of the convolution with the same weights from F
    channels to C, whose filters are then (C, F, HH, WW).

    Inputs:
    - x_shape: Shape of the input, (N, C, H, W)
    - w_shape: Shape of the filters, (C, F, HH, WW)
    - b_shape: Shape of the biases, (F,)
    - conv_param: Dictionary with 'stride' (positive int) and 'pad' (non-negative int)

    Returns a tuple of:
    - stride, pad: The validated integers
    - H_out, W_out: (H - 1) * stride - 2 * pad + HH and (W - 1) * stride - 2 * pad + WW
    """
    x_shape, w_shape, b_shape = tuple(x_shape), tuple(w_shape), tuple(b_shape)
    if len(x_shape) != 4:
        raise ValueError(f"x must have shape (N, C, H, W), got {x_shape}")
    if len(w_shape) != 4:
        raise ValueError(f"w must have shape (C, F, HH, WW) (input channels first, as in conv_transpose2d), "
                         f"got {w_shape}")
    if w_shape[0] != x_shape[1]:
        raise ValueError(f"w must have C = {x_shape[1]} input channels (its first axis) like x {x_shape}, "
                         f"got w {w_shape}")
    if b_shape != (w_shape[1],):
        raise ValueError(f"b must have shape ({w_shape[1]},) matching w {w_shape} (C, F, HH, WW), got {b_shape}")
    if min(x_shape[2:]) < 1 or min(w_shape[2:]) < 1:
        raise ValueError(f"x and w must have non-empty spatial axes, got x {x_shape} and w {w_shape}")
    stride, pad = _stride_and_pad(conv_param)
    H_out = (x_shape[2] - 1) * stride - 2 * pad + w_shape[2]
    W_out = (x_shape[3] - 1) * stride - 2 * pad + w_shape[3]
    if H_out < 1 or W_out < 1:
        raise ValueError(f"conv_param['pad'] = {pad} crops the whole output: (H - 1) * stride - 2 * pad + HH = "
                         f"{H_out} and likewise {W_out} for W must be >= 1 (x {x_shape}, w {w_shape}, stride "
                         f"{stride})")
    return stride, pad, H_out, W_out


def pool_geometry(x_shape: tuple, pool_param: dict) -> tuple[int, int, int, int, int]:
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
        got = f"keys {sorted(pool_param)}" if isinstance(pool_param, dict) else repr(pool_param)
        raise ValueError(f"pool_param must be a dict with {keys}, got {got}")
    ph, pw, stride = (positive_int(f"pool_param['{key}']", pool_param[key]) for key in keys)
    H_out, W_out = window_output_size(x_shape, ph, pw, 0, stride, window="pooling window")
    return ph, pw, stride, H_out, W_out
