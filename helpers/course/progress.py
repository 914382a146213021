"""Which exercises are done and passing, per notebook: `python -m helpers.course.progress`.

"Done" is read from the saved notebook (the `raise NotImplementedError` under `# YOUR CODE HERE`
has been replaced). "Check" is the outcome of the exercise's check cell the last time it ran,
recorded by helpers.course.checks in build/progress.json under the notebook that ran it, with a
fingerprint of the exercise's code: a pass becomes "stale" once the code in the saved notebook
differs from the code that passed.

The running notebook is found, in this order, from CS231N_NOTEBOOK (set by `make run` and the
tests), VS Code's `__vsc_ipynb_file__`, JupyterLab's JPY_SESSION_NAME, and otherwise the notebook
in the kernel's working directory (Jupyter, nbconvert and nbclient all start the kernel in the
notebook's folder) that defines the exercise.
"""

import ast
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from helpers import repo_root
from helpers.course.exercise import code_fingerprint, is_todo
from helpers.course.jsonstore import read_json, update_json
from helpers.course.notebooks import course_notebooks

NOTEBOOK_VARIABLE = "CS231N_NOTEBOOK"
PROGRESS_VARIABLE = "CS231N_PROGRESS_FILE"


@dataclass
class Exercise:
    """An exercise as written in a notebook cell."""
    cell_index: int
    name: str  # "compute_distances_two_loops", or "TwoLayerNet.loss" for a method of an exercise class
    reference: str  # source text of the @exercise(...) argument
    call_args: str  # the function's parameters spelled as call arguments
    done: bool
    fingerprint: str

    @property
    def method(self) -> str | None:
        """The method name for a method of an exercise class, else None."""
        return self.name.split(".", 1)[1] if "." in self.name else None


def _call_args(fn: ast.FunctionDef) -> str:
    a = fn.args
    parts = [p.arg for p in a.posonlyargs + a.args]
    if a.vararg:
        parts.append("*" + a.vararg.arg)
    parts += [f"{p.arg}={p.arg}" for p in a.kwonlyargs]
    if a.kwarg:
        parts.append("**" + a.kwarg.arg)
    return ", ".join(parts)


def _exercise_reference(node, source):
    """The source of X in a decorator @exercise(X), or None."""
    for deco in node.decorator_list:
        if isinstance(deco, ast.Call) and getattr(deco.func, "id", None) == "exercise" and deco.args:
            return ast.get_source_segment(source, deco.args[0])
    return None


def find_exercises(cells) -> list[Exercise]:
    """
    The exercises of a notebook, in order: each @exercise-decorated function, and each method
    defined in an @exercise-decorated class (named "Class.method").

    Inputs:
    - cells: The notebook's cells (nbformat nodes or dicts with cell_type and source)

    Returns:
    - List of Exercise
    """
    found = []
    for index, cell in enumerate(cells):
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        if cell["cell_type"] != "code" or "@exercise(" not in source:
            continue
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue  # a learner's half-typed cell; it shows as not done
        for node in tree.body:
            reference = _exercise_reference(node, source) if hasattr(node, "decorator_list") else None
            if reference is None:
                continue
            if isinstance(node, ast.ClassDef):
                for method in node.body:
                    if isinstance(method, ast.FunctionDef):
                        found.append(Exercise(index, f"{node.name}.{method.name}", reference, _call_args(method),
                                              not is_todo(method, source), code_fingerprint(method)))
            elif isinstance(node, ast.FunctionDef):
                found.append(Exercise(index, node.name, reference, _call_args(node), not is_todo(node, source),
                                      code_fingerprint(node)))
    return found


def _read_cells(path: Path) -> list:
    return json.loads(Path(path).read_text())["cells"]


# ----------------------------------------------------------------------------- the running notebook

def _ipython_namespace() -> dict:
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return getattr(shell, "user_ns", {}) if shell is not None else {}


def current_notebook(exercise_name: str | None = None) -> str:
    """
    The stem of the notebook that is running, e.g. "knn" (see the module docstring for how it is
    found), or "interactive" when none can be told.
    """
    named = (os.environ.get(NOTEBOOK_VARIABLE) or _ipython_namespace().get("__vsc_ipynb_file__")
             or os.environ.get("JPY_SESSION_NAME"))
    if named:
        return Path(named).stem
    if exercise_name is not None:
        candidates = []
        for path in sorted(Path.cwd().glob("*.ipynb")):
            try:
                names = {ex.name for ex in find_exercises(_read_cells(path))}
            except (OSError, ValueError, KeyError):
                continue
            if exercise_name in names:
                candidates.append(path.stem)
        if len(candidates) == 1:
            return candidates[0]
    return "interactive"


def progress_path() -> Path:
    env = os.environ.get(PROGRESS_VARIABLE)
    return Path(env) if env else repo_root() / "build" / "progress.json"


def record_check(exercise, status: str) -> None:
    """
    Remember the latest check outcome of an exercise under the running notebook.

    Inputs:
    - exercise: The bound exercise (a function made by @exercise, or a method of an exercise class)
    - status: "pass", "fail" or "todo"
    """
    name = exercise.exercise_name
    entry = {"status": status, "time": time.time(), "fingerprint": getattr(exercise, "fingerprint", None)}
    try:
        update_json(progress_path(), lambda data: data.setdefault(current_notebook(name), {}).update({name: entry}))
    except (OSError, ValueError) as error:  # progress is a convenience; never break a check over it
        print(f"[progress] could not record {name}: {error}")


# ----------------------------------------------------------------------------- the view

def course_progress(root: Path | None = None) -> dict[str, list[tuple[str, bool, str]]]:
    """
    Map 'assignmentN/name.ipynb' -> [(exercise, done, check)], check being "pass", "fail", "todo",
    "stale" (it passed, but its code has changed since) or "not run".
    """
    root = Path(root) if root is not None else repo_root()
    path = progress_path()
    try:
        checks = read_json(path)
    except ValueError:
        print(f"[progress] {path} is not readable JSON; showing no check results (delete it to start over)")
        checks = {}
    table = {}
    for nb_path in course_notebooks(root):
        recorded = checks.get(nb_path.stem, {})
        rows = []
        for ex in find_exercises(_read_cells(nb_path)):
            entry = recorded.get(ex.name, {})
            status = entry.get("status", "not run")
            if status == "pass" and entry.get("fingerprint") not in (None, ex.fingerprint):
                status = "stale"
            rows.append((ex.name, ex.done, status))
        table[str(nb_path.relative_to(root))] = rows
    return table


def main() -> int:
    table = course_progress()
    if not table:
        print(f"No notebooks found under {repo_root()}")
        return 1
    for notebook, exercises in table.items():
        done = sum(d for _, d, _ in exercises)
        passing = sum(s == "pass" for _, _, s in exercises)
        print(f"{notebook:45s} {done}/{len(exercises)} done, {passing} passing their check")
        for name, is_done, status in exercises:
            shown = "stale: the code changed after its check passed; run the check again" if status == "stale" \
                else status
            print(f"    {name:40s} {'done' if is_done else 'todo':5s} check: {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
