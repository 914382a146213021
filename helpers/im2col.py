"""im2col / col2im in NumPy: convolution as one matrix product per image.

im2col copies every receptive field of an image into a column, so that a convolution
becomes a matrix product with the filters reshaped to rows; col2im is its adjoint (it sums
the columns back into an image), which is what the backward pass needs.

Layout (shared with `helpers.im2col_cython` and with `torch.nn.functional.unfold`, so the
three are interchangeable): for x of shape (N, C, H, W) and a field_height x field_width
window, cols has shape (N, C * field_height * field_width, out_h * out_w) where
- row (c * field_height + i) * field_width + j holds channel c at window offset (i, j),
- column y * out_w + x is the window whose top-left corner is at (y * stride, x * stride)
  in the zero-padded image,
and out_h = (H + 2 * padding - field_height) // stride + 1 (likewise out_w). A size that
does not fit a whole number of strides is floored, as in PyTorch.

With filters w of shape (F, C, field_height, field_width), the convolution of image n is
w.reshape(F, -1) @ cols[n], already in (F, out_h * out_w) order: no transpose is needed.
CS231n's original functions returned the transposed (C*fh*fw, out_h*out_w*N) matrix,
which costs a copy of the output in every forward pass.

Two NumPy versions:
- `im2col_indices` / `col2im_indices` (CS231n's teaching version): fancy indexing with
  index arrays from `get_im2col_indices`, and np.add.at to scatter back.
- `im2col_strided` / `col2im_strided`: a zero-copy `as_strided` view of the padded image
  copied once into cols, and a col2im that adds one strided slice per window offset.
  This is the fast NumPy path.
"""

import numpy as np
from numpy.lib.stride_tricks import as_strided

from helpers._checks import check_shape, window_output_size


def get_im2col_indices(x_shape, field_height, field_width, padding=1, stride=1):
    """
    Index arrays that gather the receptive fields of a padded image batch.

    Inputs:
    - x_shape: Shape (N, C, H, W) of the (unpadded) image batch
    - field_height, field_width, padding, stride: The window geometry

    Returns a tuple of:
    - k: Channel index of each row, shape (C * field_height * field_width, 1)
    - i: Padded-image row of each (row, column) entry, shape (C * field_height * field_width, out_h * out_w)
    - j: Padded-image column of each entry, same shape as i
    so that x_padded[:, k, i, j] is cols of shape (N, C * field_height * field_width, out_h * out_w).
    """
    out_h, out_w = window_output_size(x_shape, field_height, field_width, padding, stride)
    C = x_shape[1]
    # Offsets inside the window (one per row), then the window origins (one per column).
    i0 = np.tile(np.repeat(np.arange(field_height), field_width), C)
    j0 = np.tile(np.arange(field_width), field_height * C)
    i1 = stride * np.repeat(np.arange(out_h), out_w)
    j1 = stride * np.tile(np.arange(out_w), out_h)
    i = i0.reshape(-1, 1) + i1.reshape(1, -1)  # (C * fh * fw, 1) + (1, out_h * out_w)
    j = j0.reshape(-1, 1) + j1.reshape(1, -1)  # likewise
    k = np.repeat(np.arange(C), field_height * field_width).reshape(-1, 1)  # (C * fh * fw, 1)
    return k, i, j


def im2col_indices(x, field_height, field_width, padding=1, stride=1):
    """
    Unroll the receptive fields of x into columns, by fancy indexing.

    Inputs:
    - x: Input data of shape (N, C, H, W)
    - field_height, field_width: Size of the receptive field
    - padding: Zero padding on each side of H and W
    - stride: Distance between neighbouring receptive fields

    Returns:
    - cols: Array of shape (N, C * field_height * field_width, out_h * out_w), in the
      layout described in the module docstring
    """
    x = np.asarray(x)
    k, i, j = get_im2col_indices(x.shape, field_height, field_width, padding, stride)
    p = padding
    x_padded = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), mode="constant")
    return x_padded[:, k, i, j]


def col2im_indices(cols, x_shape, field_height=3, field_width=3, padding=1, stride=1):
    """
    Sum the columns back into an image batch (the adjoint of im2col_indices).

    A pixel that lies in several windows receives the sum of all its copies, which is
    exactly the gradient of im2col.

    Inputs:
    - cols: Array of shape (N, C * field_height * field_width, out_h * out_w)
    - x_shape: Shape (N, C, H, W) of the image batch that was unrolled
    - field_height, field_width, padding, stride: As given to im2col_indices

    Returns:
    - x: Array of shape x_shape
    """
    N, C, H, W = x_shape
    k, i, j = get_im2col_indices(x_shape, field_height, field_width, padding, stride)
    check_shape("cols", cols, (N, *i.shape), f"for x_shape {tuple(x_shape)}")
    x_padded = np.zeros((N, C, H + 2 * padding, W + 2 * padding), dtype=cols.dtype)
    # np.add.at accumulates over repeated indices, where `x_padded[...] += cols` would keep only one.
    np.add.at(x_padded, (slice(None), k, i, j), cols)
    return x_padded[:, :, padding:padding + H, padding:padding + W]


def _window_view(x_padded, field_height, field_width, stride, out_h, out_w):
    """Zero-copy view (N, C, field_height, field_width, out_h, out_w) of every window of x_padded."""
    sN, sC, sH, sW = x_padded.strides
    N, C = x_padded.shape[:2]
    return as_strided(x_padded, shape=(N, C, field_height, field_width, out_h, out_w),
                      strides=(sN, sC, sH, sW, stride * sH, stride * sW), writeable=False)


def im2col_strided(x, field_height, field_width, padding=1, stride=1, out=None):
    """
    Unroll the receptive fields of x into columns, through an as_strided view.

    The view of all windows costs nothing; the only work is one copy into cols.

    Inputs:
    - x: Input data of shape (N, C, H, W)
    - field_height, field_width: Size of the receptive field
    - padding: Zero padding on each side of H and W
    - stride: Distance between neighbouring receptive fields
    - out: Optional array of the result's shape and dtype to write into, in any memory
      layout (lets a caller reuse one buffer across calls)

    Returns:
    - cols: Array of shape (N, C * field_height * field_width, out_h * out_w), in the
      layout described in the module docstring
    """
    x = np.asarray(x)
    out_h, out_w = window_output_size(x.shape, field_height, field_width, padding, stride)
    N, C = x.shape[:2]
    shape = (N, C * field_height * field_width, out_h * out_w)
    if out is None:
        out = np.empty(shape, dtype=x.dtype)
    elif out.shape != shape or out.dtype != x.dtype:
        raise ValueError(f"out must be a {x.dtype} array of shape {shape}, got {out.dtype} {out.shape}")
    p = padding
    x_padded = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), mode="constant") if p else x
    windows = _window_view(x_padded, field_height, field_width, stride, out_h, out_w)
    # out viewed as (N, C, fh, fw, out_h, out_w)
    np.copyto(out.reshape(N, C, field_height, field_width, out_h, out_w), windows)
    return out


def col2im_strided(cols, x_shape, field_height=3, field_width=3, padding=1, stride=1):
    """
    Sum the columns back into an image batch (the adjoint of im2col_strided).

    One vectorized strided addition per window offset (i, j): all windows add their
    (i, j) entry to the pixels x_padded[..., y * stride + i, x * stride + j] at once.

    Inputs:
    - cols: Array of shape (N, C * field_height * field_width, out_h * out_w)
    - x_shape: Shape (N, C, H, W) of the image batch that was unrolled
    - field_height, field_width, padding, stride: As given to im2col_strided

    Returns:
    - x: Array of shape x_shape
    """
    out_h, out_w = window_output_size(x_shape, field_height, field_width, padding, stride)
    N, C, H, W = x_shape
    check_shape("cols", cols, (N, C * field_height * field_width, out_h * out_w), f"for x_shape {tuple(x_shape)}")
    cols6 = cols.reshape(N, C, field_height, field_width, out_h, out_w)  # (N, C, fh, fw, out_h, out_w)
    x_padded = np.zeros((N, C, H + 2 * padding, W + 2 * padding), dtype=cols.dtype)
    for i in range(field_height):
        for j in range(field_width):
            x_padded[:, :, i:i + stride * out_h:stride, j:j + stride * out_w:stride] += cols6[:, :, i, j]
    if padding == 0:
        return x_padded
    return x_padded[:, :, padding:padding + H, padding:padding + W]
