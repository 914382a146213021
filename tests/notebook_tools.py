"""Reading, rewriting and executing course notebooks for the contract tests.

The TODO-cell contract (CONTRIBUTING.md) makes every exercise mechanically solvable: the
decorator names the reference, and the learner's function (or method) has the reference's
parameters, so `return <reference>(<parameters>)` (for a method, `return <Reference>.<method>(self,
...)`) is a correct solution. The tests inject exactly that to prove a notebook passes in strict
mode, and inject a realistic bug per exercise (tests/exercise_bugs.py) to prove its check cell
catches it and says what is wrong.
"""

import copy
import os
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient.exceptions import CellExecutionError

from helpers.course.exercise import TODO_BODY, TODO_MARKER
from helpers.course.kernels import execute_all, running_notebook
from helpers.course.notebooks import course_notebooks
from helpers.course.progress import Exercise
from helpers.course.progress import find_exercises as find_cell_exercises

ROOT = Path(__file__).resolve().parent.parent
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class Bug:
    """A realistic mistake in one exercise: the body that replaces the TODO, and a regular
    expression the failing check cell's message must match (it must point at the mistake)."""
    body: str
    expect: str


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
    """Every exercise (function, or method of an exercise class) in the notebook, in order."""
    return find_cell_exercises(nb.cells)


def solution_body(ex: Exercise) -> str:
    """A correct body for the exercise: a call of its reference with the same arguments."""
    if ex.method:
        return f"return ({ex.reference}).{ex.method}({ex.call_args})"
    return f"return ({ex.reference})({ex.call_args})"


def replace_todo(source: str, ex: Exercise, body: str) -> str:
    """Replace the `raise NotImplementedError` under `# YOUR CODE HERE` in the exercise's function
    (or method) by `body` (any number of lines, indented like the line it replaces)."""
    lines = source.split("\n")
    function = ex.method or ex.name
    in_class = ex.method is None
    in_function = False
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not in_class and stripped.startswith(f"class {ex.name.split('.')[0]}"):
            in_class = True
        elif in_class and stripped.startswith(f"def {function}("):
            in_function = True
        elif in_function and stripped == TODO_BODY and i > 0 and lines[i - 1].strip() == TODO_MARKER:
            indent = line[: len(line) - len(line.lstrip())]
            lines[i: i + 1] = [indent + body_line if body_line else "" for body_line in
                               textwrap.dedent(body).strip("\n").split("\n")]
            return "\n".join(lines)
    raise AssertionError(f"exercise {ex.name}: no `{TODO_BODY}` directly under `{TODO_MARKER}`")


def solved(nb, bodies: dict[str, str] | None = None):
    """A copy of nb with every exercise solved by its reference, except those given a body."""
    nb = copy.deepcopy(nb)
    bodies = bodies or {}
    for ex in find_exercises(nb):
        cell = nb.cells[ex.cell_index]
        cell.source = replace_todo(cell.source, ex, bodies.get(ex.name, solution_body(ex)))
    return nb


def check_cell_index(nb, ex: Exercise) -> int:
    """Index of the first cell after the exercise's cell that checks it: it calls check_exercise or
    check_backward on the function, on the method (`obj.method`) or, for __init__, on the class."""
    if ex.method == "__init__":
        target = re.escape(ex.name.split(".")[0])
    elif ex.method:
        target = r"[\w\.\[\]]+\." + re.escape(ex.method)
    else:
        target = re.escape(ex.name)
    pattern = re.compile(r"check_(exercise|backward)\(\s*" + target + r"\b")
    for index in range(ex.cell_index + 1, len(nb.cells)):
        cell = nb.cells[index]
        if cell.cell_type == "code" and pattern.search(cell.source):
            return index
    raise AssertionError(f"exercise {ex.name} has no check cell calling check_exercise/check_backward on it")


def error_text(error: CellExecutionError) -> str:
    return ANSI_ESCAPE.sub("", str(error))


class _Environment:
    """Extra environment variables for the kernels started inside the block."""

    def __init__(self, env):
        self.env = env

    def __enter__(self):
        self.saved = {k: os.environ.get(k) for k in self.env}
        os.environ.update(self.env)

    def __exit__(self, *exc):
        for k, v in self.saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def execute(nb, path: Path, env: dict[str, str], timeout: int = 900):
    """Execute nb in a fresh kernel in the notebook's folder, with extra environment variables."""
    with _Environment(env), running_notebook(nb, path.parent, timeout) as client:
        execute_all(client)
    return nb


def run_solved_with_bugs(path: Path, bugs: dict[str, Bug], env: dict[str, str], timeout: int = 900) -> dict:
    """
    Execute the notebook solved by its references in one kernel, cell by cell; at each exercise's
    check cell, first run the exercise with its bug and the check cell, which must fail, then the
    correct exercise again, and go on.

    Returns:
    - Dict exercise name -> the failing check cell's error text (None when the check passed)
    Raises CellExecutionError when the solved notebook itself fails.
    """
    original = nbformat.read(path, as_version=4)
    nb = solved(original)
    exercises = find_exercises(original)
    by_check_cell = {}
    for ex in exercises:
        if ex.name in bugs:
            by_check_cell.setdefault(check_cell_index(original, ex), []).append(ex)
    caught = {}
    with _Environment(env), running_notebook(nb, path.parent, timeout) as client:
        for index, cell in enumerate(nb.cells):
            for ex in by_check_cell.get(index, []):
                # execute_cell stores what it ran in nb.cells[index]: keep the solved cell aside.
                solved_cell = copy.deepcopy(nb.cells[ex.cell_index])
                buggy = copy.deepcopy(solved_cell)
                buggy.source = _solve_others(replace_todo(original.cells[ex.cell_index].source, ex,
                                                          bugs[ex.name].body), original, ex)
                client.execute_cell(buggy, ex.cell_index)
                # Tagged "raises-exception", the failing cell does not make the kernel abort the
                # requests that follow it (the correct exercise cell, run again next).
                probe = copy.deepcopy(cell)
                probe.metadata["tags"] = [*probe.metadata.get("tags", []), "raises-exception"]
                client.execute_cell(probe, index)
                errors = [o for o in probe.outputs if o.output_type == "error"]
                caught[ex.name] = "\n".join(f"{o.ename}: {o.evalue}" for o in errors) or None
                client.execute_cell(solved_cell, ex.cell_index)
            client.execute_cell(cell, index)
    return caught


def _solve_others(source: str, original, buggy: Exercise) -> str:
    """Solve the other exercises that share the buggy exercise's cell (e.g. the other methods of a class)."""
    for ex in find_exercises(original):
        if ex.cell_index == buggy.cell_index and ex.name != buggy.name:
            source = replace_todo(source, ex, solution_body(ex))
    return source
