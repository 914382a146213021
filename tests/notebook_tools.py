"""Reading, rewriting and executing course notebooks for the tests.

The TODO-cell contract (CONTRIBUTING.md) makes every exercise mechanically solvable:
the decorator names the reference, and the learner function has the reference's
parameters, so `return <reference>(<parameters>)` is a correct solution.
"""

import ast
import copy
import os
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
TODO_MARKER = "# YOUR CODE HERE"
TODO_BODY = "raise NotImplementedError"

# Defined in an extra first cell of a "wrong solution" notebook: shifts every number in a result.
PERTURB_SOURCE = '''
import numpy as _np

def _contract_perturb(value):
    """A plausible but wrong result: every number moved by 10% and an offset."""
    if isinstance(value, tuple):
        return tuple(_contract_perturb(v) for v in value)
    if isinstance(value, list):
        return [_contract_perturb(v) for v in value]
    if isinstance(value, dict):
        return {k: _contract_perturb(v) for k, v in value.items()}
    if hasattr(value, "detach"):  # a torch tensor
        return value * 1.1 + 0.1
    if isinstance(value, _np.ndarray) and value.dtype.kind in "iub":
        return value + 1
    if isinstance(value, (int, float, _np.ndarray, _np.generic)) and not isinstance(value, bool):
        return value * 1.1 + 0.1
    return value
'''


def course_notebooks() -> list[Path]:
    return sorted(p for p in ROOT.glob("assignment*/*.ipynb") if ".ipynb_checkpoints" not in p.parts)


@dataclass
class Exercise:
    cell_index: int
    name: str
    reference: str  # source of the decorator argument
    call_args: str  # the learner function's parameters, spelled as call arguments


def _decorator_reference(fn: ast.FunctionDef, source: str) -> str | None:
    for deco in fn.decorator_list:
        if isinstance(deco, ast.Call) and getattr(deco.func, "id", None) == "exercise" and deco.args:
            return ast.get_source_segment(source, deco.args[0])
    return None


def _call_args(fn: ast.FunctionDef) -> str:
    a = fn.args
    parts = [p.arg for p in a.posonlyargs + a.args]
    if a.vararg:
        parts.append("*" + a.vararg.arg)
    parts += [f"{p.arg}={p.arg}" for p in a.kwonlyargs]
    if a.kwarg:
        parts.append("**" + a.kwarg.arg)
    return ", ".join(parts)


def find_exercises(nb) -> list[Exercise]:
    """Every @exercise-decorated function in the notebook's code cells, in order."""
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or "@exercise(" not in cell.source:
            continue
        tree = ast.parse(cell.source)
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef):
                reference = _decorator_reference(node, cell.source)
                if reference:
                    found.append(Exercise(index, node.name, reference, _call_args(node)))
    return found


def _replace_todo(source: str, name: str, replacement: str) -> str:
    """Replace the `raise NotImplementedError` under `# YOUR CODE HERE` in function `name`."""
    lines = source.split("\n")
    in_function = False
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith(f"def {name}("):
            in_function = True
        elif in_function and stripped == TODO_BODY and i > 0 and lines[i - 1].strip() == TODO_MARKER:
            indent = line[: len(line) - len(line.lstrip())]
            lines[i] = indent + replacement
            return "\n".join(lines)
    raise AssertionError(f"exercise {name}: no `{TODO_BODY}` directly under `{TODO_MARKER}`")


def solved(nb, wrong: set[str] = frozenset()):
    """A copy of nb with every exercise solved by its reference; those named in `wrong` perturbed."""
    nb = copy.deepcopy(nb)
    for ex in find_exercises(nb):
        call = f"({ex.reference})({ex.call_args})"
        body = f"return _contract_perturb({call})" if ex.name in wrong else f"return {call}"
        nb.cells[ex.cell_index].source = _replace_todo(nb.cells[ex.cell_index].source, ex.name, body)
    if wrong:
        nb.cells.insert(0, nbformat.v4.new_code_cell(PERTURB_SOURCE))
    return nb


def check_cell_index(nb, ex: Exercise) -> int:
    """Index of the first cell after the exercise that checks it."""
    for index in range(ex.cell_index + 1, len(nb.cells)):
        cell = nb.cells[index]
        if cell.cell_type == "code" and f"check_exercise({ex.name}" in cell.source.replace(" ", ""):
            return index
    raise AssertionError(f"exercise {ex.name} has no check cell calling check_exercise({ex.name}, ...)")


def execute(nb, path: Path, env: dict[str, str], timeout: int = 900):
    """Execute nb in a fresh kernel in the notebook's folder, with extra environment variables."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent)}})
        client.execute()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return nb
