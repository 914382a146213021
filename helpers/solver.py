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

A model is any object with
- model.params: a dict mapping parameter names to numpy arrays;
- model.loss(X, y=None): scores of shape (N, C) when y is None, and (loss, grads) when y
  is given, grads having the keys of model.params.
Models with batch normalization keep running statistics in model.bn_params (a list of
dicts, as in FullyConnectedNet); the Solver saves and restores those with the parameters.

Checkpoints are NumPy .npz archives read with allow_pickle=False (no pickle anywhere),
written to a temporary file and renamed, and hold all the state needed to resume:
parameters, batchnorm statistics, optimizer state, epoch, iteration, histories, the
best model so far and the random number generator states. Resume with
Solver(model, data, resume_from=path, ...) and train() continues where it stopped.
"""

import json
import os
import time
import zipfile
from pathlib import Path

import numpy as np

from helpers import optim

CHECKPOINT_FORMAT = "cs231n-solver-checkpoint-v1"

DATA_KEYS = ("X_train", "y_train", "X_val", "y_val")

OPTIONS = {
    "update_rule": "sgd",
    "optim_config": None,
    "lr_decay": 1.0,
    "batch_size": 100,
    "num_epochs": 10,
    "num_train_samples": 1000,
    "num_val_samples": None,
    "checkpoint_name": None,
    "print_every": 10,
    "verbose": True,
    "seed": None,
    "resume_from": None,
}


class TrainingDiverged(FloatingPointError):
    """Raised by Solver.train when the loss becomes NaN or infinite."""


class CheckpointError(ValueError):
    """A checkpoint file is corrupt, incomplete, or does not fit the model and settings."""


class Solver:
    """
    Trains a classification model with minibatch stochastic gradient descent, using one
    of the update rules in helpers.optim (or any function with the same interface).

    Inputs:
    - model: An object with `params` (dict name -> array) and `loss(X, y=None)` as
      described in the module docstring.
    - data: A dictionary of training and validation data containing:
      'X_train': Array of shape (N_train, d_1, ..., d_k) of training images
      'X_val': Array of shape (N_val, d_1, ..., d_k) of validation images
      'y_train': Array of shape (N_train,) of labels for training images
      'y_val': Array of shape (N_val,) of labels for validation images

    Optional keyword arguments:
    - update_rule: The name of an update rule in helpers.optim ('sgd', 'sgd_momentum',
      'rmsprop', 'adam'), or a function with the same interface, e.g. the one you
      wrote in a notebook. Default is 'sgd'.
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
    - resume_from: Path of a checkpoint written by a Solver: the model, optimizer state,
      histories and random state are restored from it and train() continues from the
      epoch it was saved at. num_epochs may be larger than in the interrupted run.
    """

    def __init__(self, model, data, **kwargs):
        unknown = sorted(set(kwargs) - set(OPTIONS))
        if unknown:
            raise ValueError(f"Unrecognized arguments {unknown}; Solver accepts {sorted(OPTIONS)}")
        options = {**OPTIONS, **kwargs}
        self._check_model(model)
        self._check_data(data)
        self.model = model
        self.X_train, self.y_train = data["X_train"], data["y_train"]
        self.X_val, self.y_val = data["X_val"], data["y_val"]

        self.update_rule, self.update_rule_name = self._resolve_update_rule(options["update_rule"])
        optim_config = options["optim_config"]
        if optim_config is None:
            optim_config = {}
        if not isinstance(optim_config, dict):
            raise ValueError(f"optim_config must be a dict, got {type(optim_config).__name__}")
        self.optim_config = dict(optim_config)

        self.lr_decay = options["lr_decay"]
        if not np.isscalar(self.lr_decay) or not 0 < self.lr_decay <= 1:
            raise ValueError(f"lr_decay must be a number in (0, 1], got {self.lr_decay!r}")
        self.batch_size = self._positive_int("batch_size", options["batch_size"])
        self.num_epochs = self._positive_int("num_epochs", options["num_epochs"])
        self.print_every = self._positive_int("print_every", options["print_every"])
        self.num_train_samples = options["num_train_samples"]
        self.num_val_samples = options["num_val_samples"]
        for name in ("num_train_samples", "num_val_samples"):
            if options[name] is not None:
                self._positive_int(name, options[name])
        self.checkpoint_name = options["checkpoint_name"]
        self.verbose = bool(options["verbose"])
        self.seed = options["seed"]

        self._reset()
        if options["resume_from"] is not None:
            self._restore(self.load_checkpoint(options["resume_from"]))

    # ------------------------------------------------------------------ checks

    @staticmethod
    def _positive_int(name, value):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
        return int(value)

    @staticmethod
    def _check_model(model):
        if not isinstance(getattr(model, "params", None), dict) or not callable(getattr(model, "loss", None)):
            raise ValueError("model must have a `params` dict and a `loss(X, y=None)` method, "
                             f"got {type(model).__name__}")
        if not model.params:
            raise ValueError("model.params is empty: there is nothing to train")

    @staticmethod
    def _check_data(data):
        if not isinstance(data, dict):
            raise ValueError(f"data must be a dict with keys {list(DATA_KEYS)}, got {type(data).__name__}")
        missing = [key for key in DATA_KEYS if key not in data]
        if missing:
            raise ValueError(f"data is missing {missing}; it needs {list(DATA_KEYS)}")
        for split in ("train", "val"):
            X, y = data[f"X_{split}"], data[f"y_{split}"]
            if np.ndim(y) != 1 or np.shape(X)[:1] != np.shape(y):
                raise ValueError(f"y_{split} must have shape (N,) with N = X_{split}.shape[0]; "
                                 f"got X_{split} {np.shape(X)} and y_{split} {np.shape(y)}")
            if len(y) == 0:
                raise ValueError(f"X_{split} and y_{split} are empty")

    @staticmethod
    def _resolve_update_rule(rule):
        if callable(rule):
            return rule, getattr(rule, "__name__", type(rule).__name__)
        if isinstance(rule, str) and rule in optim.UPDATE_RULES:
            return getattr(optim, rule), rule
        raise ValueError(f"Invalid update_rule {rule!r}; use one of {list(optim.UPDATE_RULES)} "
                         "or a function update(w, dw, config) -> (next_w, config)")

    # ------------------------------------------------------------------ state

    def _reset(self):
        """Set up the bookkeeping of a fresh run. Don't call this manually."""
        self.epoch = 0
        self.iteration = 0
        self.best_val_acc = 0.0
        self.best_epoch = None
        self.best_params = {}
        self._best_bn_state = {}
        self.loss_history = []
        self.train_acc_history = []
        self.val_acc_history = []
        self.epoch_time_history = []
        self.rng = np.random.default_rng(self.seed)
        self.optim_configs = {name: dict(self.optim_config) for name in self.model.params}

    @property
    def iterations_per_epoch(self):
        return max(len(self.y_train) // self.batch_size, 1)

    def _bn_state(self):
        """Running statistics of batch normalization layers, keyed 'index/name'."""
        state = {}
        for i, bn_param in enumerate(getattr(self.model, "bn_params", None) or []):
            for key, value in bn_param.items():
                if isinstance(value, np.ndarray):
                    state[f"{i}/{key}"] = value.copy()
        return state

    def _set_bn_state(self, state):
        bn_params = getattr(self.model, "bn_params", None) or []
        for key, value in state.items():
            i, name = key.split("/", 1)
            bn_params[int(i)][name] = value.copy()

    def _remember_best(self, val_acc):
        self.best_val_acc = val_acc
        self.best_epoch = self.epoch
        self.best_params = {k: v.copy() for k, v in self.model.params.items()}
        self._best_bn_state = self._bn_state()

    def _restore_best(self):
        for k, v in self.best_params.items():
            self.model.params[k] = v.copy()
        self._set_bn_state(self._best_bn_state)

    # ------------------------------------------------------------------ training

    def _step(self):
        """Make a single gradient update. This is called by train() and should not
        be called manually."""
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
        if np.ndim(y) != 1 or np.shape(X)[:1] != np.shape(y):
            raise ValueError(f"y must have shape (N,) with N = X.shape[0]; got X {np.shape(X)} and "
                             f"y {np.shape(y)}")
        self._positive_int("batch_size", batch_size)
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
        Run optimization to train the model, from the start or, after resume_from,
        from the epoch the checkpoint was saved at.

        Afterwards the model holds the parameters with the best validation accuracy
        (self.best_params, found at epoch self.best_epoch).

        Raises TrainingDiverged if the loss becomes NaN or infinite; the model is then
        restored to the best parameters seen so far (or to those it started with).
        """
        iterations_per_epoch = self.iterations_per_epoch
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
                where = ("the parameters of epoch "
                         f"{self.best_epoch} (val acc {self.best_val_acc:.4f})" if self.best_epoch is not None
                         else "the parameters it started with")
                message = (f"Training stopped: the loss became {loss} at iteration {t + 1} of "
                           f"{num_iterations} (epoch {self.epoch + 1}); the model was restored to {where}. "
                           "Try a smaller learning_rate or weight_scale.")
                if self.verbose:
                    print(message)
                raise TrainingDiverged(message)
            self.iteration = t + 1

            if self.verbose and t % self.print_every == 0:
                print(f"(Iteration {t + 1} / {num_iterations}) loss: {loss:f}")

            # At the end of every epoch, increment the epoch counter and decay
            # the learning rate.
            epoch_end = (t + 1) % iterations_per_epoch == 0
            if epoch_end:
                self.epoch += 1
                self.epoch_time_history.append(time.perf_counter() - epoch_start)
                if self.lr_decay != 1:
                    self._decay_learning_rates()

            # Check train and val accuracy on the first iteration, the last
            # iteration, and at the end of each epoch.
            if t == 0 or epoch_end:
                self._check_and_log(num_epochs=self.num_epochs)
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

    def _check_and_log(self, num_epochs):
        train_acc = self.check_accuracy(self.X_train, self.y_train, num_samples=self.num_train_samples)
        val_acc = self.check_accuracy(self.X_val, self.y_val, num_samples=self.num_val_samples)
        self.train_acc_history.append(train_acc)
        self.val_acc_history.append(val_acc)
        if self.verbose:
            seconds = f"; {self.epoch_time_history[-1]:.1f} s/epoch" if self.epoch_time_history else ""
            print(f"(Epoch {self.epoch} / {num_epochs}) train acc: {train_acc:f}; val_acc: {val_acc:f}{seconds}")
        if val_acc > self.best_val_acc or self.best_epoch is None:
            self._remember_best(val_acc)

    # ------------------------------------------------------------------ checkpoints

    def _checkpoint_arrays(self):
        """All state of the run as (arrays, metadata): arrays are saved as they are,
        metadata (numbers, strings, lists) as one JSON string."""
        arrays = {}
        meta = {
            "format": CHECKPOINT_FORMAT,
            "update_rule": self.update_rule_name,
            "lr_decay": self.lr_decay,
            "batch_size": self.batch_size,
            "num_epochs": self.num_epochs,
            "num_train": len(self.y_train),
            "epoch": self.epoch,
            "iteration": self.iteration,
            "best_val_acc": self.best_val_acc,
            "best_epoch": self.best_epoch,
            "loss_history": self.loss_history,
            "train_acc_history": self.train_acc_history,
            "val_acc_history": self.val_acc_history,
            "epoch_time_history": self.epoch_time_history,
            "rng_state": self.rng.bit_generator.state,
            "optim_scalars": {},
        }
        for name, value in self.model.params.items():
            arrays[f"params/{name}"] = np.asarray(value)
        for name, value in self.best_params.items():
            arrays[f"best_params/{name}"] = value
        for key, value in self._bn_state().items():
            arrays[f"bn/{key}"] = value
        for key, value in self._best_bn_state.items():
            arrays[f"best_bn/{key}"] = value
        for name, config in self.optim_configs.items():
            scalars = meta["optim_scalars"][name] = {}
            for key, value in config.items():
                if isinstance(value, np.ndarray):
                    arrays[f"optim/{name}/{key}"] = value
                elif isinstance(value, (bool, int, float, str, np.number)):
                    scalars[key] = value.item() if isinstance(value, np.number) else value
                else:
                    raise CheckpointError(f"cannot save optim_config[{key!r}] of parameter {name!r}: "
                                          f"{type(value).__name__} is neither an array nor a number")
        # The legacy global generator drives e.g. dropout masks; keeping its state makes a
        # resumed run draw the same masks as an uninterrupted one.
        _, keys, pos, has_gauss, cached_gaussian = np.random.get_state()
        arrays["global_rng/keys"] = keys
        meta["global_rng"] = [int(pos), int(has_gauss), float(cached_gaussian)]
        return arrays, meta

    def save_checkpoint(self, path):
        """
        Save everything needed to resume this run to `path` (a .npz file), atomically:
        the archive is written to a temporary file in the same folder and then renamed,
        so an interrupted save never leaves a half-written checkpoint behind.

        Returns:
        - path: The path written, as a pathlib.Path
        """
        path = Path(path)
        arrays, meta = self._checkpoint_arrays()
        arrays["meta"] = np.array(json.dumps(meta))
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            with open(tmp, "wb") as f:
                np.savez(f, **arrays)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
        return path

    def _save_checkpoint(self):
        if self.checkpoint_name is None:
            return
        path = self.save_checkpoint(f"{self.checkpoint_name}_epoch_{self.epoch}.npz")
        if self.verbose:
            print(f"Saved checkpoint {path}")

    @staticmethod
    def load_checkpoint(path):
        """
        Read and verify a checkpoint written by Solver.save_checkpoint. No pickle is
        involved: arrays are read with allow_pickle=False and the rest is JSON.

        Inputs:
        - path: Path of the .npz checkpoint

        Returns:
        - checkpoint: A dict with 'meta' (the JSON metadata) and one entry per array
          ('params/W1', 'optim/W1/velocity', ...), fully read into memory.

        Raises FileNotFoundError if the file is missing and CheckpointError if it is
        corrupt (every member's CRC is verified while reading) or not a Solver checkpoint.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"checkpoint {path} does not exist")
        try:
            with np.load(path, allow_pickle=False) as archive:
                checkpoint = {key: archive[key] for key in archive.files}
            meta = json.loads(str(checkpoint.pop("meta")))
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
            raise CheckpointError(f"checkpoint {path} is corrupt or not a Solver checkpoint "
                                  f"({type(error).__name__}: {error})") from error
        if not isinstance(meta, dict) or meta.get("format") != CHECKPOINT_FORMAT:
            raise CheckpointError(f"checkpoint {path} is not a Solver checkpoint "
                                  f"(format {meta.get('format') if isinstance(meta, dict) else None!r}, "
                                  f"expected {CHECKPOINT_FORMAT!r})")
        checkpoint["meta"] = meta
        return checkpoint

    def _restore(self, checkpoint):
        """Check that a loaded checkpoint fits this model and these settings, then apply
        it. Nothing is changed unless every check passes."""
        meta = checkpoint["meta"]
        problems = []
        for key, mine in (("update_rule", self.update_rule_name), ("batch_size", self.batch_size),
                          ("num_train", len(self.y_train))):
            if meta.get(key) != mine:
                problems.append(f"{key} is {mine!r} here but {meta.get(key)!r} in the checkpoint")
        params = {k.split("/", 1)[1]: v for k, v in checkpoint.items() if k.startswith("params/")}
        best_params = {k.split("/", 1)[1]: v for k, v in checkpoint.items() if k.startswith("best_params/")}
        for name, saved in (("parameters", params), ("best parameters", best_params)):
            if set(saved) != set(self.model.params):
                problems.append(f"the checkpoint's {name} {sorted(saved)} differ from the model's "
                                f"{sorted(self.model.params)}")
                continue
            for k, v in saved.items():
                if v.shape != np.shape(self.model.params[k]):
                    problems.append(f"{name} {k!r} has shape {v.shape} in the checkpoint but "
                                    f"{np.shape(self.model.params[k])} in the model")
        bn_state = {k.split("/", 1)[1]: v for k, v in checkpoint.items() if k.startswith("bn/")}
        best_bn = {k.split("/", 1)[1]: v for k, v in checkpoint.items() if k.startswith("best_bn/")}
        num_bn = len(getattr(self.model, "bn_params", None) or [])
        for key in (*bn_state, *best_bn):
            if int(key.split("/", 1)[0]) >= num_bn:
                problems.append(f"batchnorm state {key!r} has no matching layer in the model")
        required = ("epoch", "iteration", "best_val_acc", "best_epoch", "loss_history", "train_acc_history",
                    "val_acc_history", "epoch_time_history", "rng_state", "optim_scalars", "global_rng")
        missing = [key for key in required if key not in meta]
        if missing or "global_rng/keys" not in checkpoint:
            problems.append(f"the checkpoint lacks {missing or ['global_rng/keys']}")
        if problems:
            raise CheckpointError("cannot resume from this checkpoint: " + "; ".join(problems))

        configs = {name: dict(meta["optim_scalars"].get(name, {})) for name in self.model.params}
        for key, value in checkpoint.items():
            if key.startswith("optim/"):
                _, name, field = key.split("/", 2)
                if name not in configs:
                    raise CheckpointError(f"optimizer state {key!r} names no parameter of the model")
                configs[name][field] = value
        rng = np.random.default_rng()
        try:
            rng.bit_generator.state = meta["rng_state"]
        except (TypeError, ValueError, KeyError) as error:
            raise CheckpointError(f"the checkpoint's generator state is unusable: {error}") from error

        # Every check passed: apply the state.
        for k, v in params.items():
            self.model.params[k] = v.copy()
        self._set_bn_state(bn_state)
        self.best_params = {k: v.copy() for k, v in best_params.items()}
        self._best_bn_state = best_bn
        self.optim_configs = configs
        self.rng = rng
        self.epoch = int(meta["epoch"])
        self.iteration = int(meta["iteration"])
        self.best_val_acc = float(meta["best_val_acc"])
        self.best_epoch = meta["best_epoch"]
        self.loss_history = list(meta["loss_history"])
        self.train_acc_history = list(meta["train_acc_history"])
        self.val_acc_history = list(meta["val_acc_history"])
        self.epoch_time_history = list(meta["epoch_time_history"])
        pos, has_gauss, cached_gaussian = meta["global_rng"]
        np.random.set_state(("MT19937", checkpoint["global_rng/keys"], pos, has_gauss, cached_gaussian))
        if self.verbose:
            print(f"Resumed from epoch {self.epoch} (iteration {self.iteration}); "
                  f"best val acc so far {self.best_val_acc:.4f}")
