"""The TODO-cell contract's binding (helpers.course.exercise): fallback, strict mode, classes and
methods as exercises, free caches; and the contract harness on a small synthetic notebook."""

import nbformat
import numpy as np
import pytest
import torch
from nbclient.exceptions import CellExecutionError
from notebook_tools import Bug, check_cell_index, execute, find_exercises, run_solved_with_bugs, solved

from helpers import layers
from helpers.course.checks import check_backward, check_exercise
from helpers.course.exercise import NotFinishedError, exercise, strict_mode


def reference_scale(x, factor=2.0):
    return x * factor, float(np.sum(x))


@pytest.fixture(autouse=True)
def not_strict(monkeypatch):
    monkeypatch.delenv("CS231N_STRICT", raising=False)


# ----------------------------------------------------------------------------- functions

def test_unfinished_exercise_falls_back_once_with_one_line(capsys):
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
    assert scale.used_reference and scale.todo


def test_strict_mode_raises_for_unfinished(monkeypatch):
    monkeypatch.setenv("CS231N_STRICT", "1")

    @exercise(reference_scale)
    def scale(x, factor=2.0):
        raise NotImplementedError

    with pytest.raises(NotFinishedError, match="scale is not implemented yet"):
        scale(np.ones(3))


@pytest.mark.parametrize("value, strict", [("1", True), ("TRUE", True), (" yes ", True), ("on", True),
                                           ("", False), ("0", False), ("False", False), ("off", False)])
def test_strict_variable_accepts_documented_values(monkeypatch, value, strict):
    monkeypatch.setenv("CS231N_STRICT", value)
    assert strict_mode() is strict


@pytest.mark.parametrize("value", ["y", "2", "strict", "enabled"])
def test_strict_variable_rejects_other_values(monkeypatch, value):
    monkeypatch.setenv("CS231N_STRICT", value)
    with pytest.raises(ValueError, match=f"CS231N_STRICT must be one of 1, true, yes, on .* got '{value}'"):
        strict_mode()


def test_an_unfinished_exercise_called_by_a_finished_one_names_itself_in_strict_mode(monkeypatch):
    monkeypatch.setenv("CS231N_STRICT", "1")

    @exercise(reference_scale)
    def inner(x, factor=2.0):
        raise NotImplementedError

    @exercise(reference_scale)
    def outer(x, factor=2.0):
        return inner(x, factor)

    with pytest.raises(NotFinishedError, match="^inner is not implemented yet"):
        outer(np.ones(3))


def test_other_exceptions_surface_unchanged():
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
    assert not scale.used_reference and not scale.todo


# ----------------------------------------------------------------------------- classes and methods

class Base:
    def __init__(self):
        self.initialized_by_base = True


class Reference(Base):
    """A small model: `scale` is learned, `describe` is not an exercise."""

    def __init__(self, size, scale=2.0):
        super().__init__()
        self.size, self.scale = size, scale
        self.weights = np.zeros(size)

    def forward(self, x):
        return self.scale * x + self.weights

    def train(self, x, steps=3):
        for _ in range(steps):
            self.weights = self.weights + 0.5 * x
        return self.weights.sum()

    def describe(self):
        return f"model of size {self.size}"


def test_class_methods_fall_back_one_by_one(capsys):
    @exercise(Reference)
    class Model(Base):
        def __init__(self, size, scale=2.0):
            super().__init__()  # the reference's parent, as in the learner's own class
            self.size, self.scale = size, scale
            self.weights = np.zeros(size)

        def forward(self, x):
            # YOUR CODE HERE
            raise NotImplementedError

        def train(self, x, steps=3):
            self.weights = self.weights + steps * 0.5 * x
            return self.weights.sum()

    model = Model(3)
    assert isinstance(model, Reference) and model.initialized_by_base
    assert model.describe() == "model of size 3"  # not an exercise: the reference's method
    np.testing.assert_array_equal(model.forward(np.ones(3)), 2 * np.ones(3))
    assert model.train(np.ones(3)) == pytest.approx(4.5)
    assert "Model.forward: not implemented yet" in capsys.readouterr().out
    assert Model.forward.todo and not Model.train.todo and not Model.__init__.todo
    assert set(Model.exercise_methods) == {"__init__", "forward", "train"}


def test_unfinished_init_falls_back_to_the_reference_constructor():
    @exercise(Reference)
    class Model:
        def __init__(self, size, scale=2.0):
            # YOUR CODE HERE
            raise NotImplementedError

    model = Model(4, scale=3.0)
    assert (model.size, model.scale, model.initialized_by_base) == (4, 3.0, True)


def test_strict_mode_names_the_unfinished_method(monkeypatch):
    monkeypatch.setenv("CS231N_STRICT", "1")

    @exercise(Reference)
    class Model:
        def forward(self, x):
            # YOUR CODE HERE
            raise NotImplementedError

    with pytest.raises(NotFinishedError, match="Model.forward is not implemented yet"):
        Model(2).forward(np.ones(2))


def test_torch_module_exercise_keeps_super_working():
    class Reference(torch.nn.Module):
        def __init__(self, d):
            super().__init__()
            self.linear = torch.nn.Linear(d, d)

        def forward(self, x):
            return self.linear(x).relu()

    @exercise(Reference)
    class Learner(torch.nn.Module):
        def __init__(self, d):
            super().__init__()
            self.linear = torch.nn.Linear(d, d)

        def forward(self, x):
            # YOUR CODE HERE
            raise NotImplementedError

    model = Learner(3)
    assert isinstance(model, torch.nn.Module) and len(list(model.parameters())) == 2
    assert model(torch.ones(2, 3)).shape == (2, 3)


def test_a_class_exercise_must_share_the_reference_bases():
    with pytest.raises(TypeError, match=r"class Model\(dict\) must derive from what the reference Reference"):
        @exercise(Reference)
        class Model(dict):
            pass


# ----------------------------------------------------------------------------- free caches

def batchnorm_forward_tuple_cache(x, gamma, beta, bn_param):
    """A correct batchnorm forward pass whose cache is a tuple, not the reference's dict."""
    mean, var = x.mean(axis=0), x.var(axis=0)
    x_hat = (x - mean) / np.sqrt(var + 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    bn_param["running_mean"] = momentum * bn_param.get("running_mean", np.zeros(x.shape[1])) + (1 - momentum) * mean
    bn_param["running_var"] = momentum * bn_param.get("running_var", np.zeros(x.shape[1])) + (1 - momentum) * var
    return gamma * x_hat + beta, (x_hat, gamma, var)


def batchnorm_backward_tuple_cache(dout, cache):
    x_hat, gamma, var = cache
    N = dout.shape[0]
    dbeta, dgamma = dout.sum(axis=0), np.sum(dout * x_hat, axis=0)
    dx_hat = dout * gamma
    dx = (N * dx_hat - dx_hat.sum(axis=0) - x_hat * np.sum(dx_hat * x_hat, axis=0)) / (N * np.sqrt(var + 1e-5))
    return dx, dgamma, dbeta


def _batch(seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((6, 4)) * 3 + 1, rng.standard_normal(4), rng.standard_normal(4), rng.standard_normal(
        (6, 4))


def test_a_correct_layer_with_its_own_cache_layout_passes_both_checks(capsys):
    forward = exercise(layers.batchnorm_forward)(batchnorm_forward_tuple_cache)
    backward = exercise(layers.batchnorm_backward)(batchnorm_backward_tuple_cache)
    x, gamma, beta, dout = _batch()
    check_exercise(forward, x, gamma, beta, {"mode": "train"}, output_names=("out", "cache"))
    check_backward(backward, forward, (x, gamma, beta, {"mode": "train"}), dout, tol=1e-8, grad_tol=1e-6)
    printed = capsys.readouterr().out
    assert "batchnorm_forward_tuple_cache: OK" in printed and "batchnorm_backward_tuple_cache: OK" in printed


def test_an_unfinished_backward_gets_the_reference_cache_of_a_finished_forward():
    forward = exercise(layers.batchnorm_forward)(batchnorm_forward_tuple_cache)

    @exercise(layers.batchnorm_backward)
    def batchnorm_backward(dout, cache):
        # YOUR CODE HERE
        raise NotImplementedError

    x, gamma, beta, dout = _batch(1)
    _, cache = forward(x, gamma, beta, {"mode": "train"})
    assert isinstance(cache, tuple)
    dx, dgamma, dbeta = batchnorm_backward(dout, cache)  # the reference ran, on the reference's own cache
    expected = layers.batchnorm_backward(dout, layers.batchnorm_forward(x, gamma, beta, {"mode": "train"})[1])
    for got, want in zip((dx, dgamma, dbeta), expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10)


def test_a_fallback_that_cannot_use_a_foreign_cache_says_why():
    @exercise(layers.batchnorm_backward)
    def batchnorm_backward(dout, cache):
        # YOUR CODE HERE
        raise NotImplementedError

    with pytest.raises(RuntimeError, match="the reference could not use the cache it was given"):
        batchnorm_backward(np.ones((2, 3)), ("not", "a", "cache"))


# ----------------------------------------------------------------------------- the harness on a real kernel

def _synthetic_notebook():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import numpy as np\nfrom helpers.course.checks import check_exercise\n"
                                  "from helpers.course.exercise import exercise"),
        nbformat.v4.new_code_cell("@exercise(np.add)\ndef add(x1, x2):\n"
                                  "    # YOUR CODE HERE\n    raise NotImplementedError"),
        nbformat.v4.new_code_cell("check_exercise(add, np.ones(3), np.arange(3.0))"),
    ]
    return nb


@pytest.fixture
def kernel_env(tmp_path):
    return {"CS231N_PROGRESS_FILE": str(tmp_path / "progress.json"), "CS231N_STRICT": "", "CS231N_NOTEBOOK": "toy"}


def test_harness_finds_exercise_and_check_cell():
    nb = _synthetic_notebook()
    [ex] = find_exercises(nb)
    assert (ex.name, ex.reference, ex.call_args) == ("add", "np.add", "x1, x2")
    assert check_cell_index(nb, ex) == 2


def test_untouched_notebook_falls_back(tmp_path, kernel_env):
    nb = execute(_synthetic_notebook(), tmp_path / "x.ipynb", kernel_env)
    assert "not implemented yet" in nb.cells[2].outputs[0]["text"]


def test_solved_notebook_passes_in_strict_mode(tmp_path, kernel_env):
    nb = execute(solved(_synthetic_notebook()), tmp_path / "x.ipynb", {**kernel_env, "CS231N_STRICT": "1"})
    assert "add: OK" in nb.cells[2].outputs[0]["text"]


def test_a_bug_is_caught_and_the_notebook_goes_on_with_the_solution(tmp_path, kernel_env):
    path = tmp_path / "toy.ipynb"
    nbformat.write(_synthetic_notebook(), path)
    caught = run_solved_with_bugs(path, {"add": Bug("return x1 - x2", "add does not match")}, kernel_env)
    assert "AssertionError: add does not match the reference" in caught["add"]
    assert "the output differs in 2 of 3 values" in caught["add"]


def test_unfinished_raises_in_strict_mode(tmp_path, kernel_env):
    with pytest.raises(CellExecutionError, match="NotFinishedError"):
        execute(_synthetic_notebook(), tmp_path / "x.ipynb", {**kernel_env, "CS231N_STRICT": "1"})
