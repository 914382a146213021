"""The two-layer net of assignment 1 (fc_net.TwoLayerNet's loss, train and predict, and neural_net's toy
problem and tuning loop): CS231n's published toy values, numerical gradients, PyTorch autograd as an
independent oracle, the training loop written out, the search, and bad input."""

import math

import numpy as np
import pytest
import torch

from helpers.classifiers.fc_net import TwoLayerNet
from helpers.classifiers.neural_net import init_toy_data, init_toy_model, tune_two_layer_net
from helpers.gradient_check import eval_numerical_gradient, rel_error
from helpers.optim import TrainingDivergedError

# The values published with CS231n's two_layer_net.ipynb for its toy model and data.
CORRECT_SCORES = np.array([
    [-0.81233741, -1.27654624, -0.70335995],
    [-0.17129677, -1.18803311, -0.47310444],
    [-0.51590475, -1.01354314, -0.8504215],
    [-0.15419291, -0.48629638, -0.52901952],
    [-0.00618733, -0.12435261, -0.15226949],
])
CORRECT_LOSS = 1.30378789133  # with CS231n's reg = 0.05 on reg * sum(W^2), i.e. reg = 0.1 here


def random_net(rng, N, D, H, C, reg=0.0, scale=1.0):
    net = TwoLayerNet(input_dim=D, hidden_dim=H, num_classes=C, reg=reg, seed=0)
    net.params = {"W1": scale * rng.standard_normal((D, H)), "b1": scale * rng.standard_normal(H),
                  "W2": scale * rng.standard_normal((H, C)), "b2": scale * rng.standard_normal(C)}
    return net, rng.standard_normal((N, D)), rng.integers(C, size=N)


def test_toy_scores_and_loss_match_cs231n():
    net = init_toy_model(reg=0.1)
    X, y = init_toy_data()
    # The published scores are rounded to 8 decimals.
    assert np.max(np.abs(net.loss(X) - CORRECT_SCORES)) < 1e-7
    loss, _ = net.loss(X, y)
    assert abs(loss - CORRECT_LOSS) < 1e-10


def test_toy_model_is_cs231n_global_seed_initialization_and_leaves_the_global_generator_alone():
    np.random.seed(0)
    W1, W2 = 0.1 * np.random.randn(4, 10), 0.1 * np.random.randn(10, 3)
    state = np.random.get_state()
    toy = init_toy_model()
    assert np.random.get_state()[2] == state[2] and np.array_equal(np.random.get_state()[1], state[1])
    np.testing.assert_array_equal(toy.params["W1"], W1)
    np.testing.assert_array_equal(toy.params["W2"], W2)
    assert not toy.params["b1"].any() and not toy.params["b2"].any()


def test_toy_model_builds_the_class_it_is_given():
    class MyNet(TwoLayerNet):
        pass

    net = init_toy_model(MyNet, reg=0.3)
    assert type(net) is MyNet and net.reg == 0.3


@pytest.mark.parametrize("name", ["W1", "b1", "W2", "b2"])
def test_toy_gradients_match_numerical_gradients(name):
    net = init_toy_model(reg=0.1)
    X, y = init_toy_data()
    _, grads = net.loss(X, y)
    numeric = eval_numerical_gradient(lambda _: net.loss(X, y)[0], net.params[name], verbose=False)
    assert rel_error(grads[name], numeric) < 1e-8


@pytest.mark.parametrize("shape", [(1, 3, 2, 2), (8, 12, 9, 5), (33, 20, 17, 10)])
@pytest.mark.parametrize("reg", [0.0, 0.7])
def test_loss_and_gradients_match_pytorch(shape, reg):
    N, D, H, C = shape
    net, X, y = random_net(np.random.default_rng(N * 100 + D), N, D, H, C, reg=reg)
    loss, grads = net.loss(X, y)

    t = {name: torch.tensor(value, requires_grad=True) for name, value in net.params.items()}
    scores = torch.relu(torch.tensor(X) @ t["W1"] + t["b1"]) @ t["W2"] + t["b2"]
    t_loss = torch.nn.functional.cross_entropy(scores, torch.tensor(y)) + 0.5 * reg * (
        (t["W1"] ** 2).sum() + (t["W2"] ** 2).sum())
    t_loss.backward()

    np.testing.assert_allclose(net.loss(X), scores.detach().numpy(), rtol=1e-12)
    assert abs(loss - t_loss.item()) < 1e-12 * max(1.0, abs(loss))
    for name in net.params:
        np.testing.assert_allclose(grads[name], t[name].grad.numpy(), rtol=1e-10, atol=1e-12)


def test_training_on_toy_data_drives_loss_below_002():
    net = init_toy_model(reg=1e-5)  # CS231n's reg = 5e-6 on reg * sum(W^2)
    X, y = init_toy_data()
    stats = net.train(X, y, X, y, learning_rate=1e-1, num_iters=100, seed=0)
    assert set(stats) == {"loss_history", "train_acc_history", "val_acc_history"}
    assert len(stats["loss_history"]) == 100
    assert stats["loss_history"][-1] < 0.02
    # 5 examples and batch 200 make every iteration an epoch.
    assert len(stats["train_acc_history"]) == len(stats["val_acc_history"]) == 100
    assert stats["val_acc_history"][-1] == 1.0


def test_training_is_the_loop_its_docstring_describes():
    rng = np.random.default_rng(4)
    X, y = rng.standard_normal((23, 6)), rng.integers(4, size=23)
    X_val, y_val = rng.standard_normal((9, 6)), rng.integers(4, size=9)
    net = TwoLayerNet(input_dim=6, hidden_dim=5, num_classes=4, weight_scale=0.5, reg=0.2, seed=1)
    manual = TwoLayerNet(input_dim=6, hidden_dim=5, num_classes=4, weight_scale=0.5, reg=0.2, seed=1)
    stats = net.train(X, y, X_val, y_val, learning_rate=0.1, learning_rate_decay=0.5, num_iters=11, batch_size=5,
                      seed=7)

    draw = np.random.RandomState(7)
    lr, losses, train_acc, val_acc = 0.1, [], [], []
    for it in range(11):
        batch = draw.choice(23, 5)
        loss, grads = manual.loss(X[batch], y[batch])
        losses.append(loss)
        for name in manual.params:
            manual.params[name] -= lr * grads[name]
        if (it + 1) % 4 == 0:  # 23 // 5 = 4 iterations per epoch
            train_acc.append(np.mean(manual.predict(X[batch]) == y[batch]))
            val_acc.append(np.mean(manual.predict(X_val) == y_val))
            lr *= 0.5
    assert stats["loss_history"] == losses
    assert stats["train_acc_history"] == train_acc and stats["val_acc_history"] == val_acc
    for name in net.params:
        np.testing.assert_array_equal(net.params[name], manual.params[name])


def test_training_without_seed_follows_numpys_global_generator():
    X, y = init_toy_data()
    runs = []
    for _ in range(2):
        np.random.seed(3)
        net = init_toy_model()
        runs.append(net.train(X, y, X, y, learning_rate=1e-1, num_iters=5, batch_size=3)["loss_history"])
    assert runs[0] == runs[1]


def test_same_run_as_cs231n_assignment_1_convention():
    # CS231n's assignment-1 net: loss + reg * sum(W^2), gradient + 2 * reg * W, weights from
    # RandomState(seed).randn, minibatches from RandomState(seed).choice. Here reg is doubled.
    rng = np.random.default_rng(0)
    X, y = 10 * rng.standard_normal((70, 8)), rng.integers(5, size=70)
    rand = np.random.RandomState(0)
    params = {"W1": 1e-2 * rand.randn(8, 6), "b1": np.zeros(6), "W2": 1e-2 * rand.randn(6, 5), "b2": np.zeros(5)}
    draw, reg, lr = np.random.RandomState(0), 0.05, 1e-2
    for _ in range(20):
        batch = draw.choice(70, 16)
        Xb, yb = X[batch], y[batch]
        hidden = np.maximum(0, Xb @ params["W1"] + params["b1"])
        scores = hidden @ params["W2"] + params["b2"]
        probs = np.exp(scores - scores.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        probs[np.arange(16), yb] -= 1
        dscores = probs / 16
        dhidden = (dscores @ params["W2"].T) * (hidden > 0)
        grads = {"W1": Xb.T @ dhidden + 2 * reg * params["W1"], "b1": dhidden.sum(axis=0),
                 "W2": hidden.T @ dscores + 2 * reg * params["W2"], "b2": dscores.sum(axis=0)}
        for name in params:
            params[name] -= lr * grads[name]
    np.random.seed(0)
    net = TwoLayerNet(input_dim=8, hidden_dim=6, num_classes=5, weight_scale=1e-2, reg=2 * reg)
    net.train(X, y, X, y, learning_rate=lr, learning_rate_decay=1.0, num_iters=20, batch_size=16, seed=0)
    for name in params:
        np.testing.assert_allclose(net.params[name], params[name], rtol=1e-12, atol=1e-15)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the overflow is the point
def test_nan_loss_raises_naming_the_iteration():
    net = init_toy_model()
    X, y = init_toy_data()
    with pytest.raises(TrainingDivergedError, match=r"at iteration \d+ of 50.*lower the learning rate"):
        net.train(X, y, X, y, learning_rate=1e12, num_iters=50, seed=0)


def test_predict_returns_int64_labels_of_the_highest_score():
    net, X, _ = random_net(np.random.default_rng(2), 11, 6, 8, 5)
    pred = net.predict(X)
    assert pred.shape == (11,) and pred.dtype == np.int64
    np.testing.assert_array_equal(pred, np.argmax(net.loss(X), axis=1))


def test_train_rejects_bad_settings():
    X, y = init_toy_data()
    net = init_toy_model()
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        net.train(X, y, X, y, batch_size=0)
    with pytest.raises(ValueError, match="learning_rate must be a positive number"):
        net.train(X, y, X, y, learning_rate=-1.0)
    with pytest.raises(ValueError, match="num_iters must be a non-negative integer"):
        net.train(X, y, X, y, num_iters=2.5)
    with pytest.raises(ValueError, match=r"input_dim = 4, got \(5, 3\)"):
        net.train(X, y, X[:, :3], y)
    with pytest.raises(ValueError, match="train needs the labels"):
        net.train(X, None, X, y)


# ----------------------------------------------------------------------------- the tuning loop

def small_data(seed=0):
    rng = np.random.default_rng(seed)
    centres = 3 * rng.standard_normal((3, 5))
    y = rng.integers(3, size=160)
    X = centres[y] + rng.standard_normal((160, 5))
    return {"X_train": X[:120], "y_train": y[:120], "X_val": X[120:], "y_val": y[120:]}


def test_tune_two_layer_net_trains_each_setting_from_the_same_seed_and_keeps_the_best():
    data = small_data()
    settings = [(8, 1e-6, 0.0, 20), (8, 0.5, 1e-3, 20), (4, 0.1, 0.0, 30)]
    results, best_net, best_stats = tune_two_layer_net(data, settings, num_classes=3, weight_scale=0.1,
                                                       batch_size=20, seed=2, verbose=False)
    assert list(results) == settings
    for hidden, lr, reg, iters in settings:
        np.random.seed(2)
        net = TwoLayerNet(5, hidden, 3, weight_scale=0.1, reg=reg)
        stats = net.train(data["X_train"], data["y_train"], data["X_val"], data["y_val"], learning_rate=lr,
                          num_iters=iters, batch_size=20, seed=2)
        val = np.mean(net.predict(data["X_val"]) == data["y_val"])
        assert results[(hidden, lr, reg, iters)] == (np.mean(net.predict(data["X_train"]) == data["y_train"]), val)
        if (hidden, lr, reg, iters) == max(results, key=lambda s: results[s][1]):
            assert best_stats == stats
            np.testing.assert_array_equal(best_net.params["W1"], net.params["W1"])
    assert results[settings[1]][1] > results[settings[0]][1]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_tune_two_layer_net_records_diverged_runs_and_fails_when_all_diverge():
    data = small_data()
    results, _, _ = tune_two_layer_net(data, [(8, 1e12, 0.0, 50), (8, 1e-3, 0.0, 5)], num_classes=3,
                                       weight_scale=0.1, batch_size=20, verbose=False)
    assert all(math.isnan(v) for v in results[(8, 1e12, 0.0, 50)])
    assert not any(math.isnan(v) for v in results[(8, 1e-3, 0.0, 5)])
    with pytest.raises(TrainingDivergedError, match="every run diverged"):
        tune_two_layer_net(data, [(8, 1e12, 0.0, 50)], num_classes=3, weight_scale=0.1, batch_size=20,
                           verbose=False)


def test_tune_two_layer_net_rejects_bad_input():
    with pytest.raises(ValueError, match=r"missing \['y_val'\]"):
        tune_two_layer_net({k: v for k, v in small_data().items() if k != "y_val"}, [(8, 0.1, 0.0, 1)])
    with pytest.raises(ValueError, match="at least one"):
        tune_two_layer_net(small_data(), [])
