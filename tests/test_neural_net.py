"""Tests of the two-layer net: CS231n's published toy values, numerical gradients,
PyTorch autograd as an independent oracle, training, prediction and bad input."""

import numpy as np
import pytest
import torch
from oracles import check_loss

from helpers.classifiers.neural_net import (
    TwoLayerNet,
    init_toy_data,
    init_toy_model,
    two_layer_net_loss,
    two_layer_net_scores,
)
from helpers.gradient_check import eval_numerical_gradient, rel_error

# The values published with CS231n's two_layer_net.ipynb for its toy model and data.
CORRECT_SCORES = np.array([
    [-0.81233741, -1.27654624, -0.70335995],
    [-0.17129677, -1.18803311, -0.47310444],
    [-0.51590475, -1.01354314, -0.8504215],
    [-0.15419291, -0.48629638, -0.52901952],
    [-0.00618733, -0.12435261, -0.15226949],
])
CORRECT_LOSS = 1.30378789133


def random_problem(rng, N, D, H, C, scale=1.0):
    params = {
        "W1": scale * rng.standard_normal((D, H)),
        "b1": scale * rng.standard_normal(H),
        "W2": scale * rng.standard_normal((H, C)),
        "b2": scale * rng.standard_normal(C),
    }
    X = rng.standard_normal((N, D))
    y = rng.integers(C, size=N)
    return params, X, y


def test_toy_scores_and_loss_match_cs231n():
    net = init_toy_model()
    X, y = init_toy_data()
    scores = net.loss(X)
    # The published scores are rounded to 8 decimals.
    assert np.max(np.abs(scores - CORRECT_SCORES)) < 1e-7
    loss, _ = net.loss(X, y, reg=0.05)
    assert abs(loss - CORRECT_LOSS) < 1e-10


def test_toy_model_is_cs231n_global_seed_initialization():
    np.random.seed(0)
    cs231n_style = TwoLayerNet(4, 10, 3, std=1e-1)
    toy = init_toy_model()
    for name in toy.params:
        np.testing.assert_array_equal(toy.params[name], cs231n_style.params[name])


def test_scores_function_agrees_with_loss_without_labels():
    params, X, _ = random_problem(np.random.default_rng(0), 7, 5, 6, 4)
    np.testing.assert_allclose(two_layer_net_scores(params, X), two_layer_net_loss(params, X))


@pytest.mark.parametrize("name", ["W1", "b1", "W2", "b2"])
def test_gradients_match_numerical_gradients(name):
    net = init_toy_model()
    X, y = init_toy_data()
    _, grads = net.loss(X, y, reg=0.05)
    f = lambda _: net.loss(X, y, reg=0.05)[0]
    numeric = eval_numerical_gradient(f, net.params[name], verbose=False)
    assert rel_error(grads[name], numeric) < 1e-8


def test_gradients_numerical_on_random_shapes_with_reg():
    params, X, y = random_problem(np.random.default_rng(1), 6, 7, 5, 4, scale=0.5)
    _, grads = two_layer_net_loss(params, X, y, reg=0.3)
    for name in params:
        numeric = eval_numerical_gradient(lambda _: two_layer_net_loss(params, X, y, 0.3)[0],
                                          params[name], verbose=False)
        assert rel_error(grads[name], numeric) < 1e-7, name


@pytest.mark.parametrize("shape", [(1, 3, 2, 2), (8, 12, 9, 5), (33, 20, 17, 10)])
@pytest.mark.parametrize("reg", [0.0, 0.7])
def test_loss_and_gradients_match_pytorch(shape, reg):
    N, D, H, C = shape
    params, X, y = random_problem(np.random.default_rng(N * 100 + D), N, D, H, C)

    def scores(t):
        return torch.relu(torch.tensor(X) @ t["W1"] + t["b1"]) @ t["W2"] + t["b2"]

    def reference(t):
        return torch.nn.functional.cross_entropy(scores(t), torch.tensor(y)) + reg * (
            (t["W1"] ** 2).sum() + (t["W2"] ** 2).sum())

    check_loss(lambda params: two_layer_net_loss(params, X, y, reg), reference, params,
               tol={"loss": 1e-12, "default": 1e-10})
    expected_scores = scores({k: torch.tensor(v) for k, v in params.items()}).numpy()
    np.testing.assert_allclose(two_layer_net_scores(params, X), expected_scores, rtol=1e-12)


def test_training_on_toy_data_drives_loss_below_002():
    net = init_toy_model()
    X, y = init_toy_data()
    stats = net.train(X, y, X, y, learning_rate=1e-1, reg=5e-6, num_iters=100, seed=0)
    assert len(stats["loss_history"]) == 100
    assert stats["loss_history"][-1] < 0.02
    assert stats["stopped_at"] is None
    # 5 examples and batch 200 make every iteration an epoch.
    assert len(stats["train_acc_history"]) == len(stats["val_acc_history"]) == 100
    assert stats["val_acc_history"][-1] == 1.0


def test_training_uses_the_given_loss_function():
    calls = []

    def counting_loss(params, X, y=None, reg=0.0):
        calls.append(y is None)
        return two_layer_net_loss(params, X, y, reg)

    net = TwoLayerNet(4, 10, 3, std=1e-1, seed=0, loss_fn=counting_loss)
    X, y = init_toy_data()
    net.train(X, y, X, y, num_iters=3, batch_size=5, seed=0)
    assert calls.count(False) == 3  # one loss and gradient per step
    assert calls.count(True) == 6  # minibatch and validation predictions after each epoch


def test_learning_rate_decays_each_epoch():
    X, y = init_toy_data()
    steps = []  # (b2 before the step, its gradient)

    def recording_loss(params, X, y=None, reg=0.0):
        out = two_layer_net_loss(params, X, y, reg)
        if y is not None:
            steps.append((params["b2"].copy(), out[1]["b2"]))
        return out

    net = TwoLayerNet(4, 10, 3, std=1e-1, seed=0, loss_fn=recording_loss)
    # 5 examples and batch 5: every step is an epoch, so the second step uses lr * 0.5.
    net.train(X, y, X, y, learning_rate=1e-2, learning_rate_decay=0.5, num_iters=2, batch_size=5, seed=0)
    (b2_0, db2_0), (b2_1, db2_1) = steps
    np.testing.assert_allclose(b2_1, b2_0 - 1e-2 * db2_0)
    np.testing.assert_allclose(net.params["b2"], b2_1 - 0.5e-2 * db2_1)


def test_predict_shapes_and_values():
    rng = np.random.default_rng(2)
    net = TwoLayerNet(6, 8, 5, std=1.0, seed=3)
    X = rng.standard_normal((11, 6))
    pred = net.predict(X)
    assert pred.shape == (11,)
    assert pred.dtype.kind == "i"
    np.testing.assert_array_equal(pred, np.argmax(two_layer_net_scores(net.params, X), axis=1))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the overflow is the point
def test_nan_loss_stops_training_with_message(capsys):
    net = init_toy_model()
    X, y = init_toy_data()
    stats = net.train(X, y, X, y, learning_rate=1e12, reg=0.0, num_iters=50, seed=0)
    out = capsys.readouterr().out
    assert stats["stopped_at"] is not None
    assert len(stats["loss_history"]) == stats["stopped_at"]
    assert f"stopped at iteration {stats['stopped_at']}" in out
    assert "smaller learning rate" in out


def test_seeded_training_is_reproducible():
    X, y = init_toy_data()
    a, b = init_toy_model(), init_toy_model()
    sa = a.train(X, y, X, y, learning_rate=1e-1, num_iters=20, batch_size=3, seed=4)
    sb = b.train(X, y, X, y, learning_rate=1e-1, num_iters=20, batch_size=3, seed=4)
    assert sa["loss_history"] == sb["loss_history"]


@pytest.mark.parametrize("X_shape, message", [
    ((5, 3), r"X must have shape \(N, 4\) to match W1 \(4, 10\), got \(5, 3\)"),
    ((0, 4), "at least one example"),
    ((4,), r"X must have shape \(N, 4\)"),
])
def test_bad_X_is_rejected(X_shape, message):
    net = init_toy_model()
    with pytest.raises(ValueError, match=message):
        net.loss(np.zeros(X_shape))


def test_bad_labels_and_reg_are_rejected():
    net = init_toy_model()
    X, _ = init_toy_data()
    with pytest.raises(ValueError, match=r"y must hold labels in 0\.\.2 \(W2 has 3 columns\), got range 0\.\.3"):
        net.loss(X, np.array([0, 1, 2, 3, 1]))
    with pytest.raises(ValueError, match=r"y must hold labels in 0\.\.2 .*got range -1\.\.2"):
        net.loss(X, np.array([0, -1, 2, 2, 1]))
    with pytest.raises(ValueError, match=r"y must have shape \(5,\)"):
        net.loss(X, np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="integer class labels"):
        net.loss(X, np.array([0.0, 1.0, 2.0, 2.0, 1.0]))
    with pytest.raises(ValueError, match="reg must be a finite number >= 0, got -0.1"):
        net.loss(X, np.array([0, 1, 2, 2, 1]), reg=-0.1)


def test_bad_params_and_training_settings_are_rejected():
    X, y = init_toy_data()
    params = init_toy_model().params
    with pytest.raises(ValueError, match=r"b1 must have shape \(10,\)"):
        two_layer_net_loss({**params, "b1": np.zeros(9)}, X)
    with pytest.raises(ValueError, match=r"missing \['b2'\]"):
        two_layer_net_scores({k: v for k, v in params.items() if k != "b2"}, X)
    net = init_toy_model()
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        net.train(X, y, X, y, batch_size=0)
    with pytest.raises(ValueError, match="learning_rate must be a positive number"):
        net.train(X, y, X, y, learning_rate=-1.0)
    with pytest.raises(ValueError, match=r"X must have shape \(N, 4\)"):
        net.train(X, y, X[:, :3], y)
    with pytest.raises(ValueError, match="hidden_size must be a positive integer"):
        TwoLayerNet(4, 0, 3)
