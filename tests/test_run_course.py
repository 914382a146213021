"""`make run` (helpers.course.run) on a small course of notebooks: results, failures, interrupts, settings."""

import json
from pathlib import Path

import nbformat
import pytest

from helpers.course import run as run_course
from helpers.course import scale


def write_notebook(path: Path, *sources: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


@pytest.fixture
def course(tmp_path, monkeypatch):
    monkeypatch.setenv("CS231N_SCALE", "quick")
    monkeypatch.delenv("CS231N_STRICT", raising=False)
    write_notebook(tmp_path / "assignment1" / "knn.ipynb",
                   "from helpers.course.results import report\nreport('knn', accuracy_k1=0.274)")
    write_notebook(tmp_path / "assignment1" / "svm.ipynb", "x = 1", "raise ValueError('bad learning rate')")
    return tmp_path


def test_run_course_writes_executed_copies_html_and_results(course, capfd):
    assert run_course.main([], root=course) == 1  # one notebook failed

    results = json.loads((course / "build" / "results.json").read_text())
    assert results["knn"]["accuracy_k1"] == 0.274
    assert results["knn"]["status"] == "ok" and results["knn"]["scale"] == "quick"
    assert results["svm"]["status"] == "failed"
    assert (course / "build" / "assignment1" / "knn.html").exists()
    executed = nbformat.read(course / "build" / "assignment1" / "knn.ipynb", as_version=4)
    assert "[result] knn.accuracy_k1" in executed.cells[0].outputs[0]["text"]

    out, err = capfd.readouterr()
    assert "accuracy_k1=0.274" in out and "ValueError: bad learning rate (cell 2)" in out
    assert "1 passed, 1 failed" in out
    assert "running over TCP" not in err  # kernels use local sockets: no encryption warning

    # a partial run replaces only the notebooks it ran
    assert run_course.main(["knn"], root=course) == 0
    results = json.loads((course / "build" / "results.json").read_text())
    assert results["svm"]["status"] == "failed" and results["knn"]["status"] == "ok"


def test_a_failing_check_is_summarized_with_the_exercise_and_the_exception(course, capsys):
    write_notebook(course / "assignment1" / "svm.ipynb",
                   "raise AssertionError('svm_loss_naive does not match the reference:\\n"
                   "  - dW differs in 3 of 30 values\\nHint: look at the regularization')")
    assert run_course.main(["svm"], root=course) == 1
    out = capsys.readouterr().out
    assert "AssertionError: svm_loss_naive does not match the reference: dW differs in 3 of 30 values (cell 1)" in out


def test_an_interrupted_run_keeps_the_previous_results(course, monkeypatch, capsys):
    assert run_course.main(["knn"], root=course) == 0

    def interrupted(path, build):
        raise KeyboardInterrupt

    monkeypatch.setattr(run_course, "run_notebook", interrupted)
    assert run_course.main(["knn"], root=course) == 130
    results = json.loads((course / "build" / "results.json").read_text())
    assert results["knn"]["accuracy_k1"] == 0.274 and results["knn"]["status"] == "ok"
    assert "its previous results" in capsys.readouterr().err


@pytest.mark.parametrize("variable, value", [("CS231N_SCALE", "bogus"), ("CS231N_STRICT", "maybe")])
def test_bad_settings_are_refused_before_any_kernel_starts(course, monkeypatch, capsys, variable, value):
    monkeypatch.setenv(variable, value)
    monkeypatch.setattr(run_course, "run_notebook", lambda *a: pytest.fail("a notebook was started"))
    assert run_course.main([], root=course) == 2
    assert f"{variable} must be one of" in capsys.readouterr().err


def test_ctrl_c_while_the_libraries_load_stops_without_a_traceback():
    """A real SIGINT, delivered while `python -m helpers.course.run` imports nbconvert (its first
    seconds), exits with 130 and one line; nothing has been started or written yet."""
    import subprocess
    import sys

    program = """
import builtins, os, runpy, signal, sys
sys.argv = ["run", "no-such-notebook"]
real_import = builtins.__import__
def interrupting_import(name, *args, **kwargs):
    if name == "nbconvert":
        os.kill(os.getpid(), signal.SIGINT)
    return real_import(name, *args, **kwargs)
builtins.__import__ = interrupting_import
runpy.run_module("helpers.course.run", run_name="__main__")
"""
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120,
                            cwd=Path(run_course.__file__).resolve().parents[2])
    assert result.returncode == 130, result.stderr
    assert "Interrupted before any notebook started: nothing was changed." in result.stderr
    assert "Traceback" not in result.stderr


def test_the_full_scale_runs_on_a_fixed_thread_count_whatever_the_machine(course, monkeypatch, capsys):
    # The same count on every machine: a sum split over another number of threads ends in other digits.
    for variable in scale.BLAS_THREAD_VARIABLES:
        monkeypatch.setenv(variable, "7")  # restored after the test; run.main sets the kernels' count
    monkeypatch.setenv("CS231N_SCALE", "full")
    write_notebook(course / "assignment1" / "knn.ipynb",
                   "import os\nfrom helpers.course.results import report\n"
                   "from helpers.course.scale import use_scale_threads\n"
                   "report('knn', blas=int(os.environ['OPENBLAS_NUM_THREADS']), torch_threads=use_scale_threads())")
    assert run_course.main(["knn"], root=course) == 0
    results = json.loads((course / "build" / "results.json").read_text())
    assert results["knn"]["blas"] == results["knn"]["torch_threads"] == scale.FULL_SCALE_THREADS == 2
    assert scale.scale_threads() == 2
    monkeypatch.setenv("CS231N_SCALE", "quick")
    assert scale.scale_threads() == 1
