"""Reading, rewriting and executing course notebooks for the tests.

The TODO-cell contract (CONTRIBUTING.md) makes every exercise mechanically solvable:
the decorator names the reference, and the learner function has the reference's
parameters, so `return <reference>(<parameters>)` is a correct solution.
"""

import copy
import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from helpers.course.notebooks import course_notebooks
from helpers.course.progress import TODO_BODY, TODO_MARKER, Exercise
from helpers.course.progress import find_exercises as find_cell_exercises

ROOT = Path(__file__).resolve().parent.parent

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


def exercise_notebooks() -> list[Path]:
    return [p for p in course_notebooks() if find_exercises(nbformat.read(p, as_version=4))]


def notebook_ids(paths) -> list[str]:
    return [p.stem for p in paths]


def contract_env(tmp_path: Path, notebook: Path, strict: bool) -> dict[str, str]:
    """Environment for executing a notebook under test: quick scale, outputs in tmp_path."""
    return {
        "CS231N_STRICT": "1" if strict else "",
        "CS231N_NOTEBOOK": notebook.stem,
        "CS231N_RESULTS_FILE": str(tmp_path / "results.json"),
        "CS231N_PROGRESS_FILE": str(tmp_path / "progress.json"),
        "CS231N_SCALE": "quick",
        "MPLBACKEND": "agg",
    }


def find_exercises(nb) -> list[Exercise]:
    """Every @exercise-decorated function in the notebook's code cells, in order."""
    return find_cell_exercises(nb.cells)


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
