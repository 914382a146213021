"""im2col (NumPy and Cython) and fast_layers: every fast path against the naive layers.

Oracles: the naive layers of helpers.layers (themselves tested against PyTorch in
test_conv_layers.py), torch.nn.functional.unfold/fold for the im2col layout, and the
adjoint identity <im2col(x), c> == <x, col2im(c)>.
"""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conv_cases import naive_conv, naive_pool, random_conv_case, random_pool_case
from oracles import check_layer

from helpers import _blas, fast_layers, layers
from helpers.gradient_check import rel_error
from helpers.im2col import (
    col2im_indices,
    col2im_strided,
    get_im2col_indices,
    im2col_indices,
    im2col_strided,
)

TOL = 1e-9
needs_cython = pytest.mark.skipif(not fast_layers.cython_available(),
                                  reason="helpers.im2col_cython is not built (pip install -e .)")

CONV_PATHS = {
    "im2col": (fast_layers.conv_forward_im2col, fast_layers.conv_backward_im2col),
    "strides": (fast_layers.conv_forward_strides, fast_layers.conv_backward_strides),
    "cython": (fast_layers.conv_forward_cython, fast_layers.conv_backward_cython),
    "fast": (fast_layers.conv_forward_fast, fast_layers.conv_backward_fast),
}


def conv_paths():
    for name in CONV_PATHS:
        marks = [needs_cython] if name == "cython" else []
        yield pytest.param(name, marks=marks, id=name)


def unrollers():
    yield pytest.param(lambda x, fh, fw, p, s: im2col_indices(x, fh, fw, p, s), id="indices")
    yield pytest.param(lambda x, fh, fw, p, s: im2col_strided(x, fh, fw, p, s), id="strided")
    if fast_layers.cython_available():
        from helpers.im2col_cython import im2col_cython

        yield pytest.param(lambda x, fh, fw, p, s: im2col_cython(x, fh, fw, p, s), id="cython")


def folders():
    yield pytest.param(lambda c, shape, fh, fw, p, s: col2im_indices(c, shape, fh, fw, p, s), id="indices")
    yield pytest.param(lambda c, shape, fh, fw, p, s: col2im_strided(c, shape, fh, fw, p, s), id="strided")
    if fast_layers.cython_available():
        from helpers.im2col_cython import col2im_cython

        yield pytest.param(lambda c, shape, fh, fw, p, s: col2im_cython(c, *shape, fh, fw, p, s), id="cython")


def random_geometry(rng):
    fh, fw = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    p, s = int(rng.integers(0, 3)), int(rng.integers(1, 4))
    H, W = int(rng.integers(max(1, fh - 2 * p), 9)), int(rng.integers(max(1, fw - 2 * p), 9))
    return (int(rng.integers(1, 4)), int(rng.integers(1, 4)), H, W), fh, fw, p, s


# ----------------------------------------------------------------------------- im2col / col2im

@pytest.mark.parametrize("unroll", list(unrollers()))
@pytest.mark.parametrize("seed", range(6))
def test_im2col_matches_torch_unfold(unroll, seed):
    rng = np.random.default_rng(seed)
    x_shape, fh, fw, p, s = random_geometry(rng)
    x = rng.standard_normal(x_shape)
    expected = F.unfold(torch.tensor(x), (fh, fw), padding=p, stride=s).numpy()
    np.testing.assert_array_equal(unroll(x, fh, fw, p, s), expected)


@pytest.mark.parametrize("fold", list(folders()))
@pytest.mark.parametrize("seed", range(6))
def test_col2im_matches_torch_fold_and_is_the_adjoint(fold, seed):
    rng = np.random.default_rng(50 + seed)
    x_shape, fh, fw, p, s = random_geometry(rng)
    x = rng.standard_normal(x_shape)
    cols_shape = im2col_strided(x, fh, fw, p, s).shape
    cols = rng.standard_normal(cols_shape)
    folded = fold(cols, x_shape, fh, fw, p, s)
    expected = F.fold(torch.tensor(cols), x_shape[2:], (fh, fw), padding=p, stride=s).numpy()
    assert rel_error(folded, expected) < TOL
    # <im2col(x), cols> == <x, col2im(cols)>: col2im is the transpose of im2col.
    assert np.isclose(np.sum(im2col_strided(x, fh, fw, p, s) * cols), np.sum(x * folded))


def test_get_im2col_indices_shapes():
    k, i, j = get_im2col_indices((2, 3, 5, 5), 3, 3, padding=1, stride=2)
    assert k.shape == (27, 1) and i.shape == j.shape == (27, 9)


def test_im2col_strided_reuses_the_out_buffer():
    x = np.random.default_rng(0).standard_normal((2, 2, 5, 5))
    buffer = np.full((2, 18, 25), np.nan)
    cols = im2col_strided(x, 3, 3, 1, 1, out=buffer)
    assert cols is buffer
    np.testing.assert_array_equal(cols, im2col_indices(x, 3, 3, 1, 1))
    with pytest.raises(ValueError, match="out must be"):
        im2col_strided(x, 3, 3, 1, 1, out=np.empty((2, 18, 24)))


def test_im2col_bad_geometry():
    with pytest.raises(ValueError, match="must fit"):
        im2col_indices(np.zeros((1, 1, 2, 2)), 5, 5, 1, 1)
    with pytest.raises(ValueError, match="stride"):
        im2col_strided(np.zeros((1, 1, 4, 4)), 2, 2, 0, 0)
    with pytest.raises(ValueError, match="cols must have shape"):
        col2im_strided(np.zeros((1, 4, 8)), (1, 1, 4, 4), 2, 2, 0, 1)


@needs_cython
def test_cython_im2col_out_buffer_is_fully_overwritten():
    from helpers.im2col_cython import col2im_cython, im2col_cython

    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 6, 7))
    buffer = np.full((2, 3 * 3 * 2, 4 * 5), np.nan)
    cols = im2col_cython(x, 3, 2, 2, 2, out=buffer)
    assert cols is buffer
    np.testing.assert_array_equal(cols, im2col_indices(x, 3, 2, 2, 2))
    image = np.full(x.shape, np.nan)
    col2im_cython(cols, *x.shape, 3, 2, 2, 2, out=image)
    assert rel_error(image, col2im_indices(cols, x.shape, 3, 2, 2, 2)) < TOL


@needs_cython
def test_cython_rejects_what_it_cannot_read():
    from helpers.im2col_cython import col2im_cython, im2col_cython

    x = np.zeros((2, 3, 5, 5))
    with pytest.raises(ValueError, match="float32 or float64"):
        im2col_cython(x.astype(np.int64), 3, 3, 1, 1)
    with pytest.raises(ValueError, match="C-contiguous"):
        im2col_cython(x.transpose(0, 1, 3, 2), 3, 3, 1, 1)
    with pytest.raises(ValueError, match="4-d"):
        im2col_cython(x[0], 3, 3, 1, 1)
    with pytest.raises(ValueError, match="must fit"):
        im2col_cython(x, 9, 9, 1, 1)
    with pytest.raises(ValueError, match="stride"):
        im2col_cython(x, 3, 3, 1, 0)
    with pytest.raises(ValueError, match="out must be"):
        im2col_cython(x, 3, 3, 1, 1, out=np.empty((2, 27, 24)))
    with pytest.raises(ValueError, match="cols must have shape"):
        col2im_cython(np.zeros((2, 27, 24)), 2, 3, 5, 5, 3, 3, 1, 1)


# ----------------------------------------------------------------------------- convolution

@pytest.mark.parametrize("path", list(conv_paths()))
@pytest.mark.parametrize("seed", range(10))
def test_conv_fast_paths_match_naive(path, seed):
    forward, backward = CONV_PATHS[path]
    x, w, b, conv_param = random_conv_case(np.random.default_rng(seed))
    check_layer(lambda x, w, b: forward(x, w, b, conv_param), backward, naive_conv(conv_param), x, w, b, seed=seed)


@pytest.mark.parametrize("backend", ["numpy", pytest.param("cython", marks=needs_cython)])
def test_conv_fast_on_each_backend_and_many_chunks(backend, monkeypatch):
    # A tiny chunk size forces several chunks, with a short last one.
    monkeypatch.setattr(fast_layers, "_CHUNK_BYTES", 1)
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((5, 3, 7, 6)), rng.standard_normal((4, 3, 3, 2)), rng.standard_normal(4)
    conv_param = {"stride": 2, "pad": 1}

    def forward(x, w, b):
        with fast_layers.use_backend(backend):
            return fast_layers.conv_forward_fast(x, w, b, conv_param)

    # The cache remembers the backend, so backward works after the block too.
    check_layer(forward, fast_layers.conv_backward_fast, naive_conv(conv_param), x, w, b, seed=3)


@pytest.mark.parametrize("path", list(conv_paths()))
def test_conv_dtypes_and_layouts(path):
    forward, backward = CONV_PATHS[path]
    rng = np.random.default_rng(4)
    x, w, b = rng.standard_normal((3, 2, 6, 5)), rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(3)
    conv_param = {"stride": 1, "pad": 1}
    expected, _ = layers.conv_forward_naive(x, w, b, conv_param)

    out32, cache32 = forward(x.astype(np.float32), w.astype(np.float32), b.astype(np.float32), conv_param)
    assert out32.dtype == np.float32 and rel_error(out32, expected) < 1e-4
    assert all(g.dtype == np.float32 for g in backward(out32, cache32))

    # Non-contiguous views (a transposed copy read back through a transpose) give the same result.
    x_view = np.ascontiguousarray(x.transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2)
    out_view, _ = forward(x_view, w[:, :, ::-1, ::-1][:, :, ::-1, ::-1], b, conv_param)
    assert rel_error(out_view, expected) < TOL

    out_int, _ = forward(np.ones((1, 2, 4, 4), dtype=np.int64), np.ones((1, 2, 3, 3), dtype=np.int64),
                         np.zeros(1, dtype=np.int64), {"stride": 1, "pad": 0})
    assert out_int.dtype == np.float64 and np.all(out_int == 18)


@pytest.mark.parametrize("path", list(conv_paths()))
def test_conv_fast_bad_input(path):
    forward, backward = CONV_PATHS[path]
    with pytest.raises(ValueError, match="channels"):
        forward(np.zeros((2, 3, 5, 5)), np.zeros((4, 2, 3, 3)), np.zeros(4), {"stride": 1, "pad": 0})
    with pytest.raises(ValueError, match="stride"):
        forward(np.zeros((2, 3, 5, 5)), np.zeros((4, 3, 3, 3)), np.zeros(4), {"stride": 0, "pad": 0})
    with pytest.raises(ValueError, match="fit"):
        forward(np.zeros((2, 3, 2, 2)), np.zeros((4, 3, 5, 5)), np.zeros(4), {"stride": 1, "pad": 0})
    with pytest.raises(ValueError, match="complex|real"):
        forward(np.zeros((2, 3, 5, 5), dtype=complex), np.zeros((4, 3, 3, 3)), np.zeros(4),
                {"stride": 1, "pad": 0})
    _, cache = forward(np.zeros((2, 3, 5, 5)), np.zeros((4, 3, 3, 3)), np.zeros(4), {"stride": 1, "pad": 0})
    with pytest.raises(ValueError, match="dout must have shape"):
        backward(np.zeros((2, 4, 2, 2)), cache)


# ----------------------------------------------------------------------------- max pooling

@pytest.mark.parametrize("path", ["im2col", "fast"])
@pytest.mark.parametrize("backend", ["numpy", pytest.param("cython", marks=needs_cython)])
@pytest.mark.parametrize("seed", range(8))
def test_max_pool_im2col_and_fast_match_naive(path, backend, seed):
    forward = getattr(fast_layers, f"max_pool_forward_{path}")
    backward = getattr(fast_layers, f"max_pool_backward_{path}")
    x, pool_param = random_pool_case(np.random.default_rng(200 + seed))
    with fast_layers.use_backend(backend):
        check_layer(lambda x: forward(x, pool_param), backward, naive_pool(pool_param), x, seed=seed)


@pytest.mark.parametrize("size, shape", [(2, (2, 3, 8, 6)), (3, (1, 2, 9, 6)), (1, (2, 2, 3, 3))])
def test_max_pool_reshape_matches_naive(size, shape):
    x = np.random.default_rng(size).standard_normal(shape)
    pool_param = {"pool_height": size, "pool_width": size, "stride": size}
    check_layer(lambda x: fast_layers.max_pool_forward_reshape(x, pool_param), fast_layers.max_pool_backward_reshape,
                naive_pool(pool_param), x, seed=size)


def test_max_pool_ties_go_to_the_first_maximum_on_every_path():
    # ReLU outputs are full of equal zeros: every path must route the gradient the same way.
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 1, 1] = x[0, 0, 0, 1] = 1.0
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    dout = np.arange(1.0, 5.0).reshape(1, 1, 2, 2)
    expected = layers.max_pool_backward_naive(dout, layers.max_pool_forward_naive(x, pool_param)[1])
    assert expected[0, 0, 0, 1] == 1 and expected[0, 0, 1, 1] == 0 and expected[0, 0, 0, 2] == 2
    for forward, backward in ((fast_layers.max_pool_forward_reshape, fast_layers.max_pool_backward_reshape),
                              (fast_layers.max_pool_forward_im2col, fast_layers.max_pool_backward_im2col)):
        np.testing.assert_array_equal(backward(dout, forward(x, pool_param)[1]), expected)


def test_max_pool_reshape_rejects_windows_that_do_not_tile():
    with pytest.raises(ValueError, match="tile"):
        fast_layers.max_pool_forward_reshape(np.zeros((1, 1, 5, 5)), {"pool_height": 2, "pool_width": 2,
                                                                        "stride": 2})
    with pytest.raises(ValueError, match="tile"):
        fast_layers.max_pool_forward_reshape(np.zeros((1, 1, 4, 4)), {"pool_height": 2, "pool_width": 2,
                                                                        "stride": 1})


def test_max_pool_fast_picks_reshape_only_when_windows_tile():
    x = np.zeros((1, 1, 6, 6))
    assert fast_layers.max_pool_forward_fast(x, {"pool_height": 2, "pool_width": 2, "stride": 2})[1][0] == "reshape"
    assert fast_layers.max_pool_forward_fast(x, {"pool_height": 3, "pool_width": 3, "stride": 2})[1][0] == "im2col"


def test_max_pool_fast_bad_input():
    with pytest.raises(ValueError, match="fit"):
        fast_layers.max_pool_forward_fast(np.zeros((1, 1, 3, 3)), {"pool_height": 4, "pool_width": 2,
                                                                     "stride": 1})
    out, cache = fast_layers.max_pool_forward_fast(np.zeros((1, 1, 5, 5)), {"pool_height": 3, "pool_width": 3,
                                                                             "stride": 1})
    with pytest.raises(ValueError, match="dout must have shape"):
        fast_layers.max_pool_backward_fast(np.zeros((1, 1, 2, 2)), cache)


# ----------------------------------------------------------------------------- backend selection

def test_backend_switch():
    assert fast_layers.BACKEND in fast_layers.BACKENDS
    before = fast_layers.BACKEND
    with fast_layers.use_backend("numpy"):
        assert fast_layers.BACKEND == "numpy"
        assert fast_layers.conv_forward_fast(np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 2, 2)), np.zeros(1),
                                             {"stride": 1, "pad": 0})[1][-1] == "strides"
    assert fast_layers.BACKEND == before
    with pytest.raises(ValueError, match="backend must be one of"):
        fast_layers.set_backend("fortran")


def test_missing_extension_falls_back_loudly_to_numpy():
    # A fresh interpreter in which importing the extension fails, as in an uninstalled checkout.
    script = textwrap.dedent("""
        import sys, warnings
        import numpy as np
        sys.modules["helpers.im2col_cython"] = None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            from helpers import fast_layers
        assert fast_layers.BACKEND == "numpy" and not fast_layers.cython_available()
        assert len(caught) == 1 and "pip install -e ." in str(caught[0].message), caught
        x, w, b = np.ones((1, 1, 4, 4)), np.ones((1, 1, 3, 3)), np.zeros(1)
        out, cache = fast_layers.conv_forward_fast(x, w, b, {"stride": 1, "pad": 0})
        assert np.all(out == 9)
        try:
            fast_layers.conv_forward_cython(x, w, b, {"stride": 1, "pad": 0})
        except RuntimeError as error:
            assert "pip install -e ." in str(error)
        else:
            raise AssertionError("conv_forward_cython ran without the extension")
        print("ok")
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@pytest.mark.skipif(_blas.OPENBLAS_THREADS is None, reason="NumPy does not use its bundled OpenBLAS here")
def test_small_products_restore_the_blas_thread_count():
    get, _ = _blas.OPENBLAS_THREADS
    before = get()
    rng = np.random.default_rng(9)
    out, cache = fast_layers.conv_forward_fast(rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((2, 2, 3, 3)),
                                               np.zeros(2), {"stride": 1, "pad": 1})
    fast_layers.conv_backward_fast(out, cache)
    assert get() == before


@pytest.mark.skipif(_blas.OPENBLAS_THREADS is None, reason="NumPy does not use its bundled OpenBLAS here")
def test_blas_threads_for_runs_only_small_products_on_one_thread():
    get, _ = _blas.OPENBLAS_THREADS
    before = get()
    with _blas.blas_threads_for(_blas.THREADED_GEMM_FLOPS / 10):
        assert get() == 1
    assert get() == before
    with _blas.blas_threads_for(_blas.THREADED_GEMM_FLOPS):
        assert get() == before
