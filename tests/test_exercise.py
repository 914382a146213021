"""Unit tests of helpers.course.exercise, and of the contract harness on a small synthetic notebook."""

import nbformat
import numpy as np
import pytest
from nbclient.exceptions import CellExecutionError
from notebook_tools import check_cell_index, execute, find_exercises, solved

from helpers.course.exercise import (
    NotFinishedError,
    check_close,
    check_exercise,
    check_gradient,
    compare_outputs,
    exercise,
)


def reference_scale(x, factor=2.0):
    return x * factor, float(np.sum(x))


def test_unfinished_exercise_falls_back_once_with_one_line(capsys, monkeypatch):
    monkeypatch.delenv("CS231N_STRICT", raising=False)

    @exercise(reference_scale)
    def scale(x, factor=2.0):
        # YOUR CODE HERE
        raise NotImplementedError

    out1 = scale(np.ones(3))
    out2 = scale(np.ones(3), factor=3.0)
    printed = capsys.readouterr().out.strip().splitlines()
    assert len(printed) == 1 and "scale: not implemented yet" in printed[0]
    np.testing.assert_array_equal(out1[0], 2 * np.ones(3))
    np.testing.assert_array_equal(out2[0], 3 * np.ones(3))
    assert scale.used_reference


def test_strict_mode_raises_for_unfinished(monkeypatch):
    monkeypatch.setenv("CS231N_STRICT", "1")

    @exercise(reference_scale)
    def scale(x, factor=2.0):
        raise NotImplementedError

    with pytest.raises(NotFinishedError, match="scale is not implemented yet"):
        scale(np.ones(3))


def test_other_exceptions_surface_unchanged(monkeypatch):
    monkeypatch.delenv("CS231N_STRICT", raising=False)

    @exercise(reference_scale)
    def scale(x, factor=2.0):
        return x[10]

    with pytest.raises(IndexError):
        scale(np.ones(3))


def test_finished_exercise_runs_learner_code():
    @exercise(reference_scale)
    def scale(x, factor=2.0):
        return x * factor + 1, 0.0

    got = scale(np.zeros(2))
    np.testing.assert_array_equal(got[0], np.ones(2))
    assert not scale.used_reference


def test_check_exercise_passes_and_reports(capsys):
    @exercise(reference_scale)
    def scale(x, factor=2.0):
        return factor * x, float(x.sum())

    check_exercise(scale, np.arange(4.0), output_names=("scaled", "total"))
    assert "scale: OK" in capsys.readouterr().out


def test_check_exercise_names_shape_value_and_worst_index():
    @exercise(reference_scale)
    def wrong_value(x, factor=2.0):
        out = factor * x
        out[2] += 1.0
        return out, float(x.sum())

    with pytest.raises(AssertionError) as failure:
        check_exercise(wrong_value, np.arange(4.0), output_names=("scaled", "total"), hint="look at it")
    message = str(failure.value)
    assert "wrong_value does not match the reference" in message
    assert "scaled: relative error" in message and "index (2,)" in message
    assert "Hint: look at it" in message

    @exercise(reference_scale)
    def wrong_shape(x, factor=2.0):
        return (factor * x)[None], float(x.sum())

    with pytest.raises(AssertionError, match=r"expected shape \(4,\), got shape \(1, 4\)"):
        check_exercise(wrong_shape, np.arange(4.0))


def test_check_exercise_inputs_are_copied():
    @exercise(reference_scale)
    def mutating(x, factor=2.0):
        x *= factor
        return x, float(x.sum() / factor)

    x = np.arange(3.0)
    check_exercise(mutating, x)
    np.testing.assert_array_equal(x, np.arange(3.0))


def test_compare_outputs_integer_and_nan():
    problems, _ = compare_outputs(np.array([1, 2, 3]), np.array([1, 2, 4]))
    assert "1 of 3 values differ" in problems[0]
    problems, _ = compare_outputs(np.array([1.0, np.nan]), np.array([1.0, 2.0]))
    assert "NaN" in problems[0]
    problems, _ = compare_outputs(np.array([1.0, 2.0]), np.array([1, 2]))
    assert "integer" in problems[0]
    assert compare_outputs({"mode": "train", "x": np.ones(2)}, {"mode": "train", "x": np.ones(2)})[0] == []
    problems, _ = compare_outputs({"mode": "test"}, {"mode": "train"})
    assert "expected 'train', got 'test'" in problems[0]


def test_check_close_and_check_gradient():
    check_close("value", np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-12]))
    with pytest.raises(AssertionError, match="value differs"):
        check_close("value", 1.0, 1.1)
    x = np.random.default_rng(0).standard_normal((3, 4))
    check_gradient("d/dx sum(x^2)", lambda v: np.sum(v ** 2), x, 2 * x)
    with pytest.raises(AssertionError, match="numerical gradient check"):
        check_gradient("wrong", lambda v: np.sum(v ** 2), x, 3 * x)
    with pytest.raises(AssertionError, match="shape"):
        check_gradient("shape", lambda v: np.sum(v ** 2), x, x.T)


# --------------------------------------------------------------- the harness on a real kernel

def _synthetic_notebook():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import numpy as np\nfrom helpers.course.exercise import exercise, check_exercise"),
        nbformat.v4.new_code_cell("@exercise(np.add)\ndef add(x1, x2):\n"
                                  "    # YOUR CODE HERE\n    raise NotImplementedError"),
        nbformat.v4.new_code_cell("check_exercise(add, np.ones(3), np.arange(3.0))"),
    ]
    return nb


@pytest.fixture
def kernel_env(tmp_path):
    return {"CS231N_PROGRESS_FILE": str(tmp_path / "progress.json"), "CS231N_STRICT": ""}


def test_harness_finds_exercise_and_check_cell():
    nb = _synthetic_notebook()
    [ex] = find_exercises(nb)
    assert (ex.name, ex.reference, ex.call_args) == ("add", "np.add", "x1, x2")
    assert check_cell_index(nb, ex) == 2


def test_untouched_notebook_falls_back(tmp_path, kernel_env):
    nb = execute(_synthetic_notebook(), tmp_path / "x.ipynb", kernel_env)
    assert "not implemented yet" in nb.cells[2].outputs[0]["text"]


def test_solved_notebook_passes_in_strict_mode(tmp_path, kernel_env):
    strict = {**kernel_env, "CS231N_STRICT": "1"}
    nb = execute(solved(_synthetic_notebook()), tmp_path / "x.ipynb", strict)
    assert "add: OK" in nb.cells[2].outputs[0]["text"]


def test_wrong_solution_fails_check_cell(tmp_path, kernel_env):
    with pytest.raises(CellExecutionError, match="add does not match the reference"):
        execute(solved(_synthetic_notebook(), wrong={"add"}), tmp_path / "x.ipynb", kernel_env)


def test_unfinished_raises_in_strict_mode(tmp_path, kernel_env):
    with pytest.raises(CellExecutionError, match="NotFinishedError"):
        execute(_synthetic_notebook(), tmp_path / "x.ipynb", {**kernel_env, "CS231N_STRICT": "1"})


def test_progress_reads_done_state_and_recorded_checks(tmp_path, monkeypatch):
    import json

    from helpers.course.exercise import record_check
    from helpers.course.progress import course_progress

    (tmp_path / "assignment1").mkdir()
    nb = _synthetic_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("@exercise(np.subtract)\ndef sub(x1, x2):\n"
                                              "    # YOUR CODE HERE\n    return x1 - x2"))
    nbformat.write(nb, tmp_path / "assignment1" / "toy.ipynb")
    monkeypatch.setenv("CS231N_PROGRESS_FILE", str(tmp_path / "progress.json"))
    monkeypatch.setenv("CS231N_NOTEBOOK", "toy")
    record_check("sub", "pass")
    table = course_progress(tmp_path)
    assert table == {"assignment1/toy.ipynb": [("add", False, "not run"), ("sub", True, "pass")]}
    assert json.loads((tmp_path / "progress.json").read_text())["toy"]["sub"]["status"] == "pass"
