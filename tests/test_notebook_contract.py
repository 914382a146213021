"""The TODO-cell contract, proven on the real notebooks (DESIGN.md, "The TODO-cell contract").

For every notebook:
- solved: each exercise solved by its reference runs green in strict mode (no fallback);
- wrong: the first exercise given a perturbed answer fails in its check cell, naming it;
- unfinished: in strict mode the first exercise raises instead of falling back.
The untouched notebooks run green under nbval (the fallback path).
"""

import nbformat
import pytest
from nbclient.exceptions import CellExecutionError
from notebook_tools import check_cell_index, course_notebooks, execute, find_exercises, solved

NOTEBOOKS = course_notebooks()
EXERCISE_NOTEBOOKS = [p for p in NOTEBOOKS if find_exercises(nbformat.read(p, as_version=4))]


def _env(tmp_path, notebook, strict):
    return {
        "CS231N_STRICT": "1" if strict else "",
        "CS231N_NOTEBOOK": notebook.stem,
        "CS231N_RESULTS_FILE": str(tmp_path / "results.json"),
        "CS231N_PROGRESS_FILE": str(tmp_path / "progress.json"),
        "CS231N_SCALE": "quick",
        "MPLBACKEND": "agg",
    }


def _ids(paths):
    return [p.stem for p in paths]


@pytest.mark.parametrize("notebook", EXERCISE_NOTEBOOKS, ids=_ids(EXERCISE_NOTEBOOKS))
def test_solved_notebook_runs_in_strict_mode(notebook, tmp_path):
    nb = solved(nbformat.read(notebook, as_version=4))
    execute(nb, notebook, _env(tmp_path, notebook, strict=True))
    outputs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "not implemented yet" not in outputs


@pytest.mark.parametrize("notebook", EXERCISE_NOTEBOOKS, ids=_ids(EXERCISE_NOTEBOOKS))
def test_wrong_solution_fails_its_check_cell(notebook, tmp_path):
    nb = nbformat.read(notebook, as_version=4)
    first = find_exercises(nb)[0]
    check_index = check_cell_index(nb, first)
    wrong = solved(nb, wrong={first.name})
    # the perturbation cell was inserted at the top: everything shifts by one
    wrong.cells = wrong.cells[: check_index + 2]
    with pytest.raises(CellExecutionError) as failure:
        execute(wrong, notebook, _env(tmp_path, notebook, strict=True))
    message = str(failure.value)
    assert "AssertionError" in message
    assert f"{first.name} does not match the reference" in message
    assert "relative error" in message or "shape" in message or "values differ" in message


@pytest.mark.parametrize("notebook", EXERCISE_NOTEBOOKS, ids=_ids(EXERCISE_NOTEBOOKS))
def test_unfinished_exercise_raises_in_strict_mode(notebook, tmp_path):
    nb = nbformat.read(notebook, as_version=4)
    first = find_exercises(nb)[0]
    nb.cells = nb.cells[: check_cell_index(nb, first) + 1]
    with pytest.raises(CellExecutionError) as failure:
        execute(nb, notebook, _env(tmp_path, notebook, strict=True))
    assert "NotFinishedError" in str(failure.value)
    assert f"{first.name} is not implemented yet" in str(failure.value)


def test_every_notebook_has_exercises_with_check_cells():
    for notebook in NOTEBOOKS:
        nb = nbformat.read(notebook, as_version=4)
        for ex in find_exercises(nb):
            check_cell_index(nb, ex)  # raises with the exercise's name when missing
