"""Fast convolution and max pooling: im2col + one matrix product per chunk of images, and reshapes.

Same API, same results (to float64 rounding) as the naive layers in `helpers.layers`:
`*_forward(...) -> (out, cache)` and `*_backward(dout, cache)`, the same output-size rule
(sizes that do not fit a whole number of strides are floored, as in PyTorch) and the same
input checks. Max pooling sends a window's gradient to its first maximum in row-major
order, like the naive layer.

Convolution, three implementations of one algorithm (they differ only in how the
receptive fields are unrolled into columns; see `helpers.im2col` for the layout):
- conv_forward_im2col / conv_backward_im2col: NumPy fancy indexing (`im2col_indices`),
  CS231n's teaching version.
- conv_forward_strides / conv_backward_strides: NumPy `as_strided` (`im2col_strided`).
- conv_forward_cython / conv_backward_cython: the compiled `helpers.im2col_cython`.
- conv_forward_fast / conv_backward_fast: the best available one, chosen by BACKEND.
All of them unroll a chunk of images (about _CHUNK_BYTES of columns) into one reused
buffer laid out (C*HH*WW, n, H'*W'), so the chunk is ONE matrix product with the filters;
the backward pass recomputes the columns instead of caching them, gets dw from one product
per chunk and dx by col2im of w^T dout.

Max pooling:
- max_pool_forward_reshape / backward_reshape: when the windows tile the input (square,
  stride equal to the size, dividing H and W), a max over strided views.
- max_pool_forward_im2col / backward_im2col: any window, through im2col (BACKEND's).
- max_pool_forward_fast / backward_fast: the reshape path when it applies, else im2col.

BACKEND is 'cython' when the extension is built and 'numpy' (the as_strided im2col)
otherwise; a missing extension is announced once, with the command that builds it.
`use_backend('numpy')` switches temporarily, for benchmarks and tests.
"""

import contextlib
import ctypes
import warnings
from pathlib import Path

import numpy as np

from helpers.im2col import col2im_indices, col2im_strided, im2col_indices, im2col_strided
from helpers.layers import check_conv_inputs, check_pool_inputs

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


# ----------------------------------------------------------------------------- BLAS threads
# A multi-threaded BLAS call ends with its threads waiting for each other. On a busy
# machine (more runnable processes than cores) a waiting thread may not get a core for a
# whole time slice, so a small product that one thread does in 5 ms can take 50 ms on two.
# Products smaller than this many flops therefore run on one thread; big ones keep all.
_THREADED_GEMM_FLOPS = 1e8


def _find_openblas_threads():
    """(get, set) thread-count functions of the OpenBLAS inside NumPy's wheel, or None elsewhere."""
    for path in sorted((Path(np.__file__).parent.parent / "numpy.libs").glob("libscipy_openblas*")):
        try:
            lib = ctypes.CDLL(str(path))  # the library NumPy already loaded: same threads
        except OSError:
            continue
        for suffix in ("64_", ""):
            get = getattr(lib, f"scipy_openblas_get_num_threads{suffix}", None)
            set_ = getattr(lib, f"scipy_openblas_set_num_threads{suffix}", None)
            if get is not None and set_ is not None:
                return get, set_
    return None


_OPENBLAS_THREADS = _find_openblas_threads()


@contextlib.contextmanager
def _blas_threads_for(flops):
    """Run the block's BLAS calls on one thread if each does fewer than _THREADED_GEMM_FLOPS."""
    if _OPENBLAS_THREADS is None or flops >= _THREADED_GEMM_FLOPS:
        yield
        return
    get, set_ = _OPENBLAS_THREADS
    previous = get()
    set_(1)
    try:
        yield
    finally:
        set_(previous)


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
    if name not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {name!r}")
    if name == "cython" and not cython_available():
        raise RuntimeError(_CYTHON_MISSING)
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


def _require_cython():
    if not cython_available():
        raise RuntimeError(_CYTHON_MISSING)


# ----------------------------------------------------------------------------- unroll / fold
# Each method is a pair: unroll(x, fh, fw, pad, stride, out) -> cols (N, C*fh*fw, P), and
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


_METHODS = {
    "indices": (_unroll_indices, _fold_indices),
    "strides": (_unroll_strided, _fold_strided),
    "cython": (_unroll_cython, _fold_cython),
}
# What each backend means for the im2col paths.
_BACKEND_METHOD = {"cython": "cython", "numpy": "strides"}


def _float_dtype(*arrays):
    """float32 if every array is float32, else float64 (integers are promoted to float64)."""
    dtype = np.result_type(*arrays)
    if np.issubdtype(dtype, np.complexfloating) or not np.issubdtype(dtype, np.number):
        raise ValueError(f"expected real-valued arrays, got dtype {dtype}")
    return dtype if dtype in (np.float32, np.float64) else np.dtype(np.float64)


# ----------------------------------------------------------------------------- convolution

def _chunks(N, bytes_per_image):
    """List of (start, stop) ranges of images whose columns fill about _CHUNK_BYTES each."""
    step = max(1, min(N, _CHUNK_BYTES // max(1, bytes_per_image)))
    return [(start, min(N, start + step)) for start in range(0, N, step)]


def _conv_forward(x, w, b, conv_param, method):
    """Convolution as an im2col'd matrix product, images a chunk at a time; see conv_forward_fast."""
    stride, pad, H_out, W_out = check_conv_inputs(x, w, b, conv_param)
    dtype = _float_dtype(x, w, b)
    # The compiled code and BLAS need contiguous arrays of one float type.
    x = np.ascontiguousarray(x, dtype=dtype)
    w = np.ascontiguousarray(w, dtype=dtype)
    b = np.ascontiguousarray(b, dtype=dtype)
    N, F, HH, WW = x.shape[0], w.shape[0], w.shape[2], w.shape[3]
    w_rows = w.reshape(F, -1)
    K, P = w_rows.shape[1], H_out * W_out
    unroll = _METHODS[method][0]
    out = np.empty((N, F, P), dtype=dtype)
    bias = b.reshape(1, F, 1)
    chunks = _chunks(N, K * P * dtype.itemsize)
    buffer = None
    with _blas_threads_for(2.0 * F * K * P * (chunks[0][1] - chunks[0][0] if chunks else 0)):
        for start, stop in chunks:
            n = stop - start
            if buffer is None or n != buffer.shape[1]:
                buffer = np.empty((K, n, P), dtype=dtype)
            # The chunk's columns side by side, (K, n * P), so that ONE matrix product covers
            # the chunk: BLAS threads pay their start-up once per chunk, not once per image.
            # im2col writes into the (n, K, P) view of that buffer, one contiguous row at a time.
            unroll(x[start:stop], HH, WW, pad, stride, buffer.transpose(1, 0, 2))
            products = w_rows @ buffer.reshape(K, n * P)
            # (F, n, P) -> (n, F, P): a copy of the chunk's output, K times smaller than the product.
            np.add(products.reshape(F, n, P).transpose(1, 0, 2), bias, out=out[start:stop])
    cache = (x, w, b, conv_param, method)
    return out.reshape(N, F, H_out, W_out), cache


def _conv_backward(dout, cache, method=None):
    """Backward pass of _conv_forward; method defaults to the one the forward pass used."""
    x, w, b, conv_param, forward_method = cache
    method = method or forward_method
    stride, pad, H_out, W_out = check_conv_inputs(x, w, b, conv_param)
    N, C, H, W = x.shape
    F, HH, WW = w.shape[0], w.shape[2], w.shape[3]
    if np.shape(dout) != (N, F, H_out, W_out):
        raise ValueError(f"dout must have shape {(N, F, H_out, W_out)}, got {np.shape(dout)}")
    dtype = x.dtype
    w_rows = w.reshape(F, -1)
    K, P = w_rows.shape[1], H_out * W_out
    dout = np.asarray(dout, dtype=dtype).reshape(N, F, P)
    unroll, fold = _METHODS[method]
    db = dout.sum(axis=(0, 2))
    dw_t = np.zeros((K, F), dtype=dtype)
    dx = np.empty_like(x)
    # w_rows.T is a transposed view: BLAS reads it as is, without a copy.
    w_rows_t = w_rows.T
    chunks = _chunks(N, K * P * dtype.itemsize)
    buffer = None
    with _blas_threads_for(2.0 * F * K * P * (chunks[0][1] - chunks[0][0] if chunks else 0)):
        for start, stop in chunks:
            n = stop - start
            if buffer is None or n != buffer.shape[1]:
                buffer = np.empty((K, n, P), dtype=dtype)
            # The columns are recomputed rather than cached by the forward pass: unrolling is
            # cheap next to the products, and a cache would hold C*HH*WW copies of x.
            unroll(x[start:stop], HH, WW, pad, stride, buffer.transpose(1, 0, 2))
            cols = buffer.reshape(K, n * P)
            # The chunk's upstream gradient side by side as well, (F, n * P).
            dout_rows = np.ascontiguousarray(dout[start:stop].transpose(1, 0, 2)).reshape(F, n * P)
            # dw = sum over images and positions of dout x cols, one product per chunk. It is
            # accumulated transposed, (K, nP) @ (nP, F), the orientation OpenBLAS runs several
            # times faster than (F, nP) @ (nP, K) for these long, thin operands.
            dw_t += cols @ dout_rows.T
            # dcols = w_rows.T (K, F) @ dout (F, nP); col2im sums each column back into its window.
            np.matmul(w_rows_t, dout_rows, out=cols)
            fold(buffer.transpose(1, 0, 2), (n, C, H, W), HH, WW, pad, stride, dx[start:stop])
    return dx, np.ascontiguousarray(dw_t.T).reshape(w.shape), db


def conv_forward_im2col(x, w, b, conv_param):
    """
    A fast implementation of the forward pass for a convolutional layer based on im2col
    with NumPy fancy indexing (helpers.im2col.im2col_indices).

    Inputs:
    - x: Input data of shape (N, C, H, W)
    - w: Filter weights of shape (F, C, HH, WW)
    - b: Biases, of shape (F,)
    - conv_param: A dictionary with 'stride' and 'pad', as for conv_forward_naive

    Returns a tuple of:
    - out: Output data, of shape (N, F, H', W'), H' = 1 + (H + 2 * pad - HH) // stride
      (W' likewise); float32 if all inputs are float32, else float64
    - cache: Values for conv_backward_im2col
    """
    return _conv_forward(x, w, b, conv_param, "indices")


def conv_backward_im2col(dout, cache):
    """
    Backward pass of conv_forward_im2col.

    Inputs:
    - dout: Upstream derivatives, of shape (N, F, H', W')
    - cache: The cache returned by conv_forward_im2col

    Returns a tuple of:
    - dx: Gradient with respect to x, of shape (N, C, H, W)
    - dw: Gradient with respect to w, of shape (F, C, HH, WW)
    - db: Gradient with respect to b, of shape (F,)
    """
    return _conv_backward(dout, cache, "indices")


def conv_forward_strides(x, w, b, conv_param):
    """
    A fast implementation of the forward pass for a convolutional layer based on an
    as_strided view of the padded input (helpers.im2col.im2col_strided): pure NumPy.

    Inputs:
    - x: Input data of shape (N, C, H, W)
    - w: Filter weights of shape (F, C, HH, WW)
    - b: Biases, of shape (F,)
    - conv_param: A dictionary with 'stride' and 'pad', as for conv_forward_naive

    Returns a tuple of:
    - out: Output data, of shape (N, F, H', W'); float32 if all inputs are float32, else float64
    - cache: Values for conv_backward_strides
    """
    return _conv_forward(x, w, b, conv_param, "strides")


def conv_backward_strides(dout, cache):
    """
    Backward pass of conv_forward_strides.

    Inputs:
    - dout: Upstream derivatives, of shape (N, F, H', W')
    - cache: The cache returned by conv_forward_strides

    Returns a tuple of:
    - dx: Gradient with respect to x, of shape (N, C, H, W)
    - dw: Gradient with respect to w, of shape (F, C, HH, WW)
    - db: Gradient with respect to b, of shape (F,)
    """
    return _conv_backward(dout, cache, "strides")


def conv_forward_cython(x, w, b, conv_param):
    """
    A fast implementation of the forward pass for a convolutional layer based on the
    compiled im2col (helpers.im2col_cython). Raises RuntimeError if it is not built.

    Inputs:
    - x: Input data of shape (N, C, H, W)
    - w: Filter weights of shape (F, C, HH, WW)
    - b: Biases, of shape (F,)
    - conv_param: A dictionary with 'stride' and 'pad', as for conv_forward_naive

    Returns a tuple of:
    - out: Output data, of shape (N, F, H', W'); float32 if all inputs are float32, else float64
    - cache: Values for conv_backward_cython
    """
    _require_cython()
    return _conv_forward(x, w, b, conv_param, "cython")


def conv_backward_cython(dout, cache):
    """
    Backward pass of conv_forward_cython.

    Inputs:
    - dout: Upstream derivatives, of shape (N, F, H', W')
    - cache: The cache returned by conv_forward_cython

    Returns a tuple of:
    - dx: Gradient with respect to x, of shape (N, C, H, W)
    - dw: Gradient with respect to w, of shape (F, C, HH, WW)
    - db: Gradient with respect to b, of shape (F,)
    """
    _require_cython()
    return _conv_backward(dout, cache, "cython")


def conv_forward_fast(x, w, b, conv_param):
    """
    The fastest available convolution forward pass: conv_forward_cython when BACKEND is
    'cython' (the extension is built), else conv_forward_strides.

    Inputs:
    - x: Input data of shape (N, C, H, W)
    - w: Filter weights of shape (F, C, HH, WW)
    - b: Biases, of shape (F,)
    - conv_param: A dictionary with 'stride' and 'pad', as for conv_forward_naive

    Returns a tuple of:
    - out: Output data, of shape (N, F, H', W'); float32 if all inputs are float32, else float64
    - cache: Values for conv_backward_fast (it remembers the implementation used)
    """
    return _conv_forward(x, w, b, conv_param, _BACKEND_METHOD[BACKEND])


def conv_backward_fast(dout, cache):
    """
    Backward pass of conv_forward_fast, with the implementation its forward pass used.

    Inputs:
    - dout: Upstream derivatives, of shape (N, F, H', W')
    - cache: The cache returned by conv_forward_fast

    Returns a tuple of:
    - dx: Gradient with respect to x, of shape (N, C, H, W)
    - dw: Gradient with respect to w, of shape (F, C, HH, WW)
    - db: Gradient with respect to b, of shape (F,)
    """
    return _conv_backward(dout, cache)


# ----------------------------------------------------------------------------- max pooling

def _tiles(x_shape, ph, pw, stride):
    return ph == pw == stride and x_shape[2] % ph == 0 and x_shape[3] % pw == 0


def max_pool_forward_reshape(x, pool_param):
    """
    A fast implementation of the forward pass for max pooling when the windows tile the
    input: pool_height == pool_width == stride, dividing H and W.

    The max is taken over the pool_height * pool_width strided views x[:, :, i::s, j::s],
    one vectorized np.maximum each.

    Inputs:
    - x: Input data, of shape (N, C, H, W)
    - pool_param: Dictionary with 'pool_height', 'pool_width' and 'stride'

    Returns a tuple of:
    - out: Output data, of shape (N, C, H // stride, W // stride)
    - cache: Values for max_pool_backward_reshape
    """
    ph, pw, stride, H_out, W_out = check_pool_inputs(x, pool_param)
    x = np.asarray(x)
    if not _tiles(x.shape, ph, pw, stride):
        raise ValueError(f"the reshape path needs windows that tile the input (pool_height == pool_width "
                         f"== stride, dividing H and W); got {ph}x{pw} stride {stride} on x {x.shape}")
    out = x[:, :, ::ph, ::pw].copy()
    for i in range(ph):
        for j in range(pw):
            if i or j:
                np.maximum(out, x[:, :, i::ph, j::pw], out=out)
    cache = (x, pool_param, out)
    return out, cache


def max_pool_backward_reshape(dout, cache):
    """
    Backward pass of max_pool_forward_reshape.

    Inputs:
    - dout: Upstream derivatives, of shape (N, C, H', W')
    - cache: The cache returned by max_pool_forward_reshape

    Returns:
    - dx: Gradient with respect to x, of shape (N, C, H, W)
    """
    x, pool_param, out = cache
    ph, pw = pool_param["pool_height"], pool_param["pool_width"]
    if np.shape(dout) != out.shape:
        raise ValueError(f"dout must have shape {out.shape}, got {np.shape(dout)}")
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


def max_pool_forward_im2col(x, pool_param):
    """
    A fast implementation of the forward pass for max pooling with any window and stride,
    through im2col (BACKEND's): every channel of every image is unrolled as a 1-channel
    image, and the max is taken down each column.

    Inputs:
    - x: Input data, of shape (N, C, H, W)
    - pool_param: Dictionary with 'pool_height', 'pool_width' and 'stride'

    Returns a tuple of:
    - out: Output data, of shape (N, C, H', W'), H' = 1 + (H - pool_height) // stride
      (W' likewise); float32 for float32 input, else float64
    - cache: Values for max_pool_backward_im2col
    """
    ph, pw, stride, H_out, W_out = check_pool_inputs(x, pool_param)
    dtype = _float_dtype(x)
    x = np.ascontiguousarray(x, dtype=dtype)
    N, C, H, W = x.shape
    method = _BACKEND_METHOD[BACKEND]
    unroll = _METHODS[method][0]
    cols = unroll(x.reshape(N * C, 1, H, W), ph, pw, 0, stride, None)
    # argmax returns the first maximum, which fixes the tie rule of the backward pass.
    argmax = cols.argmax(axis=1)
    out = np.take_along_axis(cols, argmax[:, None, :], axis=1)
    out = out.reshape(N, C, H_out, W_out)
    cache = (x.shape, out.shape, dtype, pool_param, argmax, method)
    return out, cache


def max_pool_backward_im2col(dout, cache):
    """
    Backward pass of max_pool_forward_im2col.

    Inputs:
    - dout: Upstream derivatives, of shape (N, C, H', W')
    - cache: The cache returned by max_pool_forward_im2col

    Returns:
    - dx: Gradient with respect to x, of shape (N, C, H, W)
    """
    x_shape, out_shape, dtype, pool_param, argmax, method = cache
    N, C, H, W = x_shape
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    if np.shape(dout) != out_shape:
        raise ValueError(f"dout must have shape {out_shape}, got {np.shape(dout)}")
    dcols = np.zeros((N * C, ph * pw, argmax.shape[1]), dtype=dtype)
    np.put_along_axis(dcols, argmax[:, None, :], np.reshape(dout, (N * C, 1, -1)), axis=1)
    dx = np.empty((N * C, 1, H, W), dtype=dtype)
    _METHODS[method][1](dcols, (N * C, 1, H, W), ph, pw, 0, stride, dx)
    return dx.reshape(x_shape)


def max_pool_forward_fast(x, pool_param):
    """
    A fast implementation of the forward pass for a max pooling layer: the reshape path
    when the windows tile the input, the im2col path otherwise.

    Inputs:
    - x: Input data, of shape (N, C, H, W)
    - pool_param: Dictionary with 'pool_height', 'pool_width' and 'stride'

    Returns a tuple of:
    - out: Output data, of shape (N, C, H', W'), H' = 1 + (H - pool_height) // stride
    - cache: Values for max_pool_backward_fast (it remembers the path used)
    """
    ph, pw, stride, _, _ = check_pool_inputs(x, pool_param)
    if _tiles(np.shape(x), ph, pw, stride):
        out, cache = max_pool_forward_reshape(x, pool_param)
        return out, ("reshape", cache)
    out, cache = max_pool_forward_im2col(x, pool_param)
    return out, ("im2col", cache)


def max_pool_backward_fast(dout, cache):
    """
    Backward pass of max_pool_forward_fast.

    Inputs:
    - dout: Upstream derivatives, of shape (N, C, H', W')
    - cache: The cache returned by max_pool_forward_fast

    Returns:
    - dx: Gradient with respect to x, of shape (N, C, H, W)
    """
    path, real_cache = cache
    if path == "reshape":
        return max_pool_backward_reshape(dout, real_cache)
    return max_pool_backward_im2col(dout, real_cache)
