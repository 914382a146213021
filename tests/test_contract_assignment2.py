"""The TODO-cell contract, proven on assignment 2's notebooks (see contract_cases.py)."""

import re

import pytest
from contract_cases import contract_tests
from exercise_bugs import EXTRA_BUGS
from notebook_tools import contract_env, exercise_notebooks, notebook_ids, run_solved_with_bugs

test_solved_notebook_runs_strict_and_every_bug_fails_its_check, test_unfinished_exercise_raises_in_strict_mode = (
    contract_tests("assignment2"))

EXTRA = [p for p in exercise_notebooks() if p.parent.name == "assignment2" and p.stem in EXTRA_BUGS]


@pytest.mark.parametrize("notebook", EXTRA, ids=notebook_ids(EXTRA))
def test_second_classic_bug_fails_its_check(notebook, tmp_path):
    """Exercises with two classic mistakes (e.g. dropout's missing scaling and its keep/drop mix-up):
    the second one fails the same check cell too."""
    bugs = EXTRA_BUGS[notebook.stem]
    caught = run_solved_with_bugs(notebook, bugs, contract_env(tmp_path, notebook, strict=True))
    for name, bug in bugs.items():
        message = caught.get(name)
        assert message is not None, f"{notebook.stem}: the check of {name} passed with the bug\n{bug.body}"
        assert "AssertionError" in message and re.search(bug.expect, message, re.S), message
