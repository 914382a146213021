"""The TODO-cell contract, failure side: a wrong answer fails its check cell with a useful
message, and an unfinished exercise raises in strict mode (DESIGN.md)."""

import nbformat
import pytest
from nbclient.exceptions import CellExecutionError
from notebook_tools import (
    check_cell_index,
    contract_env,
    execute,
    exercise_notebooks,
    find_exercises,
    notebook_ids,
    solved,
)

EXERCISE_NOTEBOOKS = exercise_notebooks()


@pytest.mark.parametrize("notebook", EXERCISE_NOTEBOOKS, ids=notebook_ids(EXERCISE_NOTEBOOKS))
def test_wrong_solution_fails_its_check_cell(notebook, tmp_path):
    nb = nbformat.read(notebook, as_version=4)
    first = find_exercises(nb)[0]
    check_index = check_cell_index(nb, first)
    wrong = solved(nb, wrong={first.name})
    # the perturbation cell was inserted at the top: everything shifts by one
    wrong.cells = wrong.cells[: check_index + 2]
    with pytest.raises(CellExecutionError) as failure:
        execute(wrong, notebook, contract_env(tmp_path, notebook, strict=True))
    message = str(failure.value)
    assert "AssertionError" in message
    assert f"{first.name} does not match the reference" in message
    assert "relative error" in message or "shape" in message or "values differ" in message


@pytest.mark.parametrize("notebook", EXERCISE_NOTEBOOKS, ids=notebook_ids(EXERCISE_NOTEBOOKS))
def test_unfinished_exercise_raises_in_strict_mode(notebook, tmp_path):
    nb = nbformat.read(notebook, as_version=4)
    first = find_exercises(nb)[0]
    nb.cells = nb.cells[: check_cell_index(nb, first) + 1]
    with pytest.raises(CellExecutionError) as failure:
        execute(nb, notebook, contract_env(tmp_path, notebook, strict=True))
    assert "NotFinishedError" in str(failure.value)
    assert f"{first.name} is not implemented yet" in str(failure.value)
