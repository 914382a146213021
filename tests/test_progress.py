"""Progress (helpers.course.progress): recorded under the right notebook in every front end, stale
once the code changes, and class methods listed as exercises."""

import json

import nbformat
import pytest
from notebook_tools import execute

from helpers.course.progress import course_progress, current_notebook, find_exercises

SETUP = ("import numpy as np\nfrom helpers.course.checks import check_exercise\n"
         "from helpers.course.exercise import exercise")
ADD = "@exercise(np.add)\ndef add(x1, x2):\n    # YOUR CODE HERE\n    return x1 + x2"


def write_course(root, add_source=ADD):
    (root / "assignment1").mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(SETUP), nbformat.v4.new_code_cell(add_source),
                nbformat.v4.new_code_cell("check_exercise(add, np.ones(3), np.arange(3.0))")]
    path = root / "assignment1" / "toy.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in ("CS231N_NOTEBOOK", "JPY_SESSION_NAME", "CS231N_STRICT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CS231N_PROGRESS_FILE", str(tmp_path / "progress.json"))
    return monkeypatch


def test_the_notebook_is_named_by_the_runner_jupyterlab_or_the_working_directory(clean_env, tmp_path):
    path = write_course(tmp_path)
    clean_env.chdir(path.parent)
    assert current_notebook("add") == "toy"  # nbconvert / nbclient: the notebook in the kernel's folder
    assert current_notebook("no_such_exercise") == "interactive"
    clean_env.setenv("JPY_SESSION_NAME", "/home/me/course/assignment1/knn.ipynb")
    assert current_notebook("add") == "knn"
    clean_env.setenv("CS231N_NOTEBOOK", "svm")
    assert current_notebook("add") == "svm"


def test_vs_code_names_the_notebook_through_its_variable(clean_env, monkeypatch):
    import helpers.course.progress as progress

    monkeypatch.setattr(progress, "_ipython_namespace", lambda: {"__vsc_ipynb_file__": "/x/assignment2/Dropout.ipynb"})
    assert current_notebook("add") == "Dropout"


def test_a_check_run_by_nbclient_without_hints_is_recorded_under_its_notebook(clean_env, tmp_path):
    path = write_course(tmp_path)
    execute(nbformat.read(path, as_version=4), path, {"CS231N_PROGRESS_FILE": str(tmp_path / "progress.json")})
    recorded = json.loads((tmp_path / "progress.json").read_text())
    assert list(recorded) == ["toy"] and recorded["toy"]["add"]["status"] == "pass"
    assert course_progress(tmp_path) == {"assignment1/toy.ipynb": [("add", True, "pass")]}


def test_a_pass_becomes_stale_when_the_code_changes(clean_env, tmp_path):
    path = write_course(tmp_path)
    execute(nbformat.read(path, as_version=4), path, {"CS231N_PROGRESS_FILE": str(tmp_path / "progress.json")})
    write_course(tmp_path, ADD.replace("return x1 + x2", "return np.add(x1, x2)"))
    assert course_progress(tmp_path) == {"assignment1/toy.ipynb": [("add", True, "stale")]}
    write_course(tmp_path, ADD.replace("return x1 + x2", "return x1 + x2  # a comment is not a change"))
    assert course_progress(tmp_path) == {"assignment1/toy.ipynb": [("add", True, "pass")]}


def test_class_methods_are_exercises():
    source = ("@exercise(fc_net.TwoLayerNet)\nclass TwoLayerNet:\n"
              "    def __init__(self, input_dim=10):\n        # YOUR CODE HERE\n        raise NotImplementedError\n\n"
              "    def loss(self, X, y=None):\n        return 0\n")
    exercises = find_exercises([{"cell_type": "code", "source": source}])
    assert [(e.name, e.done, e.call_args, e.method) for e in exercises] == [
        ("TwoLayerNet.__init__", False, "self, input_dim", "__init__"),
        ("TwoLayerNet.loss", True, "self, X, y", "loss")]


def test_an_unreadable_progress_file_does_not_stop_the_view(clean_env, tmp_path, capsys):
    write_course(tmp_path)
    (tmp_path / "progress.json").write_text("{not json")
    assert course_progress(tmp_path) == {"assignment1/toy.ipynb": [("add", True, "not run")]}
    assert "is not readable JSON" in capsys.readouterr().out
