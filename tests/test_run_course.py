"""`make run` (helpers.course.run) on a small course of two notebooks: one fine, one failing."""

import json
from pathlib import Path

import nbformat

from helpers.course import run as run_course


def write_notebook(path: Path, *sources: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def test_run_course_writes_executed_copies_html_and_results(tmp_path, monkeypatch, capsys):
    write_notebook(tmp_path / "assignment1" / "knn.ipynb",
                   "from helpers.course.results import report\nreport('knn', accuracy_k1=0.274)")
    write_notebook(tmp_path / "assignment1" / "svm.ipynb", "raise ValueError('bad learning rate')")
    monkeypatch.setenv("CS231N_SCALE", "quick")
    assert run_course.main([], root=tmp_path) == 1  # one notebook failed

    results = json.loads((tmp_path / "build" / "results.json").read_text())
    assert results["knn"]["accuracy_k1"] == 0.274
    assert results["knn"]["status"] == "ok" and results["knn"]["scale"] == "quick"
    assert results["svm"]["status"] == "failed"
    assert (tmp_path / "build" / "assignment1" / "knn.html").exists()
    executed = nbformat.read(tmp_path / "build" / "assignment1" / "knn.ipynb", as_version=4)
    assert "[result] knn.accuracy_k1" in executed.cells[0].outputs[0]["text"]

    table = capsys.readouterr().out
    assert "accuracy_k1=0.274" in table and "ValueError: bad learning rate" in table
    assert "1 passed, 1 failed" in table

    # a partial run replaces only the notebooks it ran
    assert run_course.main(["knn"], root=tmp_path) == 0
    results = json.loads((tmp_path / "build" / "results.json").read_text())
    assert results["svm"]["status"] == "failed" and results["knn"]["status"] == "ok"
