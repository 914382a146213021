"""Library boundaries (issue 8, item 10): each bad input gets a ValueError naming what was expected
and what was received, never a NumPy error from deep inside, a warning, or a silent result."""

import warnings

import numpy as np
import pytest

from helpers import fast_layers, layers, optim
from helpers.classifiers import k_nearest_neighbor, linear_svm
from helpers.classifiers.fc_net import FullyConnectedNet
from helpers.solver import Solver

STRINGS = np.array([["a", "b"], ["c", "d"]])


def _solver_data(y_val):
    return {"X_train": np.ones((6, 4)), "y_train": np.zeros(6, dtype=int), "X_val": np.ones((2, 4)), "y_val": y_val}


CASES = {
    "svm_loss, empty batch": (lambda: layers.svm_loss(np.zeros((0, 3)), np.zeros(0, int)),
                              r"x must hold at least one example .* got shape \(0, 3\)"),
    "softmax_loss, empty batch": (lambda: layers.softmax_loss(np.zeros((0, 3)), np.zeros(0, int)),
                                  r"x must hold at least one example"),
    "svm_loss_vectorized, strings": (lambda: linear_svm.svm_loss_vectorized(STRINGS, np.ones((3, 2)),
                                                                            np.array([0, 1, 0]), 0.1),
                                     r"W must be a real-valued array, got dtype <U1"),
    "optim.sgd, strings": (lambda: optim.sgd(np.array(["a", "b"]), np.ones(2)), r"sgd: w must be a real-valued array"),
    "spatial_groupnorm_forward, strings": (
        lambda: layers.spatial_groupnorm_forward(np.full((1, 1, 1, 1), "a"), np.ones((1, 1, 1, 1)),
                                                 np.zeros((1, 1, 1, 1)), 1, {}), r"x must be a real-valued array"),
    "predict_labels, NaN distances": (lambda: k_nearest_neighbor.predict_labels(np.array([[np.nan, 1.0]]),
                                                                                np.array([3, 4])),
                                      r"dists holds 1 NaN distances \(first at \(0, 0\)\)"),
    "conv_forward_naive, conv_param None": (
        lambda: layers.conv_forward_naive(np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2)), np.ones(1), None),
        r"conv_param must be a dict with 'stride' and 'pad', got None"),
    "adam, learning rate as a string": (lambda: optim.adam(np.ones(2), np.ones(2), {"learning_rate": "0.1"}),
                                        r"adam: learning_rate must be a finite number >= 0, got '0.1'"),
    "adam, epsilon 0": (lambda: optim.adam(np.ones(2), np.zeros(2), {"epsilon": 0.0}),
                        r"adam: epsilon must be a positive number, got 0.0"),
    "rmsprop, epsilon 0": (lambda: optim.rmsprop(np.ones(2), np.zeros(2), {"epsilon": 0.0}),
                           r"rmsprop: epsilon must be a positive number"),
    "spatial_groupnorm_forward, eps -1": (
        lambda: layers.spatial_groupnorm_forward(np.ones((1, 2, 2, 2)), np.ones((1, 2, 1, 1)), np.zeros((1, 2, 1, 1)),
                                                 1, {"eps": -1}), r"eps'\] must be a positive number, got -1"),
    "Solver, validation labels outside 0..C-1": (
        lambda: Solver(FullyConnectedNet([5], input_dim=4, num_classes=3), _solver_data(np.array([5, 7])),
                       verbose=False), r"y_val must hold labels in 0..2, got values in 5..7|got range 5..7"),
    "Solver, string validation labels": (
        lambda: Solver(FullyConnectedNet([5], input_dim=4, num_classes=3), _solver_data(np.array(["a", "b"])),
                       verbose=False), r"y_val must hold integer class labels, got dtype <U1"),
    "fast conv, empty image": (lambda: fast_layers.conv_forward_fast(np.ones((1, 1, 0, 0)), np.ones((1, 1, 1, 1)),
                                                                     np.ones(1), {"stride": 1, "pad": 0}),
                               r"filter 1x1 must fit in the input 0x0"),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_a_clear_value_error(case):
    call, message = CASES[case]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning and a NaN result are not an answer
        with pytest.raises(ValueError, match=message):
            call()


@pytest.mark.skipif(not fast_layers.cython_available(), reason="the Cython extension is not built")
def test_the_cython_im2col_refuses_a_list_as_out_and_an_empty_image():
    from helpers.im2col_cython import col2im_cython, im2col_cython

    with pytest.raises(ValueError, match="out must be a NumPy array \\(or None\\), got list"):
        im2col_cython(np.ones((1, 1, 3, 3)), 2, 2, 0, 1, out=[1, 2])
    with pytest.raises(ValueError, match="out must be a NumPy array"):
        col2im_cython(np.ones((1, 4, 4)), 1, 1, 3, 3, 2, 2, 0, 1, out=[1, 2])
    with pytest.raises(ValueError, match=r"x must have at least one entry along every axis, got shape \(1, 1, 0, 0\)"):
        im2col_cython(np.ones((1, 1, 0, 0)), 1, 1, 0, 1)
