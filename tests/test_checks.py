"""The check cells' checker (helpers.course.checks): precise sentences for every kind of wrong
result, never a crash inside the checker, hints only for what failed, nothing echoed."""

import re

import numpy as np
import pytest
import scipy.sparse
import torch

from helpers import layers
from helpers.classifiers import fc_net
from helpers.course.checks import (
    check_backward,
    check_close,
    check_exercise,
    check_gradient,
    compare_outputs,
)
from helpers.course.exercise import exercise
from helpers.pytorch import modules


@pytest.fixture(autouse=True)
def not_strict(monkeypatch):
    monkeypatch.delenv("CS231N_STRICT", raising=False)


def reference_loss(W, X, reg):
    """A toy loss: (loss, dW) of 0.5 * sum((X @ W)^2) + reg * sum(W^2)."""
    scores = X @ W
    return 0.5 * float(np.sum(scores ** 2)) + reg * float(np.sum(W * W)), X.T @ scores + 2 * reg * W


W0 = np.arange(6.0).reshape(3, 2) / 10
X0 = np.arange(12.0).reshape(4, 3) / 5


def failure(fn, *args, **kwargs) -> str:
    with pytest.raises(AssertionError) as info:
        check_exercise(fn, *args, **kwargs)
    return str(info.value)


def bound(body):
    """An exercise of reference_loss whose learner body is `body`."""
    return exercise(reference_loss)(body)


def test_a_passing_check_prints_one_line_and_returns_nothing(capsys):
    def loss(W, X, reg):
        return reference_loss(W, X, reg)

    assert check_exercise(bound(loss), W0, X0, 0.1, output_names=("loss", "dW")) is None
    printed = capsys.readouterr().out.strip().splitlines()
    assert len(printed) == 1 and printed[0].startswith("[check] loss: OK")


def test_missing_return():
    def loss(W, X, reg):
        reference_loss(W, X, reg)

    message = failure(bound(loss), W0, X0, 0.1, output_names=("loss", "dW"))
    assert "loss returned None: is a `return` statement missing? It should return (loss, dW)" in message


def test_a_list_where_an_array_is_promised():
    def loss(W, X, reg):
        value, dW = reference_loss(W, X, reg)
        return value, dW.tolist()

    message = failure(bound(loss), W0, X0, 0.1, output_names=("loss", "dW"))
    assert "dW is a list, but a NumPy array is expected (convert it with np.array; its values match)" in message
    assert "What matched: loss." in message


def test_a_scalar_an_array_a_sparse_matrix_and_a_short_tuple():
    def scalar_dw(W, X, reg):
        return reference_loss(W, X, reg)[0], 0.0

    message = failure(bound(scalar_dw), W0, X0, 0.1, output_names=("loss", "dW"))
    assert "dW has shape (), expected (3, 2)" in message

    def array_loss(W, X, reg):
        value, dW = reference_loss(W, X, reg)
        return np.full(3, value), dW

    assert "loss should be a single number, got an array of shape (3,)" in failure(
        bound(array_loss), W0, X0, 0.1, output_names=("loss", "dW"))

    def sparse_dw(W, X, reg):
        value, dW = reference_loss(W, X, reg)
        return value, scipy.sparse.csr_matrix(dW)

    assert "dW is a scipy sparse matrix: return a dense NumPy array" in failure(
        bound(sparse_dw), W0, X0, 0.1, output_names=("loss", "dW"))

    def short(W, X, reg):
        return (reference_loss(W, X, reg)[0],)

    assert "short should return a tuple (loss, dW), got a tuple of 1 item" in failure(
        bound(short), W0, X0, 0.1, output_names=("loss", "dW"))


def test_nan_and_inf_are_counted_and_located():
    def loss(W, X, reg):
        value, dW = reference_loss(W, X, reg)
        dW = dW.copy()
        dW[1, 0], dW[2, 1] = np.nan, np.inf
        return value, dW

    message = failure(bound(loss), W0, X0, 0.1, output_names=("loss", "dW"))
    assert "dW holds 1 NaN and 1 infinite values (first at (1, 0))" in message


def test_a_float_mismatch_counts_the_differences_and_names_the_worst_index_plainly():
    def loss(W, X, reg):
        value, dW = reference_loss(W, X, reg)
        return value, dW + np.array([[0, 0], [0, 1.0], [0, 0]])

    message = failure(bound(loss), W0, X0, 0.1, output_names=("loss", "dW"))
    assert "dW differs in 1 of 6 values" in message and "worst at (1, 1)" in message
    assert "np.int64" not in message and "What matched: loss." in message


def test_hints_follow_what_failed():
    hints = {"loss": "look at the regularization term", "dW": "look at the gradient"}

    def wrong_loss(W, X, reg):
        value, dW = reference_loss(W, X, reg)
        return value + reg * float(np.sum(W * W)), dW

    message = failure(bound(wrong_loss), W0, X0, 0.1, output_names=("loss", "dW"), hints=hints, hint="general")
    assert "Hint (loss): look at the regularization term" in message and "look at the gradient" not in message
    assert "Hint: general" in message


def test_integer_results_accept_whole_floats_and_refuse_fractions():
    def reference_predict(scores):
        return np.argmax(scores, axis=1)

    @exercise(reference_predict)
    def whole(scores):
        return np.argmax(scores, axis=1).astype(float)

    check_exercise(whole, np.eye(3))

    @exercise(reference_predict)
    def fraction(scores):
        return np.argmax(scores, axis=1) + 0.5

    assert "should hold whole numbers (e.g. class labels, dtype int64), got 0.5 at (0,)" in failure(fraction, np.eye(3))


def test_an_integer_array_where_floats_are_expected_is_named():
    problems, _ = compare_outputs(np.array([1, 2]), np.array([1.5, 2.5]))
    assert "it has the integer dtype int64: was a result stored in an integer array?" in problems[0]


def test_strings_and_objects_do_not_crash_the_checker():
    problems, _ = compare_outputs(np.array(["a", "b"]), np.array([1.0, 2.0]))
    assert "should hold numbers" in problems[0]
    problems, _ = compare_outputs(object(), np.array([1.0, 2.0]))
    assert "should hold numbers" in problems[0] or "should be numbers" in problems[0]
    problems, _ = compare_outputs({"mode": "test"}, {"mode": "train"})
    assert "['mode'] should be 'train', got the string 'test'" in problems[0]


def test_torch_tensors_are_compared_as_arrays():
    problems, err = compare_outputs(torch.ones(2, requires_grad=True) * 2, np.array([2.0, 2.0]))
    assert problems == [] and err == 0.0


def test_an_input_modified_in_place_is_caught():
    def reference_step(w, dw, learning_rate):
        return w - learning_rate * dw

    @exercise(reference_step)
    def sgd_step(w, dw, learning_rate):
        w -= learning_rate * dw
        return w

    message = failure(sgd_step, np.ones(3), np.ones(3), 0.1)
    assert "`w` was modified in place" in message and "What matched: the output." in message


def test_a_dict_entry_the_reference_updates_must_be_updated():
    @exercise(layers.batchnorm_forward)
    def batchnorm_forward(x, gamma, beta, bn_param):
        mean, var = x.mean(axis=0), x.var(axis=0)
        return gamma * (x - mean) / np.sqrt(var + 1e-5) + beta, None  # forgets the running averages

    x = np.random.default_rng(0).standard_normal((5, 3))
    message = failure(batchnorm_forward, x, np.ones(3), np.zeros(3), {"mode": "train"},
                      output_names=("out", "cache"))
    assert "bn_param['running_mean'] is not set after the call: the reference stores it there" in message


def test_a_method_is_checked_on_copies_and_the_state_it_leaves_is_compared():
    @exercise(fc_net.TwoLayerNet)
    class TwoLayerNet:
        def loss(self, X, y=None):
            scores = X @ self.params["W1"]  # the ReLU and the second layer are missing
            return scores

    model = TwoLayerNet(input_dim=4, hidden_dim=3, num_classes=3, seed=0)
    before = {k: v.copy() for k, v in model.params.items()}
    message = failure(model.loss, np.ones((2, 4)))
    assert "TwoLayerNet.loss does not match the reference" in message and "the output has shape (2, 3)" not in message
    for k in before:
        np.testing.assert_array_equal(model.params[k], before[k])


def test_a_constructor_is_checked_by_shapes_constants_and_distributions():
    @exercise(fc_net.TwoLayerNet)
    class TwoLayerNet:
        def __init__(self, input_dim=3 * 32 * 32, hidden_dim=100, num_classes=10, weight_scale=1e-3, reg=0.0,
                     seed=None, layers=None):
            rng = np.random.default_rng(seed)
            self.reg, self.input_dim, self.num_classes = reg, input_dim, num_classes
            self.layers = fc_net.TwoLayerNet(input_dim, hidden_dim, num_classes).layers
            self.params = {"W1": rng.standard_normal((input_dim, hidden_dim)),  # weight_scale forgotten
                           "b1": np.ones(hidden_dim),  # biases must start at zero
                           "W2": weight_scale * rng.standard_normal((hidden_dim, num_classes))}

    message = failure(TwoLayerNet, input_dim=50, hidden_dim=40, num_classes=10, weight_scale=1e-2, seed=3)
    assert "TwoLayerNet.__init__ does not match the reference" in message
    assert re.search(r"self.params\['W1'\] has mean \S+ and standard deviation 0.99\d*, but the reference draws "
                     r"values with mean \S+ and standard deviation 0.0099", message)
    assert "self.params['b1'] should start as all 0, got all 1" in message
    assert "self.params lacks the key 'b2'" in message or "self.params['b2'] is missing" in message


def test_a_correct_random_initialization_passes_even_for_a_few_values():
    # Ten biases drawn by nn.Linear's default: the sample means of two draws differ by chance alone.
    @exercise(modules.TwoLayerFC)
    class TwoLayerFC(torch.nn.Module):
        def __init__(self, input_size, hidden_size, num_classes):
            super().__init__()
            self.fc1 = torch.nn.Linear(input_size, hidden_size)
            self.fc2 = torch.nn.Linear(hidden_size, num_classes)
            torch.nn.init.kaiming_normal_(self.fc1.weight)
            torch.nn.init.kaiming_normal_(self.fc2.weight)

    for seed in range(20):
        torch.manual_seed(seed)
        check_exercise(TwoLayerFC, 30, 20, 10)


def test_a_module_result_is_compared_by_its_parameters():
    @exercise(modules.three_layer_convnet_sequential)
    def three_layer_convnet_sequential(in_channel, channel_1, channel_2, num_classes):
        return torch.nn.Sequential(  # PyTorch's default initialization instead of Kaiming normal
            torch.nn.Conv2d(in_channel, channel_1, 5, padding=2), torch.nn.ReLU(),
            torch.nn.Conv2d(channel_1, channel_2, 3, padding=1), torch.nn.ReLU(),
            torch.nn.Flatten(), torch.nn.Linear(channel_2 * 32 * 32, num_classes))

    message = failure(three_layer_convnet_sequential, 3, 12, 8, 10)
    assert re.search(r"the output parameter '0.weight' has mean \S+ and standard deviation", message)
    assert "the output parameter '0.bias' should start as all 0" in message

    @exercise(modules.three_layer_convnet_sequential)
    def one_layer(in_channel, channel_1, channel_2, num_classes):
        return torch.nn.Linear(3, 3)

    message = failure(one_layer, 3, 12, 8, 10)
    assert "the output parameter '0.weight' is missing" in message and "does not: 'bias', 'weight'" in message

    @exercise(modules.three_layer_convnet_sequential)
    def not_a_module(in_channel, channel_1, channel_2, num_classes):
        return [torch.nn.Conv2d(in_channel, channel_1, 5, padding=2)]

    assert "the output should be a torch.nn.Module (Sequential), got a list of 1 item" in failure(not_a_module, 3, 4,
                                                                                                   2, 10)


def test_a_list_or_tuple_of_numbers_matches_the_same_numbers():
    def history(n):
        return [float(i) / 3 for i in range(n)]

    @exercise(history)
    def as_tuple(n):
        return tuple(float(i) / 3 for i in range(n))

    check_exercise(as_tuple, 4)

    @exercise(history)
    def as_array(n):
        return np.arange(n) / 3

    assert "the output is a NumPy array, but a list of numbers is expected" in failure(as_array, 4)

    @exercise(history)
    def one_short(n):
        return history(n - 1)

    assert "the output has shape (3,), expected (4,)" in failure(one_short, 4)


def test_check_backward_catches_a_gradient_that_disagrees_with_the_reference():
    @exercise(layers.affine_backward)
    def affine_backward(dout, cache):
        x, w, b = cache
        return dout @ w.T, x.T @ dout, dout.sum(axis=0) / len(dout)  # db averaged instead of summed

    rng = np.random.default_rng(0)
    inputs = (rng.standard_normal((5, 4)), rng.standard_normal((4, 3)), rng.standard_normal(3))
    with pytest.raises(AssertionError) as info:
        check_backward(affine_backward, layers.affine_forward, inputs, rng.standard_normal((5, 3)))
    message = str(info.value)
    assert "db differs in 3 of 3 values" in message and "What matched: dx, dw." in message


def test_check_backward_compares_with_finite_differences_of_the_learner_forward():
    @exercise(layers.relu_forward)
    def relu_forward(x):
        return np.maximum(0, x) * 2, x  # forward scaled by 2: a correct backward disagrees with it

    @exercise(layers.relu_backward)
    def relu_backward(dout, cache):
        return dout * (cache > 0)

    x = np.random.default_rng(1).standard_normal((3, 4))
    with pytest.raises(AssertionError, match=r"dx \(against finite differences of the forward pass\)"):
        check_backward(relu_backward, relu_forward, (x,), np.ones((3, 4)))


def test_check_close_and_check_gradient_never_crash_on_bad_values():
    check_close("value", np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-12]))
    with pytest.raises(AssertionError, match="value is 1, expected 1.1"):
        check_close("value", 1.0, 1.1)
    with pytest.raises(AssertionError, match="is None: is a `return` statement missing"):
        check_close("scores", None, np.ones(2))
    x = np.random.default_rng(0).standard_normal((3, 4))
    check_gradient("d/dx sum(x^2)", lambda v: np.sum(v ** 2), x, 2 * x)
    with pytest.raises(AssertionError, match="numerical gradient check"):
        check_gradient("wrong", lambda v: np.sum(v ** 2), x, 3 * x)
    with pytest.raises(AssertionError, match=r"has shape \(4, 3\), expected \(3, 4\)"):
        check_gradient("shape", lambda v: np.sum(v ** 2), x, x.T)
    with pytest.raises(AssertionError, match="is a list, but a NumPy array is expected"):
        check_gradient("list", lambda v: np.sum(v ** 2), x, (2 * x).tolist())


def test_check_exercise_refuses_what_is_not_an_exercise():
    with pytest.raises(TypeError, match="check_exercise needs something bound with @exercise"):
        check_exercise(np.add, 1, 2)


def test_an_object_output_is_compared_by_what_it_holds():
    from helpers.classifiers import linear_classifier

    def reference_best(W):
        model = linear_classifier.LinearSVM()
        model.W = W * 2
        return model, 0.5

    @exercise(reference_best)
    def best(W):
        model = linear_classifier.LinearSVM()
        model.W = W  # forgot the training
        return model, 0.5

    message = failure(best, np.ones((3, 2)), output_names=("best_model", "best_val"))
    assert "best_model.W differs in 6 of 6 values" in message and "What matched: best_val." in message

    @exercise(reference_best)
    def wrong_kind(W):
        return {"W": W * 2}, 0.5

    message = failure(wrong_kind, np.ones((3, 2)), output_names=("best_model", "best_val"))
    assert "best_model should be a LinearSVM object, got a dict with keys ['W']" in message


def test_a_list_output_is_compared_with_a_list_reference():
    def reference_history(n):
        return [float(i) / 3 for i in range(n)], {"acc": [0.5, 0.25]}

    @exercise(reference_history)
    def history(n):
        return [float(i) / 3 for i in range(n)], {"acc": [0.5, 0.25]}

    check_exercise(history, 4, output_names=("losses", "stats"))

    @exercise(reference_history)
    def short_history(n):
        return [float(i) / 3 for i in range(n - 1)], {"acc": [0.5, 0.25]}

    message = failure(short_history, 4, output_names=("losses", "stats"))
    assert "losses has shape (3,), expected (4,)" in message
