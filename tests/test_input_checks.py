"""helpers._checks: every check accepts what it should and names the argument, the expectation and
the received value when it refuses."""

import numpy as np
import pytest

from helpers import _checks as checks


@pytest.mark.parametrize("call, message", [
    (lambda: checks.as_float_array("x", np.array(["a"])), "x must be a real-valued array, got dtype <U1"),
    (lambda: checks.as_float_array("x", np.ones(2, dtype=complex)), "got dtype complex128"),
    (lambda: checks.float_dtype(np.ones(2), np.ones(2, dtype=complex)), "real-valued arrays, got dtype complex128"),
    (lambda: checks.check_shape("w", np.ones((3, 4)), (3, 5)), r"w must have shape \(3, 5\), got \(3, 4\)"),
    (lambda: checks.check_shape("b", np.ones(2), (3,)), r"b must have shape \(3,\), got \(2,\)"),
    (lambda: checks.check_shape("d", np.ones((2, 4)), ("N", 5), "to match W"),
     r"d must have shape \(N, 5\) to match W, got \(2, 4\)"),
    (lambda: checks.check_shape("d", np.ones(3), (None, 3)), r"d must have shape \(any, 3\), got \(3,\)"),
    (lambda: checks.check_ndim("x", np.ones(3), 4, "(N, C, H, W)"), r"x must have shape \(N, C, H, W\), got \(3,\)"),
    (lambda: checks.check_finite("scores", np.array([1, np.nan, np.inf])), "scores holds 2 NaN or infinite values"),
    (lambda: checks.positive_int("batch_size", 0), "batch_size must be a positive integer, got 0"),
    (lambda: checks.positive_int("batch_size", 2.0), "batch_size must be a positive integer, got 2.0"),
    (lambda: checks.positive_int("batch_size", True), "batch_size must be a positive integer, got True"),
    (lambda: checks.non_negative_int("pad", -1), "pad must be a non-negative integer, got -1"),
    (lambda: checks.positive_number("eps", 0), "eps must be a positive number, got 0"),
    (lambda: checks.positive_number("eps", float("inf")), "eps must be a positive number, got inf"),
    (lambda: checks.non_negative_number("reg", -0.5), "reg must be a finite number >= 0, got -0.5"),
    (lambda: checks.non_negative_number("reg", "0.1"), "reg must be a finite number >= 0, got '0.1'"),
    (lambda: checks.number_in("p", 0, 0, 1, low_open=True), r"p must be in \(0, 1\], got 0"),
    (lambda: checks.number_in("beta1", 1.0, 0, 1, high_open=True), r"beta1 must be in \[0, 1\), got 1.0"),
    (lambda: checks.one_of("mode", "eval", ("train", "test")), r"mode must be one of \('train', 'test'\), got 'eval'"),
    (lambda: checks.check_labels("y", np.array([0, 1]), n=3), r"y must have shape \(3,\), one label per example, "
                                                              r"got \(2,\)"),
    (lambda: checks.check_labels("y", np.array([0.0, 1.0])), "y must hold integer class labels, got dtype float64"),
    (lambda: checks.check_labels("y", np.array([0, -1])), "y must hold non-negative integer labels, got minimum -1"),
    (lambda: checks.check_labels("y", np.array([0, 3]), num_classes=3, classes_from="W has 3 columns"),
     r"y must hold labels in 0..2 \(W has 3 columns\), got range 0..3"),
    (lambda: checks.check_labels("y", np.zeros((2, 2), dtype=int)), r"1-D array of labels, got shape \(2, 2\)"),
])
def test_each_check_names_what_it_refuses(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_accepted_values_come_back_converted():
    assert checks.positive_int("n", np.int64(3)) == 3 and type(checks.positive_int("n", np.int64(3))) is int
    assert checks.non_negative_number("reg", 0) == 0.0
    assert checks.number_in("p", 1, 0, 1, low_open=True) == 1.0
    assert checks.one_of("normalization", None, (None, "batchnorm")) is None
    assert checks.as_float_array("x", np.arange(3)).dtype == np.float64
    x32 = np.ones(2, dtype=np.float32)
    assert checks.as_float_array("x", x32) is x32
    assert checks.float_dtype(x32, x32) == np.float32 and checks.float_dtype(x32, np.arange(2)) == np.float64
    np.testing.assert_array_equal(checks.check_labels("y", [2, 0], num_classes=3, n=2), [2, 0])
    checks.check_shape("d", np.ones((7, 5)), ("N", 5))


@pytest.mark.parametrize("x_shape, w_shape, conv_param, expected", [
    ((2, 3, 32, 32), (8, 3, 3, 3), {"stride": 1, "pad": 1}, (1, 1, 32, 32)),
    ((1, 1, 30, 30), (1, 1, 3, 3), {"stride": 4, "pad": 1}, (4, 1, 8, 8)),  # floored, as in PyTorch
    ((1, 2, 5, 7), (4, 2, 5, 2), {"stride": 2, "pad": 0}, (2, 0, 1, 3)),
])
def test_conv_geometry(x_shape, w_shape, conv_param, expected):
    assert checks.conv_geometry(x_shape, w_shape, (w_shape[0],), conv_param) == expected


@pytest.mark.parametrize("conv_param, message", [
    ({"stride": 0, "pad": 0}, r"conv_param\['stride'\] must be a positive integer, got 0"),
    ({"stride": 1, "pad": 1.5}, r"conv_param\['pad'\] must be a non-negative integer, got 1.5"),
    ({"stride": 1}, r"conv_param must be a dict with 'stride' and 'pad', got keys \['stride'\]"),
    ([1, 0], r"conv_param must be a dict with 'stride' and 'pad', got \[1, 0\]"),
])
def test_conv_geometry_names_the_bad_parameter(conv_param, message):
    with pytest.raises(ValueError, match=message):
        checks.conv_geometry((1, 1, 5, 5), (1, 1, 3, 3), (1,), conv_param)


def test_window_geometry_messages():
    with pytest.raises(ValueError, match=r"filter 5x5 must fit in the padded input 4x4 \(x \(1, 1, 2, 2\) with "
                                         r"padding 1\)"):
        checks.conv_geometry((1, 1, 2, 2), (1, 1, 5, 5), (1,), {"stride": 1, "pad": 1})
    with pytest.raises(ValueError, match=r"pooling window 3x2 must fit in the input 2x4 \(x \(1, 1, 2, 4\)\)"):
        checks.pool_geometry((1, 1, 2, 4), {"pool_height": 3, "pool_width": 2, "stride": 1})
    with pytest.raises(ValueError, match=r"pool_param\['pool_width'\] must be a positive integer, got 0"):
        checks.pool_geometry((1, 1, 4, 4), {"pool_height": 2, "pool_width": 0, "stride": 1})
    assert checks.pool_geometry((2, 3, 7, 6), {"pool_height": 3, "pool_width": 2, "stride": 2}) == (3, 2, 2, 3, 3)
    assert checks.window_output_size((1, 1, 4, 4), 2, 2, 0, 2) == (2, 2)
