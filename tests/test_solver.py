"""Solver: training, best parameters, learning-rate decay, checkpoints and resuming, errors."""

import json
import re
import subprocess
import sys

import numpy as np
import pytest

from helpers import optim
from helpers._checkpoint import load_checkpoint
from helpers.classifiers.fc_net import FullyConnectedNet
from helpers.solver import CHECKPOINT_FORMAT, CheckpointError, Solver, TrainingDivergedError


class TinySoftmax:
    """
    A linear softmax classifier with the model interface the Solver expects.

    With noise=True it also uses the two kinds of hidden state real models have: a
    random input mask drawn from NumPy's global generator (as dropout does) and a
    running mean kept in bn_params (as batch normalization does).
    """

    def __init__(self, input_dim=5, num_classes=3, seed=0, noise=False):
        rng = np.random.default_rng(seed)
        self.params = {"W": 0.01 * rng.standard_normal((input_dim, num_classes)), "b": np.zeros(num_classes)}
        self.noise = noise
        self.bn_params = [{"mode": "train"}] if noise else []
        self.calls = 0

    def loss(self, X, y=None):
        self.calls += 1
        if self.noise and y is not None:
            X = X * (np.random.rand(*X.shape) < 0.9) / 0.9
            bn = self.bn_params[0]
            bn["running_mean"] = 0.9 * bn.get("running_mean", np.zeros(X.shape[1])) + 0.1 * X.mean(axis=0)
        scores = X @ self.params["W"] + self.params["b"]
        if y is None:
            return scores
        shifted = scores - scores.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        loss = -log_probs[np.arange(len(y)), y].mean()
        dscores = np.exp(log_probs)
        dscores[np.arange(len(y)), y] -= 1
        dscores /= len(y)
        return loss, {"W": X.T @ dscores, "b": dscores.sum(axis=0)}


def blobs(num_train=200, num_val=60, dim=5, num_classes=3, seed=0):
    """Gaussian clusters, one per class: a problem a linear classifier can learn."""
    rng = np.random.default_rng(seed)
    centers = 2.0 * rng.standard_normal((num_classes, dim))

    def draw(n):
        y = rng.integers(num_classes, size=n)
        return centers[y] + rng.standard_normal((n, dim)), y

    X_train, y_train = draw(num_train)
    X_val, y_val = draw(num_val)
    return {"X_train": X_train, "y_train": y_train, "X_val": X_val, "y_val": y_val}


def test_training_reduces_the_loss_and_learns():
    model = TinySoftmax()
    solver = Solver(model, blobs(), update_rule="sgd", optim_config={"learning_rate": 0.5},
                    num_epochs=5, batch_size=20, verbose=False, seed=0)
    solver.train()
    history = solver.loss_history
    assert len(history) == 5 * (200 // 20)
    assert np.mean(history[-10:]) < 0.5 * history[0]
    assert solver.best_val_acc > 0.8
    assert len(solver.val_acc_history) == len(solver.train_acc_history) == 5 + 1


@pytest.mark.parametrize("rule", optim.UPDATE_RULES)
def test_every_rule_by_name_trains(rule):
    lr = {"sgd": 0.5, "sgd_momentum": 0.1, "rmsprop": 0.01, "adam": 0.01}[rule]
    solver = Solver(TinySoftmax(), blobs(), update_rule=rule, optim_config={"learning_rate": lr},
                    num_epochs=3, batch_size=20, verbose=False, seed=0)
    solver.train()
    assert np.mean(solver.loss_history[-5:]) < solver.loss_history[0]


def test_a_callable_update_rule_is_used():
    calls = []

    def my_sgd(w, dw, config=None):
        calls.append(w.shape)
        return optim.sgd(w, dw, config)

    solver = Solver(TinySoftmax(), blobs(), update_rule=my_sgd, num_epochs=1, batch_size=50, verbose=False)
    solver.train()
    assert len(calls) == 2 * (200 // 50), "one call per parameter per iteration"


def test_the_model_ends_with_the_best_parameters():
    # Descend for the first epoch, then climb: validation accuracy falls after epoch 1,
    # and the model must come back to the best parameters, not the last ones.
    state = {"steps": 0}

    def descend_then_ascend(w, dw, config=None):
        state["steps"] += 1
        sign = 1 if state["steps"] <= 2 * 10 else -1
        return optim.sgd(w, sign * dw, config)

    model = TinySoftmax()
    solver = Solver(model, blobs(), update_rule=descend_then_ascend, optim_config={"learning_rate": 0.5},
                    num_epochs=4, batch_size=20, verbose=False, seed=0)
    solver.train()
    assert solver.val_acc_history[-1] < max(solver.val_acc_history)
    assert solver.best_val_acc == max(solver.val_acc_history)
    for name, value in solver.best_params.items():
        np.testing.assert_array_equal(model.params[name], value)
    data = blobs()
    assert solver.check_accuracy(data["X_val"], data["y_val"]) == solver.best_val_acc


def test_lr_decay_is_applied_once_per_epoch():
    solver = Solver(TinySoftmax(), blobs(), update_rule="sgd_momentum",
                    optim_config={"learning_rate": 0.1, "momentum": 0.5}, lr_decay=0.9,
                    num_epochs=3, batch_size=40, verbose=False, seed=0)
    solver.train()
    for config in solver.optim_configs.values():
        assert config["learning_rate"] == pytest.approx(0.1 * 0.9**3)
        assert config["momentum"] == 0.5


def test_each_parameter_gets_its_own_optimizer_state():
    solver = Solver(TinySoftmax(), blobs(), update_rule="adam", num_epochs=1, batch_size=50, verbose=False)
    solver.train()
    assert solver.optim_configs["W"]["m"].shape == (5, 3)
    assert solver.optim_configs["b"]["m"].shape == (3,)
    assert solver.optim_configs["W"]["t"] == 4


def test_the_same_seed_gives_the_same_run():
    runs = []
    for _ in range(2):
        solver = Solver(TinySoftmax(), blobs(), optim_config={"learning_rate": 0.3}, num_epochs=2,
                        batch_size=20, verbose=False, seed=3)
        solver.train()
        runs.append(solver.loss_history)
    assert runs[0] == runs[1]


def test_the_log_reports_iterations_and_epochs(capsys):
    Solver(TinySoftmax(), blobs(), num_epochs=2, batch_size=50, print_every=2, seed=0).train()
    out = capsys.readouterr().out
    assert "(Iteration 1 / 8) loss:" in out
    assert "(Epoch 2 / 2) train acc:" in out


# ----------------------------------------------------------------------------- checkpoints

def train_noisy(tmp_path, name, num_epochs, resume_from=None, model_seed=0):
    np.random.seed(123)  # the global generator the model's input mask draws from
    model = TinySoftmax(seed=model_seed, noise=True)
    solver = Solver(model, blobs(), update_rule="adam", optim_config={"learning_rate": 0.05}, lr_decay=0.8,
                    num_epochs=num_epochs, batch_size=20, num_train_samples=50, num_val_samples=30,
                    checkpoint_name=str(tmp_path / name), resume_from=resume_from, verbose=False, seed=7)
    solver.train()
    return model, solver


def test_resume_continues_exactly_like_an_uninterrupted_run(tmp_path):
    full_model, full = train_noisy(tmp_path, "full", num_epochs=4)
    train_noisy(tmp_path, "first", num_epochs=2)
    # A fresh model with other weights: everything must come from the checkpoint.
    model, resumed = train_noisy(tmp_path, "second", num_epochs=4, resume_from=tmp_path / "first_epoch_2.npz",
                                 model_seed=99)
    assert resumed.loss_history == full.loss_history
    assert resumed.train_acc_history == full.train_acc_history
    assert resumed.val_acc_history == full.val_acc_history
    assert (resumed.best_val_acc, resumed.best_epoch) == (full.best_val_acc, full.best_epoch)
    for name in full_model.params:
        np.testing.assert_array_equal(model.params[name], full_model.params[name])
        np.testing.assert_array_equal(resumed.optim_configs[name]["m"], full.optim_configs[name]["m"])
        assert resumed.optim_configs[name]["learning_rate"] == full.optim_configs[name]["learning_rate"]
    np.testing.assert_array_equal(model.bn_params[0]["running_mean"], full_model.bn_params[0]["running_mean"])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"full_epoch_{e}.npz" for e in range(1, 5)] + [f"first_epoch_{e}.npz" for e in (1, 2)]
        + [f"second_epoch_{e}.npz" for e in (3, 4)]), "no temporary files are left behind"


def test_resume_restores_the_state_of_the_epoch_it_was_saved_at(tmp_path):
    _, first = train_noisy(tmp_path, "first", num_epochs=2)
    arrays, meta = load_checkpoint(tmp_path / "first_epoch_2.npz", CHECKPOINT_FORMAT)
    model = TinySoftmax(seed=99, noise=True)
    solver = Solver(model, blobs(), update_rule="adam", batch_size=20, num_epochs=3, verbose=False,
                    resume_from=tmp_path / "first_epoch_2.npz")
    assert (solver.epoch, solver.iteration) == (2, 20)
    np.testing.assert_array_equal(model.params["W"], arrays["params/W"])
    np.testing.assert_array_equal(model.bn_params[0]["running_mean"], arrays["bn/0/running_mean"])
    np.testing.assert_array_equal(solver.optim_configs["W"]["v"], arrays["optim/W/v"])
    assert solver.optim_configs["W"]["t"] == 20
    assert solver.rng.bit_generator.state == meta["rng_state"]
    assert solver.loss_history == first.loss_history
    assert (solver.best_val_acc, solver.best_epoch) == (first.best_val_acc, first.best_epoch)


def test_a_checkpoint_holds_only_plain_arrays(tmp_path):
    train_noisy(tmp_path, "run", num_epochs=1)
    with np.load(tmp_path / "run_epoch_1.npz", allow_pickle=False) as archive:
        assert all(archive[key].dtype != object for key in archive.files)
    arrays, meta = load_checkpoint(tmp_path / "run_epoch_1.npz", CHECKPOINT_FORMAT)
    assert meta["epoch"] == 1
    assert arrays["params/W"].shape == (5, 3)


def test_a_missing_checkpoint_is_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.npz does not exist"):
        Solver(TinySoftmax(), blobs(), resume_from=tmp_path / "nowhere.npz")


@pytest.mark.parametrize("damage", ["garbage", "truncated", "flipped", "foreign"])
def test_a_corrupt_checkpoint_is_rejected_and_nothing_is_loaded(tmp_path, damage):
    train_noisy(tmp_path, "run", num_epochs=1)
    path = tmp_path / "run_epoch_1.npz"
    raw = path.read_bytes()
    if damage == "garbage":
        path.write_bytes(b"not a checkpoint at all")
    elif damage == "truncated":
        path.write_bytes(raw[: len(raw) // 2])
    elif damage == "flipped":
        # Flip a byte inside the stored weights: the member's CRC no longer matches.
        offset = raw.index(b"params/W.npy") + 200
        path.write_bytes(raw[:offset] + bytes([raw[offset] ^ 0xFF]) + raw[offset + 1:])
    else:
        np.savez(path, W=np.zeros((5, 3)))
    model = TinySoftmax(seed=5)
    before = {k: v.copy() for k, v in model.params.items()}
    with pytest.raises(CheckpointError, match="run_epoch_1.npz is corrupt or not a checkpoint of the course"):
        Solver(model, blobs(), update_rule="adam", batch_size=20, resume_from=path)
    for name, value in before.items():
        np.testing.assert_array_equal(model.params[name], value)


def test_a_checkpoint_of_another_model_is_not_half_loaded(tmp_path):
    train_noisy(tmp_path, "run", num_epochs=1)
    model = TinySoftmax(input_dim=5, num_classes=4)
    before = {k: v.copy() for k, v in model.params.items()}
    with pytest.raises(CheckpointError, match=r"params/W has shape \(5, 3\) in the checkpoint but \(5, 4\)"):
        Solver(model, blobs(), update_rule="adam", batch_size=20, resume_from=tmp_path / "run_epoch_1.npz")
    for name, value in before.items():
        np.testing.assert_array_equal(model.params[name], value)


def test_resuming_with_other_settings_is_rejected(tmp_path):
    train_noisy(tmp_path, "run", num_epochs=1)
    with pytest.raises(CheckpointError, match="update_rule is 'sgd' here but 'adam' in the checkpoint"):
        Solver(TinySoftmax(), blobs(), update_rule="sgd", batch_size=20,
               resume_from=tmp_path / "run_epoch_1.npz")
    with pytest.raises(CheckpointError, match="batch_size is 25 here but 20 in the checkpoint"):
        Solver(TinySoftmax(), blobs(), update_rule="adam", batch_size=25,
               resume_from=tmp_path / "run_epoch_1.npz")


# ----------------------------------------------------------------------------- errors

def test_unknown_update_rule_names_the_valid_ones():
    with pytest.raises(ValueError, match=r"Invalid update_rule 'adamw'; use one of \['sgd', 'sgd_momentum', "
                                         r"'rmsprop', 'adam'\]"):
        Solver(TinySoftmax(), blobs(), update_rule="adamw")


def test_unknown_arguments_are_named():
    with pytest.raises(ValueError, match=r"Unrecognized arguments \['learning_rate'\]; Solver accepts .*"
                                         r"'lr_decay'"):
        Solver(TinySoftmax(), blobs(), learning_rate=0.1)


def test_missing_data_is_named():
    data = blobs()
    del data["y_val"]
    with pytest.raises(ValueError, match=r"data is missing \['y_val'\]"):
        Solver(TinySoftmax(), data)


def test_mismatched_data_is_rejected():
    data = blobs()
    data["y_train"] = data["y_train"][:-1]
    with pytest.raises(ValueError, match=r"got X_train \(200, 5\) and y_train \(199,\)"):
        Solver(TinySoftmax(), data)


@pytest.mark.parametrize("option, value", [("batch_size", 0), ("num_epochs", 2.5), ("lr_decay", 1.5),
                                           ("print_every", -1)])
def test_bad_option_values_are_rejected(option, value):
    with pytest.raises(ValueError, match=f"{option} must be"):
        Solver(TinySoftmax(), blobs(), **{option: value})


def test_a_model_without_params_is_rejected():
    with pytest.raises(ValueError, match="model must have a `params` dict and a `loss"):
        Solver(object(), blobs())


class Diverging(TinySoftmax):
    """Returns a NaN loss from its `nan_at`-th training call on."""

    def __init__(self, nan_at):
        super().__init__()
        self.nan_at = nan_at
        self.train_calls = 0

    def loss(self, X, y=None):
        out = super().loss(X, y)
        if y is None:
            return out
        self.train_calls += 1
        return (np.nan if self.train_calls >= self.nan_at else out[0]), out[1]


def test_a_nan_loss_stops_training_and_keeps_the_best_parameters(capsys):
    model = Diverging(nan_at=23)
    solver = Solver(model, blobs(), optim_config={"learning_rate": 0.5}, num_epochs=5, batch_size=20, seed=0)
    with pytest.raises(TrainingDivergedError, match=r"loss became nan at iteration 23 of 50 \(epoch 3\)"):
        solver.train()
    assert "restored to the parameters of epoch" in capsys.readouterr().out
    assert solver.best_epoch in (1, 2)
    for name, value in solver.best_params.items():
        np.testing.assert_array_equal(model.params[name], value)
    assert len(solver.loss_history) == 22, "the NaN loss is not recorded"


def test_a_nan_loss_before_any_check_restores_the_starting_parameters():
    model = Diverging(nan_at=1)
    start = {k: v.copy() for k, v in model.params.items()}
    solver = Solver(model, blobs(), num_epochs=1, batch_size=20, verbose=False)
    with pytest.raises(TrainingDivergedError, match="iteration 1 .*the parameters it started with"):
        solver.train()
    for name, value in start.items():
        np.testing.assert_array_equal(model.params[name], value)


def test_lr_decay_needs_a_learning_rate_in_the_config():
    def no_lr(w, dw, config=None):
        return w - 0.1 * dw, {}

    solver = Solver(TinySoftmax(), blobs(), update_rule=no_lr, lr_decay=0.5, num_epochs=1, batch_size=50,
                    verbose=False)
    with pytest.raises(ValueError, match="lr_decay needs the update rule to keep 'learning_rate'.*no_lr"):
        solver.train()


# ----------------------------------------------------------------------------- edited checkpoints (issue 8, item 11)

def edit_checkpoint(path, meta=None, arrays=None, drop=()):
    """Rewrite a checkpoint with some metadata fields and arrays replaced (as a hand edit would)."""
    with np.load(path, allow_pickle=False) as archive:
        contents = {key: archive[key] for key in archive.files}
    old_meta = json.loads(str(contents.pop("meta")))
    contents.update(arrays or {})
    for key in drop:
        contents.pop(key)
    np.savez(path, meta=np.array(json.dumps({**old_meta, **(meta or {})})), **contents)


def model_state(model):
    return ({k: v.copy() for k, v in model.params.items()}, [dict(bn) for bn in model.bn_params],
            np.random.get_state()[1].copy())


def assert_unchanged(model, before):
    params, bn_params, global_keys = before
    for name, value in params.items():
        np.testing.assert_array_equal(model.params[name], value)
    assert [sorted(bn) for bn in model.bn_params] == [sorted(bn) for bn in bn_params]
    for bn, old in zip(model.bn_params, bn_params, strict=True):
        for key, value in old.items():
            np.testing.assert_array_equal(bn[key], value)
    np.testing.assert_array_equal(np.random.get_state()[1], global_keys)


@pytest.mark.parametrize("field, edit", [
    ("epoch", {"meta": {"epoch": "abc"}}),
    ("iteration", {"meta": {"iteration": None}}),
    ("epoch", {"meta": {"epoch": -1}}),
    ("rng_state", {"meta": {"rng_state": {"bit_generator": "PCG64", "state": "garbage"}}}),
    ("global_rng", {"arrays": {"global_rng/keys": np.arange(100, dtype=np.uint32)}}),
    ("params/W", {"arrays": {"params/W": np.full((5, 3), "abc")}}),
    ("params/W", {"arrays": {"params/W": np.zeros((5, 3), dtype=np.int64)}}),
    ("best_params/b", {"arrays": {"best_params/b": np.zeros(4)}}),
    ("bn/0/running_mean", {"arrays": {"bn/0/running_mean": np.zeros(4)}}),
    ("bn/3/running_mean", {"arrays": {"bn/3/running_mean": np.zeros(5)}}),
    ("optim/W/m", {"arrays": {"optim/W/m": np.zeros((3, 5))}}),
    ("optim/W/t", {"meta": {"optim_scalars": {"W": {"t": "twenty"}, "b": {}}}}),
    ("loss_history", {"meta": {"histories": {"loss_history": [1.0, "x"]}}}),
])
def test_an_edited_checkpoint_is_rejected_before_anything_changes(tmp_path, field, edit):
    train_noisy(tmp_path, "run", num_epochs=1)
    path = tmp_path / "run_epoch_1.npz"
    edit_checkpoint(path, **edit)
    model = TinySoftmax(seed=5, noise=True)
    model.bn_params[0]["running_mean"] = np.full(5, 7.0)
    np.random.seed(42)
    before = model_state(model)
    with pytest.raises(CheckpointError, match=re.escape(field)):
        Solver(model, blobs(), update_rule="adam", batch_size=20, verbose=False, resume_from=path)
    assert_unchanged(model, before)


def test_a_batchnorm_checkpoint_must_fit_the_normalization_layers(tmp_path):
    data = blobs(dim=6)
    make = lambda: FullyConnectedNet([4], input_dim=6, num_classes=3, normalization="batchnorm",  # noqa: E731
                                     dtype=np.float64, seed=0)
    Solver(make(), data, update_rule="adam", num_epochs=1, batch_size=20, verbose=False, seed=0,
           checkpoint_name=str(tmp_path / "bn")).train()
    path = tmp_path / "bn_epoch_1.npz"
    edit_checkpoint(path, arrays={"bn/0/running_var": np.ones(5)})
    model = make()  # fresh: no running statistics yet, the shape comes from gamma1
    before = model_state(model)
    with pytest.raises(CheckpointError, match=r"bn/0/running_var.*\(5,\).*\(4,\)"):
        Solver(model, data, update_rule="adam", batch_size=20, verbose=False, resume_from=path)
    assert_unchanged(model, before)


# ----------------------------------------------------------------------------- killed saves (issue 8, item 12)

KILLED_SAVE = """
import os, sys, time
import numpy as np
from helpers.classifiers.fc_net import FullyConnectedNet
from helpers.solver import Solver

def stall(*args, **kwargs):  # the temporary file is written; the rename never comes
    print("writing", flush=True)
    time.sleep(600)

rng = np.random.default_rng(0)
data = {"X_train": rng.standard_normal((40, 6)), "y_train": rng.integers(3, size=40),
        "X_val": rng.standard_normal((10, 6)), "y_val": rng.integers(3, size=10)}
solver = Solver(FullyConnectedNet([8], input_dim=6, num_classes=3), data, verbose=False)
os.replace = stall
solver.save_checkpoint(sys.argv[1])
"""


def test_a_save_killed_half_way_leaves_no_temporary_behind(tmp_path):
    # A real process, killed with SIGKILL (no finally block runs) in the middle of a save.
    process = subprocess.Popen([sys.executable, "-c", KILLED_SAVE, str(tmp_path / "killed.npz")],
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "writing"
        leftovers = list(tmp_path.glob(".*.tmp"))
        assert len(leftovers) == 1 and leftovers[0].stat().st_size > 0
    finally:
        process.kill()
        process.wait()
    assert list(tmp_path.glob(".*.tmp")) == leftovers, "the killed process cleaned up nothing"

    # The next save into the folder sweeps the dead process's temporary file.
    train_noisy(tmp_path, "next", num_epochs=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["next_epoch_1.npz"]
