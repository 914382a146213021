"""The TODO-cell contract, proven on the real notebooks (DESIGN.md, "The TODO-cell contract").

For every notebook, each exercise solved by its reference runs green in strict mode (no
fallback). The failure side is in test_notebook_contract_failures.py (a separate file so
that xdist's --dist loadfile runs the two halves on different workers), and the untouched
notebooks run green under nbval (the fallback path).
"""

import nbformat
import pytest
from notebook_tools import (
    check_cell_index,
    contract_env,
    course_notebooks,
    execute,
    exercise_notebooks,
    find_exercises,
    notebook_ids,
    solved,
)

NOTEBOOKS = course_notebooks()
EXERCISE_NOTEBOOKS = exercise_notebooks()


@pytest.mark.parametrize("notebook", EXERCISE_NOTEBOOKS, ids=notebook_ids(EXERCISE_NOTEBOOKS))
def test_solved_notebook_runs_in_strict_mode(notebook, tmp_path):
    nb = solved(nbformat.read(notebook, as_version=4))
    execute(nb, notebook, contract_env(tmp_path, notebook, strict=True))
    outputs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "not implemented yet" not in outputs


def test_every_notebook_has_exercises_with_check_cells():
    for notebook in NOTEBOOKS:
        nb = nbformat.read(notebook, as_version=4)
        for ex in find_exercises(nb):
            check_cell_index(nb, ex)  # raises with the exercise's name when missing
