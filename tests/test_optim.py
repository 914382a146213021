"""Update rules: the CS231n expected values, PyTorch's optimizers as an oracle, bad input."""

import numpy as np
import pytest
import torch

from helpers import optim

N, D = 4, 5


def cs231n_inputs():
    """The inputs of the update-rule checks in the CS231n FullyConnectedNets notebook."""
    w = np.linspace(-0.4, 0.6, num=N * D).reshape(N, D)
    dw = np.linspace(-0.6, 0.4, num=N * D).reshape(N, D)
    return w, dw


def test_sgd_momentum_matches_cs231n_expected_values():
    w, dw = cs231n_inputs()
    v = np.linspace(0.6, 0.9, num=N * D).reshape(N, D)
    next_w, config = optim.sgd_momentum(w, dw, {"learning_rate": 1e-3, "velocity": v})
    expected_next_w = np.asarray([
        [0.1406, 0.20738947, 0.27417895, 0.34096842, 0.40775789],
        [0.47454737, 0.54133684, 0.60812632, 0.67491579, 0.74170526],
        [0.80849474, 0.87528421, 0.94207368, 1.00886316, 1.07565263],
        [1.14244211, 1.20923158, 1.27602105, 1.34281053, 1.4096]])
    expected_velocity = np.asarray([
        [0.5406, 0.55475789, 0.56891579, 0.58307368, 0.59723158],
        [0.61138947, 0.62554737, 0.63970526, 0.65386316, 0.66802105],
        [0.68217895, 0.69633684, 0.71049474, 0.72465263, 0.73881053],
        [0.75296842, 0.76712632, 0.78128421, 0.79544211, 0.8096]])
    np.testing.assert_allclose(next_w, expected_next_w, rtol=1e-7)
    np.testing.assert_allclose(config["velocity"], expected_velocity, rtol=1e-7)


def test_rmsprop_matches_cs231n_expected_values():
    w, dw = cs231n_inputs()
    cache = np.linspace(0.6, 0.9, num=N * D).reshape(N, D)
    next_w, config = optim.rmsprop(w, dw, {"learning_rate": 1e-2, "cache": cache})
    expected_next_w = np.asarray([
        [-0.39223849, -0.34037513, -0.28849239, -0.23659121, -0.18467247],
        [-0.132737, -0.08078555, -0.02881884, 0.02316247, 0.07515774],
        [0.12716641, 0.17918792, 0.23122175, 0.28326742, 0.33532447],
        [0.38739248, 0.43947102, 0.49155973, 0.54365823, 0.59576619]])
    expected_cache = np.asarray([
        [0.5976, 0.6126277, 0.6277108, 0.64284931, 0.65804321],
        [0.67329252, 0.68859723, 0.70395734, 0.71937285, 0.73484377],
        [0.75037008, 0.7659518, 0.78158892, 0.79728144, 0.81302936],
        [0.82883269, 0.84469141, 0.86060554, 0.87657507, 0.8926]])
    np.testing.assert_allclose(next_w, expected_next_w, rtol=1e-6)
    np.testing.assert_allclose(config["cache"], expected_cache, rtol=1e-6)


def test_adam_matches_cs231n_expected_values():
    w, dw = cs231n_inputs()
    m = np.linspace(0.6, 0.9, num=N * D).reshape(N, D)
    v = np.linspace(0.7, 0.5, num=N * D).reshape(N, D)
    next_w, config = optim.adam(w, dw, {"learning_rate": 1e-2, "m": m, "v": v, "t": 5})
    expected_next_w = np.asarray([
        [-0.40094747, -0.34836187, -0.29577703, -0.24319299, -0.19060977],
        [-0.1380274, -0.08544591, -0.03286534, 0.01971428, 0.0722929],
        [0.1248705, 0.17744702, 0.23002243, 0.28259667, 0.33516969],
        [0.38774145, 0.44031188, 0.49288093, 0.54544852, 0.59801459]])
    expected_v = np.asarray([
        [0.69966, 0.68908382, 0.67851319, 0.66794809, 0.65738853],
        [0.64683452, 0.63628604, 0.6257431, 0.61520571, 0.60467385],
        [0.59414753, 0.58362676, 0.57311152, 0.56260183, 0.55209767],
        [0.54159906, 0.53110598, 0.52061845, 0.51013645, 0.49966]])
    expected_m = np.asarray([
        [0.48, 0.49947368, 0.51894737, 0.53842105, 0.55789474],
        [0.57736842, 0.59684211, 0.61631579, 0.63578947, 0.65526316],
        [0.67473684, 0.69421053, 0.71368421, 0.73315789, 0.75263158],
        [0.77210526, 0.79157895, 0.81105263, 0.83052632, 0.85]])
    np.testing.assert_allclose(next_w, expected_next_w, rtol=1e-6)
    np.testing.assert_allclose(config["v"], expected_v, rtol=1e-6)
    np.testing.assert_allclose(config["m"], expected_m, rtol=1e-6)
    assert config["t"] == 6, "t is incremented before it is used, as in CS231n"


def test_defaults_are_the_cs231n_ones():
    w, dw = cs231n_inputs()
    assert optim.sgd(w, dw)[1] == {"learning_rate": 1e-2}
    config = optim.sgd_momentum(w, dw)[1]
    assert (config["learning_rate"], config["momentum"]) == (1e-2, 0.9)
    config = optim.rmsprop(w, dw)[1]
    assert (config["learning_rate"], config["decay_rate"], config["epsilon"]) == (1e-2, 0.99, 1e-8)
    config = optim.adam(w, dw)[1]
    assert (config["learning_rate"], config["beta1"], config["beta2"], config["epsilon"], config["t"]) == (
        1e-3, 0.9, 0.999, 1e-8, 1)


# ----------------------------------------------------------------------------- PyTorch oracle

def grad_of_quadratic(w, A, target):
    """Gradient of 0.5 * ||A w - target||^2 with respect to w: a fixed, non-trivial landscape."""
    return A.T @ (A @ w - target)


def run_ours(rule, config, w0, A, target, steps):
    w, trajectory = w0.copy(), []
    for _ in range(steps):
        w, config = rule(w, grad_of_quadratic(w, A, target), config)
        trajectory.append(w.copy())
    return np.stack(trajectory)


def run_torch(make_optimizer, w0, A, target, steps):
    w = torch.tensor(w0.copy(), requires_grad=True)
    A_t, target_t = torch.tensor(A), torch.tensor(target)
    opt = make_optimizer([w])
    trajectory = []
    for _ in range(steps):
        opt.zero_grad()
        loss = 0.5 * ((A_t @ w - target_t) ** 2).sum()
        loss.backward()
        opt.step()
        trajectory.append(w.detach().numpy().copy())
    return np.stack(trajectory)


@pytest.fixture
def landscape():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((7, 6))
    target = rng.standard_normal((7, 3))
    w0 = rng.standard_normal((6, 3))
    return w0, A, target


def test_sgd_matches_torch(landscape):
    ours = run_ours(optim.sgd, {"learning_rate": 0.01}, *landscape, steps=25)
    theirs = run_torch(lambda p: torch.optim.SGD(p, lr=0.01), *landscape, steps=25)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_sgd_momentum_matches_torch(landscape):
    # Conventions differ: CS231n keeps v = mu*v - lr*dw and adds it; PyTorch keeps
    # b = mu*b + dw and subtracts lr*b. With a constant learning rate v = -lr*b, so the
    # trajectories of w are the same.
    config = {"learning_rate": 0.01, "momentum": 0.9}
    ours = run_ours(optim.sgd_momentum, config, *landscape, steps=25)
    theirs = run_torch(lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9), *landscape, steps=25)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_rmsprop_matches_torch(landscape):
    # PyTorch's alpha is CS231n's decay_rate; both add epsilon outside the square root.
    config = {"learning_rate": 0.01, "decay_rate": 0.95, "epsilon": 1e-8}
    ours = run_ours(optim.rmsprop, config, *landscape, steps=25)
    theirs = run_torch(lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.95, eps=1e-8), *landscape, steps=25)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


def test_adam_matches_torch(landscape):
    # PyTorch adds epsilon to sqrt(v)/sqrt(1 - beta2**t), which is CS231n's sqrt(v_hat).
    config = {"learning_rate": 0.05, "beta1": 0.8, "beta2": 0.99, "epsilon": 1e-8}
    ours = run_ours(optim.adam, config, *landscape, steps=25)
    theirs = run_torch(lambda p: torch.optim.Adam(p, lr=0.05, betas=(0.8, 0.99), eps=1e-8),
                       *landscape, steps=25)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


# ----------------------------------------------------------------------------- behaviour

@pytest.mark.parametrize("rule", optim.UPDATE_RULES)
def test_rules_leave_their_inputs_unchanged(rule):
    w, dw = cs231n_inputs()
    w_before, dw_before = w.copy(), dw.copy()
    _, config = getattr(optim, rule)(w, dw, {"learning_rate": 1e-2})
    state = {k: v.copy() for k, v in config.items() if isinstance(v, np.ndarray)}
    getattr(optim, rule)(w, dw, config)
    np.testing.assert_array_equal(w, w_before)
    np.testing.assert_array_equal(dw, dw_before)
    for key, value in state.items():
        np.testing.assert_array_equal(config[key], value)


@pytest.mark.parametrize("rule", optim.UPDATE_RULES)
def test_rules_keep_float32(rule):
    w, dw = (a.astype(np.float32) for a in cs231n_inputs())
    next_w, _ = getattr(optim, rule)(w, dw, {"learning_rate": 1e-2})
    assert next_w.dtype == np.float32


@pytest.mark.parametrize("rule", optim.UPDATE_RULES)
def test_shape_mismatch_is_rejected(rule):
    w, dw = cs231n_inputs()
    with pytest.raises(ValueError, match=r"dw must have the shape of w \(4, 5\), got \(5, 4\)"):
        getattr(optim, rule)(w, dw.T, None)


@pytest.mark.parametrize("rule", optim.UPDATE_RULES)
def test_negative_learning_rate_is_rejected(rule):
    w, dw = cs231n_inputs()
    with pytest.raises(ValueError, match="learning_rate must be a finite number >= 0, got -0.1"):
        getattr(optim, rule)(w, dw, {"learning_rate": -0.1})


def test_unknown_config_key_is_rejected_with_the_valid_ones():
    w, dw = cs231n_inputs()
    with pytest.raises(ValueError, match=r"unknown config keys \['learning_reat'\].*'learning_rate'"):
        optim.adam(w, dw, {"learning_reat": 1e-3})
    with pytest.raises(ValueError, match=r"unknown config keys \['momentum'\]"):
        optim.rmsprop(w, dw, {"momentum": 0.9})


@pytest.mark.parametrize("rule, key", [("sgd_momentum", "momentum"), ("rmsprop", "decay_rate"),
                                       ("adam", "beta1"), ("adam", "beta2")])
def test_decay_rates_must_be_below_one(rule, key):
    w, dw = cs231n_inputs()
    with pytest.raises(ValueError, match=rf"{key} must be in \[0, 1\), got 1.0"):
        getattr(optim, rule)(w, dw, {key: 1.0})


@pytest.mark.parametrize("rule, key", [("sgd_momentum", "velocity"), ("rmsprop", "cache"),
                                       ("adam", "m"), ("adam", "v")])
def test_state_of_the_wrong_shape_is_rejected(rule, key):
    w, dw = cs231n_inputs()
    with pytest.raises(ValueError, match=rf"config\['{key}'\] must have the shape of w \(4, 5\), got \(3,\)"):
        getattr(optim, rule)(w, dw, {key: np.zeros(3)})


def test_adam_rejects_a_bad_step_count():
    w, dw = cs231n_inputs()
    with pytest.raises(ValueError, match="t'] must be a non-negative integer, got 1.5"):
        optim.adam(w, dw, {"t": 1.5})


def test_config_must_be_a_dict():
    w, dw = cs231n_inputs()
    with pytest.raises(ValueError, match="config must be a dict or None, got float"):
        optim.sgd(w, dw, 0.1)
