"""Tests of TwoLayerNet and FullyConnectedNet: initial loss, numerical gradient checks for
every normalization with and without dropout, PyTorch as an oracle for the whole network,
train/test mode handling, overriding layers, and bad input."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from oracles import check_loss

from helpers.classifiers.fc_net import FullyConnectedNet, TwoLayerNet
from helpers.gradient_check import eval_numerical_gradient, rel_error
from helpers.layers import batchnorm_forward

N, D, H1, H2, C = 10, 15, 20, 30, 10


def data(seed=231, n=N):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, D)), rng.integers(C, size=n)


def max_gradient_error(model, X, y):
    """Largest relative error between the analytic and the numerical gradient over all params."""
    _, grads = model.loss(X, y)
    assert sorted(grads) == sorted(model.params)
    errors = {}
    for name in grads:
        numeric = eval_numerical_gradient(lambda _: model.loss(X, y)[0], model.params[name], verbose=False)
        # Gradients that are zero (biases feeding a batchnorm) are compared in absolute terms.
        if np.abs(numeric).max() < 1e-8:
            errors[name] = float(np.abs(grads[name]).max())
        else:
            errors[name] = rel_error(grads[name], numeric)
    return errors


def test_initial_loss_is_log_num_classes_with_small_weights():
    X, y = data(n=200)
    for normalization in (None, "batchnorm", "layernorm"):
        model = FullyConnectedNet([H1, H2], input_dim=D, num_classes=C, weight_scale=1e-3,
                                  normalization=normalization, dtype=np.float64, seed=0)
        loss, _ = model.loss(X, y)
        assert loss == pytest.approx(np.log(C), abs=0.05)


@pytest.mark.parametrize("normalization", [None, "batchnorm", "layernorm"])
@pytest.mark.parametrize("keep, reg", [(1, 0.0), (1, 3.14), (0.5, 0.7)])
def test_fully_connected_net_gradient_check(normalization, keep, reg):
    X, y = data()
    model = FullyConnectedNet([H1, H2], input_dim=D, num_classes=C, reg=reg, weight_scale=5e-2,
                              dtype=np.float64, normalization=normalization, dropout_keep_ratio=keep, seed=123)
    errors = max_gradient_error(model, X, y)
    assert max(errors.values()) < 1e-5, errors


def test_two_layer_net_gradient_check():
    X, y = data()
    model = TwoLayerNet(input_dim=D, hidden_dim=H1, num_classes=C, weight_scale=1e-1, reg=0.8, seed=1)
    errors = max_gradient_error(model, X, y)
    assert max(errors.values()) < 1e-6, errors


def test_two_layer_net_cs231n_published_values():
    # The toy model and expected values of CS231n's FullyConnectedNets notebook (2023).
    N, D, H, C = 3, 5, 50, 7
    model = TwoLayerNet(input_dim=D, hidden_dim=H, num_classes=C, weight_scale=1e-3)
    model.params["W1"] = np.linspace(-0.7, 0.3, num=D * H).reshape(D, H)
    model.params["b1"] = np.linspace(-0.1, 0.9, num=H)
    model.params["W2"] = np.linspace(-0.3, 0.4, num=H * C).reshape(H, C)
    model.params["b2"] = np.linspace(-0.9, 0.1, num=C)
    X = np.linspace(-5.5, 4.5, num=N * D).reshape(D, N).T
    scores = model.loss(X)
    correct_scores = np.asarray(
        [[11.53165108, 12.2917344, 13.05181771, 13.81190102, 14.57198434, 15.33206765, 16.09215096],
         [12.05769098, 12.74614105, 13.43459113, 14.1230412, 14.81149128, 15.49994135, 16.18839143],
         [12.58373087, 13.20054771, 13.81736455, 14.43418138, 15.05099822, 15.66781506, 16.2846319]])
    assert np.abs(scores - correct_scores).max() < 1e-6
    y = np.asarray([0, 5, 1])
    loss, _ = model.loss(X, y)
    assert abs(loss - 3.4702243556) < 1e-10
    model.reg = 1.0
    loss, _ = model.loss(X, y)
    assert abs(loss - 26.5948426952) < 1e-10


@pytest.mark.parametrize("normalization", [None, "batchnorm", "layernorm"])
def test_fully_connected_net_matches_torch(normalization):
    X, y = data(seed=5)
    model = FullyConnectedNet([H1, H2], input_dim=D, num_classes=C, reg=0.3, weight_scale=0.2,
                              dtype=np.float64, normalization=normalization, seed=3)
    for name in model.params:  # non-trivial gammas and betas
        if name.startswith(("gamma", "beta")):
            model.params[name] += 0.3 * np.random.default_rng(len(name)).standard_normal(model.params[name].shape)

    def reference(params):
        out = torch.tensor(X)
        for i in (1, 2):
            out = F.linear(out, params[f"W{i}"].T, params[f"b{i}"])
            if normalization == "batchnorm":
                out = F.batch_norm(out, None, None, params[f"gamma{i}"], params[f"beta{i}"], training=True, eps=1e-5)
            elif normalization == "layernorm":
                out = F.layer_norm(out, out.shape[1:], params[f"gamma{i}"], params[f"beta{i}"], eps=1e-5)
            out = F.relu(out)
        scores = F.linear(out, params["W3"].T, params["b3"])
        penalty = sum((params[f"W{i}"] ** 2).sum() for i in (1, 2, 3))
        return F.cross_entropy(scores, torch.tensor(y)) + 0.5 * 0.3 * penalty

    # With batchnorm the biases before it get zero gradient, but for rounding: hence their looser bound.
    check_loss(lambda params: model.loss(X, y), reference, model.params,
               tol={"loss": 1e-12, "default": 1e-9, "db1": 1e-6, "db2": 1e-6})


def test_parameters_shapes_dtype_and_seed():
    model = FullyConnectedNet([4, 5, 6], input_dim=3, num_classes=2, normalization="batchnorm", seed=9)
    expected = {"W1": (3, 4), "b1": (4,), "gamma1": (4,), "beta1": (4,), "W2": (4, 5), "b2": (5,),
                "gamma2": (5,), "beta2": (5,), "W3": (5, 6), "b3": (6,), "gamma3": (6,), "beta3": (6,),
                "W4": (6, 2), "b4": (2,)}
    assert {k: v.shape for k, v in model.params.items()} == expected
    assert all(v.dtype == np.float32 for v in model.params.values())
    assert model.num_layers == 4
    again = FullyConnectedNet([4, 5, 6], input_dim=3, num_classes=2, normalization="batchnorm", seed=9)
    for name in expected:
        np.testing.assert_array_equal(model.params[name], again.params[name])


def test_modes_batchnorm_running_averages_and_dropout_at_test_time():
    X, y = data(n=50)
    model = FullyConnectedNet([H1], input_dim=D, num_classes=C, normalization="batchnorm",
                              dropout_keep_ratio=0.5, dtype=np.float64)
    model.loss(X, y)
    assert model.bn_params[0]["mode"] == "train" and model.dropout_param["mode"] == "train"
    running_mean = model.bn_params[0]["running_mean"].copy()
    scores = model.loss(X)
    assert model.bn_params[0]["mode"] == "test" and model.dropout_param["mode"] == "test"
    np.testing.assert_array_equal(model.bn_params[0]["running_mean"], running_mean)
    # Test mode is deterministic: no dropout, and batchnorm uses the running averages.
    np.testing.assert_array_equal(scores, model.loss(X))
    hidden, _ = batchnorm_forward(X @ model.params["W1"] + model.params["b1"], model.params["gamma1"],
                                  model.params["beta1"], dict(model.bn_params[0]))
    np.testing.assert_allclose(scores, np.maximum(hidden, 0) @ model.params["W2"] + model.params["b2"])


def test_dropout_keep_ratio_one_means_no_dropout():
    model = FullyConnectedNet([H1], input_dim=D, num_classes=C, dropout_keep_ratio=1)
    assert not model.use_dropout and model.dropout_param == {}
    assert FullyConnectedNet([H1], input_dim=D, dropout_keep_ratio=0.25).dropout_param["p"] == 0.25


def test_accepts_image_shaped_input():
    X = np.random.default_rng(0).standard_normal((4, 3, 2, 2))
    model = FullyConnectedNet([5], input_dim=12, num_classes=3)
    assert model.loss(X).shape == (4, 3)


def test_overridden_layers_are_used():
    calls = []

    def counting_dropout_forward(x, dropout_param):
        from helpers.layers import dropout_forward
        calls.append(dropout_param["mode"])
        return dropout_forward(x, dropout_param)

    X, y = data()
    model = FullyConnectedNet([H1, H2], input_dim=D, num_classes=C, dropout_keep_ratio=0.5,
                              layers={"dropout_forward": counting_dropout_forward})
    model.loss(X, y)
    model.loss(X)
    assert calls == ["train", "train", "test", "test"]


def test_small_net_overfits_small_data():
    # A gradient that points the right way drives the training loss down with plain SGD.
    X, y = data(n=20)
    for normalization in (None, "batchnorm", "layernorm"):
        model = FullyConnectedNet([50], input_dim=D, num_classes=C, normalization=normalization,
                                  weight_scale=1e-1, dtype=np.float64, seed=0)
        first, _ = model.loss(X, y)
        for _ in range(200):
            loss, grads = model.loss(X, y)
            for name in model.params:
                model.params[name] -= 0.1 * grads[name]
        assert loss < 0.1 * first, normalization
        assert np.mean(np.argmax(model.loss(X), axis=1) == y) == 1.0


@pytest.mark.parametrize("kwargs, message", [
    ({"hidden_dims": []}, "non-empty list"),
    ({"hidden_dims": 100}, "non-empty list"),
    ({"hidden_dims": [10, 0]}, r"hidden_dims\[1\] must be a positive integer, got 0"),
    ({"hidden_dims": [10, 2.5]}, r"hidden_dims\[1\] must be a positive integer, got 2.5"),
    ({"hidden_dims": [10], "normalization": "groupnorm"}, "normalization must be one of"),
    ({"hidden_dims": [10], "dropout_keep_ratio": 0}, r"keep probability\) must be in \(0, 1\], got 0"),
    ({"hidden_dims": [10], "dropout_keep_ratio": 1.2}, r"must be in \(0, 1\], got 1.2"),
    ({"hidden_dims": [10], "reg": -0.1}, "reg must be a finite number >= 0, got -0.1"),
    ({"hidden_dims": [10], "weight_scale": 0}, "weight_scale must be a positive number"),
    ({"hidden_dims": [10], "dtype": np.int32}, "dtype must be a floating-point type"),
    ({"hidden_dims": [10], "layers": {"batchnorm_backward_fast": print}}, "unknown names"),
])
def test_fully_connected_net_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        FullyConnectedNet(**kwargs)


@pytest.mark.parametrize("cls", [FullyConnectedNet, TwoLayerNet])
def test_loss_rejects_bad_batches(cls):
    model = cls([H1], input_dim=D, num_classes=C) if cls is FullyConnectedNet else cls(input_dim=D, num_classes=C)
    X, y = data()
    with pytest.raises(ValueError, match=rf"input_dim = {D}, got \(10, 14\)"):
        model.loss(X[:, :14], y)
    with pytest.raises(ValueError, match=r"y must have shape \(10,\).*got \(9,\)"):
        model.loss(X, y[:9])
    with pytest.raises(ValueError, match=rf"y must hold labels in 0..{C - 1}, got range \d+..\d+"):
        model.loss(X, y + 10)


def test_two_layer_net_rejects_bad_arguments():
    with pytest.raises(ValueError, match="hidden_dim must be a positive integer"):
        TwoLayerNet(hidden_dim=0)
    with pytest.raises(ValueError, match="reg must be a finite number >= 0"):
        TwoLayerNet(reg=-1)
