"""Upsampling layers: transpose convolution (naive, the col2im fast paths, torch) and unpooling.

Oracles: torch.nn.functional.conv_transpose2d, max_unpool2d and interpolate (with autograd for the
gradients), numerical gradients, and the adjoint identity <conv(z), x> == <z, conv_transpose(x)>.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conv_cases import naive_conv_transpose, random_conv_transpose_case
from oracles import check_layer

from helpers import fast_layers, layers, torch_layers
from helpers.gradient_check import eval_numerical_gradient_array, rel_error

TOL = 1e-9
needs_cython = pytest.mark.skipif(not fast_layers.cython_available(),
                                  reason="helpers.im2col_cython is not built (pip install -e .)")
IM2COLS = ["indices", "strides", pytest.param("cython", marks=needs_cython)]
DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(),
                                                                 reason="no CUDA GPU here"))]
POOL = {"pool_height": 2, "pool_width": 2, "stride": 2}


def torch_conv_transpose(conv_param):
    return lambda x, w, b: F.conv_transpose2d(x, w, b, stride=conv_param["stride"], padding=conv_param["pad"])


# ----------------------------------------------------------------------------- transpose convolution

@pytest.mark.parametrize("seed", range(12))
def test_conv_transpose_naive_matches_torch(seed):
    x, w, b, conv_param = random_conv_transpose_case(np.random.default_rng(seed))
    check_layer(*naive_conv_transpose(conv_param), torch_conv_transpose(conv_param), x, w, b, seed=seed)


def test_conv_transpose_output_size():
    # The FCN's upsampling layer: 4x4, stride 2, pad 1 doubles H and W exactly.
    out, _ = layers.conv_transpose_forward_naive(np.ones((1, 2, 5, 3)), np.ones((2, 4, 4, 4)), np.zeros(4),
                                                 {"stride": 2, "pad": 1})
    assert out.shape == (1, 4, 10, 6)


def test_conv_transpose_paints_scaled_filters():
    # One input pixel paints its filter; two pixels a stride apart paint two copies that add where they overlap.
    w = np.arange(9.0).reshape(1, 1, 3, 3)
    x = np.array([[[[1.0, 2.0]]]])
    out, _ = layers.conv_transpose_forward_naive(x, w, np.zeros(1), {"stride": 2, "pad": 0})
    expected = np.zeros((3, 5))
    expected[:, 0:3] += 1 * w[0, 0]
    expected[:, 2:5] += 2 * w[0, 0]
    np.testing.assert_allclose(out[0, 0], expected)


def test_conv_transpose_naive_numerical_gradient():
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((2, 3, 3, 4)), rng.standard_normal((3, 2, 3, 2)), rng.standard_normal(2)
    conv_param = {"stride": 2, "pad": 1}
    out, cache = layers.conv_transpose_forward_naive(x, w, b, conv_param)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = layers.conv_transpose_backward_naive(dout, cache)
    for got, value, fn in ((dx, x, lambda v: layers.conv_transpose_forward_naive(v, w, b, conv_param)[0]),
                           (dw, w, lambda v: layers.conv_transpose_forward_naive(x, v, b, conv_param)[0]),
                           (db, b, lambda v: layers.conv_transpose_forward_naive(x, w, v, conv_param)[0])):
        assert rel_error(got, eval_numerical_gradient_array(fn, value, dout)) < 1e-8


@pytest.mark.parametrize("seed", range(6))
def test_conv_transpose_is_the_adjoint_of_conv(seed):
    # conv maps z (N, F, H', W') to (N, C, H, W) with filters w (C, F, HH, WW); conv_transpose with the
    # same w, stride and pad maps (N, C, H, W) back to (N, F, H', W'): <conv(z), x> == <z, conv_transpose(x)>.
    rng = np.random.default_rng(seed)
    x, w, _, conv_param = random_conv_transpose_case(rng)
    zeros_c, zeros_f = np.zeros(w.shape[0]), np.zeros(w.shape[1])
    up, _ = layers.conv_transpose_forward_naive(x, w, zeros_f, conv_param)
    z = rng.standard_normal(up.shape)
    down, _ = layers.conv_forward_naive(z, w, zeros_c, conv_param)
    assert down.shape == x.shape
    assert np.sum(down * x) == pytest.approx(np.sum(z * up), rel=1e-10)
    # The backward pass of conv with respect to its input is conv_transpose, and vice versa.
    _, conv_cache = layers.conv_forward_naive(z, w, zeros_c, conv_param)
    np.testing.assert_allclose(layers.conv_backward_naive(x, conv_cache)[0], up, atol=1e-12)
    _, up_cache = layers.conv_transpose_forward_naive(x, w, zeros_f, conv_param)
    np.testing.assert_allclose(layers.conv_transpose_backward_naive(z, up_cache)[0], down, atol=1e-12)


@pytest.mark.parametrize("im2col", IM2COLS)
@pytest.mark.parametrize("seed", range(8))
def test_conv_transpose_fast_matches_naive(im2col, seed):
    x, w, b, conv_param = random_conv_transpose_case(np.random.default_rng(20 + seed))

    def forward(x, w, b):
        return fast_layers.conv_transpose_forward_fast(x, w, b, conv_param, im2col=im2col)

    check_layer(forward, fast_layers.conv_transpose_backward_fast, naive_conv_transpose(conv_param), x, w, b,
                seed=seed, dtype=np.float64)


@pytest.mark.parametrize("name", ["im2col", "strides", pytest.param("cython", marks=needs_cython)])
def test_conv_transpose_named_paths_match_torch(name):
    x, w, b, conv_param = random_conv_transpose_case(np.random.default_rng(3), max_size=9)
    forward = getattr(fast_layers, f"conv_transpose_forward_{name}")
    backward = getattr(fast_layers, f"conv_transpose_backward_{name}")
    check_layer(lambda x, w, b: forward(x, w, b, conv_param), backward, torch_conv_transpose(conv_param), x, w, b)


@pytest.mark.parametrize("im2col", IM2COLS)
def test_conv_transpose_fast_in_many_chunks_and_float32(im2col, monkeypatch):
    monkeypatch.setattr(fast_layers, "_CHUNK_BYTES", 1)  # one image per chunk
    rng = np.random.default_rng(5)
    x, w, b = rng.standard_normal((5, 3, 4, 5)), rng.standard_normal((3, 2, 4, 4)), rng.standard_normal(2)
    conv_param = {"stride": 2, "pad": 1}

    def forward(x, w, b):
        return fast_layers.conv_transpose_forward_fast(x, w, b, conv_param, im2col=im2col)

    check_layer(forward, fast_layers.conv_transpose_backward_fast, naive_conv_transpose(conv_param), x, w, b)
    args = [a.astype(np.float32) for a in (x, w, b)]
    check_layer(forward, fast_layers.conv_transpose_backward_fast, naive_conv_transpose(conv_param), *args,
                tol=1e-4, dtype=np.float32)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("seed", range(4))
def test_conv_transpose_torch_matches_naive(device, seed):
    x, w, b, conv_param = random_conv_transpose_case(np.random.default_rng(40 + seed))

    def forward(x, w, b):
        return torch_layers.conv_transpose_forward_torch(x, w, b, conv_param, device=device)

    check_layer(forward, torch_layers.conv_transpose_backward_torch, naive_conv_transpose(conv_param), x, w, b,
                dtype=np.float64)


# ----------------------------------------------------------------------------- unpooling

def test_max_unpool_matches_torch_max_unpool2d():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 6, 8))
    pooled, pool_cache = layers.max_pool_forward_naive(x, POOL)
    ref_pooled, indices = F.max_pool2d(torch.tensor(x), 2, 2, return_indices=True)
    np.testing.assert_array_equal(layers.max_pool_switches(pool_cache)[0], indices.numpy())
    values = rng.standard_normal(pooled.shape)

    def reference(v):
        return F.max_unpool2d(v, indices, 2, 2, output_size=x.shape[2:])

    check_layer(lambda v: layers.max_unpool_forward(v, pool_cache), layers.max_unpool_backward, reference, values)


def test_max_unpool_puts_each_value_where_the_maximum_was():
    x = np.array([[[[1.0, 5.0, 0.0, 0.0],
                    [2.0, 3.0, 0.0, 9.0]]]])
    _, cache = layers.max_pool_forward_naive(x, POOL)
    out, _ = layers.max_unpool_forward(np.array([[[[10.0, 20.0]]]]), cache)
    np.testing.assert_array_equal(out, [[[[0.0, 10.0, 0.0, 0.0], [0.0, 0.0, 0.0, 20.0]]]])


@pytest.mark.parametrize("path", ["reshape", "im2col"])
def test_max_unpool_takes_the_fast_pooling_caches(path):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 2, 6, 4))
    _, naive_cache = layers.max_pool_forward_naive(x, POOL)
    _, fast_cache = fast_layers.max_pool_forward_fast(x, POOL, path=path)
    np.testing.assert_array_equal(layers.max_pool_switches(fast_cache)[0], layers.max_pool_switches(naive_cache)[0])
    values = rng.standard_normal((2, 2, 3, 2))
    np.testing.assert_array_equal(layers.max_unpool_forward(values, fast_cache)[0],
                                  layers.max_unpool_forward(values, naive_cache)[0])


def test_max_unpool_with_overlapping_windows_is_max_pool_backward():
    # Overlapping windows may share their maximum: the values sent there add up, as gradients do.
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 2, 7, 6))
    pool_param = {"pool_height": 3, "pool_width": 3, "stride": 1}
    pooled, cache = layers.max_pool_forward_naive(x, pool_param)
    values = rng.standard_normal(pooled.shape)
    out, unpool_cache = layers.max_unpool_forward(values, cache)
    np.testing.assert_allclose(out, layers.max_pool_backward_naive(values, cache), atol=1e-12)
    _, im2col_cache = fast_layers.max_pool_forward_im2col(x, pool_param)
    np.testing.assert_allclose(layers.max_unpool_forward(values, im2col_cache)[0], out, atol=1e-12)
    dout = rng.standard_normal(out.shape)
    dx_num = eval_numerical_gradient_array(lambda v: layers.max_unpool_forward(v, cache)[0], values, dout)
    assert rel_error(layers.max_unpool_backward(dout, unpool_cache), dx_num) < 1e-8


@pytest.mark.parametrize("factor", [1, 2, 3])
def test_nearest_unpool_matches_torch_interpolate(factor):
    x = np.random.default_rng(factor).standard_normal((2, 3, 4, 5))
    check_layer(lambda x: layers.nearest_unpool_forward(x, factor), layers.nearest_unpool_backward,
                lambda x: F.interpolate(x, scale_factor=factor, mode="nearest"), x)


@pytest.mark.parametrize("factor", [1, 2, 3])
def test_bed_of_nails_is_a_transpose_convolution_with_a_corner_kernel(factor):
    x = np.random.default_rng(factor).standard_normal((2, 3, 4, 5))
    corner = torch.zeros(1, 1, factor, factor, dtype=torch.float64)
    corner[0, 0, 0, 0] = 1.0

    def reference(v):
        N, C, H, W = v.shape
        out = F.conv_transpose2d(v.reshape(N * C, 1, H, W), corner, stride=factor)  # (N * C, 1, fH, fW)
        return out.reshape(N, C, H * factor, W * factor)

    check_layer(lambda x: layers.bed_of_nails_unpool_forward(x, factor), layers.bed_of_nails_unpool_backward,
                reference, x)


# ----------------------------------------------------------------------------- bad input

def test_conv_transpose_rejects_conv_weights_layout():
    x, b = np.zeros((1, 3, 4, 4)), np.zeros(8)
    with pytest.raises(ValueError, match=r"w must have C = 3 input channels \(its first axis\)"):
        layers.conv_transpose_forward_naive(x, np.zeros((8, 3, 3, 3)), b, {"stride": 1, "pad": 0})
    with pytest.raises(ValueError, match=r"b must have shape \(8,\)"):
        fast_layers.conv_transpose_forward_fast(x, np.zeros((3, 8, 3, 3)), np.zeros(3), {"stride": 1, "pad": 0})


def test_conv_transpose_rejects_a_crop_larger_than_the_output():
    with pytest.raises(ValueError, match=r"conv_param\['pad'\] = 2 crops the whole output"):
        layers.conv_transpose_forward_naive(np.zeros((1, 1, 1, 1)), np.zeros((1, 1, 3, 3)), np.zeros(1),
                                            {"stride": 1, "pad": 2})
    with pytest.raises(ValueError, match=r"conv_param\['stride'\] must be a positive integer"):
        torch_layers.conv_transpose_forward_torch(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 3, 3)), np.zeros(1),
                                                  {"stride": 0, "pad": 0})


def test_conv_transpose_backward_rejects_dout_of_the_wrong_shape():
    _, cache = layers.conv_transpose_forward_naive(np.zeros((1, 1, 2, 2)), np.zeros((1, 2, 2, 2)), np.zeros(2),
                                                   {"stride": 2, "pad": 0})
    with pytest.raises(ValueError, match=r"dout must have shape \(1, 2, 4, 4\), got \(1, 2, 3, 3\)"):
        layers.conv_transpose_backward_naive(np.zeros((1, 2, 3, 3)), cache)
    _, cache = fast_layers.conv_transpose_forward_fast(np.zeros((1, 1, 2, 2)), np.zeros((1, 2, 2, 2)), np.zeros(2),
                                                       {"stride": 2, "pad": 0})
    with pytest.raises(ValueError, match=r"dout must have shape \(1, 2, 4, 4\)"):
        fast_layers.conv_transpose_backward_fast(np.zeros((1, 2, 3, 3)), cache)


def test_unpooling_rejects_bad_input():
    x = np.zeros((1, 1, 4, 4))
    _, cache = layers.max_pool_forward_naive(x, POOL)
    with pytest.raises(ValueError, match=r"x must have shape \(1, 1, 2, 2\) \(the output shape of the max-pooling"):
        layers.max_unpool_forward(np.zeros((1, 1, 4, 4)), cache)
    with pytest.raises(ValueError, match="pool_cache must be the cache of max_pool_forward_naive or "
                                         "max_pool_forward_fast, got dict"):
        layers.max_unpool_forward(np.zeros((1, 1, 2, 2)), {"x": x})
    with pytest.raises(ValueError, match="factor must be a positive integer, got 0"):
        layers.nearest_unpool_forward(x, 0)
    with pytest.raises(ValueError, match=r"x must have shape \(N, C, H, W\), got \(4, 4\)"):
        layers.bed_of_nails_unpool_forward(np.zeros((4, 4)), 2)
    _, unpool_cache = layers.nearest_unpool_forward(x, 2)
    with pytest.raises(ValueError, match=r"dout must have shape \(1, 1, 8, 8\)"):
        layers.nearest_unpool_backward(np.zeros((1, 1, 4, 4)), unpool_cache)
