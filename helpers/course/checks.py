"""The check cells: compare a learner's exercise with its reference and say precisely what differs.

    check_exercise(svm_loss_naive, W, X, y, 1e2, output_names=("loss", "dW"),
                   hints={"dW": "each violated margin adds X[i] to one column and subtracts it from another"})
    check_backward(affine_backward, affine_forward, (x, w, b), dout)
    check_exercise(model.loss, X, y)            # a method: on copies of the same object
    check_exercise(TwoLayerNet, input_dim=5)    # a class: the state its constructor builds
    check_close("loss with tiny weights", loss, 9.0, tol=0.05)
    check_gradient("dx", lambda x: f(x), x, dx)

A check runs the learner's code and the reference on copies of the same inputs and compares
the results. It passes with one `[check] ... OK` line, or fails with an AssertionError whose
message lists every difference as a sentence (a missing `return`, a list instead of an array,
a shape, a dtype, NaNs, how many values differ and where the worst one is, which outputs did
match, an input modified in place), followed by the hints for the outputs that failed. The
checker never crashes on a learner's mistake; an exception raised by the learner's own code
surfaces unchanged, with its traceback. A forward pass's cache is the learner's own: it is
never compared, and `check_backward` runs the learner's backward on the learner's cache.
Checks return nothing, so a check on the last line of a cell prints only its verdict.
"""

import copy
import inspect
import numbers

import numpy as np

from helpers.course.progress import record_check
from helpers.gradient_check import eval_numerical_gradient, eval_numerical_gradient_array

CACHE = "cache"  # an output of this name is the learner's own business: never compared


# ----------------------------------------------------------------------------- describing values

def _plain(value):
    """A torch tensor as a NumPy array (CPU, detached); anything else as it is."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        return value.detach().cpu().numpy()
    return value


def _index(index) -> str:
    return "(" + ", ".join(str(int(i)) for i in index) + ("," if len(index) == 1 else "") + ")"


def _number(value) -> str:
    return f"{float(value):.6g}" if np.isfinite(value) else str(value)


def describe(value) -> str:
    """A short description of a value for a message: 'None', 'a list of 3 items', 'an array of shape (2, 3) and
    dtype float64', 'the number 0.5', ..."""
    value = _plain(value)
    if value is None:
        return "None"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, bool):
        return f"the boolean {value}"
    if isinstance(value, numbers.Number):
        return f"the number {value!r}" if not isinstance(value, np.generic) else f"the number {value.item()!r}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)} item{'s' if len(value) != 1 else ''}"
    if isinstance(value, dict):
        return f"a dict with keys {sorted(map(str, value))}"
    return f"an object of type {type(value).__name__}"


def _is_module(value) -> bool:
    """A torch.nn.Module (without importing torch): something with parameters and a state_dict."""
    return callable(getattr(value, "state_dict", None)) and callable(getattr(value, "parameters", None))


def _is_sparse(value) -> bool:
    return type(value).__module__.startswith("scipy.sparse")


def _is_object(value) -> bool:
    """An instance of a class of its own (a model, a classifier), as opposed to numbers, arrays and containers."""
    return (hasattr(value, "__dict__") and not inspect.isclass(value) and not inspect.ismodule(value)
            and not isinstance(value, (np.ndarray, np.generic, numbers.Number)) and not _is_sparse(value))


# ----------------------------------------------------------------------------- comparing

class Comparison:
    """The problems found while comparing a result with the expected one, and what matched."""

    def __init__(self, tol):
        self.tol = tol
        self.problems = []  # (label, sentence)
        self.matched = []  # (label, relative error)

    def problem(self, label, sentence):
        self.problems.append((label, f"{label} {sentence}"))

    def failed(self, output) -> bool:
        """Whether a problem concerns this output (its label, or a part of it such as config['m'])."""
        return any(label == output or label.startswith((f"{output}[", f"{output}.", f"{output} ", f"`{output}`"))
                   for label, _ in self.problems)

    @property
    def max_error(self) -> float:
        return max((err for _, err in self.matched), default=0.0)

    # -- the walk over nested results
    def compare(self, label, got, expected):
        got, expected = _plain(got), _plain(expected)
        if _is_module(expected):
            self._compare_module(label, got, expected)
            return
        if callable(expected) and not isinstance(expected, np.ndarray):
            return  # functions (e.g. a table of layer functions) are configuration, not results
        if expected is None:
            if got is not None:
                self.problem(label, f"should be None, got {describe(got)}")
            return
        if got is None:
            self.problem(label, "is None: is a `return` statement missing?")
            return
        if isinstance(expected, (tuple, list)) and not _numeric_sequence(expected):
            self._compare_sequence(label, got, expected)
        elif isinstance(expected, dict):
            self._compare_dict(label, got, expected)
        elif isinstance(expected, str):
            if got != expected:
                self.problem(label, f"should be {expected!r}, got {describe(got)}")
        elif isinstance(expected, (bool, np.bool_)):
            if not isinstance(got, (bool, np.bool_)) or bool(got) != bool(expected):
                self.problem(label, f"should be {bool(expected)}, got {describe(got)}")
        elif _is_object(expected):
            self._compare_object(label, got, expected)
        else:
            self._compare_numbers(label, got, expected)

    def _compare_object(self, label, got, expected):
        """An object (e.g. the best model a search returns) is compared by what it holds."""
        kind = type(expected).__name__
        if not isinstance(got, type(expected)):
            self.problem(label, f"should be a {kind} object, got {describe(got)}")
            return
        mine = _state(got)
        for key, value in _state(expected).items():
            if key not in mine:
                self.problem(f"{label}.{key}", "is not set: the reference's object has it")
            else:
                self.compare(f"{label}.{key}", mine[key], value)

    def _compare_module(self, label, got, expected):
        """A module built by the exercise (e.g. an nn.Sequential): the same parameters, of the same
        shapes, with initial values from the same distribution. What it computes is for the check
        cell to compare, on the same weights."""
        if not _is_module(got):
            self.problem(label, f"should be a torch.nn.Module ({type(expected).__name__}), got {describe(got)}")
            return
        mine, theirs = _state(got), _state(expected)
        for key, value in theirs.items():
            if key not in mine:
                self.problem(f"{label} parameter {key!r}", "is missing: the reference's module has it (are the "
                                                         "layers in the order the docstring gives?)")
            else:
                _compare_initial(self, f"{label} parameter {key!r}", mine[key], value)
        extra = sorted(set(mine) - set(theirs))
        if extra:
            self.problem(label, f"has parameters the reference's module does not: {', '.join(map(repr, extra))}")

    def _compare_sequence(self, label, got, expected):
        kind = type(expected).__name__
        if not isinstance(got, (tuple, list)):
            self.problem(label, f"should be a {kind} of {len(expected)} items, got {describe(got)}")
            return
        if len(got) != len(expected):
            self.problem(label, f"should be a {kind} of {len(expected)} items, got {describe(got)}")
            return
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            self.compare(f"{label}[{i}]", g, e)

    def _compare_dict(self, label, got, expected):
        if not isinstance(got, dict):
            self.problem(label, f"should be a dict with keys {sorted(map(str, expected))}, got {describe(got)}")
            return
        missing = [k for k in expected if k not in got]
        if missing:
            self.problem(label, f"lacks the key{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}")
        for key in expected:
            if key in got:
                self.compare(f"{label}[{key!r}]", got[key], expected[key])

    def _compare_numbers(self, label, got, expected):
        if _is_sparse(got):
            self.problem(label, "is a scipy sparse matrix: return a dense NumPy array (e.g. with .toarray())")
            return
        e = np.asarray(expected)
        if isinstance(expected, (list, tuple)):
            # The reference returns plain numbers in a list or tuple (e.g. a loss history, a shape):
            # a list or a tuple of the same numbers is right, an array is not what was asked for.
            if isinstance(got, np.ndarray):
                self.problem(label, f"is a NumPy array, but a {type(expected).__name__} of numbers is expected")
                return
        elif isinstance(got, (list, tuple)) and e.ndim > 0:
            values = "its values match" if _same_numbers(got, e, self.tol) else "its values differ too"
            self.problem(label, f"is a {type(got).__name__}, but a NumPy array is expected (convert it with "
                                f"np.array; {values})")
            return
        try:
            g = np.asarray(got)
        except Exception:  # noqa: BLE001 - an object NumPy cannot even hold
            self.problem(label, f"should be numbers of shape {e.shape}, got {describe(got)}")
            return
        if g.dtype.kind not in "biuf":
            self.problem(label, f"should hold numbers, got {describe(got)}")
            return
        if e.ndim == 0 and g.ndim > 0:
            self.problem(label, f"should be a single number, got an array of shape {g.shape}")
            return
        if g.shape != e.shape:
            self.problem(label, f"has shape {g.shape}, expected {e.shape}")
            return
        if e.dtype.kind in "biu":
            self._compare_integers(label, g, e)
        else:
            self._compare_floats(label, g, e)

    def _compare_integers(self, label, g, e):
        if g.dtype.kind == "f":
            if not np.all(np.isfinite(g)) or np.any(g != np.round(g)):
                where = np.flatnonzero(~np.isfinite(g) | (g != np.round(g)))[0]
                at = _index(np.unravel_index(where, g.shape)) if g.ndim else ""
                self.problem(label, f"should hold whole numbers (e.g. class labels, dtype {e.dtype}), got "
                                    f"{_number(g.ravel()[where])}{' at ' + at if at else ''}")
                return
        wrong = np.flatnonzero(g.ravel() != e.ravel())
        if wrong.size:
            first = np.unravel_index(wrong[0], e.shape)
            at = f"; first at {_index(first)}" if e.ndim else ""
            self.problem(label, f"differs in {wrong.size} of {e.size} values{at}: got {g[first].item():g}, "
                                f"expected {e[first].item():g}")
        else:
            self.matched.append((label, 0.0))

    def _compare_floats(self, label, g, e):
        bad = ~np.isfinite(g)
        if bad.any():
            first = np.unravel_index(np.flatnonzero(bad)[0], g.shape)
            nans, infs = np.count_nonzero(np.isnan(g)), np.count_nonzero(np.isinf(g))
            counts = " and ".join(f"{n} {kind}" for n, kind in ((nans, "NaN"), (infs, "infinite")) if n)
            self.problem(label, f"holds {counts} value{'s' if nans + infs > 1 else ''}"
                                + (f" (first at {_index(first)})" if g.ndim else "")
                                + ": look for a division by zero, a log of 0 or an overflowing exp")
            return
        gf, ef = g.astype(np.float64), e.astype(np.float64)
        elementwise = np.abs(gf - ef) / np.maximum(1e-8, np.abs(gf) + np.abs(ef))
        err = float(elementwise.max()) if elementwise.size else 0.0
        integer_note = (f" (it has the integer dtype {g.dtype}: was a result stored in an integer array?)"
                        if g.dtype.kind in "biu" else "")
        if err <= self.tol:
            if integer_note:
                self.problem(label, f"has the integer dtype {g.dtype} where floats are expected")
            else:
                self.matched.append((label, err))
            return
        if e.ndim == 0:
            self.problem(label, f"is {_number(gf)}, expected {_number(ef)} (relative error {err:.1e} > "
                                f"{self.tol:.0e}){integer_note}")
            return
        worst = np.unravel_index(int(np.argmax(elementwise)), e.shape)
        count = int(np.count_nonzero(elementwise > self.tol))
        self.problem(label, f"differs in {count} of {e.size} values (relative error up to {err:.1e} > "
                            f"{self.tol:.0e}); worst at {_index(worst)}: got {_number(gf[worst])}, expected "
                            f"{_number(ef[worst])}{integer_note}")


def _numeric_sequence(value) -> bool:
    """A list/tuple of plain numbers (a vector written as a list), as opposed to a tuple of outputs."""
    return bool(value) and all(isinstance(v, numbers.Number) and not isinstance(v, bool) for v in value)


def _same_numbers(got, expected, tol) -> bool:
    try:
        g = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return g.shape == expected.shape and bool(np.all(np.abs(g - expected) <= tol * (np.abs(g) + np.abs(expected)
                                                                                      + 1e-8)))


def compare_outputs(got, expected, tol=1e-9, label="output"):
    """
    Compare two results (arrays, numbers, tensors, or nested tuples/lists/dicts of them).

    Returns a tuple of:
    - problems: List of sentences, empty when everything agrees within `tol`
    - max_error: Largest relative error among the floating-point parts that agree
    """
    comparison = Comparison(tol)
    comparison.compare(label, got, expected)
    return [sentence for _, sentence in comparison.problems], comparison.max_error


# ----------------------------------------------------------------------------- running both sides

def _named_outputs(comparison, got, expected, output_names, name):
    """Compare a result output by output (a tuple result item by item), skipping the free cache."""
    if not isinstance(expected, tuple):
        if got is None and expected is not None:
            comparison.problem(name, "returned None: is a `return` statement missing?")
        else:
            comparison.compare(output_names[0] if output_names else "the output", got, expected)
        return
    names = output_names or tuple(f"output {i + 1}" for i in range(len(expected)))
    if got is None:
        comparison.problem(name, f"returned None: is a `return` statement missing? It should return "
                                 f"({', '.join(names)})")
        return
    if not isinstance(got, tuple) or len(got) != len(expected):
        comparison.problem(name, f"should return a tuple ({', '.join(names)}), got {describe(got)}")
        return
    for label, g, e in zip(names, got, expected, strict=True):
        if label != CACHE:
            comparison.compare(label, g, e)


def _arguments(fn, args, kwargs) -> dict:
    """The arguments of a call by the names of `fn`'s parameters."""
    try:
        return dict(inspect.signature(fn).bind(*args, **kwargs).arguments)
    except (TypeError, ValueError):
        return {**{f"argument {i + 1}": a for i, a in enumerate(args)}, **kwargs}


def _changed(before, after) -> bool:
    before, after = _plain(before), _plain(after)
    if isinstance(before, np.ndarray):
        return not (isinstance(after, np.ndarray) and after.shape == before.shape
                    and np.array_equal(after, before, equal_nan=True))
    return False


def _compare_side_effects(comparison, reference, pristine, learner_call, reference_call):
    """Arrays the learner modified in place although the reference does not, and dict entries
    (e.g. bn_param's running averages) that the reference updates and the learner's call left different."""
    before, mine, theirs = (_arguments(reference, *call) for call in (pristine, learner_call, reference_call))
    for name, original in before.items():
        if isinstance(_plain(original), np.ndarray):
            if _changed(original, mine.get(name)) and not _changed(original, theirs.get(name)):
                comparison.problem(f"`{name}`", f"was modified in place, but the reference leaves its inputs "
                                                f"unchanged: compute a new array instead of changing `{name}` "
                                                f"(e.g. `{name} - step`, not `{name} -= step`)")
        elif isinstance(original, dict) and isinstance(mine.get(name), dict) and isinstance(theirs.get(name), dict):
            for key, value in theirs[name].items():
                if key in original and not _changed(original[key], value) and key in mine[name]:
                    continue
                if key not in mine[name]:
                    comparison.problem(f"{name}[{key!r}]", "is not set after the call: the reference stores it there")
                elif key not in original or _changed(original[key], value):
                    comparison.compare(f"{name}[{key!r}] after the call", mine[name][key], value)


def _verdict(name, comparison, hint=None, hints=None, record=None):
    """Print the OK line, or raise the AssertionError listing the problems and the relevant hints."""
    if record is not None:
        record_check(record, "fail" if comparison.problems else "pass")
    if not comparison.problems:
        print(f"[check] {name}: OK, max relative error {comparison.max_error:.1e} (tolerance {comparison.tol:.0e})")
        return
    lines = [f"{name} does not match the reference:"]
    lines += [f"  - {sentence}" for _, sentence in comparison.problems]
    if comparison.matched:
        lines.append("  What matched: " + ", ".join(label for label, _ in comparison.matched) + ".")
    for label, text in (hints or {}).items():
        if comparison.failed(label):
            lines.append(f"Hint ({label}): {text}")
    if hint:
        lines.append(f"Hint: {hint}")
    raise AssertionError("\n".join(lines))


def _not_implemented(name, record):
    print(f"[check] {name}: not implemented yet; the reference ran instead, so there is nothing to check")
    record_check(record, "todo")


def _exercise_of(fn):
    """(kind, wrapper, instance) for what check_exercise was given: a function, a method or a class."""
    if inspect.isclass(fn) and hasattr(fn, "exercise_methods"):
        return "class", fn, None
    if inspect.ismethod(fn) and hasattr(fn.__func__, "reference"):
        return "method", fn.__func__, fn.__self__
    if hasattr(fn, "reference") and hasattr(fn, "exercise_name"):
        return "function", fn, None
    raise TypeError(f"check_exercise needs something bound with @exercise (a function, a method of an object of "
                    f"an exercise class, or an exercise class), got {fn!r}")


def check_exercise(fn, *args, tol=1e-9, output_names=None, hint=None, hints=None, **kwargs):
    """
    Run an exercise and its reference on copies of the same inputs and compare what they return
    (and the arguments they update, e.g. bn_param's running averages).

    Inputs:
    - fn: A function bound with @exercise; or a method of an object of an exercise class (e.g.
      `model.loss`: both sides run on copies of the object, and the object's state afterwards is
      compared too); or an exercise class itself (its constructor is checked: the parameters it
      creates, their shapes, and the distribution of random initial values)
    - args, kwargs: The inputs
    - tol: Largest accepted relative error for floating-point values
    - output_names: Names of the items of a tuple output, e.g. ("loss", "dW"); an item named
      "cache" is the learner's own and is not compared
    - hint: A sentence shown whenever the check fails
    - hints: Dict output name -> a sentence shown only when that output is wrong

    Raises AssertionError listing every difference. Returns nothing.
    """
    kind, wrapper, instance = _exercise_of(fn)
    if kind == "class":
        return _check_constructor(fn, args, kwargs, tol, hint, hints)
    name = wrapper.exercise_name
    comparison = Comparison(tol)
    if kind == "method":
        learner_self, reference_self = copy.deepcopy(instance), copy.deepcopy(instance)
        got = wrapper(learner_self, *copy.deepcopy(args), **copy.deepcopy(kwargs))
        if wrapper.used_reference:
            return _not_implemented(name, wrapper)
        expected = wrapper.reference(reference_self, *copy.deepcopy(args), **copy.deepcopy(kwargs))
        _named_outputs(comparison, got, expected, output_names, name)
        _compare_state(comparison, learner_self, reference_self, instance)
    else:
        pristine = copy.deepcopy((args, kwargs))
        learner_args, reference_args = copy.deepcopy((args, kwargs)), copy.deepcopy((args, kwargs))
        got = wrapper(*learner_args[0], **learner_args[1])
        if wrapper.used_reference:
            return _not_implemented(name, wrapper)
        expected = wrapper.reference(*reference_args[0], **reference_args[1])
        _named_outputs(comparison, got, expected, output_names, name)
        _compare_side_effects(comparison, wrapper.reference, pristine, learner_args, reference_args)
    _verdict(name, comparison, hint, hints, record=wrapper)


# ----------------------------------------------------------------------------- objects

def _state(obj) -> dict:
    """What an object holds: a module's parameters and buffers, or its attributes (callables left out)."""
    if hasattr(obj, "state_dict") and callable(obj.state_dict):
        return {f"{k}": v for k, v in obj.state_dict().items()}
    return {k: v for k, v in vars(obj).items() if not callable(v) and not inspect.ismodule(v)}


def _compare_state(comparison, learner_obj, reference_obj, before):
    """The attributes the reference's method changed must end the same in the learner's object."""
    original = _state(before)
    mine, theirs = _state(learner_obj), _state(reference_obj)
    for key, value in theirs.items():
        label = f"self.{key}" if not hasattr(reference_obj, "state_dict") else f"parameter {key!r}"
        if key in original and not _differs(original[key], value):
            continue
        if key not in mine:
            comparison.problem(label, "is not set after the call: the reference sets it")
        else:
            comparison.compare(label, mine[key], value)


def _differs(a, b) -> bool:
    problems, _ = compare_outputs(a, b, tol=0.0)
    return bool(problems)


def _check_constructor(cls, args, kwargs, tol, hint, hints):
    init = cls.exercise_methods.get("__init__")
    if init is None:
        raise TypeError(f"{cls.__name__} defines no __init__ exercise to check; check a method instead, "
                        f"e.g. check_exercise(obj.{next(iter(cls.exercise_methods), 'method')}, ...)")
    name = init.exercise_name
    learner_obj = cls(*copy.deepcopy(args), **copy.deepcopy(kwargs))
    if init.used_reference:
        return _not_implemented(name, init)
    reference_obj = cls.reference(*copy.deepcopy(args), **copy.deepcopy(kwargs))
    comparison = Comparison(tol)
    mine, theirs = _state(learner_obj), _state(reference_obj)
    for key, value in theirs.items():
        label = f"self.{key}" if not hasattr(reference_obj, "state_dict") else f"parameter {key!r}"
        if key not in mine:
            comparison.problem(label, "is missing: the reference creates it")
        else:
            _compare_initial(comparison, label, mine[key], value)
    _verdict(name, comparison, hint, hints, record=init)


def _compare_initial(comparison, label, got, expected):
    """Initial values: equal, or, for random values, drawn from the same distribution."""
    got, expected = _plain(got), _plain(expected)
    if isinstance(expected, dict) and isinstance(got, dict):
        for key in expected:
            if key not in got:
                comparison.problem(f"{label}[{key!r}]", "is missing: the reference creates it")
            else:
                _compare_initial(comparison, f"{label}[{key!r}]", got[key], expected[key])
        return
    if not isinstance(expected, np.ndarray) or expected.dtype.kind != "f" or expected.size < 2:
        comparison.compare(label, got, expected)
        return
    g = np.asarray(got) if isinstance(got, np.ndarray) else None
    if g is None or g.shape != expected.shape or g.dtype.kind != "f":
        comparison.compare(label, got, expected)  # says what is wrong with the type or shape
        return
    if np.allclose(g, expected, rtol=comparison.tol, atol=0):
        comparison.matched.append((label, 0.0))
        return
    if np.all(expected == expected.flat[0]):
        got_values = f"all {g.min():g}" if g.min() == g.max() else f"values from {g.min():.3g} to {g.max():.3g}"
        comparison.problem(label, f"should start as all {expected.flat[0]:g}, got {got_values}")
        return
    # Random values: compare the spread and the centre, allowing for the sample size.
    n = expected.size
    std_ratio = g.std() / expected.std()
    allowed = 0.1 + 3.0 / np.sqrt(n)
    # The two sample means differ by about spread * sqrt(2 / n) by chance alone (a bias of 10
    # values is noisy); the spread is estimated from both samples, since either may be small by chance.
    spread = np.sqrt((g.var() + expected.var()) / 2)
    mean_allowed = spread * (0.1 + 5.0 * np.sqrt(2.0 / n))
    if not (1 - allowed <= std_ratio <= 1 + allowed) or abs(g.mean() - expected.mean()) > mean_allowed:
        comparison.problem(label, f"has mean {g.mean():.3g} and standard deviation {g.std():.3g}, but the "
                                  f"reference draws values with mean {expected.mean():.3g} and standard deviation "
                                  f"{expected.std():.3g}")
    else:
        comparison.matched.append((label + " (random, same distribution)", 0.0))


# ----------------------------------------------------------------------------- backward passes

def check_backward(backward, forward, inputs, dout, wrt=None, names=None, tol=1e-8, grad_tol=1e-7,
                   hint=None, hints=None, numeric=True, h=1e-5):
    """
    Check a backward pass on the learner's own cache: run `forward` (the learner's, or the
    reference's while it is unfinished) on the inputs, the learner's `backward` on its cache, and
    compare the gradients with the reference's forward + backward on the same inputs; then check
    them against centered differences of `forward`.

    Inputs:
    - backward: The backward exercise, e.g. affine_backward
    - forward: The matching forward pass, e.g. affine_forward (returns (*outputs, cache))
    - inputs: Tuple of the forward pass's arguments
    - dout: Upstream gradient (a tuple of them when forward has several outputs before its cache)
    - wrt: Indices of the inputs the gradients are taken with respect to, in the backward pass's
      output order (default: every floating-point array input, in order)
    - names: Names of the gradients (default "d" + the reference's parameter names, e.g. dx, dw, db)
    - tol: Largest relative error against the reference
    - grad_tol: Largest relative error against the numerical gradient
    - hint, hints: As for check_exercise
    - numeric: Also compare with centered differences (h is the step)

    Raises AssertionError listing every difference. Returns nothing.
    """
    _, wrapper, _ = _exercise_of(backward)
    name = wrapper.exercise_name
    reference_forward = getattr(forward, "reference", forward)
    douts = dout if isinstance(dout, tuple) else (dout,)
    if wrt is None:
        wrt = [i for i, a in enumerate(inputs) if isinstance(_plain(a), np.ndarray) and _plain(a).dtype.kind == "f"]
    if names is None:
        parameters = list(inspect.signature(reference_forward).parameters)
        names = tuple(f"d{parameters[i]}" if i < len(parameters) else f"d{i}" for i in wrt)

    *_, cache = forward(*copy.deepcopy(inputs))
    got = backward(*copy.deepcopy(douts), cache)
    if wrapper.used_reference:
        return _not_implemented(name, wrapper)
    *_, reference_cache = reference_forward(*copy.deepcopy(inputs))
    expected = wrapper.reference(*copy.deepcopy(douts), reference_cache)
    comparison = Comparison(tol)
    _named_outputs(comparison, got, expected, names, name)
    if numeric and not comparison.problems:
        grads = got if isinstance(expected, tuple) else (got,)
        for label, index, grad in zip(names, wrt, grads, strict=True):
            numerical = _numerical_gradient(forward, inputs, index, douts, h)
            sub = Comparison(grad_tol)
            sub.compare(label, grad, numerical)
            for _, sentence in sub.problems:
                comparison.problems.append((label, sentence.replace(label, f"{label} (against finite differences "
                                                                           f"of the forward pass)", 1)))
    _verdict(name, comparison, hint, hints, record=wrapper)


def _numerical_gradient(forward, inputs, index, douts, h):
    """d(sum of outputs * douts) / d inputs[index] by centered differences of forward."""
    inputs = copy.deepcopy(inputs)
    x = inputs[index]

    def f(_):
        outputs = forward(*copy.deepcopy(inputs))[:-1]
        return sum(float(np.sum(np.asarray(_plain(o)) * d)) for o, d in zip(outputs, douts, strict=True))

    return eval_numerical_gradient(f, x, verbose=False, h=h)


# ----------------------------------------------------------------------------- fixed values

def check_close(name, got, expected, tol=1e-7, hint=None):
    """
    Compare a value with a fixed expected value (e.g. a published number, or a toy model's scores).
    Prints the relative error, or raises AssertionError listing what differs. Returns nothing.
    """
    comparison = Comparison(tol)
    comparison.compare(name, got, expected)
    if comparison.problems:
        lines = [f"{name} differs from the expected value:"] + [f"  - {s}" for _, s in comparison.problems]
        if hint:
            lines.append(f"Hint: {hint}")
        raise AssertionError("\n".join(lines))
    print(f"[check] {name}: OK, relative error {comparison.max_error:.1e} (tolerance {tol:.0e})")


def check_gradient(name, f, x, analytic_grad, df=None, tol=1e-7, h=1e-5):
    """
    Compare an analytic gradient with a centered-difference one.

    Inputs:
    - name: What is checked, e.g. "dx of affine_backward"
    - f: Function of x; returns a scalar (df None) or an array (df its upstream gradient)
    - x: Point at which to check; restored after use
    - analytic_grad: The gradient to check, of the shape of x
    - df: Upstream gradient for an array-valued f, or None for a scalar f
    - tol: Largest accepted relative error

    Raises AssertionError (naming the worst index) above tol. Returns nothing.
    """
    if df is None:
        numeric = eval_numerical_gradient(f, x, verbose=False, h=h)
    else:
        numeric = eval_numerical_gradient_array(f, x, df, h=h)
    check_close(f"{name} (numerical gradient check)", analytic_grad, numeric, tol=tol,
                hint="the analytic gradient disagrees with finite differences of the forward computation; "
                     "re-derive the backward pass for the entries named above")
