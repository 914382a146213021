"""helpers._checkpoint: checkpoint files, and the trainer state any trainer saves and resumes with.

The trainer-state API is tested on a toy trainer (not the Solver, tested in test_solver.py):
a resumed run must continue exactly like an uninterrupted one, and a checkpoint that does not
fit must be refused, naming the field, before anything changes.
"""

import json
import os
import re
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from helpers import optim
from helpers._checkpoint import (
    CheckpointError,
    apply_trainer_state,
    gather_trainer_state,
    load_checkpoint,
    load_trainer_state,
    save_checkpoint,
    save_trainer_state,
    sweep_stale_temporaries,
)

FORMAT = "toy-trainer-v1"


class ToyTrainer:
    """The smallest trainer with CS231n's attribute names: least squares, Adam, random minibatches,
    and noise from NumPy's global generator (as dropout masks are)."""

    HISTORIES = ("loss_history",)

    def __init__(self, seed=0, batch_size=8, dim=3):
        data_rng = np.random.default_rng(100)
        self.X = data_rng.standard_normal((64, dim))
        self.y = self.X @ np.linspace(-1, 1, dim) + 0.1 * data_rng.standard_normal(64)
        self.model = SimpleNamespace(params={"w": np.zeros(dim), "b": np.zeros(1)})
        self.optim_configs = {name: {"learning_rate": 0.05} for name in self.model.params}
        self.rng = np.random.default_rng(seed)
        self.batch_size = batch_size
        self.epoch = self.iteration = 0
        self.loss_history = []

    def step(self):
        idx = self.rng.choice(len(self.y), self.batch_size)
        X, y = self.X[idx] * (np.random.rand(self.batch_size, 1) < 0.9), self.y[idx]
        w, b = self.model.params["w"], self.model.params["b"]
        err = X @ w + b - y
        grads = {"w": 2 * X.T @ err / len(y), "b": np.array([2 * err.mean()])}
        for name, dw in grads.items():
            self.model.params[name], self.optim_configs[name] = optim.adam(self.model.params[name], dw,
                                                                           self.optim_configs[name])
        self.loss_history.append(float(np.mean(err**2)))
        self.iteration += 1
        self.epoch = self.iteration // 8

    def _like(self):
        return gather_trainer_state(self, self.HISTORIES, settings={"batch_size": self.batch_size})

    def save(self, path):
        return save_trainer_state(path, self._like(), FORMAT)

    def resume(self, path):
        apply_trainer_state(self, load_trainer_state(path, FORMAT, like=self._like()))


def run(trainer, steps):
    for _ in range(steps):
        trainer.step()
    return trainer


def snapshot(trainer):
    return (json.dumps(trainer.loss_history), {k: v.copy() for k, v in trainer.model.params.items()},
            {k: dict(c) for k, c in trainer.optim_configs.items()}, trainer.rng.bit_generator.state,
            (trainer.epoch, trainer.iteration), np.random.get_state()[1].copy())


def assert_same(a, b):
    assert a[0] == b[0] and a[3] == b[3] and a[4] == b[4]
    for name in a[1]:
        np.testing.assert_array_equal(a[1][name], b[1][name])
        for key, value in a[2][name].items():
            np.testing.assert_array_equal(b[2][name][key], value)
    np.testing.assert_array_equal(a[5], b[5])


def test_a_resumed_toy_trainer_continues_exactly_like_an_uninterrupted_one(tmp_path):
    np.random.seed(1)
    full = run(ToyTrainer(), 30)
    np.random.seed(1)
    run(ToyTrainer(), 12).save(tmp_path / "toy.npz")
    np.random.seed(999)  # the checkpoint restores the global generator too
    resumed = ToyTrainer(seed=5)
    resumed.resume(tmp_path / "toy.npz")
    assert (resumed.epoch, resumed.iteration) == (1, 12)
    assert_same(snapshot(run(resumed, 18)), snapshot(full))
    assert full.loss_history[-1] < 0.2 * full.loss_history[0], "the toy trainer learns"


def trained(**kwargs):
    """A toy trainer two steps into its run."""
    return run(ToyTrainer(**kwargs), 2)


def renamed(trainer):
    """The toy trainer with its parameter w called v."""
    trainer.model.params["v"] = trainer.model.params.pop("w")
    trainer.optim_configs["v"] = trainer.optim_configs.pop("w")
    return trainer


@pytest.mark.parametrize("message, edit, make_trainer", [
    ("batch_size is 4 here but 8", None, lambda: trained(batch_size=4)),
    ("params/w has shape (3,) in the checkpoint but (4,)", None, lambda: trained(dim=4)),
    ("params: the checkpoint has ['b', 'w'] but the model has ['b', 'v']", None, lambda: renamed(trained())),
    ("optim/w/m is a float64 array of shape (2,)", lambda arrays, meta: arrays.update({"optim/w/m": np.zeros(2)}),
     trained),
    ("optim/w/t: expected a number, got None", lambda arrays, meta: meta["optim_scalars"]["w"].update(t=None),
     trained),
    ("rng_state: not a state of PCG64", lambda arrays, meta: meta.update(rng_state={"bit_generator": "MT19937"}),
     trained),
    ("global_rng: not a state", lambda arrays, meta: meta.update(global_rng=[0, 0]), trained),
    ("epoch: expected a non-negative integer, got 1.5", lambda arrays, meta: meta.update(epoch=1.5), trained),
    ("iteration: expected a non-negative integer, got True", lambda arrays, meta: meta.update(iteration=True),
     trained),
    ("loss_history: expected a list of finite numbers, got [nan]",
     lambda arrays, meta: meta["histories"].update(loss_history=[float("nan")]), trained),
])
def test_a_checkpoint_that_does_not_fit_changes_nothing(tmp_path, message, edit, make_trainer):
    path = tmp_path / "toy.npz"
    run(ToyTrainer(), 5).save(path)
    if edit is not None:
        arrays, meta = load_checkpoint(path, FORMAT)
        edit(arrays, meta)
        save_checkpoint(path, arrays, meta, FORMAT)
    trainer = make_trainer()
    before = snapshot(trainer)
    with pytest.raises(CheckpointError, match="cannot resume from .*" + re.escape(message)):
        trainer.resume(path)
    assert_same(snapshot(trainer), before)


def test_every_problem_is_named_in_one_error(tmp_path):
    path = tmp_path / "toy.npz"
    run(ToyTrainer(), 3).save(path)
    arrays, meta = load_checkpoint(path, FORMAT)
    save_checkpoint(path, arrays, {**meta, "epoch": "abc", "iteration": None}, FORMAT)
    with pytest.raises(CheckpointError, match="epoch: .*'abc'; iteration: .*None"):
        ToyTrainer().resume(path)


def test_trainer_state_refuses_what_it_cannot_save(tmp_path):
    trainer = run(ToyTrainer(), 1)
    trainer.optim_configs["w"]["schedule"] = "cosine"
    with pytest.raises(CheckpointError, match="optim_config\\['schedule'\\] of parameter 'w'"):
        trainer.save(tmp_path / "toy.npz")
    state = gather_trainer_state(run(ToyTrainer(), 1), arrays={"params/extra": np.zeros(1)})
    with pytest.raises(ValueError, match="'params/extra' takes a name the trainer state uses"):
        save_trainer_state(tmp_path / "toy.npz", state, FORMAT)
    assert not list(tmp_path.iterdir())


# ----------------------------------------------------------------------------- files

def test_a_checkpoint_of_another_writer_is_refused(tmp_path):
    path = save_checkpoint(tmp_path / "a.npz", {"x": np.ones(2)}, {"epoch": 1}, "writer-a")
    assert load_checkpoint(path, "writer-a")[1]["epoch"] == 1
    with pytest.raises(CheckpointError, match="has format 'writer-a', expected 'writer-b'"):
        load_checkpoint(path, "writer-b")
    with pytest.raises(CheckpointError, match="cannot save 'x': dtype <U1 is not numeric"):
        save_checkpoint(tmp_path / "b.npz", {"x": np.array(["a"])}, {}, "writer-a")
    with pytest.raises(ValueError, match="'meta' is reserved"):
        save_checkpoint(tmp_path / "b.npz", {"meta": np.ones(1)}, {}, "writer-a")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npz"]


def test_only_the_temporaries_of_dead_processes_are_swept(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    names = {"dead": f".run.npz.{dead.pid}.tmp", "parent": f".run.npz.{os.getppid()}.tmp",
             "other": ".notes.txt.tmp", "final": "run.npz"}
    for name in names.values():
        (tmp_path / name).write_bytes(b"x")
    assert sweep_stale_temporaries(tmp_path) == [tmp_path / names["dead"]]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(n for k, n in names.items() if k != "dead")
