"""The TODO-cell contract: how a notebook exercise is bound to its reference and checked.

An exercise cell looks like this (one line of plumbing, the decorator):

    @exercise(k_nearest_neighbor.compute_distances_two_loops)
    def compute_distances_two_loops(X, X_train):
        # YOUR CODE HERE
        raise NotImplementedError

* Unfinished (the body raises NotImplementedError): the call falls back to the reference
  in `helpers` and prints one line saying so, so the notebook still runs top to bottom.
  Only NotImplementedError falls back; any other exception surfaces unchanged.
* Strict mode (CS231N_STRICT=1): no fallback, an unfinished exercise raises.
* Finished: the learner's code runs. The check cell after it calls
  `check_exercise(compute_distances_two_loops, X_test, X_train)`, which compares the
  result with the reference on the same inputs and fails with an AssertionError that
  says what differs (shape, dtype, relative error and the worst index).

Every check records its outcome, so `python -m helpers.course.progress` can list what is done.
"""

import copy
import functools
import json
import os
import time
from pathlib import Path

import numpy as np

from helpers import repo_root
from helpers.gradient_check import eval_numerical_gradient, eval_numerical_gradient_array

STRICT_VARIABLE = "CS231N_STRICT"
NOTEBOOK_VARIABLE = "CS231N_NOTEBOOK"
PROGRESS_VARIABLE = "CS231N_PROGRESS_FILE"


def strict_mode() -> bool:
    """True when CS231N_STRICT is set to a true value: unfinished exercises then raise."""
    return os.environ.get(STRICT_VARIABLE, "").strip().lower() in ("1", "true", "yes", "on")


class NotFinishedError(NotImplementedError):
    """Raised in strict mode when an exercise still has its `raise NotImplementedError` body."""


def exercise(reference):
    """
    Bind the function defined in a TODO cell to its reference implementation.

    Inputs:
    - reference: The function in `helpers` that the exercise re-implements; it is
      called with the same arguments when the exercise is unfinished.

    Returns:
    - A decorator. The decorated function runs the learner's code and, only if that
      raises NotImplementedError (and strict mode is off), the reference instead.
      It exposes `.reference`, `.exercise_name` and `.used_reference` (whether the
      most recent call fell back).
    """
    if not callable(reference):
        raise TypeError(f"exercise() needs the reference function, got {reference!r}")

    def decorate(learner_fn):
        name = learner_fn.__name__

        @functools.wraps(learner_fn)
        def run(*args, **kwargs):
            try:
                result = learner_fn(*args, **kwargs)
            except NotImplementedError as error:
                if strict_mode():
                    raise NotFinishedError(
                        f"{name} is not implemented yet: replace `raise NotImplementedError` under "
                        f"'# YOUR CODE HERE' ({STRICT_VARIABLE} is set, so there is no fallback)"
                    ) from error
                if not run.announced:
                    print(f"[exercise] {name}: not implemented yet, using the reference solution "
                          f"from {reference.__module__} (set {STRICT_VARIABLE}=1 to turn this off)")
                    run.announced = True
                run.used_reference = True
                return reference(*args, **kwargs)
            run.used_reference = False
            return result

        run.reference = reference
        run.exercise_name = name
        run.used_reference = False
        run.announced = False
        return run

    return decorate


# ----------------------------------------------------------------------------- checks

def _describe(value) -> str:
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    return f"{type(value).__name__} {value!r}" if np.isscalar(value) else type(value).__name__


def _compare(label, got, expected, tol, problems, errors):
    """Compare got with expected, appending human-readable problems; errors collects rel errors."""
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            problems.append(f"{label}: expected a {type(expected).__name__} of {len(expected)} items, "
                            f"got {_describe(got)}")
            return
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            _compare(f"{label}[{i}]", g, e, tol, problems, errors)
        return
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            problems.append(f"{label}: expected a dict with keys {sorted(expected)}, got {_describe(got)}")
            return
        missing = sorted(set(expected) - set(got))
        if missing:
            problems.append(f"{label}: missing keys {missing}")
        for key in sorted(set(expected) & set(got), key=str):
            _compare(f"{label}[{key!r}]", got[key], expected[key], tol, problems, errors)
        return
    if expected is None:
        if got is not None:
            problems.append(f"{label}: expected None, got {_describe(got)}")
        return
    try:
        e = np.asarray(expected)
        g = np.asarray(got)
    except Exception:  # noqa: BLE001 - anything that is not array-like is compared with ==
        if got != expected:
            problems.append(f"{label}: expected {expected!r}, got {got!r}")
        return
    if g.dtype == object or e.dtype == object:
        if got != expected:
            problems.append(f"{label}: expected {expected!r}, got {got!r}")
        return
    if g.shape != e.shape:
        problems.append(f"{label}: expected shape {e.shape}, got shape {g.shape}")
        return
    if e.dtype.kind in "US":  # strings, e.g. a 'train'/'test' mode kept in a cache
        if g.dtype.kind not in "US" or not np.array_equal(g, e):
            problems.append(f"{label}: expected {expected!r}, got {got!r}")
        return
    if e.dtype.kind in "iub" and g.dtype.kind == "f":
        problems.append(f"{label}: expected integer values (dtype {e.dtype}), got dtype {g.dtype}")
        return
    if g.dtype.kind not in "iubf":
        problems.append(f"{label}: expected numbers, got dtype {g.dtype}")
        return
    if e.dtype.kind in "iub":
        wrong = np.flatnonzero(g.ravel() != e.ravel())
        if wrong.size:
            first = np.unravel_index(wrong[0], e.shape) if e.ndim else ()
            problems.append(f"{label}: {wrong.size} of {e.size} values differ; first at index {first}: "
                            f"got {g[first]}, expected {e[first]}")
        return
    if not np.all(np.isfinite(g)):
        problems.append(f"{label}: contains {np.count_nonzero(~np.isfinite(g))} NaN/inf values")
        return
    gf, ef = g.astype(np.float64), e.astype(np.float64)
    elementwise = np.abs(gf - ef) / np.maximum(1e-8, np.abs(gf) + np.abs(ef))
    err = float(elementwise.max()) if elementwise.size else 0.0
    errors.append(err)
    if err > tol:
        worst = np.unravel_index(int(np.argmax(elementwise)), e.shape) if e.ndim else ()
        where = f" at index {tuple(int(i) for i in worst)}" if e.ndim else ""
        problems.append(f"{label}: relative error {err:.2e} > tolerance {tol:.0e}; worst{where}: "
                        f"got {gf[worst]:.6g}, expected {ef[worst]:.6g}")


def compare_outputs(got, expected, tol=1e-9, label="output"):
    """
    Compare two results (arrays, numbers, or nested tuples/lists/dicts of them).

    Returns:
    - problems: List of strings, empty when everything agrees within `tol`
    - max_error: Largest relative error seen over the floating-point parts (0.0 if none)
    """
    problems, errors = [], []
    _compare(label, got, expected, tol, problems, errors)
    return problems, max(errors, default=0.0)


def check_exercise(fn, *args, tol=1e-9, output_names=None, hint=None, **kwargs):
    """
    Run an exercise and its reference on copies of the same inputs and compare.

    Inputs:
    - fn: A function decorated with @exercise
    - args, kwargs: Inputs for both calls (each call gets its own deep copy)
    - tol: Largest accepted relative error for floating-point outputs
    - output_names: Optional names for the items of a tuple output, e.g. ("loss", "dW")
    - hint: Optional sentence added to the failure message (what to look at)

    Returns:
    - The learner's output (or the reference's, if the exercise is unfinished).

    Raises AssertionError with the list of differences when the outputs disagree.
    """
    if not hasattr(fn, "reference"):
        raise TypeError(f"check_exercise needs a function decorated with @exercise, got {fn!r}")
    name = fn.exercise_name
    got = fn(*copy.deepcopy(args), **copy.deepcopy(kwargs))
    if fn.used_reference:
        print(f"[check] {name}: not implemented yet; the reference ran instead, so there is nothing to check")
        record_check(name, "todo")
        return got
    expected = fn.reference(*copy.deepcopy(args), **copy.deepcopy(kwargs))
    if output_names is not None and isinstance(expected, tuple):
        problems, max_error = [], 0.0
        if not isinstance(got, tuple) or len(got) != len(expected):
            problems.append(f"expected a tuple ({', '.join(output_names)}), got {_describe(got)}")
        else:
            for label, g, e in zip(output_names, got, expected, strict=True):
                p, err = compare_outputs(g, e, tol, label)
                problems += p
                max_error = max(max_error, err)
    else:
        problems, max_error = compare_outputs(got, expected, tol, "output")
    if problems:
        record_check(name, "fail")
        message = f"{name} does not match the reference:\n  - " + "\n  - ".join(problems)
        if hint:
            message += f"\nHint: {hint}"
        raise AssertionError(message)
    record_check(name, "pass")
    print(f"[check] {name}: OK, max relative error {max_error:.1e} (tolerance {tol:.0e})")
    return got


def check_close(name, got, expected, tol=1e-7, hint=None):
    """
    Compare a value with a fixed expected value (e.g. the scores of a toy model).

    Prints the relative error, or raises AssertionError listing what differs.
    """
    problems, max_error = compare_outputs(got, expected, tol, name)
    if problems:
        message = "\n  - ".join([f"{name} differs from the expected value:"] + problems)
        if hint:
            message += f"\nHint: {hint}"
        raise AssertionError(message)
    print(f"[check] {name}: OK, relative error {max_error:.1e} (tolerance {tol:.0e})")
    return max_error


def check_gradient(name, f, x, analytic_grad, df=None, tol=1e-7, h=1e-5):
    """
    Compare an analytic gradient with a centered-difference one.

    Inputs:
    - name: What is checked, e.g. "dx of affine_backward"
    - f: Function of x; returns a scalar (df None) or an array (df its upstream gradient)
    - x: Point at which to check; restored after use
    - analytic_grad: The gradient to check, same shape as x
    - df: Upstream gradient for an array-valued f, or None for a scalar f
    - tol: Largest accepted relative error

    Returns:
    - The relative error. Raises AssertionError (with the worst index) above tol.
    """
    analytic_grad = np.asarray(analytic_grad)
    if analytic_grad.shape != np.shape(x):
        raise AssertionError(f"{name}: gradient must have the shape of its input {np.shape(x)}, "
                             f"got {analytic_grad.shape}")
    if df is None:
        numeric = eval_numerical_gradient(f, x, verbose=False, h=h)
    else:
        numeric = eval_numerical_gradient_array(f, x, df, h=h)
    return check_close(f"{name} (numerical gradient check)", analytic_grad, numeric, tol=tol,
                       hint="the analytic gradient disagrees with finite differences; re-derive the "
                            "backward pass for the entries named above")


# ----------------------------------------------------------------------------- progress

def current_notebook() -> str:
    """Name of the running notebook: set by the course runner, or by Jupyter's session."""
    name = os.environ.get(NOTEBOOK_VARIABLE) or os.environ.get("JPY_SESSION_NAME") or "interactive"
    return Path(name).stem


def progress_path() -> Path:
    env = os.environ.get(PROGRESS_VARIABLE)
    return Path(env) if env else repo_root() / "build" / "progress.json"


def record_check(exercise_name: str, status: str) -> None:
    """Remember the latest check outcome ('pass', 'fail', 'todo') of an exercise."""
    path = progress_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = json.loads(path.read_text()) if path.exists() else {}
        data.setdefault(current_notebook(), {})[exercise_name] = {"status": status, "time": time.time()}
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
        tmp.replace(path)
    except (OSError, ValueError) as error:  # progress is a convenience; never break a check over it
        print(f"[progress] could not record {exercise_name}: {error}")
