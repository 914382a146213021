# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""im2col / col2im for convolution and pooling, compiled with Cython.

Same layout as `helpers.im2col` (the NumPy version) and `torch.nn.functional.unfold`, so
the three are interchangeable: cols has shape (N, C * field_height * field_width,
out_h * out_w); row (c * field_height + i) * field_width + j holds channel c at window
offset (i, j), and column y * out_w + x the window whose top-left corner is at
(y * stride, x * stride) in the zero-padded image. Sizes that do not fit a whole number
of strides are floored, as in PyTorch.

Why it is fast: every output row of cols is written contiguously; the zero padding is
never materialized (the range of window positions that land inside the image is computed
once per row, and the rest is zero-filled); the loops run without the GIL; and callers can
pass `out=` to reuse one buffer, so a convolution can unroll a few images at a time into a
buffer that stays in cache. Written for Cython 3 and NumPy 2: integer division is `//`,
and nothing depends on the removed `distutils`.
"""

import numpy as np

ctypedef fused floating:
    float
    double


cdef inline Py_ssize_t _first_inside(Py_ssize_t offset, Py_ssize_t stride) noexcept nogil:
    """Smallest k >= 0 with k * stride + offset >= 0."""
    if offset >= 0:
        return 0
    return (-offset + stride - 1) // stride


cdef inline Py_ssize_t _end_inside(Py_ssize_t offset, Py_ssize_t stride, Py_ssize_t size,
                                   Py_ssize_t count) noexcept nogil:
    """One past the largest k < count with k * stride + offset < size (0 if there is none)."""
    cdef Py_ssize_t last = size - 1 - offset
    if last < 0:
        return 0
    last = last // stride + 1
    return last if last < count else count


def _geometry(Py_ssize_t H, Py_ssize_t W, Py_ssize_t field_height, Py_ssize_t field_width,
              Py_ssize_t padding, Py_ssize_t stride):
    """Validate the window geometry and return (out_h, out_w)."""
    if field_height < 1 or field_width < 1 or stride < 1 or padding < 0:
        raise ValueError(f"need field_height, field_width, stride >= 1 and padding >= 0, got "
                         f"{field_height}, {field_width}, {stride} and {padding}")
    if field_height > H + 2 * padding or field_width > W + 2 * padding:
        raise ValueError(f"a {field_height}x{field_width} window must fit in the padded image "
                         f"{H + 2 * padding}x{W + 2 * padding} ({H}x{W} with padding {padding})")
    return (H + 2 * padding - field_height) // stride + 1, (W + 2 * padding - field_width) // stride + 1


def _check_array(name, array, ndim, whole):
    """
    Raise a clear ValueError unless array is a float32/float64 ndarray with ndim dimensions
    that is C-contiguous (whole=True) or contiguous along its last axis (whole=False).
    """
    if not isinstance(array, np.ndarray) or array.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-d NumPy array, got {type(array).__name__} "
                         f"of shape {np.shape(array)}")
    if array.dtype not in (np.float32, np.float64):
        raise ValueError(f"{name} must be float32 or float64, got {array.dtype}")
    if array.size == 0:
        raise ValueError(f"{name} must have at least one entry along every axis, got shape {array.shape}")
    if whole and not array.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous (use np.ascontiguousarray)")
    # No negative index: wraparound=False applies to Python sequences too.
    if array.strides[ndim - 1] != array.itemsize:
        raise ValueError(f"{name} must be contiguous along its last axis (use np.ascontiguousarray)")


def _check_out(out):
    if out is not None and not isinstance(out, np.ndarray):
        raise ValueError(f"out must be a NumPy array (or None), got {type(out).__name__}")


def im2col_cython(x, field_height, field_width, padding, stride, out=None):
    """
    Unroll the receptive fields of x into columns.

    Inputs:
    - x: Input data of shape (N, C, H, W), C-contiguous float32 or float64
    - field_height, field_width: Size of the receptive field
    - padding: Zero padding on each side of H and W
    - stride: Distance between neighbouring receptive fields
    - out: Optional array of the result's shape and x's dtype to write into (every entry
      is overwritten); only its last axis must be contiguous, so a transposed view of a
      (C * field_height * field_width, N, out_h * out_w) buffer works too

    Returns:
    - cols: Array of shape (N, C * field_height * field_width, out_h * out_w)
    """
    _check_array("x", x, 4, True)
    _check_out(out)
    return _im2col(x, field_height, field_width, padding, stride, out)


def _im2col(const floating[:, :, :, ::1] x, Py_ssize_t field_height, Py_ssize_t field_width,
            Py_ssize_t padding, Py_ssize_t stride, out):
    cdef Py_ssize_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef Py_ssize_t HH = field_height, WW = field_width, s = stride, p = padding
    out_h_, out_w_ = _geometry(H, W, HH, WW, p, s)
    cdef Py_ssize_t out_h = out_h_, out_w = out_w_
    shape = (N, C * HH * WW, out_h * out_w)
    dtype = np.float32 if floating is float else np.float64
    if out is None:
        out = np.empty(shape, dtype=dtype)
    elif out.shape != shape or out.dtype != dtype or out.strides[2] != out.itemsize:
        raise ValueError(f"out must be a {np.dtype(dtype)} array of shape {shape} with a contiguous last "
                         f"axis, got {out.dtype} {out.shape} with strides {out.strides}")
    # Strided view: the rows are contiguous (checked above), which the pointer loops rely on.
    cdef floating[:, :, :] cols = out
    cdef Py_ssize_t n, c, ii, jj, yy, xx, row, h, lo, hi
    cdef floating* dst
    cdef const floating* src
    with nogil:
        for n in range(N):
            for c in range(C):
                for ii in range(HH):
                    for jj in range(WW):
                        row = (c * HH + ii) * WW + jj
                        # Window columns whose pixel lies inside the image (not in the padding).
                        lo = _first_inside(jj - p, s)
                        hi = _end_inside(jj - p, s, W, out_w)
                        if lo > hi:
                            lo = hi
                        for yy in range(out_h):
                            dst = &cols[n, row, yy * out_w]
                            h = yy * s + ii - p
                            if h < 0 or h >= H:
                                for xx in range(out_w):
                                    dst[xx] = 0
                                continue
                            src = &x[n, c, h, 0]
                            for xx in range(lo):
                                dst[xx] = 0
                            if s == 1:
                                # Stride 1 is a plain contiguous copy, which the compiler vectorizes.
                                for xx in range(lo, hi):
                                    dst[xx] = src[xx + jj - p]
                            else:
                                for xx in range(lo, hi):
                                    dst[xx] = src[xx * s + jj - p]
                            for xx in range(hi, out_w):
                                dst[xx] = 0
    return out


def col2im_cython(cols, N, C, H, W, field_height, field_width, padding, stride, out=None):
    """
    Sum the columns of `cols` back into an image: the adjoint of im2col_cython.

    A pixel that lies in several windows receives the sum of all its copies, which is
    exactly the gradient of im2col.

    Inputs:
    - cols: Array of shape (N, C * field_height * field_width, out_h * out_w) whose last
      axis is contiguous
    - N, C, H, W: Shape of the image batch that im2col_cython unrolled
    - field_height, field_width, padding, stride: As given to im2col_cython
    - out: Optional C-contiguous array of shape (N, C, H, W) and cols' dtype to write into
      (it is overwritten, not added to)

    Returns:
    - x: Array of shape (N, C, H, W)
    """
    _check_array("cols", cols, 3, False)
    _check_out(out)
    return _col2im(cols, N, C, H, W, field_height, field_width, padding, stride, out)


def _col2im(const floating[:, :, :] cols, Py_ssize_t N, Py_ssize_t C, Py_ssize_t H, Py_ssize_t W,
            Py_ssize_t field_height, Py_ssize_t field_width, Py_ssize_t padding, Py_ssize_t stride, out):
    cdef Py_ssize_t HH = field_height, WW = field_width, s = stride, p = padding
    out_h_, out_w_ = _geometry(H, W, HH, WW, p, s)
    cdef Py_ssize_t out_h = out_h_, out_w = out_w_
    if cols.shape[0] != N or cols.shape[1] != C * HH * WW or cols.shape[2] != out_h * out_w:
        raise ValueError(f"cols must have shape {(N, C * HH * WW, out_h * out_w)} for an image batch "
                         f"{(N, C, H, W)}, got {(cols.shape[0], cols.shape[1], cols.shape[2])}")
    dtype = np.float32 if floating is float else np.float64
    if out is None:
        out = np.zeros((N, C, H, W), dtype=dtype)
    elif out.shape != (N, C, H, W) or out.dtype != dtype:
        raise ValueError(f"out must be a {np.dtype(dtype)} array of shape {(N, C, H, W)}, "
                         f"got {out.dtype} {out.shape}")
    else:
        out.fill(0)
    cdef floating[:, :, :, ::1] x = out
    cdef Py_ssize_t n, c, ii, jj, yy, xx, row, h, lo, hi
    cdef floating* dst
    cdef const floating* src
    with nogil:
        for n in range(N):
            for c in range(C):
                for ii in range(HH):
                    for jj in range(WW):
                        row = (c * HH + ii) * WW + jj
                        lo = _first_inside(jj - p, s)
                        hi = _end_inside(jj - p, s, W, out_w)
                        for yy in range(out_h):
                            h = yy * s + ii - p
                            if h < 0 or h >= H:
                                continue
                            src = &cols[n, row, yy * out_w]
                            dst = &x[n, c, h, 0]
                            if s == 1:
                                for xx in range(lo, hi):
                                    dst[xx + jj - p] += src[xx]
                            else:
                                for xx in range(lo, hi):
                                    dst[xx * s + jj - p] += src[xx]
    return out
