"""Naive convolution, max pooling, spatial batch/group normalization in helpers.layers.

Oracles: PyTorch (conv2d, max_pool2d, batch_norm, group_norm and their autograd gradients)
on random shapes, and numerical gradients.
"""

import numpy as np
import pytest
import torch.nn.functional as F
from conv_cases import naive_conv, naive_pool, random_conv_case, random_pool_case
from oracles import check_layer

from helpers import layers
from helpers.gradient_check import eval_numerical_gradient_array, rel_error

TOL = 1e-9


@pytest.mark.parametrize("seed", range(12))
def test_conv_naive_matches_torch(seed):
    x, w, b, conv_param = random_conv_case(np.random.default_rng(seed), max_size=9)
    stride, pad = conv_param["stride"], conv_param["pad"]
    check_layer(*naive_conv(conv_param), lambda x, w, b: F.conv2d(x, w, b, stride=stride, padding=pad), x, w, b,
                seed=seed)


def test_conv_output_size_is_floored():
    # (H + 2*pad - HH) = 30 - 3 + 2 = 29 is not a multiple of stride 4: floor, as PyTorch does.
    x = np.ones((1, 1, 30, 30))
    out, _ = layers.conv_forward_naive(x, np.ones((1, 1, 3, 3)), np.zeros(1), {"stride": 4, "pad": 1})
    assert out.shape == (1, 1, 8, 8)


def test_conv_naive_numerical_gradient():
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((2, 3, 5, 6)), rng.standard_normal((2, 3, 3, 2)), rng.standard_normal(2)
    conv_param = {"stride": 2, "pad": 1}
    out, cache = layers.conv_forward_naive(x, w, b, conv_param)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = layers.conv_backward_naive(dout, cache)
    assert rel_error(dx, eval_numerical_gradient_array(
        lambda v: layers.conv_forward_naive(v, w, b, conv_param)[0], x, dout)) < 1e-8
    assert rel_error(dw, eval_numerical_gradient_array(
        lambda v: layers.conv_forward_naive(x, v, b, conv_param)[0], w, dout)) < 1e-8
    assert rel_error(db, eval_numerical_gradient_array(
        lambda v: layers.conv_forward_naive(x, w, v, conv_param)[0], b, dout)) < 1e-8


def test_conv_naive_leaves_input_unchanged():
    rng = np.random.default_rng(1)
    x, w, b, conv_param = rng.standard_normal((1, 2, 4, 4)), rng.standard_normal((2, 2, 3, 3)), np.zeros(2), \
        {"stride": 1, "pad": 2}
    x_copy = x.copy()
    layers.conv_forward_naive(x, w, b, conv_param)
    np.testing.assert_array_equal(x, x_copy)


@pytest.mark.parametrize("seed", range(8))
def test_max_pool_naive_matches_torch(seed):
    x, pool_param = random_pool_case(np.random.default_rng(100 + seed), N=2, C=3, max_size=9)
    window, stride = (pool_param["pool_height"], pool_param["pool_width"]), pool_param["stride"]
    check_layer(*naive_pool(pool_param), lambda x: F.max_pool2d(x, window, stride=stride), x, seed=seed)


def test_max_pool_naive_numerical_gradient():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 2, 6, 5))
    pool_param = {"pool_height": 3, "pool_width": 2, "stride": 2}
    out, cache = layers.max_pool_forward_naive(x, pool_param)
    dout = rng.standard_normal(out.shape)
    dx_num = eval_numerical_gradient_array(lambda v: layers.max_pool_forward_naive(v, pool_param)[0], x, dout)
    assert rel_error(layers.max_pool_backward_naive(dout, cache), dx_num) < 1e-8


def test_max_pool_ties_send_gradient_to_first_maximum():
    x = np.zeros((1, 1, 2, 2))
    _, cache = layers.max_pool_forward_naive(x, {"pool_height": 2, "pool_width": 2, "stride": 2})
    dx = layers.max_pool_backward_naive(np.ones((1, 1, 1, 1)), cache)
    np.testing.assert_array_equal(dx, [[[[1.0, 0.0], [0.0, 0.0]]]])


@pytest.mark.parametrize(
    "x_shape, w_shape, b_shape, conv_param, message",
    [
        ((2, 3, 5, 5), (4, 2, 3, 3), (4,), {"stride": 1, "pad": 0}, "channels"),
        ((3, 5, 5), (4, 3, 3, 3), (4,), {"stride": 1, "pad": 0}, r"\(N, C, H, W\)"),
        ((2, 3, 5, 5), (4, 3, 3), (4,), {"stride": 1, "pad": 0}, r"\(F, C, HH, WW\)"),
        ((2, 3, 5, 5), (4, 3, 3, 3), (3,), {"stride": 1, "pad": 0}, r"b must have shape \(4,\)"),
        ((2, 3, 5, 5), (4, 3, 3, 3), (4,), {"stride": 0, "pad": 0}, "stride"),
        ((2, 3, 5, 5), (4, 3, 3, 3), (4,), {"stride": -1, "pad": 0}, "stride"),
        ((2, 3, 5, 5), (4, 3, 3, 3), (4,), {"stride": 1.5, "pad": 0}, "stride"),
        ((2, 3, 5, 5), (4, 3, 3, 3), (4,), {"stride": 1, "pad": -1}, "pad"),
        ((2, 3, 5, 5), (4, 3, 3, 3), (4,), {"stride": 1}, "pad"),
        ((2, 3, 2, 2), (4, 3, 5, 5), (4,), {"stride": 1, "pad": 1}, "fit"),
    ],
)
def test_conv_bad_input(x_shape, w_shape, b_shape, conv_param, message):
    with pytest.raises(ValueError, match=message):
        layers.conv_forward_naive(np.zeros(x_shape), np.zeros(w_shape), np.zeros(b_shape), conv_param)


@pytest.mark.parametrize(
    "x_shape, pool_param, message",
    [
        ((2, 3, 4, 4), {"pool_height": 5, "pool_width": 2, "stride": 2}, "fit"),
        ((2, 3, 4, 4), {"pool_height": 2, "pool_width": 2, "stride": 0}, "stride"),
        ((2, 3, 4, 4), {"pool_height": 2, "stride": 2}, "pool_width"),
        ((3, 4, 4), {"pool_height": 2, "pool_width": 2, "stride": 2}, r"\(N, C, H, W\)"),
    ],
)
def test_max_pool_bad_input(x_shape, pool_param, message):
    with pytest.raises(ValueError, match=message):
        layers.max_pool_forward_naive(np.zeros(x_shape), pool_param)


def test_conv_backward_rejects_wrong_dout_shape():
    _, cache = layers.conv_forward_naive(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 3, 3)), np.zeros(1),
                                         {"stride": 1, "pad": 0})
    with pytest.raises(ValueError, match="dout must have shape"):
        layers.conv_backward_naive(np.zeros((1, 1, 3, 3)), cache)


# ----------------------------------------------------------------------------- spatial normalization

def test_spatial_batchnorm_matches_torch():
    rng = np.random.default_rng(5)
    N, C, H, W = 4, 3, 5, 6
    x = 4 * rng.standard_normal((N, C, H, W)) + 10
    gamma, beta = rng.standard_normal(C), rng.standard_normal(C)
    bn_param = {"mode": "train", "eps": 1e-5}
    check_layer(lambda x, gamma, beta: layers.spatial_batchnorm_forward(x, gamma, beta, bn_param),
                layers.spatial_batchnorm_backward,
                lambda x, gamma, beta: F.batch_norm(x, None, None, gamma, beta, training=True, eps=1e-5),
                x, gamma, beta, seed=5, tol={"default": TOL, "dx": 1e-8})
    assert bn_param["running_mean"].shape == (C,)


def test_spatial_batchnorm_test_mode_uses_running_statistics():
    rng = np.random.default_rng(6)
    C = 3
    gamma, beta = np.ones(C), np.zeros(C)
    bn_param = {"mode": "train"}
    for _ in range(60):
        layers.spatial_batchnorm_forward(2 * rng.standard_normal((8, C, 4, 4)) + 5, gamma, beta, bn_param)
    bn_param["mode"] = "test"
    out, _ = layers.spatial_batchnorm_forward(2 * rng.standard_normal((200, C, 4, 4)) + 5, gamma, beta, bn_param)
    assert np.all(np.abs(out.mean(axis=(0, 2, 3))) < 0.15)
    assert np.all(np.abs(out.std(axis=(0, 2, 3)) - 1) < 0.15)


def test_spatial_batchnorm_numerical_gradient():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 3, 3, 4))
    gamma, beta = rng.standard_normal(3), rng.standard_normal(3)
    dout = rng.standard_normal(x.shape)
    _, cache = layers.spatial_batchnorm_forward(x, gamma, beta, {"mode": "train"})
    dx, _, _ = layers.spatial_batchnorm_backward(dout, cache)
    dx_num = eval_numerical_gradient_array(
        lambda v: layers.spatial_batchnorm_forward(v, gamma, beta, {"mode": "train"})[0], x, dout)
    assert rel_error(dx, dx_num) < 1e-6


def test_spatial_groupnorm_matches_torch():
    rng = np.random.default_rng(8)
    N, C, H, W, G = 3, 6, 4, 5, 2
    x = 3 * rng.standard_normal((N, C, H, W)) - 2
    gamma, beta = rng.standard_normal((1, C, 1, 1)), rng.standard_normal((1, C, 1, 1))
    # PyTorch's gamma and beta have shape (C,), CS231n's (1, C, 1, 1): the oracle reshapes them.
    check_layer(lambda x, gamma, beta: layers.spatial_groupnorm_forward(x, gamma, beta, G, {"eps": 1e-5}),
                layers.spatial_groupnorm_backward,
                lambda x, gamma, beta: F.group_norm(x, G, gamma.reshape(C), beta.reshape(C), eps=1e-5),
                x, gamma, beta, seed=8, tol={"default": TOL, "dx": 1e-8})


def test_spatial_groupnorm_numerical_gradient():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((2, 4, 3, 3))
    gamma, beta = rng.standard_normal((1, 4, 1, 1)), rng.standard_normal((1, 4, 1, 1))
    dout = rng.standard_normal(x.shape)
    _, cache = layers.spatial_groupnorm_forward(x, gamma, beta, 2, {})
    dx, dgamma, dbeta = layers.spatial_groupnorm_backward(dout, cache)
    forward = lambda v, g=gamma, bb=beta: layers.spatial_groupnorm_forward(v, g, bb, 2, {})[0]
    assert rel_error(dx, eval_numerical_gradient_array(forward, x, dout)) < 1e-6
    assert rel_error(dgamma, eval_numerical_gradient_array(lambda g: forward(x, g), gamma, dout)) < 1e-7
    assert rel_error(dbeta, eval_numerical_gradient_array(lambda bb: forward(x, gamma, bb), beta, dout)) < 1e-7


def test_spatial_groupnorm_bad_input():
    x = np.zeros((2, 6, 3, 3))
    good = np.ones((1, 6, 1, 1))
    with pytest.raises(ValueError, match="G must divide"):
        layers.spatial_groupnorm_forward(x, good, good, 4, {})
    with pytest.raises(ValueError, match=r"gamma must have shape \(1, 6, 1, 1\)"):
        layers.spatial_groupnorm_forward(x, np.ones(6), good, 2, {})
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        layers.spatial_groupnorm_forward(np.zeros((2, 6)), good, good, 2, {})
