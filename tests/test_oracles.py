"""tests/oracles.py itself: the oracle passes a right layer and names what is wrong in a wrong one."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from oracles import check_layer, check_loss

from helpers.layers import relu_backward, relu_forward, softmax_loss


def test_check_layer_names_the_wrong_gradient():
    x = np.random.default_rng(0).standard_normal((4, 5))
    out, (dx,) = check_layer(relu_forward, relu_backward, F.relu, x, tol=0)
    assert out.shape == dx.shape == (4, 5)
    with pytest.raises(AssertionError, match=r"dx: relative error .* > 1e-09"):
        check_layer(relu_forward, lambda dout, cache: 2 * relu_backward(dout, cache), F.relu, x)
    with pytest.raises(AssertionError, match=r"out: shape \(4, 5\), expected \(4, 6\)"):
        check_layer(relu_forward, relu_backward, lambda x: F.pad(F.relu(x), (0, 1)), x)
    with pytest.raises(AssertionError, match="out: ndarray float64, expected a float32 array"):
        check_layer(relu_forward, relu_backward, F.relu, x, dtype=np.float32)


def test_check_loss_names_the_wrong_gradient():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((6, 3)), rng.integers(3, size=6)
    reference = lambda x: F.cross_entropy(x, torch.tensor(y))  # noqa: E731
    check_loss(lambda x: softmax_loss(x, y), reference, x)
    with pytest.raises(AssertionError, match=r"dx: relative error"):
        check_loss(lambda x: (softmax_loss(x, y)[0], -softmax_loss(x, y)[1]), reference, x)
    with pytest.raises(AssertionError, match=r"loss: relative error"):
        check_loss(lambda x: (1.0, softmax_loss(x, y)[1]), reference, x)
