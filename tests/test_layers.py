"""Tests of the modular layers and the sandwich layers: PyTorch (forward values and autograd
gradients on random shapes) as an independent oracle, numerical gradients, the two batchnorm
backward passes against each other, running averages, dropout statistics and bad input."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from oracles import check_layer, check_loss

from helpers.gradient_check import eval_numerical_gradient, eval_numerical_gradient_array, rel_error
from helpers.layer_utils import (
    affine_norm_relu_backward,
    affine_norm_relu_forward,
    affine_relu_backward,
    affine_relu_forward,
    layer_table,
)
from helpers.layers import (
    affine_backward,
    affine_forward,
    batchnorm_backward,
    batchnorm_backward_alt,
    batchnorm_forward,
    dropout_backward,
    dropout_forward,
    layernorm_backward,
    layernorm_forward,
    relu_backward,
    relu_forward,
    softmax_loss,
    svm_loss,
)

SEEDS = [0, 1, 2]


def random_shape(rng, low=2, high=9, ndim=2):
    return tuple(int(d) for d in rng.integers(low, high, size=ndim))


# ----------------------------------------------------------------------------- affine and ReLU


@pytest.mark.parametrize("seed", SEEDS)
def test_affine_matches_torch_linear(seed):
    rng = np.random.default_rng(seed)
    N, *dims = random_shape(rng, ndim=int(rng.integers(2, 5)))
    M = int(rng.integers(2, 9))
    x = rng.standard_normal((N, *dims))
    w = rng.standard_normal((int(np.prod(dims)), M))
    b = rng.standard_normal(M)
    check_layer(affine_forward, affine_backward, lambda x, w, b: F.linear(x.reshape(N, -1), w.T, b), x, w, b,
                seed=seed, tol=1e-12)


def test_affine_numerical_gradients():
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((10, 2, 3)), rng.standard_normal((6, 5)), rng.standard_normal(5)
    dout = rng.standard_normal((10, 5))
    dx, dw, db = affine_backward(dout, affine_forward(x, w, b)[1])
    assert rel_error(dx, eval_numerical_gradient_array(lambda x: affine_forward(x, w, b)[0], x, dout)) < 1e-9
    assert rel_error(dw, eval_numerical_gradient_array(lambda w: affine_forward(x, w, b)[0], w, dout)) < 1e-9
    assert rel_error(db, eval_numerical_gradient_array(lambda b: affine_forward(x, w, b)[0], b, dout)) < 1e-9


def test_affine_cs231n_published_output():
    # The toy input and expected output of CS231n's FullyConnectedNets notebook.
    num_inputs, input_shape, output_dim = 2, (4, 5, 6), 3
    input_size = num_inputs * np.prod(input_shape)
    weight_size = output_dim * np.prod(input_shape)
    x = np.linspace(-0.1, 0.5, num=input_size).reshape(num_inputs, *input_shape)
    w = np.linspace(-0.2, 0.3, num=weight_size).reshape(np.prod(input_shape), output_dim)
    b = np.linspace(-0.3, 0.1, num=output_dim)
    out, _ = affine_forward(x, w, b)
    correct_out = np.array([[1.49834967, 1.70660132, 1.91485297],
                            [3.25553199, 3.5141327, 3.77273342]])
    assert rel_error(out, correct_out) < 1e-8


@pytest.mark.parametrize("seed", SEEDS)
def test_relu_matches_torch(seed):
    rng = np.random.default_rng(seed)
    shape = random_shape(rng, ndim=int(rng.integers(1, 4)))
    x = rng.standard_normal(shape)
    check_layer(relu_forward, relu_backward, F.relu, x, seed=seed, tol=0)


def test_relu_numerical_gradient():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((6, 7))
    x[np.abs(x) < 1e-3] = 0.5  # keep finite differences away from the kink
    dout = rng.standard_normal(x.shape)
    dx = relu_backward(dout, relu_forward(x)[1])
    assert rel_error(dx, eval_numerical_gradient_array(lambda x: relu_forward(x)[0], x, dout)) < 1e-10


# ----------------------------------------------------------------------------- losses


@pytest.mark.parametrize("seed", SEEDS)
def test_softmax_loss_matches_torch_cross_entropy(seed):
    rng = np.random.default_rng(seed)
    N, C = random_shape(rng, 2, 12)
    x = rng.standard_normal((N, C))
    y = rng.integers(C, size=N)
    check_loss(lambda x: softmax_loss(x, y), lambda x: F.cross_entropy(x, torch.tensor(y)), x, tol=1e-10)


@pytest.mark.parametrize("seed", SEEDS)
def test_svm_loss_matches_torch_multi_margin_loss(seed):
    rng = np.random.default_rng(seed)
    N, C = random_shape(rng, 2, 12)
    x = rng.standard_normal((N, C))
    y = rng.integers(C, size=N)
    # PyTorch divides each example's hinge sum by C as well as by N; CS231n divides by N only.
    check_loss(lambda x: svm_loss(x, y), lambda x: C * F.multi_margin_loss(x, torch.tensor(y), margin=1.0), x,
               tol=1e-10)


@pytest.mark.parametrize("loss_fn", [svm_loss, softmax_loss])
def test_losses_numerical_gradient(loss_fn):
    rng = np.random.default_rng(5)
    x = 0.001 * rng.standard_normal((10, 8))
    y = rng.integers(8, size=10)
    _, dx = loss_fn(x, y)
    numeric = eval_numerical_gradient(lambda x: loss_fn(x, y)[0], x, verbose=False)
    assert rel_error(dx, numeric) < 1e-7


def test_softmax_loss_is_stable_for_large_scores():
    x = np.array([[1e4, 0.0, -1e4], [0.0, 2e4, 1.0]])
    y = np.array([0, 2])
    loss, dx = softmax_loss(x, y)
    assert np.isfinite(loss) and np.all(np.isfinite(dx))
    assert loss == pytest.approx((0.0 + (2e4 - 1.0)) / 2)


def test_initial_softmax_loss_is_log_num_classes():
    rng = np.random.default_rng(6)
    loss, _ = softmax_loss(1e-6 * rng.standard_normal((500, 10)), rng.integers(10, size=500))
    assert loss == pytest.approx(np.log(10), abs=1e-5)


# ----------------------------------------------------------------------------- batch normalization


def batchnorm_problem(seed, N=None, D=None):
    rng = np.random.default_rng(seed)
    N = N or int(rng.integers(4, 12))
    D = D or int(rng.integers(2, 9))
    x = 5 * rng.standard_normal((N, D)) + 12
    gamma = rng.standard_normal(D)
    beta = rng.standard_normal(D)
    dout = rng.standard_normal((N, D))
    return x, gamma, beta, dout


@pytest.mark.parametrize("seed", SEEDS)
def test_batchnorm_train_matches_torch(seed):
    x, gamma, beta, _ = batchnorm_problem(seed)
    for backward in (batchnorm_backward, batchnorm_backward_alt):
        check_layer(lambda x, gamma, beta: batchnorm_forward(x, gamma, beta, {"mode": "train", "eps": 1e-5}),
                    backward, lambda x, gamma, beta: F.batch_norm(x, None, None, gamma, beta, training=True, eps=1e-5),
                    x, gamma, beta, seed=seed, tol=1e-10)


@pytest.mark.parametrize("seed", SEEDS)
def test_batchnorm_backward_alt_equals_graph_backward(seed):
    x, gamma, beta, dout = batchnorm_problem(seed, N=int(50 + seed), D=int(30 + seed))
    _, cache = batchnorm_forward(x, gamma, beta, {"mode": "train"})
    for graph, alt in zip(batchnorm_backward(dout, cache), batchnorm_backward_alt(dout, cache), strict=True):
        assert rel_error(graph, alt) < 1e-10


def test_batchnorm_numerical_gradients():
    x, gamma, beta, dout = batchnorm_problem(7, N=4, D=5)

    def forward(x, gamma, beta):
        return batchnorm_forward(x, gamma, beta, {"mode": "train"})[0]

    _, cache = batchnorm_forward(x, gamma, beta, {"mode": "train"})
    for backward in (batchnorm_backward, batchnorm_backward_alt):
        dx, dgamma, dbeta = backward(dout, cache)
        assert rel_error(dx, eval_numerical_gradient_array(lambda x: forward(x, gamma, beta), x, dout)) < 1e-6
        assert rel_error(dgamma, eval_numerical_gradient_array(lambda g: forward(x, g, beta), gamma, dout)) < 1e-8
        assert rel_error(dbeta, eval_numerical_gradient_array(lambda b: forward(x, gamma, b), beta, dout)) < 1e-8


def test_batchnorm_train_statistics_and_running_averages():
    x, gamma, beta, _ = batchnorm_problem(8, N=200, D=3)
    bn_param = {"mode": "train", "momentum": 0.8}
    out, _ = batchnorm_forward(x, gamma, beta, bn_param)
    np.testing.assert_allclose(out.mean(axis=0), beta, atol=1e-10)
    np.testing.assert_allclose(out.std(axis=0), np.abs(gamma), rtol=1e-5)
    # The running averages start at zero and move (1 - momentum) of the way to the batch statistics.
    np.testing.assert_allclose(bn_param["running_mean"], 0.2 * x.mean(axis=0))
    np.testing.assert_allclose(bn_param["running_var"], 0.2 * x.var(axis=0))
    x2 = 2 * x[::-1] + 3
    batchnorm_forward(x2, gamma, beta, bn_param)
    np.testing.assert_allclose(bn_param["running_mean"], 0.8 * 0.2 * x.mean(axis=0) + 0.2 * x2.mean(axis=0))
    np.testing.assert_allclose(bn_param["running_var"], 0.8 * 0.2 * x.var(axis=0) + 0.2 * x2.var(axis=0))


def test_batchnorm_running_mean_matches_torch():
    # PyTorch's running_var uses the unbiased batch variance, CS231n's the biased one, so only the
    # running mean is compared with PyTorch; the running variance is checked against the formula above.
    x, gamma, beta, _ = batchnorm_problem(9, N=20, D=4)
    bn_param = {"mode": "train", "momentum": 0.9}
    running_mean, running_var = torch.zeros(4, dtype=torch.float64), torch.zeros(4, dtype=torch.float64)
    for step in range(3):
        batch = x + step
        batchnorm_forward(batch, gamma, beta, bn_param)
        F.batch_norm(torch.tensor(batch), running_mean, running_var, training=True, momentum=0.1)
    np.testing.assert_allclose(bn_param["running_mean"], running_mean.numpy(), rtol=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_batchnorm_test_mode_matches_torch(seed):
    x, gamma, beta, dout = batchnorm_problem(seed)
    rng = np.random.default_rng(seed + 100)
    D = x.shape[1]
    running_mean, running_var = rng.standard_normal(D), rng.uniform(0.5, 2.0, D)
    bn_param = {"mode": "test", "running_mean": running_mean.copy(), "running_var": running_var.copy()}
    for backward in (batchnorm_backward, batchnorm_backward_alt):
        check_layer(lambda x, gamma, beta: batchnorm_forward(x, gamma, beta, bn_param), backward,
                    lambda x, gamma, beta: F.batch_norm(x, torch.tensor(running_mean), torch.tensor(running_var),
                                                        gamma, beta, training=False, eps=1e-5),
                    x, gamma, beta, seed=seed, tol=1e-10)
    # Test mode leaves the running averages alone.
    np.testing.assert_array_equal(bn_param["running_mean"], running_mean)
    np.testing.assert_array_equal(bn_param["running_var"], running_var)


def test_batchnorm_test_mode_after_many_training_passes():
    rng = np.random.default_rng(10)
    W1, W2 = rng.standard_normal((50, 60)), rng.standard_normal((60, 3))
    gamma, beta = np.ones(3), np.zeros(3)
    bn_param = {"mode": "train"}
    for _ in range(200):
        a = np.maximum(0, rng.standard_normal((200, 50)) @ W1) @ W2
        batchnorm_forward(a, gamma, beta, bn_param)
    bn_param["mode"] = "test"
    a = np.maximum(0, rng.standard_normal((200, 50)) @ W1) @ W2
    out, _ = batchnorm_forward(a, gamma, beta, bn_param)
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=0.2)
    np.testing.assert_allclose(out.std(axis=0), 1, atol=0.2)


def test_batchnorm_keeps_float32():
    x, gamma, beta, dout = batchnorm_problem(11)
    out, cache = batchnorm_forward(x.astype(np.float32), gamma, beta, {"mode": "train"})
    assert out.dtype == np.float32


# ----------------------------------------------------------------------------- layer normalization


@pytest.mark.parametrize("seed", SEEDS)
def test_layernorm_matches_torch(seed):
    x, gamma, beta, _ = batchnorm_problem(seed)
    D = x.shape[1]
    check_layer(lambda x, gamma, beta: layernorm_forward(x, gamma, beta, {"eps": 1e-5}), layernorm_backward,
                lambda x, gamma, beta: F.layer_norm(x, (D,), gamma, beta, eps=1e-5), x, gamma, beta, seed=seed,
                tol=1e-10)


def test_layernorm_numerical_gradients_and_row_statistics():
    x, gamma, beta, dout = batchnorm_problem(12, N=4, D=5)

    def forward(x, gamma, beta):
        return layernorm_forward(x, gamma, beta, {})[0]

    out, cache = layernorm_forward(x, np.ones(5), np.zeros(5), {})
    np.testing.assert_allclose(out.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=1), 1, rtol=1e-4)
    _, cache = layernorm_forward(x, gamma, beta, {})
    dx, dgamma, dbeta = layernorm_backward(dout, cache)
    assert rel_error(dx, eval_numerical_gradient_array(lambda x: forward(x, gamma, beta), x, dout)) < 1e-7
    assert rel_error(dgamma, eval_numerical_gradient_array(lambda g: forward(x, g, beta), gamma, dout)) < 1e-8
    assert rel_error(dbeta, eval_numerical_gradient_array(lambda b: forward(x, gamma, b), beta, dout)) < 1e-8


def test_layernorm_ignores_mode_and_works_on_a_single_example():
    x, gamma, beta, _ = batchnorm_problem(13, N=1, D=6)
    train, _ = layernorm_forward(x, gamma, beta, {"mode": "train"})
    test, _ = layernorm_forward(x, gamma, beta, {"mode": "test"})
    np.testing.assert_array_equal(train, test)


# ----------------------------------------------------------------------------- dropout


@pytest.mark.parametrize("seed", SEEDS)
def test_dropout_matches_torch_through_its_mask(seed):
    rng = np.random.default_rng(seed)
    shape = random_shape(rng, 3, 20, ndim=int(rng.integers(2, 4)))
    x = rng.uniform(0.5, 2.0, shape)  # no zeros, so the mask can be read back from the output
    p = float(rng.uniform(0.2, 0.9))
    param = {"mode": "train", "p": p, "seed": seed}
    mask = dropout_forward(x, param)[0] / x
    # Inverted dropout: every unit is either dropped or scaled by 1 / p.
    assert np.all(np.isclose(mask, 0) | np.isclose(mask, 1 / p))
    check_layer(lambda x: dropout_forward(x, param), dropout_backward, lambda x: x * torch.tensor(mask), x,
                seed=seed, tol=1e-14)


def test_dropout_numerical_gradient_with_fixed_seed():
    rng = np.random.default_rng(14)
    x, dout = rng.standard_normal((10, 10)) + 10, rng.standard_normal((10, 10))
    param = {"mode": "train", "p": 0.2, "seed": 123}
    dx = dropout_backward(dout, dropout_forward(x, param)[1])
    numeric = eval_numerical_gradient_array(lambda x: dropout_forward(x, param)[0], x, dout)
    assert rel_error(dx, numeric) < 1e-10


@pytest.mark.parametrize("p", [0.25, 0.4, 0.7])
def test_dropout_statistics(p):
    x = np.random.default_rng(15).standard_normal((500, 500)) + 10
    out_train, _ = dropout_forward(x, {"mode": "train", "p": p, "seed": 123})
    out_test, _ = dropout_forward(x, {"mode": "test", "p": p})
    assert abs(out_train.mean() - x.mean()) / x.mean() < 0.01
    assert abs(np.mean(out_train == 0) - (1 - p)) < 0.01
    np.testing.assert_array_equal(out_test, x)


def test_dropout_seed_fixes_the_mask_and_global_seed_controls_the_rest():
    x = np.ones((20, 30))
    param = {"mode": "train", "p": 0.5, "seed": 7}
    np.testing.assert_array_equal(dropout_forward(x, param)[0], dropout_forward(x, param)[0])
    np.random.seed(231)
    first = dropout_forward(x, {"mode": "train", "p": 0.5})[0]
    second = dropout_forward(x, {"mode": "train", "p": 0.5})[0]
    np.random.seed(231)
    again = dropout_forward(x, {"mode": "train", "p": 0.5})[0]
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(first, again)


def test_dropout_keep_all_and_test_mode_backward():
    x, dout = np.arange(12.0).reshape(3, 4), np.ones((3, 4))
    out, cache = dropout_forward(x, {"mode": "train", "p": 1})
    np.testing.assert_array_equal(out, x)
    np.testing.assert_array_equal(dropout_backward(dout, cache), dout)
    param = {"mode": "test", "p": 0.3}
    _, cache = dropout_forward(x, param)
    param["mode"] = "train"  # the backward pass follows the forward pass, not a later mode change
    np.testing.assert_array_equal(dropout_backward(dout, cache), dout)


# ----------------------------------------------------------------------------- sandwich layers


def test_affine_relu_is_the_composition_and_checks_numerically():
    rng = np.random.default_rng(16)
    x, w, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((12, 10)), rng.standard_normal(10)
    dout = rng.standard_normal((2, 10))
    out, cache = affine_relu_forward(x, w, b)
    np.testing.assert_array_equal(out, relu_forward(affine_forward(x, w, b)[0])[0])
    dx, dw, db = affine_relu_backward(dout, cache)
    assert rel_error(dx, eval_numerical_gradient_array(lambda x: affine_relu_forward(x, w, b)[0], x, dout)) < 1e-8
    assert rel_error(dw, eval_numerical_gradient_array(lambda w: affine_relu_forward(x, w, b)[0], w, dout)) < 1e-8
    assert rel_error(db, eval_numerical_gradient_array(lambda b: affine_relu_forward(x, w, b)[0], b, dout)) < 1e-8


@pytest.mark.parametrize("normalization", [None, "batchnorm", "layernorm"])
def test_affine_norm_relu_matches_torch(normalization):
    rng = np.random.default_rng(17)
    N, D, M = 8, 6, 5
    x, w, b = rng.standard_normal((N, D)), rng.standard_normal((D, M)), rng.standard_normal(M)
    gamma, beta = rng.standard_normal(M), rng.standard_normal(M)
    norm_param = {"mode": "train"} if normalization == "batchnorm" else {}

    def forward(x, w, b, gamma=None, beta=None):
        return affine_norm_relu_forward(x, w, b, gamma, beta, norm_param, normalization)

    def reference(x, w, b, gamma=None, beta=None):
        a = F.linear(x, w.T, b)
        if normalization == "batchnorm":
            a = F.batch_norm(a, None, None, gamma, beta, training=True, eps=1e-5)
        elif normalization == "layernorm":
            a = F.layer_norm(a, (M,), gamma, beta, eps=1e-5)
        return F.relu(a)

    # Without normalization gamma and beta are unused: only x, w and b are inputs. With batchnorm,
    # db is zero but for rounding (the normalization removes any shift), hence its looser bound.
    inputs = (x, w, b) if normalization is None else (x, w, b, gamma, beta)
    _, grads = check_layer(forward, affine_norm_relu_backward, reference, *inputs, seed=17,
                           tol={"default": 1e-10, "db": 1e-6})
    if normalization is None:
        assert grads[3] is None and grads[4] is None


def test_layer_table_overrides_run_instead_of_the_reference():
    calls = []

    def counting_relu_forward(x):
        calls.append(x.shape)
        return relu_forward(x)

    layers = layer_table({"relu_forward": counting_relu_forward})
    affine_relu_forward(np.ones((2, 3)), np.ones((3, 4)), np.zeros(4), layers=layers)
    assert calls == [(2, 4)]


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("call, message", [
    (lambda: affine_forward(np.ones((2, 5)), np.ones((4, 3)), np.ones(3)), r"d_1 \* ... \* d_k = 4.*got \(2, 5\)"),
    (lambda: affine_forward(np.ones((2, 4)), np.ones((4, 3)), np.ones(4)), r"b must have shape \(3,\), got \(4,\)"),
    (lambda: affine_forward(np.ones((2, 4)), np.ones(4), np.ones(3)), r"w must have shape \(D, M\)"),
    (lambda: affine_backward(np.ones((2, 2)), affine_forward(np.ones((2, 4)), np.ones((4, 3)), np.ones(3))[1]),
     r"dout must have shape \(2, 3\), got \(2, 2\)"),
    (lambda: relu_backward(np.ones(3), relu_forward(np.ones(4))[1]), r"dout must have shape \(4,\), got \(3,\)"),
    (lambda: softmax_loss(np.ones((3, 4)), np.array([0, 1])), r"y must have shape \(3,\).*got \(2,\)"),
    (lambda: softmax_loss(np.ones((3, 4)), np.array([0, 1, 4])), r"y must hold labels in 0..3, got range 0..4"),
    (lambda: svm_loss(np.ones((3, 4)), np.array([0.0, 1.0, 2.0])), "integer class labels"),
    (lambda: svm_loss(np.ones(4), np.array([0])), r"x \(class scores\) must have shape \(N, C\), got \(4,\)"),
    (lambda: batchnorm_forward(np.ones((4, 3)), np.ones(3), np.zeros(3), {}), "'mode' key"),
    (lambda: batchnorm_forward(np.ones((4, 3)), np.ones(3), np.zeros(3), {"mode": "eval"}),
     r"bn_param\['mode'\] must be one of \('train', 'test'\), got 'eval'"),
    (lambda: batchnorm_forward(np.ones((4, 3)), np.ones(2), np.zeros(3), {"mode": "train"}),
     r"gamma must have shape \(3,\), got \(2,\)"),
    (lambda: batchnorm_forward(np.ones((4, 3)), np.ones(3), np.zeros(3), {"mode": "train", "eps": 0}),
     "eps must be a positive number"),
    (lambda: batchnorm_forward(np.ones((4, 3)), np.ones(3), np.zeros(3), {"mode": "train", "momentum": 1.5}),
     r"momentum must be in \[0, 1\]"),
    (lambda: batchnorm_forward(np.ones((1, 3)), np.ones(3), np.zeros(3), {"mode": "train"}), "at least 2 rows"),
    (lambda: batchnorm_forward(np.ones((4, 3)), np.ones(3), np.zeros(3),
                               {"mode": "test", "running_mean": np.zeros(2)}),
     r"running_mean'\] must have shape \(3,\), got \(2,\)"),
    (lambda: batchnorm_forward(np.ones((4, 3, 2)), np.ones(3), np.zeros(3), {"mode": "train"}),
     r"x must have shape \(N, D\), got \(4, 3, 2\)"),
    (lambda: layernorm_forward(np.ones((4, 3)), np.ones(3), np.zeros(4), {}), r"beta must have shape \(3,\)"),
    (lambda: layernorm_backward(np.ones((4, 2)), layernorm_forward(np.ones((4, 3)), np.ones(3), np.zeros(3), {})[1]),
     r"dout must have shape \(4, 3\), got \(4, 2\)"),
    (lambda: dropout_forward(np.ones(3), {"mode": "train", "p": 0}), r"keep probability\) must be in \(0, 1\], got 0"),
    (lambda: dropout_forward(np.ones(3), {"mode": "train", "p": 1.5}), r"must be in \(0, 1\], got 1.5"),
    (lambda: dropout_forward(np.ones(3), {"mode": "predict", "p": 0.5}),
     r"dropout_param\['mode'\] must be one of \('train', 'test'\), got 'predict'"),
    (lambda: dropout_forward(np.ones(3), {"p": 0.5}), "keys 'p' .* and 'mode'"),
    (lambda: affine_norm_relu_forward(np.ones((2, 3)), np.ones((3, 4)), np.zeros(4), None, None, {}, "groupnorm"),
     "normalization must be one of"),
    (lambda: layer_table({"conv_forward": relu_forward}), r"unknown names \['conv_forward'\]"),
    (lambda: layer_table({"relu_forward": 3}), "must be a function"),
])
def test_bad_input_is_rejected_with_a_clear_message(call, message):
    with pytest.raises(ValueError, match=message):
        call()
