"""The Solver: everything needed to train a classification model with minibatch SGD.

    data = {"X_train": ..., "y_train": ..., "X_val": ..., "y_val": ...}
    model = FullyConnectedNet([100], reg=1e-3)
    solver = Solver(model, data, update_rule="adam", optim_config={"learning_rate": 1e-3},
                    lr_decay=0.95, num_epochs=10, batch_size=100, print_every=100, seed=0)
    solver.train()

After train() the model holds the parameters with the best validation accuracy, and
solver.loss_history, solver.train_acc_history and solver.val_acc_history hold the loss
of every iteration and the accuracies checked at the end of every epoch (and once after
the first iteration).

With checkpoint_name, a checkpoint (helpers._checkpoint: npz + JSON, no pickle, written
atomically) is saved after every epoch; Solver(model, data, resume_from=path, ...) restores
the parameters, batchnorm statistics, optimizer state, counters, histories, best model and
random states, or, if anything in the file does not fit, raises CheckpointError and changes
nothing.
"""

import copy
import time

import numpy as np

from helpers._checkpoint import (
    CheckpointError,
    apply_trainer_state,
    gather_trainer_state,
    load_trainer_state,
    save_trainer_state,
)
from helpers._checks import check_labels, number_in, positive_int
from helpers.optim import TrainingDivergedError, get_update_rule

CHECKPOINT_FORMAT = "cs231n-solver-checkpoint-v2"
HISTORIES = ("loss_history", "train_acc_history", "val_acc_history", "epoch_time_history")
OPTIONS = {"update_rule": "sgd", "optim_config": None, "lr_decay": 1.0, "batch_size": 100, "num_epochs": 10,
           "num_train_samples": 1000, "num_val_samples": None, "checkpoint_name": None, "print_every": 10,
           "verbose": True, "seed": None, "resume_from": None}


class Solver:
    """
    Trains a classification model with minibatch stochastic gradient descent, using one
    of the update rules in helpers.optim (or any function with the same interface).

    Inputs:
    - model: An object with `params`, a dict mapping parameter names to numpy arrays, and
      `loss(X, y=None)`, which returns scores of shape (N, C) when y is None and
      (loss, grads) otherwise, grads having the keys of params. Running statistics of
      batch normalization live in model.bn_params, a list of dicts (FullyConnectedNet).
    - data: A dictionary of training and validation data containing:
      'X_train': Array of shape (N_train, d_1, ..., d_k) of training images
      'X_val': Array of shape (N_val, d_1, ..., d_k) of validation images
      'y_train': Array of shape (N_train,) of labels for training images
      'y_val': Array of shape (N_val,) of labels for validation images

    Optional keyword arguments:
    - update_rule: The name of an update rule in helpers.optim ('sgd', 'sgd_momentum',
      'rmsprop', 'adam'), or a function with the same interface, such as a notebook's
      own. Default is 'sgd'.
    - optim_config: A dictionary of hyperparameters passed to the update rule, e.g.
      {'learning_rate': 1e-3}. Each parameter gets its own copy (its own state).
    - lr_decay: The learning rate is multiplied by this factor after each epoch.
    - batch_size: Size of the minibatches used to compute the loss and gradient.
      Minibatches are drawn with replacement, as in CS231n.
    - num_epochs: The number of epochs to run for during training.
    - num_train_samples: Number of training samples used to check training accuracy
      (None: all of them); default is 1000.
    - num_val_samples: Number of validation samples used to check validation accuracy
      (None, the default: all of them).
    - checkpoint_name: If not None, save a checkpoint at the end of every epoch to
      '{checkpoint_name}_epoch_{epoch}.npz'.
    - print_every: Print the training loss every print_every iterations.
    - verbose: If False, nothing is printed during training.
    - seed: Seed of the generator that draws minibatches and accuracy subsamples, so a
      run can be repeated exactly. None draws a fresh seed.
    - resume_from: Path of a checkpoint written by a Solver: train() continues from the
      epoch it was saved at. num_epochs may be larger than in the interrupted run.
    """

    def __init__(self, model, data, **kwargs):
        unknown = sorted(set(kwargs) - set(OPTIONS))
        if unknown:
            raise ValueError(f"Unrecognized arguments {unknown}; Solver accepts {sorted(OPTIONS)}")
        options = {**OPTIONS, **kwargs}
        _check_model_and_data(model, data)
        self.model = model
        self.X_train, self.y_train = data["X_train"], data["y_train"]
        self.X_val, self.y_val = data["X_val"], data["y_val"]

        self.update_rule, self.update_rule_name = get_update_rule(options["update_rule"])
        if not isinstance(options["optim_config"] or {}, dict):
            raise ValueError(f"optim_config must be a dict, got {type(options['optim_config']).__name__}")
        self.optim_config = dict(options["optim_config"] or {})
        self.lr_decay = number_in("lr_decay", options["lr_decay"], 0, 1, low_open=True)
        self.batch_size = positive_int("batch_size", options["batch_size"])
        self.num_epochs = positive_int("num_epochs", options["num_epochs"])
        self.print_every = positive_int("print_every", options["print_every"])
        self.num_train_samples, self.num_val_samples = (
            None if options[name] is None else positive_int(name, options[name])
            for name in ("num_train_samples", "num_val_samples"))
        self.checkpoint_name = options["checkpoint_name"]
        self.verbose = bool(options["verbose"])
        self.seed = options["seed"]

        self._reset()
        if options["resume_from"] is not None:
            self._resume(options["resume_from"])

    def _reset(self):
        """Set up the bookkeeping of a fresh run."""
        self.epoch = 0
        self.iteration = 0
        self.best_val_acc = 0.0
        self.best_epoch = None
        self.best_params = {}
        self._best_bn_state = {}
        for name in HISTORIES:
            setattr(self, name, [])
        self.rng = np.random.default_rng(self.seed)
        self.optim_configs = {name: dict(self.optim_config) for name in self.model.params}

    def _step(self):
        """Make a single gradient update; returns the loss (not applied when it is not finite)."""
        batch_mask = self.rng.choice(len(self.y_train), self.batch_size)
        X_batch = self.X_train[batch_mask]
        y_batch = self.y_train[batch_mask]

        loss, grads = self.model.loss(X_batch, y_batch)
        if not np.isfinite(loss):
            return float(loss)
        self.loss_history.append(float(loss))

        missing = sorted(set(self.model.params) - set(grads))
        if missing:
            raise ValueError(f"model.loss returned no gradient for parameters {missing}")
        for p, w in self.model.params.items():
            next_w, next_config = self.update_rule(w, grads[p], self.optim_configs[p])
            if np.shape(next_w) != np.shape(w):
                raise ValueError(f"update rule {self.update_rule_name} returned shape {np.shape(next_w)} "
                                 f"for parameter {p!r} of shape {np.shape(w)}")
            self.model.params[p] = next_w
            self.optim_configs[p] = next_config
        return float(loss)

    def check_accuracy(self, X, y, num_samples=None, batch_size=100):
        """
        Check accuracy of the model on the provided data.

        Inputs:
        - X: Array of data, of shape (N, d_1, ..., d_k)
        - y: Array of labels, of shape (N,)
        - num_samples: If not None, subsample the data and only test the model
          on num_samples datapoints (drawn with the Solver's generator).
        - batch_size: Split X and y into batches of this size to avoid using
          too much memory.

        Returns:
        - acc: Scalar giving the fraction of instances that were correctly
          classified by the model.
        """
        _check_pair("X", X, "y", y)
        positive_int("batch_size", batch_size)
        N = len(y)
        if num_samples is not None and N > num_samples:
            mask = self.rng.choice(N, num_samples)
            N = num_samples
            X = X[mask]
            y = y[mask]

        y_pred = []
        for start in range(0, N, batch_size):
            scores = self.model.loss(X[start:start + batch_size])
            y_pred.append(np.argmax(scores, axis=1))
        y_pred = np.hstack(y_pred)
        return float(np.mean(y_pred == y))

    def train(self):
        """
        Run optimization to train the model, from the start or, after resume_from, from the
        epoch the checkpoint was saved at. Afterwards the model holds the parameters with the
        best validation accuracy (self.best_params, found at epoch self.best_epoch).

        Raises TrainingDivergedError if the loss becomes NaN or infinite; the model is then
        restored to the best parameters seen so far (or to those it started with).
        """
        iterations_per_epoch = self._iterations_per_epoch()
        num_iterations = self.num_epochs * iterations_per_epoch
        if self.iteration == 0 and not self.best_params:
            # Before the first accuracy check, the starting point is the best known state.
            self._remember_best(0.0)
            self.best_epoch = None
        epoch_start = time.perf_counter()

        for t in range(self.iteration, num_iterations):
            loss = self._step()
            if not np.isfinite(loss):
                self._restore_best()
                where = (f"the parameters of epoch {self.best_epoch} (val acc {self.best_val_acc:.4f})"
                         if self.best_epoch is not None else "the parameters it started with")
                message = (f"Training stopped: the loss became {loss} at iteration {t + 1} of {num_iterations} "
                           f"(epoch {self.epoch + 1}); the model was restored to {where}. "
                           "Try a smaller learning_rate or weight_scale.")
                if self.verbose:
                    print(message)
                raise TrainingDivergedError(message)
            self.iteration = t + 1

            if self.verbose and t % self.print_every == 0:
                print(f"(Iteration {t + 1} / {num_iterations}) loss: {loss:f}")

            # At the end of every epoch, increment the epoch counter and decay the learning rate.
            epoch_end = (t + 1) % iterations_per_epoch == 0
            if epoch_end:
                self.epoch += 1
                self.epoch_time_history.append(time.perf_counter() - epoch_start)
                if self.lr_decay != 1:
                    self._decay_learning_rates()

            # Check train and val accuracy on the first iteration and at the end of each epoch.
            if t == 0 or epoch_end:
                self._check_and_log()
                if epoch_end:
                    self._save_checkpoint()
                    epoch_start = time.perf_counter()

        # At the end of training swap the best params into the model.
        self._restore_best()

    def _decay_learning_rates(self):
        for name, config in self.optim_configs.items():
            if "learning_rate" not in config:
                raise ValueError(f"lr_decay needs the update rule to keep 'learning_rate' in its config, but "
                                 f"{self.update_rule_name} returned {sorted(config)} for parameter {name!r}")
            config["learning_rate"] *= self.lr_decay

    def _iterations_per_epoch(self):
        return max(len(self.y_train) // self.batch_size, 1)

    def _check_and_log(self):
        train_acc = self.check_accuracy(self.X_train, self.y_train, num_samples=self.num_train_samples)
        val_acc = self.check_accuracy(self.X_val, self.y_val, num_samples=self.num_val_samples)
        self.train_acc_history.append(train_acc)
        self.val_acc_history.append(val_acc)
        if self.verbose:
            seconds = f"; {self.epoch_time_history[-1]:.1f} s/epoch" if self.epoch_time_history else ""
            print(f"(Epoch {self.epoch} / {self.num_epochs}) train acc: {train_acc:f}; val_acc: {val_acc:f}"
                  f"{seconds}")
        if val_acc > self.best_val_acc or self.best_epoch is None:
            self._remember_best(val_acc)

    # ------------------------------------------------------------------ best model and batchnorm state

    def _bn_state(self):
        """Running statistics of the batch normalization layers, keyed 'bn/<layer>/<name>'."""
        return {f"bn/{i}/{key}": value.copy() for i, bn_param in enumerate(getattr(self.model, "bn_params", None) or [])
                for key, value in bn_param.items() if isinstance(value, np.ndarray)}

    def _set_bn_state(self, state):
        for key, value in state.items():
            _, i, name = key.split("/", 2)
            self.model.bn_params[int(i)][name] = value.copy()

    def _remember_best(self, val_acc):
        self.best_val_acc = val_acc
        self.best_epoch = self.epoch
        self.best_params = {k: v.copy() for k, v in self.model.params.items()}
        self._best_bn_state = self._bn_state()

    def _restore_best(self):
        for k, v in self.best_params.items():
            self.model.params[k] = v.copy()
        self._set_bn_state(self._best_bn_state)

    # ------------------------------------------------------------------ checkpoints

    def _state(self):
        settings = {"update_rule": self.update_rule_name, "batch_size": self.batch_size,
                    "num_train": len(self.y_train)}
        arrays = {**self._bn_state(), **{f"best_{k}": v for k, v in self._best_bn_state.items()}}
        meta = {"best_val_acc": self.best_val_acc, "best_epoch": self.best_epoch}
        return gather_trainer_state(self, HISTORIES, settings, arrays, meta)

    def save_checkpoint(self, path):
        """
        Save everything needed to resume this run to `path` (a .npz file), atomically.

        Returns:
        - path: The path written, as a pathlib.Path
        """
        return save_trainer_state(path, self._state(), CHECKPOINT_FORMAT)

    def _save_checkpoint(self):
        if self.checkpoint_name is None:
            return
        path = self.save_checkpoint(f"{self.checkpoint_name}_epoch_{self.epoch}.npz")
        if self.verbose:
            print(f"Saved checkpoint {path}")

    def _resume(self, path):
        """Restore a checkpoint: everything is checked first, then applied, or nothing is."""
        state = load_trainer_state(path, CHECKPOINT_FORMAT, like=self._state())
        problems = self._bn_problems(state.arrays)
        best_val_acc, best_epoch = state.meta.get("best_val_acc"), state.meta.get("best_epoch", -1)
        if not isinstance(best_val_acc, (int, float)) or not 0 <= best_val_acc <= 1:
            problems.append(f"best_val_acc: expected a number in [0, 1], got {best_val_acc!r}")
        if best_epoch is not None and (not isinstance(best_epoch, int) or best_epoch not in range(state.epoch + 1)):
            problems.append(f"best_epoch: expected None or an epoch in 0..{state.epoch}, got {best_epoch!r}")
        losses, per_epoch = len(state.histories["loss_history"]), self._iterations_per_epoch()
        if state.epoch != state.iteration // per_epoch or losses != state.iteration:
            problems.append(f"epoch, iteration: epoch {state.epoch}, iteration {state.iteration} and {losses} "
                            f"losses do not belong to one run of {per_epoch} iterations per epoch")
        if problems:
            raise CheckpointError(f"cannot resume from {path}: " + "; ".join(problems))

        apply_trainer_state(self, state)
        self._set_bn_state({k: v for k, v in state.arrays.items() if k.startswith("bn/")})
        self._best_bn_state = {k[len("best_"):]: v for k, v in state.arrays.items() if k.startswith("best_bn/")}
        self.best_val_acc, self.best_epoch = float(best_val_acc), best_epoch
        if self.verbose:
            print(f"Resumed from epoch {self.epoch} (iteration {self.iteration}); "
                  f"best val acc so far {self.best_val_acc:.4f}")

    def _bn_problems(self, arrays):
        """Problems of saved batchnorm statistics that do not fit the model's normalization layers.
        A statistic must have the shape the layer already holds, else its gamma's (FullyConnectedNet)."""
        bn_params = getattr(self.model, "bn_params", None) or []
        problems = []
        for key, value in arrays.items():
            group, i, name = (key.split("/", 2) + ["", ""])[:3]
            if group not in ("bn", "best_bn") or not i.isdigit() or int(i) >= len(bn_params):
                problems.append(f"{key}: no such statistic in the model's {len(bn_params)} normalization layers")
                continue
            current = bn_params[int(i)].get(name)
            gamma = self.model.params.get(f"gamma{int(i) + 1}")
            expected = np.shape(current) if current is not None else None if gamma is None else np.shape(gamma)
            if current is not None and not isinstance(current, np.ndarray):
                problems.append(f"{key}: bn_params[{i}][{name!r}] is {current!r}, not an array")
            elif expected is not None and value.shape != expected:
                problems.append(f"{key} has shape {value.shape} in the checkpoint but {expected} in the model")
        return problems


def _check_pair(x_name, X, y_name, y):
    if np.ndim(y) != 1 or np.shape(X)[:1] != np.shape(y):
        raise ValueError(f"{y_name} must have shape (N,) with N = {x_name}.shape[0]; "
                         f"got {x_name} {np.shape(X)} and {y_name} {np.shape(y)}")


def _check_model_and_data(model, data):
    if not isinstance(getattr(model, "params", None), dict) or not callable(getattr(model, "loss", None)):
        raise ValueError(f"model must have a `params` dict and a `loss(X, y=None)` method, got {type(model).__name__}")
    if not model.params:
        raise ValueError("model.params is empty: there is nothing to train")
    keys = ["X_train", "y_train", "X_val", "y_val"]
    if not isinstance(data, dict):
        raise ValueError(f"data must be a dict with keys {keys}, got {type(data).__name__}")
    missing = [key for key in keys if key not in data]
    if missing:
        raise ValueError(f"data is missing {missing}; it needs {keys}")
    for split in ("train", "val"):
        _check_pair(f"X_{split}", data[f"X_{split}"], f"y_{split}", data[f"y_{split}"])
        if len(data[f"y_{split}"]) == 0:
            raise ValueError(f"X_{split} and y_{split} are empty")
    # The labels must be classes the model scores: a test-time pass of one example through a copy
    # of the model (a pass may update state such as batchnorm statistics) says how many.
    num_classes = np.shape(copy.deepcopy(model).loss(data["X_val"][:1]))[-1]
    for split in ("train", "val"):
        check_labels(f"y_{split}", data[f"y_{split}"], num_classes=num_classes)

