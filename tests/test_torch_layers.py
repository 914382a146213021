"""torch_layers: PyTorch conv (unfold + matmul, conv2d) and max pooling against the naive layers.

Every test runs on each device PyTorch has here; CUDA cases are skipped, with the reason,
when there is no GPU.
"""

import numpy as np
import pytest
import torch
from conv_cases import naive_conv, naive_pool, random_conv_case, random_pool_case
from oracles import check_layer

from helpers import layers, torch_layers
from helpers.gradient_check import rel_error

TOL = 1e-9
DEVICES = [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here")),
]
CONV_FORWARDS = {
    "unfold": (torch_layers.conv_forward_unfold, torch_layers.conv_backward_unfold),
    "conv2d": (torch_layers.conv_forward_torch, torch_layers.conv_backward_torch),
}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("kind", list(CONV_FORWARDS))
@pytest.mark.parametrize("seed", range(8))
def test_conv_matches_naive(device, kind, seed):
    forward, backward = CONV_FORWARDS[kind]
    x, w, b, conv_param = random_conv_case(np.random.default_rng(seed))
    check_layer(lambda x, w, b: forward(x, w, b, conv_param, device=device), backward, naive_conv(conv_param),
                x, w, b, seed=seed, tol=TOL, dtype=np.float64)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("seed", range(6))
def test_max_pool_matches_naive(device, seed):
    x, pool_param = random_pool_case(np.random.default_rng(300 + seed), N=2, C=3)
    check_layer(lambda x: torch_layers.max_pool_forward_torch(x, pool_param, device=device),
                torch_layers.max_pool_backward_torch, naive_pool(pool_param), x, seed=seed, tol=TOL, dtype=np.float64)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("kind", list(CONV_FORWARDS))
def test_tensors_in_tensors_out_and_float32_kept(device, kind):
    forward, backward = CONV_FORWARDS[kind]
    rng = np.random.default_rng(7)
    x, w, b = rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    conv_param = {"stride": 1, "pad": 1}
    expected, _ = layers.conv_forward_naive(x, w, b, conv_param)

    xt, wt, bt = (torch.tensor(a, device=device) for a in (x, w, b))
    out_t, cache = forward(xt, wt, bt, conv_param)
    assert torch.is_tensor(out_t) and out_t.device.type == device and out_t.dtype == torch.float64
    dx_t, dw_t, db_t = backward(torch.ones_like(out_t), cache)
    assert torch.is_tensor(dx_t) and dx_t.shape == xt.shape and not xt.requires_grad
    assert rel_error(out_t.cpu().numpy(), expected) < TOL

    out32, cache32 = forward(*(a.astype(np.float32) for a in (x, w, b)), conv_param, device=device)
    assert out32.dtype == np.float32 and rel_error(out32, expected) < 1e-4
    assert all(g.dtype == np.float32 for g in backward(out32, cache32))


def test_cache_supports_repeated_backward_and_non_contiguous_input():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 2, 5, 7))[:, :, :, ::-1]  # negative strides: torch.from_numpy rejects these
    w, b = rng.standard_normal((3, 2, 2, 3)), rng.standard_normal(3)
    conv_param = {"stride": 2, "pad": 1}
    out, cache = layers.conv_forward_naive(x, w, b, conv_param)
    out_t, cache_t = torch_layers.conv_forward_torch(x, w, b, conv_param, device="cpu")
    assert rel_error(out_t, out) < TOL
    for scale in (1.0, -2.0):  # the same cache, twice
        dout = scale * np.ones(out.shape)
        for g, e in zip(torch_layers.conv_backward_torch(dout, cache_t), layers.conv_backward_naive(dout, cache),
                        strict=True):
            assert rel_error(g, e) < TOL


def test_bad_input_is_rejected_like_the_naive_layers():
    with pytest.raises(ValueError, match="channels"):
        torch_layers.conv_forward_torch(np.zeros((2, 3, 5, 5)), np.zeros((4, 2, 3, 3)), np.zeros(4),
                                        {"stride": 1, "pad": 0}, device="cpu")
    with pytest.raises(ValueError, match="stride"):
        torch_layers.conv_forward_unfold(np.zeros((2, 3, 5, 5)), np.zeros((4, 3, 3, 3)), np.zeros(4),
                                         {"stride": 0, "pad": 0}, device="cpu")
    with pytest.raises(ValueError, match="fit"):
        torch_layers.max_pool_forward_torch(np.zeros((1, 1, 3, 3)), {"pool_height": 4, "pool_width": 1,
                                                                     "stride": 1}, device="cpu")
    _, cache = torch_layers.conv_forward_torch(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 3, 3)), np.zeros(1),
                                               {"stride": 1, "pad": 0}, device="cpu")
    with pytest.raises(ValueError, match="dout must have shape"):
        torch_layers.conv_backward_torch(np.zeros((1, 1, 3, 3)), cache)


def test_devices():
    devices = torch_layers.available_devices()
    assert devices[0] == "cpu"
    assert ("cuda" in devices) == torch.cuda.is_available()
    assert torch_layers.default_device() == ("cuda" if torch.cuda.is_available() else "cpu")
