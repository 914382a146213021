"""Fast convolution and max pooling: im2col + one matrix product per chunk of images, and reshapes.

Same API, same results (to float64 rounding) as the naive layers in `helpers.layers`:
`*_forward(...) -> (out, cache)` and `*_backward(dout, cache)`, the same output-size rule
(sizes that do not fit a whole number of strides are floored, as in PyTorch) and the same
input checks (helpers._checks). Max pooling sends a window's gradient to its first maximum
in row-major order, like the naive layer.

Convolution is one algorithm, conv_forward_fast, with three ways of unrolling the receptive
fields into columns (see `helpers.im2col` for the layout), each under its own name:
- conv_forward_im2col: NumPy fancy indexing (`im2col_indices`), CS231n's teaching version;
- conv_forward_strides: NumPy `as_strided` (`im2col_strided`);
- conv_forward_cython: the compiled `helpers.im2col_cython`;
- conv_forward_fast: the best available one, chosen by BACKEND.
The cache remembers the unrolling, so every conv_backward_* name is the same function.

Transpose convolution (conv_transpose_forward_fast, and _im2col, _strides, _cython) is the
adjoint of that algorithm: one matrix product with the transposed filters, then the col2im
of the chosen unrolling; its backward pass is an im2col and two matrix products.

Max pooling, likewise one function with two paths:
- max_pool_forward_reshape: when the windows tile the input (square, stride equal to the
  size, dividing H and W), a max over strided views;
- max_pool_forward_im2col: any window, through BACKEND's im2col;
- max_pool_forward_fast: the reshape path when it applies, else im2col.
Every max_pool_backward_* name is the same function.

BACKEND is 'cython' when the extension is built and 'numpy' (the as_strided im2col)
otherwise; a missing extension is announced once, with the command that builds it.
`use_backend('numpy')` switches temporarily, for benchmarks and tests.
"""

import contextlib
import warnings

import numpy as np

from helpers._blas import blas_threads_for
from helpers._checks import check_shape, conv_geometry, conv_transpose_geometry, float_dtype, one_of, pool_geometry
from helpers.im2col import col2im_indices, col2im_strided, im2col_indices, im2col_strided

try:
    from helpers.im2col_cython import col2im_cython, im2col_cython
except ImportError as error:  # a source checkout that was not installed with `pip install -e .`
    im2col_cython = col2im_cython = None
    _CYTHON_MISSING = (f"helpers.im2col_cython could not be imported ({error}). fast_layers falls back to "
                       f"the slower NumPy im2col; build the extension with `pip install -e .` from the "
                       f"repository root.")
    warnings.warn(_CYTHON_MISSING, RuntimeWarning, stacklevel=2)
else:
    _CYTHON_MISSING = ""

BACKENDS = ("cython", "numpy")
BACKEND = "cython" if im2col_cython is not None else "numpy"

# Images are unrolled a few at a time into one reused buffer of about this size: big
# enough that each matrix product keeps BLAS busy, small enough that a big batch never
# needs its full, C*HH*WW times larger than x, column matrix in memory.
_CHUNK_BYTES = 64 * 2**20


def cython_available():
    """True when the compiled helpers.im2col_cython extension could be imported."""
    return im2col_cython is not None


def set_backend(name):
    """
    Select the im2col used by conv_forward_fast, max_pool_forward_im2col and friends.

    Inputs:
    - name: 'cython' or 'numpy'

    Returns:
    - The previous backend name
    """
    global BACKEND
    one_of("backend", name, BACKENDS)
    _require_cython(name == "cython")
    previous, BACKEND = BACKEND, name
    return previous


@contextlib.contextmanager
def use_backend(name):
    """Context manager: `with use_backend('numpy'): ...` runs the block on that backend."""
    previous = set_backend(name)
    try:
        yield
    finally:
        set_backend(previous)


def _require_cython(needed=True):
    if needed and not cython_available():
        raise RuntimeError(_CYTHON_MISSING)


# ----------------------------------------------------------------------------- unroll / fold
# Each im2col is a pair: unroll(x, fh, fw, pad, stride, out) -> cols (N, C*fh*fw, P), and
# fold(cols, x_shape, fh, fw, pad, stride, out) writing the summed image into out.

def _unroll_indices(x, fh, fw, pad, stride, out):
    if out is None:
        return im2col_indices(x, fh, fw, pad, stride)
    out[...] = im2col_indices(x, fh, fw, pad, stride)
    return out


def _fold_indices(cols, x_shape, fh, fw, pad, stride, out):
    out[...] = col2im_indices(cols, x_shape, fh, fw, pad, stride)


def _unroll_strided(x, fh, fw, pad, stride, out):
    return im2col_strided(x, fh, fw, pad, stride, out=out)


def _fold_strided(cols, x_shape, fh, fw, pad, stride, out):
    out[...] = col2im_strided(cols, x_shape, fh, fw, pad, stride)


def _unroll_cython(x, fh, fw, pad, stride, out):
    return im2col_cython(x, fh, fw, pad, stride, out=out)


def _fold_cython(cols, x_shape, fh, fw, pad, stride, out):
    col2im_cython(cols, *x_shape, fh, fw, pad, stride, out=out)


_IM2COLS = {
    "indices": (_unroll_indices, _fold_indices),
    "strides": (_unroll_strided, _fold_strided),
    "cython": (_unroll_cython, _fold_cython),
}
# The im2col each backend stands for.
_BACKEND_IM2COL = {"cython": "cython", "numpy": "strides"}


def _im2col_for(im2col):
    """The validated im2col name: BACKEND's when None."""
    im2col = _BACKEND_IM2COL[BACKEND] if im2col is None else one_of("im2col", im2col, tuple(_IM2COLS))
    _require_cython(im2col == "cython")
    return im2col


# ----------------------------------------------------------------------------- convolution

def _chunks(N, bytes_per_image):
    """List of (start, stop) ranges of images whose columns fill about _CHUNK_BYTES each."""
    step = max(1, min(N, _CHUNK_BYTES // max(1, bytes_per_image)))
    return [(start, min(N, start + step)) for start in range(0, N, step)]


def conv_forward_fast(x, w, b, conv_param, im2col=None):
    """
    A fast implementation of the forward pass for a convolutional layer: each chunk of
    images (about _CHUNK_BYTES of columns) is unrolled by im2col into one reused buffer laid
    out (C*HH*WW, n, H'*W'), so the chunk is ONE matrix product with the filters.

    Inputs:
    - x: Input data of shape (N, C, H, W)
    - w: Filter weights of shape (F, C, HH, WW)
    - b: Biases, of shape (F,)
    - conv_param: A dictionary with 'stride' and 'pad', as for conv_forward_naive
    - im2col: 'indices', 'strides' or 'cython' (what conv_forward_im2col, conv_forward_strides
      and conv_forward_cython use); None, the default, is BACKEND's

    Returns a tuple of:
    - out: Output data, of shape (N, F, H', W'), H' = 1 + (H + 2 * pad - HH) // stride
      (W' likewise); float32 if all inputs are float32, else float64
    - cache: Values for conv_backward_fast, which remembers the im2col used
    """
    stride, pad, H_out, W_out = conv_geometry(np.shape(x), np.shape(w), np.shape(b), conv_param)
    im2col = _im2col_for(im2col)
    dtype = float_dtype(x, w, b)
    # The compiled code and BLAS need contiguous arrays of one float type.
    x, w, b = (np.ascontiguousarray(a, dtype=dtype) for a in (x, w, b))
    N, F, HH, WW = x.shape[0], w.shape[0], w.shape[2], w.shape[3]
    w_rows = w.reshape(F, -1)  # (F, K), K = C * HH * WW
    K, P = w_rows.shape[1], H_out * W_out
    unroll = _IM2COLS[im2col][0]
    out = np.empty((N, F, P), dtype=dtype)
    bias = b.reshape(1, F, 1)  # (1, F, 1)
    chunks = _chunks(N, K * P * dtype.itemsize)
    buffer = None
    with blas_threads_for(2.0 * F * K * P * (chunks[0][1] - chunks[0][0] if chunks else 0)):
        for start, stop in chunks:
            n = stop - start
            if buffer is None or n != buffer.shape[1]:
                buffer = np.empty((K, n, P), dtype=dtype)
            # The chunk's columns side by side, (K, n * P), so that ONE matrix product covers
            # the chunk: BLAS threads pay their start-up once per chunk, not once per image.
            # im2col writes into the (n, K, P) view of that buffer, one contiguous row at a time.
            unroll(x[start:stop], HH, WW, pad, stride, buffer.transpose(1, 0, 2))  # (n, K, P) view
            products = w_rows @ buffer.reshape(K, n * P)  # (F, n * P)
            # A copy of the chunk's output, K times smaller than the product.
            np.add(products.reshape(F, n, P).transpose(1, 0, 2), bias, out=out[start:stop])  # (n, F, P)
    cache = (x, w, b, conv_param, im2col)
    return out.reshape(N, F, H_out, W_out), cache  # (N, F, P) -> (N, F, H', W')


def conv_backward_fast(dout, cache):
    """
    Backward pass of conv_forward_fast (and of conv_forward_im2col, _strides, _cython), with
    the im2col its forward pass used. The columns are recomputed rather than cached, dw comes
    from one matrix product per chunk and dx from col2im of w^T dout.

    Inputs:
    - dout: Upstream derivatives, of shape (N, F, H', W')
    - cache: The cache returned by the forward pass

    Returns a tuple of:
    - dx: Gradient with respect to x, of shape (N, C, H, W)
    - dw: Gradient with respect to w, of shape (F, C, HH, WW)
    - db: Gradient with respect to b, of shape (F,)
    """
    x, w, b, conv_param, im2col = cache
    stride, pad, H_out, W_out = conv_geometry(x.shape, w.shape, b.shape, conv_param)
    N, C, H, W = x.shape
    F, HH, WW = w.shape[0], w.shape[2], w.shape[3]
    check_shape("dout", dout, (N, F, H_out, W_out))
    dtype = x.dtype
    w_rows = w.reshape(F, -1)  # (F, K)
    K, P = w_rows.shape[1], H_out * W_out
    dout = np.asarray(dout, dtype=dtype).reshape(N, F, P)  # (N, F, H', W') -> (N, F, P)
    unroll, fold = _IM2COLS[im2col]
    db = dout.sum(axis=(0, 2))
    dw_t = np.zeros((K, F), dtype=dtype)
    dx = np.empty_like(x)
    # w_rows.T is a transposed view: BLAS reads it as is, without a copy.
    w_rows_t = w_rows.T  # (K, F)
    chunks = _chunks(N, K * P * dtype.itemsize)
    buffer = None
    with blas_threads_for(2.0 * F * K * P * (chunks[0][1] - chunks[0][0] if chunks else 0)):
        for start, stop in chunks:
            n = stop - start
            if buffer is None or n != buffer.shape[1]:
                buffer = np.empty((K, n, P), dtype=dtype)
            # Unrolling is cheap next to the products, and a cache of the columns would hold
            # C*HH*WW copies of x.
            unroll(x[start:stop], HH, WW, pad, stride, buffer.transpose(1, 0, 2))  # (n, K, P) view
            cols = buffer.reshape(K, n * P)  # (K, n * P) view
            # The chunk's upstream gradient side by side as well.
            dout_rows = np.ascontiguousarray(dout[start:stop].transpose(1, 0, 2)).reshape(F, n * P)  # (F, n * P)
            # dw = sum over images and positions of dout x cols, one product per chunk. It is
            # accumulated transposed, (K, nP) @ (nP, F), the orientation OpenBLAS runs several
            # times faster than (F, nP) @ (nP, K) for these long, thin operands.
            dw_t += cols @ dout_rows.T
            # dcols = w_rows.T (K, F) @ dout (F, nP); col2im sums each column back into its window.
            np.matmul(w_rows_t, dout_rows, out=cols)
            fold(buffer.transpose(1, 0, 2), (n, C, H, W), HH, WW, pad, stride, dx[start:stop])  # (n, K, P) view
    return dx, np.ascontiguousarray(dw_t.T).reshape(w.shape), db  # dw (F, K) -> (F, C, HH, WW)


def conv_forward_im2col(x, w, b, conv_param):
    """conv_forward_fast with NumPy fancy-indexing im2col (helpers.im2col.im2col_indices), CS231n's."""
    return conv_forward_fast(x, w, b, conv_param, im2col="indices")


def conv_forward_strides(x, w, b, conv_param):
    """conv_forward_fast with the as_strided im2col (helpers.im2col.im2col_strided): pure NumPy."""
    return conv_forward_fast(x, w, b, conv_param, im2col="strides")


def conv_forward_cython(x, w, b, conv_param):
    """conv_forward_fast with the compiled im2col (helpers.im2col_cython); RuntimeError if not built."""
    return conv_forward_fast(x, w, b, conv_param, im2col="cython")


conv_backward_im2col = conv_backward_strides = conv_backward_cython = conv_backward_fast


# ----------------------------------------------------------------------------- transpose convolution
# A convolution is im2col followed by one matrix product, so its adjoint is the transposed matrix
# product followed by the adjoint of im2col, col2im. A transpose convolution is that adjoint: its
# forward pass is the computation of conv_backward_fast's dx, and its backward pass needs im2col
# where conv_backward_fast needs col2im.

def conv_transpose_forward_fast(x, w, b, conv_param, im2col=None):
    """
    A fast implementation of the forward pass for a transpose convolutional layer: for each
    chunk of images, ONE matrix product w_rows.T @ x gives every painted filter copy as a
    column, and col2im (the adjoint of im2col) adds the columns up into the output image.

    Inputs:
    - x: Input data of shape (N, C, H, W)
    - w: Filter weights of shape (C, F, HH, WW), as for conv_transpose_forward_naive
    - b: Biases, of shape (F,)
    - conv_param: A dictionary with 'stride' and 'pad', as for conv_transpose_forward_naive
    - im2col: 'indices', 'strides' or 'cython': whose col2im folds the columns; None, the
      default, is BACKEND's

    Returns a tuple of:
    - out: Output data, of shape (N, F, H', W'), H' = (H - 1) * stride - 2 * pad + HH
      (W' likewise); float32 if all inputs are float32, else float64
    - cache: Values for conv_transpose_backward_fast, which remembers the im2col used
    """
    stride, pad, H_out, W_out = conv_transpose_geometry(np.shape(x), np.shape(w), np.shape(b), conv_param)
    im2col = _im2col_for(im2col)
    dtype = float_dtype(x, w, b)
    x, w, b = (np.ascontiguousarray(a, dtype=dtype) for a in (x, w, b))
    N, C, H, W = x.shape
    F, HH, WW = w.shape[1:]
    # w seen as the filters of the convolution from F channels to C that this layer is the adjoint of.
    w_rows = w.reshape(C, -1)  # (C, K), K = F * HH * WW
    K, P = w_rows.shape[1], H * W
    fold = _IM2COLS[im2col][1]
    x_rows = x.reshape(N, C, P)  # (N, C, P)
    out = np.empty((N, F, H_out, W_out), dtype=dtype)
    chunks = _chunks(N, K * P * dtype.itemsize)
    buffer = None
    with blas_threads_for(2.0 * C * K * P * (chunks[0][1] - chunks[0][0] if chunks else 0)):
        for start, stop in chunks:
            n = stop - start
            if buffer is None or n != buffer.shape[1]:
                buffer = np.empty((K, n, P), dtype=dtype)
            # The chunk's inputs side by side, so that ONE matrix product covers the chunk.
            x_chunk = np.ascontiguousarray(x_rows[start:stop].transpose(1, 0, 2)).reshape(C, n * P)  # (C, n * P)
            np.matmul(w_rows.T, x_chunk, out=buffer.reshape(K, n * P))  # (K, C) @ (C, n * P)
            fold(buffer.transpose(1, 0, 2), (n, F, H_out, W_out), HH, WW, pad, stride, out[start:stop])  # (n, K, P)
    out += b.reshape(1, F, 1, 1)
    cache = (x, w, b, conv_param, im2col)
    return out, cache


def conv_transpose_backward_fast(dout, cache):
    """
    Backward pass of conv_transpose_forward_fast, with the im2col its forward pass used: the
    upstream gradient is unrolled by im2col, dx is one matrix product with the filters (a
    plain convolution of dout) and dw one matrix product with x, per chunk.

    Inputs:
    - dout: Upstream derivatives, of shape (N, F, H', W')
    - cache: The cache returned by the forward pass

    Returns a tuple of:
    - dx: Gradient with respect to x, of shape (N, C, H, W)
    - dw: Gradient with respect to w, of shape (C, F, HH, WW)
    - db: Gradient with respect to b, of shape (F,)
    """
    x, w, b, conv_param, im2col = cache
    stride, pad, H_out, W_out = conv_transpose_geometry(x.shape, w.shape, b.shape, conv_param)
    N, C, H, W = x.shape
    F, HH, WW = w.shape[1:]
    check_shape("dout", dout, (N, F, H_out, W_out))
    dtype = x.dtype
    dout = np.ascontiguousarray(dout, dtype=dtype)
    w_rows = w.reshape(C, -1)  # (C, K)
    K, P = w_rows.shape[1], H * W
    unroll = _IM2COLS[im2col][0]
    db = dout.sum(axis=(0, 2, 3))
    dw_t = np.zeros((K, C), dtype=dtype)
    dx = np.empty((C, N, P), dtype=dtype)
    x_rows = x.reshape(N, C, P)  # (N, C, P)
    chunks = _chunks(N, K * P * dtype.itemsize)
    buffer = None
    with blas_threads_for(2.0 * C * K * P * (chunks[0][1] - chunks[0][0] if chunks else 0)):
        for start, stop in chunks:
            n = stop - start
            if buffer is None or n != buffer.shape[1]:
                buffer = np.empty((K, n, P), dtype=dtype)
            # Window (i, j) of dout is the one input pixel (i, j) painted.
            unroll(dout[start:stop], HH, WW, pad, stride, buffer.transpose(1, 0, 2))  # (n, K, P) view
            cols = buffer.reshape(K, n * P)  # (K, n * P) view
            np.matmul(w_rows, cols, out=dx[:, start:stop].reshape(C, n * P))  # (C, K) @ (K, n * P)
            x_chunk = x_rows[start:stop].transpose(1, 0, 2).reshape(C, n * P)  # (C, n * P), a copy
            # Accumulated transposed, (K, nP) @ (nP, C), as conv_backward_fast does for speed.
            dw_t += cols @ x_chunk.T
    dx = np.ascontiguousarray(dx.transpose(1, 0, 2)).reshape(N, C, H, W)  # (C, N, P) -> (N, C, H, W)
    return dx, np.ascontiguousarray(dw_t.T).reshape(w.shape), db  # dw (C, K) -> (C, F, HH, WW)


def conv_transpose_forward_im2col(x, w, b, conv_param):
    """conv_transpose_forward_fast with the fancy-indexing col2im (helpers.im2col.col2im_indices)."""
    return conv_transpose_forward_fast(x, w, b, conv_param, im2col="indices")


def conv_transpose_forward_strides(x, w, b, conv_param):
    """conv_transpose_forward_fast with the strided-slice col2im (helpers.im2col.col2im_strided)."""
    return conv_transpose_forward_fast(x, w, b, conv_param, im2col="strides")


def conv_transpose_forward_cython(x, w, b, conv_param):
    """conv_transpose_forward_fast with the compiled col2im (helpers.im2col_cython); RuntimeError if not built."""
    return conv_transpose_forward_fast(x, w, b, conv_param, im2col="cython")


conv_transpose_backward_im2col = conv_transpose_backward_strides = conv_transpose_backward_fast
conv_transpose_backward_cython = conv_transpose_backward_fast


# ----------------------------------------------------------------------------- max pooling

def _tiles(x_shape, ph, pw, stride):
    return ph == pw == stride and x_shape[2] % ph == 0 and x_shape[3] % pw == 0


def max_pool_forward_fast(x, pool_param, path=None):
    """
    A fast implementation of the forward pass for a max-pooling layer, on one of two paths:
    - 'reshape', when the windows tile the input (pool_height == pool_width == stride,
      dividing H and W): the max over the pool_height * pool_width strided views
      x[:, :, i::s, j::s], one vectorized np.maximum each;
    - 'im2col', any window: every channel of every image is unrolled by BACKEND's im2col as
      a 1-channel image, and the max is taken down each column.

    Inputs:
    - x: Input data, of shape (N, C, H, W)
    - pool_param: Dictionary with 'pool_height', 'pool_width' and 'stride'
    - path: 'reshape' or 'im2col' (what max_pool_forward_reshape and max_pool_forward_im2col
      use); None, the default, takes reshape when it applies, else im2col

    Returns a tuple of:
    - out: Output data, of shape (N, C, H', W'), H' = 1 + (H - pool_height) // stride
      (W' likewise); float32 for float32 input, else float64 on the im2col path
    - cache: Values for max_pool_backward_fast, which remembers the path used
    """
    ph, pw, stride, H_out, W_out = pool_geometry(np.shape(x), pool_param)
    tiles = _tiles(np.shape(x), ph, pw, stride)
    path = ("reshape" if tiles else "im2col") if path is None else one_of("path", path, ("reshape", "im2col"))
    if path == "reshape":
        if not tiles:
            raise ValueError(f"the reshape path needs windows that tile the input (pool_height == pool_width "
                             f"== stride, dividing H and W); got {ph}x{pw} stride {stride} on x {np.shape(x)}")
        x = np.asarray(x)
        out = x[:, :, ::ph, ::pw].copy()
        for i in range(ph):
            for j in range(pw):
                if i or j:
                    np.maximum(out, x[:, :, i::ph, j::pw], out=out)
        return out, ("reshape", x, pool_param, out)

    dtype = float_dtype(x)
    x = np.ascontiguousarray(x, dtype=dtype)
    N, C, H, W = x.shape
    im2col = _im2col_for(None)
    cols = _IM2COLS[im2col][0](x.reshape(N * C, 1, H, W), ph, pw, 0, stride, None)  # (N * C, ph * pw, P)
    # argmax returns the first maximum, which fixes the tie rule of the backward pass.
    argmax = cols.argmax(axis=1)  # (N * C, P)
    out = np.take_along_axis(cols, argmax[:, None, :], axis=1)  # (N * C, 1, P)
    out = out.reshape(N, C, H_out, W_out)  # (N, C, H', W')
    return out, ("im2col", x.shape, out.shape, dtype, pool_param, argmax, im2col)


def max_pool_backward_fast(dout, cache):
    """
    Backward pass of max_pool_forward_fast (and of max_pool_forward_reshape, _im2col), on the
    path its forward pass took.

    Inputs:
    - dout: Upstream derivatives, of shape (N, C, H', W')
    - cache: The cache returned by the forward pass

    Returns:
    - dx: Gradient with respect to x, of shape (N, C, H, W)
    """
    if cache[0] == "reshape":
        _, x, pool_param, out = cache
        check_shape("dout", dout, out.shape)
        ph, pw = pool_param["pool_height"], pool_param["pool_width"]
        dx = np.empty(x.shape, dtype=np.result_type(x, dout))
        # Offsets are visited in row-major order and a window stops taking gradient once one
        # of its values has matched the max, so ties go to the first maximum (as in the naive layer).
        open_windows = np.ones(out.shape, dtype=bool)
        for i in range(ph):
            for j in range(pw):
                hit = x[:, :, i::ph, j::pw] == out
                hit &= open_windows
                dx[:, :, i::ph, j::pw] = np.where(hit, dout, 0)
                open_windows &= ~hit
        return dx

    _, x_shape, out_shape, dtype, pool_param, argmax, im2col = cache
    check_shape("dout", dout, out_shape)
    N, C, H, W = x_shape
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    dcols = np.zeros((N * C, ph * pw, argmax.shape[1]), dtype=dtype)
    np.put_along_axis(dcols, argmax[:, None, :], np.reshape(dout, (N * C, 1, -1)), axis=1)  # dout as (N * C, 1, P)
    dx = np.empty((N * C, 1, H, W), dtype=dtype)
    _IM2COLS[im2col][1](dcols, (N * C, 1, H, W), ph, pw, 0, stride, dx)
    return dx.reshape(x_shape)  # (N * C, 1, H, W) -> (N, C, H, W)


def max_pool_forward_reshape(x, pool_param):
    """max_pool_forward_fast on the reshape path; ValueError when the windows do not tile x."""
    return max_pool_forward_fast(x, pool_param, path="reshape")


def max_pool_forward_im2col(x, pool_param):
    """max_pool_forward_fast on the im2col path (any window and stride)."""
    return max_pool_forward_fast(x, pool_param, path="im2col")


max_pool_backward_reshape = max_pool_backward_im2col = max_pool_backward_fast
