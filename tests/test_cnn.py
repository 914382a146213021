"""ThreeLayerConvNet and the convolutional sandwich layers of helpers.layer_utils."""

import numpy as np
import pytest
import torch
from oracles import check_loss

from helpers import layer_utils, layers
from helpers.classifiers.cnn import ThreeLayerConvNet
from helpers.gradient_check import eval_numerical_gradient, eval_numerical_gradient_array, rel_error

CONV_PARAM = {"stride": 1, "pad": 1}
POOL_PARAM = {"pool_height": 2, "pool_width": 2, "stride": 2}


def _tiny_model(reg=0.0, seed=0):
    return ThreeLayerConvNet(input_dim=(3, 8, 8), num_filters=2, filter_size=3, hidden_dim=5, num_classes=4,
                             weight_scale=1e-1, reg=reg, dtype=np.float64, seed=seed)


def _tiny_data(num_inputs=3, seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((num_inputs, 3, 8, 8)), rng.integers(4, size=num_inputs)


# ----------------------------------------------------------------------------- ThreeLayerConvNet

def test_initial_loss_is_log_num_classes_and_grows_with_reg():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((4, 3, 32, 32)), rng.integers(10, size=4)
    model = ThreeLayerConvNet(seed=0)
    loss, grads = model.loss(X, y)
    assert loss == pytest.approx(np.log(10), abs=0.02)
    assert set(grads) == set(model.params) == {"W1", "b1", "W2", "b2", "W3", "b3"}
    assert all(grads[k].shape == model.params[k].shape for k in grads)
    assert model.params["W1"].shape == (32, 3, 7, 7) and model.params["W2"].shape == (32 * 16 * 16, 100)
    model.reg = 0.5
    assert model.loss(X, y)[0] > loss


def test_scores_without_labels_and_dtype():
    X, _ = _tiny_data()
    model = ThreeLayerConvNet(input_dim=(3, 8, 8), num_filters=2, filter_size=3, hidden_dim=5, seed=0)
    scores = model.loss(X)
    assert scores.shape == (3, 10)
    assert scores.dtype == np.float32 and all(p.dtype == np.float32 for p in model.params.values())


@pytest.mark.parametrize("reg", [0.0, 0.3])
def test_gradients_match_numerical_gradients(reg):
    X, y = _tiny_data()
    model = _tiny_model(reg)
    _, grads = model.loss(X, y)
    for name, param in model.params.items():
        numeric = eval_numerical_gradient(lambda _: model.loss(X, y)[0], param, verbose=False, h=1e-6)
        assert rel_error(grads[name], numeric) < 1e-6, name


def test_loss_and_gradients_match_pytorch():
    X, y = _tiny_data(num_inputs=5, seed=3)
    model = _tiny_model(reg=0.1, seed=4)

    def reference(p):
        h = torch.nn.functional.conv2d(torch.tensor(X), p["W1"], p["b1"], padding=1)
        h = torch.nn.functional.max_pool2d(torch.relu(h), 2)
        h = torch.relu(h.flatten(1) @ p["W2"] + p["b2"])
        scores = h @ p["W3"] + p["b3"]
        return torch.nn.functional.cross_entropy(scores, torch.tensor(y)) + 0.5 * 0.1 * sum(
            (p[k] ** 2).sum() for k in ("W1", "W2", "W3"))

    check_loss(lambda params: model.loss(X, y), reference, model.params, tol=1e-9)


def test_same_seed_same_weights():
    a, b = _tiny_model(seed=7), _tiny_model(seed=7)
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)


@pytest.mark.parametrize("kwargs, message", [
    ({"input_dim": (3, 32)}, "input_dim must be three positive integers"),
    ({"input_dim": (3, 31, 32)}, "even height and width"),
    ({"filter_size": 4}, "filter_size must be a positive odd number"),
    ({"num_filters": 0}, "num_filters must be a positive integer"),
    ({"reg": -1.0}, "reg must be a finite number >= 0, got -1.0"),
])
def test_bad_constructor_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ThreeLayerConvNet(**kwargs)


def test_bad_inputs_to_loss():
    model = _tiny_model()
    X, y = _tiny_data()
    with pytest.raises(ValueError, match=r"X must have shape \(N, 3, 8, 8\), got \(3, 3, 8, 9\)"):
        model.loss(np.zeros((3, 3, 8, 9)), y)
    with pytest.raises(ValueError, match=r"y must have shape \(3,\)"):
        model.loss(X, y[:2])
    with pytest.raises(ValueError, match=r"y must hold labels in 0..3, got range 0..4"):
        model.loss(X, np.array([0, 1, 4]))


# ----------------------------------------------------------------------------- sandwiches

def _conv_inputs(seed=0, N=2, C=3, F=4, size=8):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((N, C, size, size)), rng.standard_normal((F, C, 3, 3)), rng.standard_normal(F))


def test_conv_relu_matches_composition():
    x, w, b = _conv_inputs()
    out, cache = layer_utils.conv_relu_forward(x, w, b, CONV_PARAM)
    a, conv_cache = layers.conv_forward_naive(x, w, b, CONV_PARAM)
    assert rel_error(out, np.maximum(a, 0)) < 1e-10
    dout = np.random.default_rng(1).standard_normal(out.shape)
    expected = layers.conv_backward_naive(dout * (a > 0), conv_cache)
    for got, want in zip(layer_utils.conv_relu_backward(dout, cache), expected, strict=True):
        assert rel_error(got, want) < 1e-10


def test_conv_relu_pool_matches_composition_and_numerical_gradient():
    x, w, b = _conv_inputs(seed=2)
    out, cache = layer_utils.conv_relu_pool_forward(x, w, b, CONV_PARAM, POOL_PARAM)
    a, conv_cache = layers.conv_forward_naive(x, w, b, CONV_PARAM)
    s, relu_cache = layers.relu_forward(a)
    expected_out, pool_cache = layers.max_pool_forward_naive(s, POOL_PARAM)
    assert out.shape == (2, 4, 4, 4) and rel_error(out, expected_out) < 1e-10
    dout = np.random.default_rng(3).standard_normal(out.shape)
    dx, dw, db = layer_utils.conv_relu_pool_backward(dout, cache)
    da = layers.relu_backward(layers.max_pool_backward_naive(dout, pool_cache), relu_cache)
    for got, want in zip((dx, dw, db), layers.conv_backward_naive(da, conv_cache), strict=True):
        assert rel_error(got, want) < 1e-10
    numeric = eval_numerical_gradient_array(
        lambda w_: layer_utils.conv_relu_pool_forward(x, w_, b, CONV_PARAM, POOL_PARAM)[0], w, dout)
    assert rel_error(dw, numeric) < 1e-7


def test_conv_bn_relu_matches_composition():
    x, w, b = _conv_inputs(seed=4, N=4)
    rng = np.random.default_rng(5)
    gamma, beta = rng.standard_normal(4), rng.standard_normal(4)
    bn_param = {"mode": "train"}
    out, cache = layer_utils.conv_bn_relu_forward(x, w, b, gamma, beta, CONV_PARAM, bn_param)
    a, conv_cache = layers.conv_forward_naive(x, w, b, CONV_PARAM)
    an, bn_cache = layers.spatial_batchnorm_forward(a, gamma, beta, {"mode": "train"})
    assert rel_error(out, np.maximum(an, 0)) < 1e-10
    assert "running_mean" in bn_param, "the sandwich must pass bn_param through to the normalization"
    dout = rng.standard_normal(out.shape)
    da, dgamma, dbeta = layers.spatial_batchnorm_backward(dout * (an > 0), bn_cache)
    expected = (*layers.conv_backward_naive(da, conv_cache), dgamma, dbeta)
    # db is exactly zero in theory (the normalization removes any per-channel shift): compare absolutely.
    for got, want in zip(layer_utils.conv_bn_relu_backward(dout, cache), expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
