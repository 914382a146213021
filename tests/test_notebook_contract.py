"""Static parts of the TODO-cell contract, on every notebook (the executed parts are in
test_contract_assignment*.py)."""

import nbformat
from exercise_bugs import BUGS
from notebook_tools import check_cell_index, course_notebooks, find_exercises


def test_every_exercise_has_a_check_cell():
    for notebook in course_notebooks():
        nb = nbformat.read(notebook, as_version=4)
        for ex in find_exercises(nb):
            check_cell_index(nb, ex)  # raises with the exercise's name when missing


def test_bugs_name_real_exercises():
    for notebook in course_notebooks():
        names = {ex.name for ex in find_exercises(nbformat.read(notebook, as_version=4))}
        unknown = set(BUGS.get(notebook.stem, {})) - names
        assert not unknown, f"{notebook.stem}: tests/exercise_bugs.py names no such exercise: {sorted(unknown)}"
