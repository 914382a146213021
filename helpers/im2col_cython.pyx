# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""im2col / col2im for convolution and pooling, compiled with Cython.

Same layout as `helpers.im2col` (the NumPy version), so the two are interchangeable:
rows index (channel, filter row, filter column) and columns index (output row, output
column, image). Written for Cython 3 and NumPy 2: integer division is `//`, and there
is no dependency on the removed `distutils`.
"""

import numpy as np

ctypedef fused floating:
    float
    double


def im2col_cython(floating[:, :, :, ::1] x, int field_height, int field_width,
                  int padding, int stride):
    """
    Unroll the receptive fields of x into columns.

    Inputs:
    - x: Input data of shape (N, C, H, W), C-contiguous float32 or float64
    - field_height, field_width: Size of the receptive field
    - padding: Zero padding on each side of H and W
    - stride: Distance between neighbouring receptive fields

    Returns:
    - cols: Array of shape (C * field_height * field_width, out_h * out_w * N)
    """
    cdef int N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3]
    cdef int HH = field_height, WW = field_width
    cdef int out_h = (H + 2 * padding - HH) // stride + 1
    cdef int out_w = (W + 2 * padding - WW) // stride + 1
    dtype = np.float32 if floating is float else np.float64
    cols_np = np.zeros((C * HH * WW, out_h * out_w * N), dtype=dtype)
    cdef floating[:, ::1] cols = cols_np
    cdef int c, ii, jj, yy, xx, n, row, col, h, w
    for c in range(C):
        for ii in range(HH):
            for jj in range(WW):
                row = (c * HH + ii) * WW + jj
                for yy in range(out_h):
                    h = yy * stride + ii - padding
                    if h < 0 or h >= H:
                        continue
                    for xx in range(out_w):
                        w = xx * stride + jj - padding
                        if w < 0 or w >= W:
                            continue
                        col = (yy * out_w + xx) * N
                        for n in range(N):
                            cols[row, col + n] = x[n, c, h, w]
    return cols_np


def col2im_cython(floating[:, ::1] cols, int N, int C, int H, int W,
                  int field_height, int field_width, int padding, int stride):
    """
    Sum the columns of `cols` back into an image: the adjoint of im2col_cython.

    Inputs:
    - cols: Array of shape (C * field_height * field_width, out_h * out_w * N)
    - N, C, H, W: Shape of the image that im2col_cython unrolled
    - field_height, field_width, padding, stride: As given to im2col_cython

    Returns:
    - x: Array of shape (N, C, H, W)
    """
    cdef int HH = field_height, WW = field_width
    cdef int out_h = (H + 2 * padding - HH) // stride + 1
    cdef int out_w = (W + 2 * padding - WW) // stride + 1
    if cols.shape[0] != C * HH * WW or cols.shape[1] != out_h * out_w * N:
        raise ValueError(
            f"cols must have shape {(C * HH * WW, out_h * out_w * N)}, got {(cols.shape[0], cols.shape[1])}")
    dtype = np.float32 if floating is float else np.float64
    x_np = np.zeros((N, C, H, W), dtype=dtype)
    cdef floating[:, :, :, ::1] x = x_np
    cdef int c, ii, jj, yy, xx, n, row, col, h, w
    for c in range(C):
        for ii in range(HH):
            for jj in range(WW):
                row = (c * HH + ii) * WW + jj
                for yy in range(out_h):
                    h = yy * stride + ii - padding
                    if h < 0 or h >= H:
                        continue
                    for xx in range(out_w):
                        w = xx * stride + jj - padding
                        if w < 0 or w >= W:
                            continue
                        col = (yy * out_w + xx) * N
                        for n in range(N):
                            x[n, c, h, w] += cols[row, col + n]
    return x_np
