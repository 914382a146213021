"""The TODO-cell contract, proven on assignment 3's notebooks (see contract_cases.py)."""

import pytest
from contract_cases import solved_runs_strict_and_every_bug_fails_its_check, unfinished_exercise_raises_in_strict_mode
from notebook_tools import exercise_notebooks, notebook_ids

NOTEBOOKS = [p for p in exercise_notebooks() if p.parent.name == "assignment3"]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=notebook_ids(NOTEBOOKS))
def test_solved_notebook_runs_strict_and_every_bug_fails_its_check(notebook, tmp_path):
    solved_runs_strict_and_every_bug_fails_its_check(notebook, tmp_path)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=notebook_ids(NOTEBOOKS))
def test_unfinished_exercise_raises_in_strict_mode(notebook, tmp_path):
    unfinished_exercise_raises_in_strict_mode(notebook, tmp_path)
