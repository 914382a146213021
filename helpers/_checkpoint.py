"""Checkpoints of every trainer of the course (Solver, CaptioningSolver, ...): files and trainer state.

Files. A checkpoint is a NumPy .npz archive: named arrays plus one JSON string of metadata
under the key "meta", whose "format" field names the writer. No pickle anywhere: arrays are
read with allow_pickle=False, and an object array is refused. A file is written to a hidden
temporary file beside it, flushed to disk and renamed, so an interrupted save never leaves a
half-written checkpoint; the temporaries of a killed process are swept by the next save into
the same folder.

Trainer state. A trainer that keeps CS231n's attribute names saves and resumes with a few lines:

    HISTORIES = ("loss_history",)

    def save_checkpoint(self, path):
        state = gather_trainer_state(self, HISTORIES, settings={"batch_size": self.batch_size})
        return save_trainer_state(path, state, "captioning-solver-v1")

    def _resume(self, path):
        like = gather_trainer_state(self, HISTORIES, settings={"batch_size": self.batch_size})
        apply_trainer_state(self, load_trainer_state(path, "captioning-solver-v1", like))

gather_trainer_state reads
- trainer.model.params: name -> parameter array;
- trainer.optim_configs: name -> the update rule's config for that parameter (arrays of the
  parameter's shape, such as Adam's moments, and numbers, such as its step count);
- trainer.rng: the np.random.Generator that draws the minibatches;
- trainer.epoch, trainer.iteration: the counters;
- one list of numbers per name in `histories`;
- trainer.best_params when the trainer has it (name -> array, like params; may be empty);
and NumPy's global generator, which e.g. dropout masks are drawn from.

load_trainer_state checks every field against `like`, the state of the trainer about to
resume: equal settings, the same parameter names, shapes and dtypes, optimizer arrays of their
parameter's shape, counters that are non-negative integers, histories of finite numbers and
generator states a generator accepts. It raises one CheckpointError naming every field that
does not fit, and changes nothing; only then does apply_trainer_state write the state into the
trainer, which cannot fail. All or nothing.

State of the trainer's own (the Solver's batch-normalization statistics and best validation
accuracy) travels in TrainerState.arrays and TrainerState.meta; the trainer checks it after
load_trainer_state and before apply_trainer_state.
"""

import json
import numbers
import os
import reprlib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

TEMP_SUFFIX = ".tmp"


class CheckpointError(ValueError):
    """A checkpoint file is corrupt, incomplete, or does not fit the model and settings."""


# ----------------------------------------------------------------------------- files


def _temp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}{TEMP_SUFFIX}")


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def sweep_stale_temporaries(folder: Path) -> list[Path]:
    """
    Delete the temporary files of checkpoint saves whose process no longer runs
    (a save killed half-way), in `folder`.

    Returns:
    - The paths deleted
    """
    removed = []
    for tmp in Path(folder).glob(f".*.npz.*{TEMP_SUFFIX}"):
        pid = tmp.name[: -len(TEMP_SUFFIX)].rsplit(".", 1)[-1]
        if pid.isdigit() and int(pid) != os.getpid() and not _process_alive(int(pid)):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


def save_checkpoint(path, arrays: dict, meta: dict, format: str) -> Path:
    """
    Write a checkpoint atomically, after sweeping the folder's stale temporaries.

    Inputs:
    - path: Where to write (a .npz file); its folder must exist
    - arrays: Name -> NumPy array (numbers only; names may contain '/')
    - meta: JSON-serializable metadata (numbers, strings, lists, dicts)
    - format: Name and version of the writer, stored as meta["format"] and required on load

    Returns:
    - The path written, as a pathlib.Path
    """
    path = Path(path)
    if "meta" in arrays:
        raise ValueError("'meta' is reserved for the metadata; rename that array")
    for name, value in arrays.items():
        if np.asarray(value).dtype.kind not in "biuf":
            raise CheckpointError(f"cannot save {name!r}: dtype {np.asarray(value).dtype} is not numeric")
    sweep_stale_temporaries(path.parent)
    payload = {**arrays, "meta": np.array(json.dumps({**meta, "format": format}))}
    tmp = _temp_path(path)
    try:
        with open(tmp, "wb") as f:
            np.savez(f, **payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def load_checkpoint(path, format: str) -> tuple[dict, dict]:
    """
    Read and verify a checkpoint written by save_checkpoint with the same `format`.

    Returns a tuple of:
    - arrays: Name -> array, fully read into memory (every member's CRC is verified)
    - meta: The metadata dict

    Raises FileNotFoundError if the file is missing and CheckpointError if it is corrupt,
    holds non-numeric arrays, or was written by another writer.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
        meta = json.loads(str(arrays.pop("meta")))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise CheckpointError(f"checkpoint {path} is corrupt or not a checkpoint of the course "
                              f"({type(error).__name__}: {error})") from error
    if not isinstance(meta, dict) or meta.get("format") != format:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise CheckpointError(f"checkpoint {path} has format {found!r}, expected {format!r}")
    for name, value in arrays.items():
        if value.dtype.kind not in "biuf":
            raise CheckpointError(f"checkpoint {path}: array {name!r} has dtype {value.dtype}, expected numbers")
    return arrays, meta


# ----------------------------------------------------------------------------- trainer state

# Array names the trainer state uses; a trainer's own arrays take any other first component.
_GENERIC = ("params", "best_params", "optim", "global_rng")


@dataclass
class TrainerState:
    """Everything a trainer needs to resume, as plain values (see the module docstring)."""

    params: dict  # name -> array (model.params)
    optim_configs: dict  # name -> update-rule config: arrays of the parameter's shape, numbers
    rng: np.random.Generator
    epoch: int
    iteration: int
    histories: dict = field(default_factory=dict)  # name -> list of finite numbers
    best_params: dict = field(default_factory=dict)  # name -> array, like params, or empty
    global_rng: tuple = field(default_factory=np.random.get_state)  # NumPy's global generator
    settings: dict = field(default_factory=dict)  # JSON values that must be equal to resume
    arrays: dict = field(default_factory=dict)  # the trainer's own arrays, checked by the trainer
    meta: dict = field(default_factory=dict)  # the trainer's own JSON values, checked by the trainer


def gather_trainer_state(trainer, histories=(), settings=None, arrays=None, meta=None) -> TrainerState:
    """
    The state of a trainer with CS231n's attribute names (see the module docstring). The
    arrays are referenced, not copied: save or check the state before training on.

    Inputs:
    - trainer: The trainer (Solver, CaptioningSolver, ...)
    - histories: Names of its list attributes to keep (e.g. "loss_history")
    - settings: JSON values a resumed run must share (e.g. {"batch_size": 100})
    - arrays, meta: The trainer's own state, saved as they are

    Returns:
    - A TrainerState
    """
    return TrainerState(params=trainer.model.params, optim_configs=trainer.optim_configs, rng=trainer.rng,
                        epoch=trainer.epoch, iteration=trainer.iteration,
                        histories={name: getattr(trainer, name) for name in histories},
                        best_params=getattr(trainer, "best_params", {}), global_rng=np.random.get_state(),
                        settings=dict(settings or {}), arrays=dict(arrays or {}), meta=dict(meta or {}))


def apply_trainer_state(trainer, state: TrainerState):
    """Write a state returned by load_trainer_state into the trainer (and NumPy's global generator)."""
    for name, value in state.params.items():
        trainer.model.params[name] = value
    trainer.optim_configs = state.optim_configs
    trainer.rng = state.rng
    trainer.epoch, trainer.iteration = state.epoch, state.iteration
    for name, values in state.histories.items():
        setattr(trainer, name, values)
    if hasattr(trainer, "best_params"):
        trainer.best_params = state.best_params
    np.random.set_state(state.global_rng)


def save_trainer_state(path, state: TrainerState, format: str) -> Path:
    """
    Save a TrainerState as a checkpoint (see save_checkpoint).

    Returns:
    - The path written, as a pathlib.Path
    """
    arrays = {f"params/{name}": np.asarray(value) for name, value in state.params.items()}
    arrays.update({f"best_params/{name}": value for name, value in state.best_params.items()})
    optim_scalars = {}
    for name, config in state.optim_configs.items():
        optim_scalars[name] = {}
        for key, value in config.items():
            if isinstance(value, np.ndarray):
                arrays[f"optim/{name}/{key}"] = value
            elif _is_number(value):
                optim_scalars[name][key] = value.item() if isinstance(value, np.generic) else value
            else:
                raise CheckpointError(f"cannot save optim_config[{key!r}] of parameter {name!r}: "
                                      f"{type(value).__name__} is neither an array nor a number")
    for key, value in state.arrays.items():
        if key.split("/", 1)[0] in _GENERIC:
            raise ValueError(f"the trainer's array {key!r} takes a name the trainer state uses ({_GENERIC})")
        arrays[key] = value
    _, keys, pos, has_gauss, cached_gaussian = state.global_rng
    arrays["global_rng/keys"] = keys
    meta = {
        "epoch": state.epoch, "iteration": state.iteration,
        "histories": {name: [float(v) for v in values] for name, values in state.histories.items()},
        "optim_scalars": optim_scalars, "rng_state": state.rng.bit_generator.state,
        "global_rng": [int(pos), int(has_gauss), float(cached_gaussian)],
        "settings": state.settings, "extra": state.meta,
    }
    return save_checkpoint(path, arrays, meta, format)


def _is_number(value):
    return isinstance(value, (numbers.Real, np.bool_)) and bool(np.isfinite(value))


def _group(arrays, prefix):
    """The arrays named prefix/<rest>, keyed by <rest>."""
    return {key[len(prefix) + 1:]: value for key, value in arrays.items() if key.startswith(prefix + "/")}


def _check_like(problems, prefix, saved, model):
    """Problems of arrays that must have the names, shapes and dtypes of the model's parameters."""
    if set(saved) != set(model):
        problems.append(f"{prefix}: the checkpoint has {sorted(saved)} but the model has {sorted(model)}")
        return
    for name, value in saved.items():
        mine = np.asarray(model[name])
        if value.shape != mine.shape:
            problems.append(f"{prefix}/{name} has shape {value.shape} in the checkpoint but {mine.shape} in the model")
        elif value.dtype != mine.dtype:
            problems.append(f"{prefix}/{name} has dtype {value.dtype} in the checkpoint but {mine.dtype} in the model")


def _counter(problems, meta, key):
    value = meta.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        problems.append(f"{key}: expected a non-negative integer, got {reprlib.repr(value)}")
        return 0
    return value


def _generator(problems, like_rng, rng_state):
    rng = np.random.Generator(type(like_rng.bit_generator)())
    try:
        rng.bit_generator.state = rng_state
    except (TypeError, ValueError, KeyError, IndexError, OverflowError) as error:
        problems.append(f"rng_state: not a state of {type(like_rng.bit_generator).__name__} "
                        f"({type(error).__name__}: {error})")
    return rng


def _global_state(problems, keys, rest):
    try:
        pos, has_gauss, cached_gaussian = rest
        state = ("MT19937", keys, pos, has_gauss, cached_gaussian)
        np.random.RandomState().set_state(state)  # a scratch generator: the global one is untouched
        return state
    except (TypeError, ValueError, KeyError, IndexError, OverflowError) as error:
        problems.append(f"global_rng: not a state of NumPy's global generator ({type(error).__name__}: {error})")
        return None


def load_trainer_state(path, format: str, like: TrainerState) -> TrainerState:
    """
    Read a checkpoint written by save_trainer_state and check every field against `like`.

    Inputs:
    - path: The .npz checkpoint
    - format: The writer's format name
    - like: The state of the trainer about to resume (gather_trainer_state)

    Returns:
    - A TrainerState holding the checkpoint's values, for apply_trainer_state; its arrays and
      meta are the trainer's own, for the trainer to check

    Raises FileNotFoundError, or CheckpointError naming every field that does not fit.
    """
    arrays, meta = load_checkpoint(path, format)
    problems = []
    settings = meta.get("settings") if isinstance(meta.get("settings"), dict) else {}
    for key, mine in like.settings.items():
        if settings.get(key) != mine:
            problems.append(f"{key} is {mine!r} here but {settings.get(key)!r} in the checkpoint")

    params = _group(arrays, "params")
    _check_like(problems, "params", params, like.params)
    best_params = _group(arrays, "best_params")
    if best_params:
        _check_like(problems, "best_params", best_params, like.params)

    scalars = meta.get("optim_scalars")
    if not isinstance(scalars, dict) or set(scalars) != set(like.params):
        problems.append(f"optim_scalars: expected one config per parameter {sorted(like.params)}, "
                        f"got {reprlib.repr(scalars)}")
        scalars = {}
    optim_configs = {name: {} for name in like.params}
    for name, config in scalars.items():
        for key, value in (config.items() if isinstance(config, dict) else [("", config)]):
            if not _is_number(value):
                problems.append(f"optim/{name}/{key}: expected a number, got {reprlib.repr(value)}")
            optim_configs[name][key] = value
    for key, value in _group(arrays, "optim").items():
        name, _, setting = key.partition("/")
        expected = np.shape(like.params[name]) if name in like.params else None
        if value.shape != expected or value.dtype.kind != "f":
            problems.append(f"optim/{key} is a {value.dtype} array of shape {value.shape}; parameter {name!r} "
                            + (f"needs float of shape {expected}" if expected is not None else "does not exist"))
        elif name in optim_configs:
            optim_configs[name][setting] = value

    histories = meta.get("histories") if isinstance(meta.get("histories"), dict) else {}
    for name in like.histories:
        values = histories.get(name)
        if not isinstance(values, list) or not all(_is_number(v) and not isinstance(v, bool) for v in values):
            problems.append(f"{name}: expected a list of finite numbers, got {reprlib.repr(values)}")

    state = TrainerState(
        params=params, optim_configs=optim_configs, rng=_generator(problems, like.rng, meta.get("rng_state")),
        epoch=_counter(problems, meta, "epoch"), iteration=_counter(problems, meta, "iteration"),
        histories={name: list(histories.get(name) or []) for name in like.histories}, best_params=best_params,
        global_rng=_global_state(problems, arrays.get("global_rng/keys"), meta.get("global_rng")),
        settings=settings, arrays={k: v for k, v in arrays.items() if k.split("/", 1)[0] not in _GENERIC},
        meta=meta.get("extra") if isinstance(meta.get("extra"), dict) else {})
    if problems:
        raise CheckpointError(f"cannot resume from {path}: " + "; ".join(problems))
    return state
