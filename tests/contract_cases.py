"""The two contract tests every notebook with exercises runs (DESIGN.md, "The TODO-cell contract");
tests/test_contract_assignment*.py apply them to one assignment each, so that xdist spreads the
assignments over its workers."""

import re

import nbformat
import pytest
from exercise_bugs import BUGS
from nbclient.exceptions import CellExecutionError
from notebook_tools import (
    check_cell_index,
    contract_env,
    error_text,
    execute,
    exercise_notebooks,
    find_exercises,
    notebook_ids,
    run_solved_with_bugs,
)


def solved_runs_strict_and_every_bug_fails_its_check(notebook, tmp_path):
    """Solved by the references, the notebook runs green in strict mode (no fallback); each exercise's
    realistic bug makes its check cell fail with a message that points at it."""
    bugs = BUGS.get(notebook.stem, {})
    caught = run_solved_with_bugs(notebook, bugs, contract_env(tmp_path, notebook, strict=True))
    progress = (tmp_path / "progress.json").read_text() if (tmp_path / "progress.json").exists() else ""
    assert '"todo"' not in progress, "an exercise fell back to the reference in strict mode"
    for name, bug in bugs.items():
        message = caught.get(name)
        assert message is not None, f"{notebook.stem}: the check of {name} passed with the bug\n{bug.body}"
        assert "AssertionError" in message, f"{notebook.stem}: {name} with its bug failed outside a check:\n{message}"
        assert re.search(bug.expect, message, re.S), (f"{notebook.stem}: the check of {name} failed, but its message "
                                                     f"does not match {bug.expect!r}:\n{message}")


def unfinished_exercise_raises_in_strict_mode(notebook, tmp_path):
    nb = nbformat.read(notebook, as_version=4)
    first = find_exercises(nb)[0]
    nb.cells = nb.cells[: check_cell_index(nb, first) + 1]
    with pytest.raises(CellExecutionError) as failure:
        execute(nb, notebook, contract_env(tmp_path, notebook, strict=True))
    message = error_text(failure.value)
    assert "NotFinishedError" in message and f"{first.name} is not implemented yet" in message


def contract_tests(assignment: str):
    """The two contract tests, parametrized over one assignment's notebooks with exercises (each
    tests/test_contract_<assignment>.py holds one pair, so xdist's --dist loadfile spreads them)."""
    notebooks = [p for p in exercise_notebooks() if p.parent.name == assignment]
    parametrize = pytest.mark.parametrize("notebook", notebooks, ids=notebook_ids(notebooks))

    @parametrize
    def test_solved_notebook_runs_strict_and_every_bug_fails_its_check(notebook, tmp_path):
        solved_runs_strict_and_every_bug_fails_its_check(notebook, tmp_path)

    @parametrize
    def test_unfinished_exercise_raises_in_strict_mode(notebook, tmp_path):
        unfinished_exercise_raises_in_strict_mode(notebook, tmp_path)

    return (test_solved_notebook_runs_strict_and_every_bug_fails_its_check,
            test_unfinished_exercise_raises_in_strict_mode)
