"""The CaptioningSolver: trains an image captioning model with minibatch SGD.

    data = load_coco_data(max_train=50)
    model = CaptioningRNN(data["word_to_idx"], input_dim=data["train_features"].shape[1], cell_type="lstm")
    solver = CaptioningSolver(model, data, update_rule="adam", optim_config={"learning_rate": 5e-3},
                              lr_decay=0.995, num_epochs=50, batch_size=25, print_every=10, seed=0)
    solver.train()

It has the API of CS231n's CaptioningSolver (update_rule, optim_config, lr_decay,
batch_size, num_epochs, print_every, verbose; train(); loss_history), plus:
- seed: minibatches come from a seeded generator, so a run can be repeated exactly;
- grad_clip: clipping of the gradient by its global norm (off by default);
- a stop with TrainingDivergedError, naming the iteration, when the loss or the gradient
  becomes NaN or infinite;
- checkpoints (checkpoint_name, save_checkpoint, resume_from) that continue a run
  bit for bit, written through helpers._checkpoint (npz + JSON, no pickle, atomic).

A model is any object with `params` (dict name -> array) and `loss(features, captions)`
returning `(loss, grads)`, such as CaptioningRNN. A model that has `vocab_size` and
`input_dim` attributes gets its data checked against them.

The data dict has the keys of load_coco_data: 'train_captions' (N, T) integer word
indices, 'train_image_idxs' (N,) indices into 'train_features' (N_img, D), and the same
for 'val_' if present (not used by training, but checked).
"""

import time

import numpy as np

from helpers import optim
from helpers._checkpoint import apply_trainer_state, gather_trainer_state, load_trainer_state, save_trainer_state
from helpers._checks import number_in, positive_int, positive_number
from helpers.rnn_layers import check_word_indices

CHECKPOINT_FORMAT = "cs231n-captioning-solver-checkpoint-v2"
HISTORIES = ("loss_history", "grad_norm_history")

OPTIONS = {
    "update_rule": "sgd",
    "optim_config": None,
    "lr_decay": 1.0,
    "batch_size": 100,
    "num_epochs": 10,
    "print_every": 10,
    "verbose": True,
    "seed": None,
    "grad_clip": None,
    "checkpoint_name": None,
    "resume_from": None,
}

SPLIT_KEYS = ("captions", "image_idxs", "features")


def check_captioning_data(data, vocab_size=None, input_dim=None):
    """
    Check a captioning data dict (the schema of load_coco_data) and raise a ValueError
    naming the first problem found.

    Inputs:
    - data: Dict with 'train_captions' (N, T) int, 'train_image_idxs' (N,) int and
      'train_features' (N_img, D); 'val_*' the same, if present
    - vocab_size: If given, every caption index must be in 0..vocab_size-1
    - input_dim: If given, features must have D = input_dim
    """
    if not isinstance(data, dict):
        raise ValueError(f"data must be a dict like load_coco_data's, got {type(data).__name__}")
    required = [f"train_{key}" for key in SPLIT_KEYS]
    missing = [key for key in required if key not in data]
    if missing:
        raise ValueError(f"data is missing {missing}; training needs {required}")
    splits = ["train"] + (["val"] if any(f"val_{key}" in data for key in SPLIT_KEYS) else [])
    for split in splits:
        missing = [f"{split}_{key}" for key in SPLIT_KEYS if f"{split}_{key}" not in data]
        if missing:
            raise ValueError(f"data is missing {missing} (it has other {split}_ keys)")
        captions = data[f"{split}_captions"]
        idxs, features = np.asarray(data[f"{split}_image_idxs"]), np.asarray(data[f"{split}_features"])
        name = f"data['{split}_captions']"
        if vocab_size is None:
            captions = np.asarray(captions)
            if np.ndim(captions) != 2 or captions.dtype.kind not in "iu":
                raise ValueError(f"{name} must be an integer array of shape (N, T), got {captions.dtype} "
                                 f"{captions.shape}")
        else:
            captions = check_word_indices(name, captions, vocab_size)
        if captions.shape[0] == 0 or captions.shape[1] < 2:
            raise ValueError(f"{name} must have shape (N, T) with N >= 1 and T >= 2 (a first word to read and "
                             f"a next word to predict), got {captions.shape}")
        if features.ndim != 2 or features.dtype.kind not in "fiu":
            raise ValueError(f"data['{split}_features'] must be a numeric array of shape (N_img, D), got "
                             f"{features.dtype} {features.shape}")
        if input_dim is not None and features.shape[1] != input_dim:
            raise ValueError(f"data['{split}_features'] must have shape (N_img, {input_dim}) to match the model's "
                             f"input_dim, got {features.shape}")
        if idxs.shape != (captions.shape[0],) or idxs.dtype.kind not in "iu":
            raise ValueError(f"data['{split}_image_idxs'] must be an integer array of shape ({captions.shape[0]},), "
                             f"one image per caption, got {idxs.dtype} {idxs.shape}")
        if idxs.min() < 0 or idxs.max() >= features.shape[0]:
            raise ValueError(f"data['{split}_image_idxs'] must index the {features.shape[0]} rows of "
                             f"data['{split}_features'], got values in {idxs.min()}..{idxs.max()}")


class CaptioningSolver:
    """
    A CaptioningSolver encapsulates all the logic necessary for training image
    captioning models. The CaptioningSolver performs stochastic gradient descent
    using different update rules defined in optim.py.

    To train a model, you will first construct a CaptioningSolver instance,
    passing the model, dataset, and various options (learning rate, batch size,
    etc) to the constructor. You will then call the train() method to run the
    optimization procedure and train the model.

    After the train() method returns, model.params holds the parameters of the last
    iteration (captioning has no accuracy to select a best epoch by), and
    solver.loss_history holds the loss of every iteration.

    Inputs:
    - model: A model object conforming to the API described in the module docstring
    - data: A dictionary of training and validation data from load_coco_data

    Optional keyword arguments:
    - update_rule: A string giving the name of an update rule in optim.py
      ('sgd', 'sgd_momentum', 'rmsprop', 'adam'), or a function with the same
      interface. Default is 'sgd'.
    - optim_config: A dictionary containing hyperparameters that will be
      passed to the chosen update rule. Each update rule requires different
      hyperparameters (see optim.py) but all update rules require a
      'learning_rate' parameter so that should always be present.
    - lr_decay: A scalar for learning rate decay; after each epoch the learning
      rate is multiplied by this value.
    - batch_size: Size of minibatches used to compute loss and gradient during
      training. Minibatches are drawn with replacement, as in CS231n.
    - num_epochs: The number of epochs to run for during training.
    - print_every: Integer; training losses will be printed every print_every
      iterations.
    - verbose: Boolean; if set to false then no output will be printed during
      training.
    - seed: Seed of the generator that draws the minibatches; None draws a fresh seed.
    - grad_clip: None (the default, as in CS231n) or a positive number: when the global
      norm of the gradient (all parameters together) exceeds it, the gradient is scaled
      down to that norm before the update.
    - checkpoint_name: If not None, save a checkpoint at the end of every epoch to
      '{checkpoint_name}_epoch_{epoch}.npz'.
    - resume_from: Path of a checkpoint written by a CaptioningSolver: parameters,
      optimizer state, histories and generator state are restored, and train()
      continues from the iteration it was saved at (num_epochs may be larger).

    Attributes after train():
    - loss_history: The training loss of every iteration
    - grad_norm_history: The global gradient norm of every iteration, before clipping
    """

    def __init__(self, model, data, **kwargs):
        unknown = sorted(set(kwargs) - set(OPTIONS))
        if unknown:
            raise ValueError(f"Unrecognized arguments {unknown}; CaptioningSolver accepts {sorted(OPTIONS)}")
        options = {**OPTIONS, **kwargs}
        if not isinstance(getattr(model, "params", None), dict) or not callable(getattr(model, "loss", None)):
            raise ValueError("model must have a `params` dict and a `loss(features, captions)` method, "
                             f"got {type(model).__name__}")
        if not model.params:
            raise ValueError("model.params is empty: there is nothing to train")
        check_captioning_data(data, getattr(model, "vocab_size", None), getattr(model, "input_dim", None))
        self.model = model
        self.data = data

        rule = options["update_rule"]
        if callable(rule):
            self.update_rule, self.update_rule_name = rule, getattr(rule, "__name__", type(rule).__name__)
        elif isinstance(rule, str) and rule in optim.UPDATE_RULES:
            self.update_rule, self.update_rule_name = getattr(optim, rule), rule
        else:
            raise ValueError(f"Invalid update_rule {rule!r}; use one of {list(optim.UPDATE_RULES)} "
                             "or a function update(w, dw, config) -> (next_w, config)")
        optim_config = {} if options["optim_config"] is None else options["optim_config"]
        if not isinstance(optim_config, dict):
            raise ValueError(f"optim_config must be a dict, got {type(optim_config).__name__}")
        self.optim_config = dict(optim_config)
        self.lr_decay = number_in("lr_decay", options["lr_decay"], 0, 1, low_open=True)
        self.batch_size = positive_int("batch_size", options["batch_size"])
        self.num_epochs = positive_int("num_epochs", options["num_epochs"])
        self.print_every = positive_int("print_every", options["print_every"])
        self.verbose = bool(options["verbose"])
        self.seed = options["seed"]
        clip = options["grad_clip"]
        self.grad_clip = None if clip is None else positive_number("grad_clip", clip)
        self.checkpoint_name = options["checkpoint_name"]

        self._reset()
        if options["resume_from"] is not None:
            self._resume(options["resume_from"])

    def _reset(self):
        """Set up the bookkeeping of a fresh run. Don't call this manually."""
        self.epoch = 0
        self.iteration = 0
        self.loss_history = []
        self.grad_norm_history = []
        self.rng = np.random.default_rng(self.seed)
        # Make a deep copy of the optim_config for each parameter
        self.optim_configs = {name: dict(self.optim_config) for name in self.model.params}

    @property
    def num_train(self):
        return len(self.data["train_captions"])

    @property
    def iterations_per_epoch(self):
        return max(self.num_train // self.batch_size, 1)

    def _minibatch(self):
        """Captions (batch_size, T) and their image features (batch_size, D), drawn with replacement."""
        mask = self.rng.choice(self.num_train, self.batch_size)
        captions = self.data["train_captions"][mask]
        features = self.data["train_features"][self.data["train_image_idxs"][mask]]
        return captions, features

    def _step(self):
        """
        Make a single gradient update. This is called by train() and should not
        be called manually.

        Returns:
        - loss, grad_norm: The loss and the gradient's global norm before clipping;
          when either is not finite, no update is made.
        """
        captions, features = self._minibatch()
        loss, grads = self.model.loss(features, captions)
        missing = sorted(set(self.model.params) - set(grads))
        if missing:
            raise ValueError(f"model.loss returned no gradient for parameters {missing}")
        grad_norm = float(np.sqrt(sum(np.sum(np.square(grads[p], dtype=np.float64)) for p in self.model.params)))
        if not (np.isfinite(loss) and np.isfinite(grad_norm)):
            return float(loss), grad_norm
        # Scaling every gradient by the same factor keeps the update's direction.
        scale = min(1.0, self.grad_clip / (grad_norm + 1e-6)) if self.grad_clip is not None else 1.0
        for p, w in self.model.params.items():
            dw = grads[p] * np.asarray(scale, dtype=grads[p].dtype) if scale < 1 else grads[p]
            next_w, next_config = self.update_rule(w, dw, self.optim_configs[p])
            if np.shape(next_w) != np.shape(w):
                raise ValueError(f"update rule {self.update_rule_name} returned shape {np.shape(next_w)} "
                                 f"for parameter {p!r} of shape {np.shape(w)}")
            self.model.params[p] = next_w
            self.optim_configs[p] = next_config
        return float(loss), grad_norm

    def train(self):
        """
        Run optimization to train the model, from the start or, after resume_from, from
        the iteration the checkpoint was saved at.

        Raises TrainingDivergedError, naming the iteration, if the loss or the gradient
        becomes NaN or infinite; the model then keeps the parameters that produced it
        (the diverging step makes no update).
        """
        iterations_per_epoch = self.iterations_per_epoch
        num_iterations = self.num_epochs * iterations_per_epoch
        epoch_start = time.perf_counter()
        for t in range(self.iteration, num_iterations):
            loss, grad_norm = self._step()
            if not (np.isfinite(loss) and np.isfinite(grad_norm)):
                what = f"the loss became {loss}" if not np.isfinite(loss) else f"the gradient norm became {grad_norm}"
                message = (f"Training stopped: {what} at iteration {t + 1} of {num_iterations} (epoch "
                           f"{self.epoch + 1}); the model keeps the parameters of iteration {t}. Try a smaller "
                           "learning_rate or grad_clip.")
                if self.verbose:
                    print(message)
                raise optim.TrainingDivergedError(message)
            self.loss_history.append(loss)
            self.grad_norm_history.append(grad_norm)
            self.iteration = t + 1

            # Maybe print training loss
            if self.verbose and t % self.print_every == 0:
                print(f"(Iteration {t + 1} / {num_iterations}) loss: {loss:f}")

            # At the end of every epoch, increment the epoch counter and decay the
            # learning rate.
            if (t + 1) % iterations_per_epoch == 0:
                self.epoch += 1
                if self.lr_decay != 1:
                    for name, config in self.optim_configs.items():
                        if "learning_rate" not in config:
                            raise ValueError(f"lr_decay needs the update rule to keep 'learning_rate' in its "
                                             f"config, but {self.update_rule_name} returned {sorted(config)} "
                                             f"for parameter {name!r}")
                        config["learning_rate"] *= self.lr_decay
                if self.checkpoint_name is not None:
                    path = self.save_checkpoint(f"{self.checkpoint_name}_epoch_{self.epoch}.npz")
                    if self.verbose:
                        print(f"(Epoch {self.epoch} / {self.num_epochs}) {time.perf_counter() - epoch_start:.1f} s; "
                              f"saved checkpoint {path}")
                epoch_start = time.perf_counter()

    # ------------------------------------------------------------------ checkpoints

    def _trainer_state(self):
        settings = {"update_rule": self.update_rule_name, "batch_size": self.batch_size, "num_train": self.num_train}
        return gather_trainer_state(self, HISTORIES, settings=settings)

    def save_checkpoint(self, path):
        """
        Save everything needed to resume this run to `path` (a .npz file), atomically.

        Returns:
        - path: The path written, as a pathlib.Path
        """
        return save_trainer_state(path, self._trainer_state(), CHECKPOINT_FORMAT)

    def _resume(self, path):
        """Restore a run saved by save_checkpoint: every field is checked first, then all are applied."""
        apply_trainer_state(self, load_trainer_state(path, CHECKPOINT_FORMAT, like=self._trainer_state()))
        if self.verbose:
            print(f"Resumed from epoch {self.epoch} (iteration {self.iteration})")
