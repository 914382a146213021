"""The TODO-cell contract: how a notebook exercise is bound to its reference.

An exercise cell defines a function, or a class, and binds it with one line of plumbing:

    @exercise(k_nearest_neighbor.compute_distances_two_loops)
    def compute_distances_two_loops(X, X_train):
        # YOUR CODE HERE
        raise NotImplementedError

    @exercise(fc_net.TwoLayerNet)
    class TwoLayerNet:
        def __init__(self, input_dim=3 * 32 * 32, hidden_dim=100, ...):
            # YOUR CODE HERE
            raise NotImplementedError

        def loss(self, X, y=None):
            # YOUR CODE HERE
            raise NotImplementedError

* Unfinished (the body raises NotImplementedError): the call falls back to the reference and
  prints one line saying so, so the notebook still runs top to bottom. In a class each method
  falls back on its own; the class derives from the reference, so methods the cell does not
  define are the reference's, and `super()` in a method means the reference's parent.
  Only NotImplementedError falls back; any other exception surfaces unchanged.
* Strict mode (CS231N_STRICT=1): no fallback, an unfinished exercise raises NotFinishedError.
* The cache is the learner's: a finished `*_forward` may return a cache of its own layout. While
  the matching `*_backward` exercise is still unfinished, the reference forward is also run on
  the same inputs, so that the reference backward it falls back to gets a cache it understands.

The checks that compare an exercise with its reference are in helpers.course.checks.
"""

import ast
import copy
import functools
import hashlib
import inspect
import os
import textwrap
from collections import OrderedDict

import numpy as np

STRICT_VARIABLE = "CS231N_STRICT"
TRUE_VALUES = ("1", "true", "yes", "on")
FALSE_VALUES = ("", "0", "false", "no", "off")
TODO_MARKER = "# YOUR CODE HERE"
TODO_BODY = "raise NotImplementedError"


def strict_mode() -> bool:
    """
    Whether CS231N_STRICT asks for strict mode: one of 1/true/yes/on (strict) or 0/false/no/off
    or empty (not strict), in any case. Any other value is refused, so that a typo never
    silently turns strict mode off.
    """
    value = os.environ.get(STRICT_VARIABLE, "").strip().lower()
    if value in TRUE_VALUES:
        return True
    if value in FALSE_VALUES:
        return False
    raise ValueError(f"{STRICT_VARIABLE} must be one of {', '.join(TRUE_VALUES)} (strict) or "
                     f"{', '.join(v for v in FALSE_VALUES if v)} or empty (not strict), got "
                     f"{os.environ[STRICT_VARIABLE]!r}")


class NotFinishedError(NotImplementedError):
    """Raised in strict mode when an exercise still has its `raise NotImplementedError` body."""


# ----------------------------------------------------------------------------- source of an exercise

def _function_node(source: str):
    """The first function definition in `source` (a def, possibly indented, possibly decorated)."""
    try:
        tree = ast.parse(textwrap.dedent(source))
    except SyntaxError:
        return None
    return next((n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))), None)


def is_todo(node: ast.FunctionDef, source: str) -> bool:
    """True when the function still has `raise NotImplementedError` right under `# YOUR CODE HERE`."""
    lines = (ast.get_source_segment(source, node) or "").splitlines()
    return any(prev.strip() == TODO_MARKER and line.strip() == TODO_BODY
               for prev, line in zip(lines, lines[1:], strict=False))


def code_fingerprint(node: ast.FunctionDef) -> str:
    """A short hash of a function's code, blind to decorators, comments and formatting."""
    node = copy.deepcopy(node)
    node.decorator_list = []
    return hashlib.sha1(ast.unparse(node).encode()).hexdigest()[:12]


def _source_facts(fn) -> tuple[bool, str | None, str | None]:
    """(still TODO, fingerprint, source file) of a learner function; (False, None, None) without source."""
    try:
        source = textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError):
        return False, None, None
    node = _function_node(source)
    if node is None:
        return False, None, None
    return is_todo(node, source), code_fingerprint(node), inspect.getsourcefile(fn)


# ----------------------------------------------------------------------------- free caches

_BOUND = {}  # reference function -> the exercise wrapper bound to it most recently
_REFERENCE_CACHES = OrderedDict()  # id(learner cache) -> (learner cache, reference cache)
_MAX_REMEMBERED_CACHES = 32


def _backward_references(forward_reference) -> list:
    """The reference backward passes that take the cache of a reference *_forward function:
    `affine_forward` -> affine_backward; `batchnorm_forward` -> batchnorm_backward and
    batchnorm_backward_alt; `conv_forward_naive` -> conv_backward_naive."""
    name = getattr(forward_reference, "__name__", "")
    module = inspect.getmodule(forward_reference)
    if "forward" not in name or module is None:
        return []
    backward = name.replace("forward", "backward", 1)
    stem = backward.removesuffix("_naive")
    return [getattr(module, n) for n in dir(module) if n == backward or (n.startswith(stem) and n != name
                                                                          and "backward" in n)]


def _unfinished_backward(backward_references) -> bool:
    """Whether an exercise bound to one of these backward passes is still unfinished."""
    return any(_BOUND[r].todo for r in backward_references if r in _BOUND)


def _remember_reference_cache(reference, args, kwargs, rng_state, learner_result):
    """Run the reference forward on the same inputs and remember its cache beside the learner's."""
    if not (isinstance(learner_result, tuple) and len(learner_result) == 2):
        return
    after = np.random.get_state()
    np.random.set_state(rng_state)  # same random draws as the learner (e.g. a dropout mask)
    try:
        _, reference_cache = reference(*args, **kwargs)
    except Exception:  # noqa: BLE001 - the learner's inputs may be ones only the learner's code accepts
        return
    finally:
        np.random.set_state(after)
    learner_cache = learner_result[1]
    _REFERENCE_CACHES[id(learner_cache)] = (learner_cache, reference_cache)
    while len(_REFERENCE_CACHES) > _MAX_REMEMBERED_CACHES:
        _REFERENCE_CACHES.popitem(last=False)


def _reference_cache_for(cache):
    """The reference's cache made beside a learner's cache, or the cache itself."""
    remembered = _REFERENCE_CACHES.get(id(cache))
    return remembered[1] if remembered is not None and remembered[0] is cache else cache


# ----------------------------------------------------------------------------- binding

def _bind_function(reference, learner_fn, name, is_method=False):
    """The callable that runs `learner_fn` and falls back to `reference` when it is unfinished."""
    todo, fingerprint, source_file = _source_facts(learner_fn)
    backward_references = [] if is_method else _backward_references(reference)
    takes_cache = "backward" in getattr(reference, "__name__", "") and not is_method

    @functools.wraps(learner_fn)
    def run(*args, **kwargs):
        if backward_references and _unfinished_backward(backward_references):
            inputs = copy.deepcopy((args, kwargs))
            rng_state = np.random.get_state()
        else:
            inputs = None
        try:
            result = learner_fn(*args, **kwargs)
        except NotFinishedError:
            raise  # an unfinished exercise that this one calls, in strict mode: it names itself
        except NotImplementedError as error:
            if strict_mode():
                raise NotFinishedError(
                    f"{name} is not implemented yet: replace `raise NotImplementedError` under "
                    f"'{TODO_MARKER}' ({STRICT_VARIABLE} is set, so there is no fallback)") from error
            if not run.announced:
                print(f"[exercise] {name}: not implemented yet, using the reference solution from "
                      f"{reference.__module__} (set {STRICT_VARIABLE}=1 to turn this off)")
                run.announced = True
            run.used_reference = True
            return _call_reference(reference, name, args, kwargs, takes_cache)
        run.used_reference = False
        if inputs is not None:
            _remember_reference_cache(reference, *inputs, rng_state, result)
        return result

    run.reference = reference
    run.learner = learner_fn
    run.exercise_name = name
    run.todo = todo
    run.fingerprint = fingerprint
    run.source_file = source_file
    run.used_reference = False
    run.announced = False
    if not is_method:
        _BOUND[reference] = run
    return run


def _call_reference(reference, name, args, kwargs, takes_cache):
    """The fallback: the reference, given the reference's own cache when one was made beside the learner's."""
    if takes_cache and args:
        args = (*args[:-1], _reference_cache_for(args[-1]))
    try:
        return reference(*args, **kwargs)
    except Exception as error:
        if not takes_cache:
            raise
        raise RuntimeError(
            f"{name} is not implemented yet, and the reference could not use the cache it was given "
            f"({type(error).__name__}: {error}). Run your forward pass again after defining this cell, or "
            f"finish {name}.") from error


def _point_super_at(cls, reference):
    """Make `super()` in the methods of the learner's class body resolve past the reference."""
    for value in vars(cls).values():
        fn = getattr(value, "__func__", value)
        code = getattr(fn, "__code__", None)
        if code is not None and "__class__" in code.co_freevars:
            fn.__closure__[code.co_freevars.index("__class__")].cell_contents = reference


def _bind_class(reference, cls):
    """A subclass of `reference` whose methods are the learner's, each falling back on its own."""
    for base in cls.__bases__:
        if base is not object and base not in reference.__mro__:
            parents = ", ".join(b.__name__ for b in reference.__mro__[1:])
            raise TypeError(f"class {cls.__name__}({base.__name__}) must derive from what the reference "
                            f"{reference.__name__} derives from ({parents})")
    _point_super_at(cls, reference)
    namespace = {}
    for attr, value in vars(cls).items():
        if attr in ("__dict__", "__weakref__"):
            continue
        if inspect.isfunction(value) and hasattr(reference, attr):
            reference_method = getattr(reference, attr)
            value = _bind_function(reference_method, value, f"{cls.__name__}.{attr}", is_method=True)
        namespace[attr] = value
    bound = type(cls.__name__, (reference,), namespace)
    bound.__qualname__ = cls.__qualname__
    bound.__module__ = cls.__module__
    bound.reference = reference
    bound.exercise_name = cls.__name__
    bound.exercise_methods = {attr: value for attr, value in namespace.items() if hasattr(value, "reference")}
    return bound


def exercise(reference):
    """
    Bind the function or class defined in a TODO cell to its reference implementation.

    Inputs:
    - reference: The function or class in `helpers` that the exercise re-implements.

    Returns:
    - A decorator. For a function, the result runs the learner's code and, only if that raises
      NotImplementedError (and strict mode is off), the reference instead; it exposes
      `.reference`, `.exercise_name`, `.used_reference` (whether the most recent call fell
      back) and `.todo` (whether the body is still the TODO). For a class, the result is a
      subclass of the reference whose methods are the learner's, each bound that way and
      named "Class.method".
    """
    if not callable(reference):
        raise TypeError(f"exercise() needs the reference function or class, got {reference!r}")

    def decorate(learner):
        if inspect.isclass(learner):
            if not inspect.isclass(reference):
                raise TypeError(f"@exercise on class {learner.__name__} needs the reference class, "
                                f"got {reference!r}")
            return _bind_class(reference, learner)
        if not callable(learner):
            raise TypeError(f"@exercise decorates a function or a class, got {learner!r}")
        return _bind_function(reference, learner, learner.__name__)

    return decorate
