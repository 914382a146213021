"""Which exercises are done and passing, per notebook: `python -m helpers.course.progress`.

"Done" is read from the saved notebook (the `raise NotImplementedError` under
`# YOUR CODE HERE` has been replaced); "check" is the outcome of the exercise's check
cell the last time it ran (recorded by helpers.course.exercise in build/progress.json).
"""

import ast
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from helpers import repo_root
from helpers.course.exercise import progress_path

TODO_MARKER = "# YOUR CODE HERE"
TODO_BODY = "raise NotImplementedError"


@dataclass
class Exercise:
    cell_index: int
    name: str
    reference: str  # source text of the @exercise(...) argument
    call_args: str  # the function's parameters spelled as call arguments
    done: bool


def _call_args(fn: ast.FunctionDef) -> str:
    a = fn.args
    parts = [p.arg for p in a.posonlyargs + a.args]
    if a.vararg:
        parts.append("*" + a.vararg.arg)
    parts += [f"{p.arg}={p.arg}" for p in a.kwonlyargs]
    if a.kwarg:
        parts.append("**" + a.kwarg.arg)
    return ", ".join(parts)


def _still_todo(fn: ast.FunctionDef, source: str) -> bool:
    lines = (ast.get_source_segment(source, fn) or "").splitlines()
    pairs = zip(lines, lines[1:], strict=False)
    return any(prev.strip() == TODO_MARKER and line.strip() == TODO_BODY for prev, line in pairs)


def find_exercises(cells) -> list[Exercise]:
    """
    The @exercise-decorated functions of a notebook, in order.

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
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef):
                continue
            for deco in node.decorator_list:
                if isinstance(deco, ast.Call) and getattr(deco.func, "id", None) == "exercise" and deco.args:
                    reference = ast.get_source_segment(source, deco.args[0])
                    found.append(Exercise(index, node.name, reference, _call_args(node),
                                          done=not _still_todo(node, source)))
    return found


def course_progress(root: Path | None = None) -> dict[str, list[tuple[str, bool, str]]]:
    """Map 'assignmentN/name.ipynb' -> [(exercise, done, last check status)]."""
    root = root or repo_root()
    path = progress_path()
    checks = json.loads(path.read_text()) if path.exists() else {}
    table = {}
    for nb_path in sorted(root.glob("assignment*/*.ipynb")):
        cells = json.loads(nb_path.read_text())["cells"]
        recorded = checks.get(nb_path.stem, {})
        table[str(nb_path.relative_to(root))] = [
            (ex.name, ex.done, recorded.get(ex.name, {}).get("status", "not run")) for ex in find_exercises(cells)
        ]
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
            print(f"    {name:40s} {'done' if is_done else 'todo':5s} check: {status}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
