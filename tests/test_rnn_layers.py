"""Tests of helpers.rnn_layers: CS231n's published forward values, numerical gradients,
PyTorch (nn.RNNCell, nn.LSTMCell, nn.RNN, nn.LSTM, autograd) as an independent oracle,
float32 runs, the gradient-through-time measurement and bad input."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from helpers.gradient_check import eval_numerical_gradient, eval_numerical_gradient_array, rel_error
from helpers.rnn_layers import (
    hidden_gradient_norms,
    lstm_backward,
    lstm_forward,
    lstm_step_backward,
    lstm_step_forward,
    rnn_backward,
    rnn_forward,
    rnn_step_backward,
    rnn_step_forward,
    sigmoid,
    temporal_affine_backward,
    temporal_affine_forward,
    temporal_softmax_loss,
    word_embedding_backward,
    word_embedding_forward,
)

SEEDS = [0, 1, 2]


def linspace(low, high, *shape):
    return np.linspace(low, high, num=int(np.prod(shape))).reshape(shape)


def tensors(*arrays):
    return [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]


def grads_of(*ts):
    return [t.grad.numpy() for t in ts]


def torch_to_cs231n_gates(w):
    """PyTorch orders an LSTM's gates (i, f, g, o), CS231n (i, f, o, g): reorder the last axis of w (..., 4H)."""
    i, f, g, o = np.split(w, 4, axis=-1)
    return np.concatenate([i, f, o, g], axis=-1)


def cs231n_to_torch_gates(w):
    i, f, o, g = np.split(w, 4, axis=-1)
    return np.concatenate([i, f, g, o], axis=-1)


def random_sequence(rng, gates):
    N, T, D, H = (int(v) for v in rng.integers(2, 7, size=4))
    return (rng.standard_normal((N, T, D)), rng.standard_normal((N, H)),
            rng.standard_normal((D, gates * H)) / np.sqrt(D), rng.standard_normal((H, gates * H)) / np.sqrt(H),
            rng.standard_normal(gates * H), rng.standard_normal((N, T, H)))


# ----------------------------------------------------------------------------- CS231n's published values


def test_rnn_step_forward_published_values():
    N, D, H = 3, 10, 4
    next_h, _ = rnn_step_forward(linspace(-0.4, 0.7, N, D), linspace(-0.2, 0.5, N, H), linspace(-0.1, 0.9, D, H),
                                 linspace(-0.3, 0.7, H, H), linspace(-0.2, 0.4, H))
    expected_next_h = np.asarray([
        [-0.58172089, -0.50182032, -0.41232771, -0.31410098],
        [0.66854692, 0.79562378, 0.87755553, 0.92795967],
        [0.97934501, 0.99144213, 0.99646691, 0.99854353]])
    assert rel_error(expected_next_h, next_h) < 1e-8


def test_rnn_forward_published_values():
    N, T, D, H = 2, 3, 4, 5
    h, _ = rnn_forward(linspace(-0.1, 0.3, N, T, D), linspace(-0.3, 0.1, N, H), linspace(-0.2, 0.4, D, H),
                       linspace(-0.4, 0.1, H, H), linspace(-0.7, 0.1, H))
    expected_h = np.asarray([
        [[-0.42070749, -0.27279261, -0.11074945, 0.05740409, 0.22236251],
         [-0.39525808, -0.22554661, -0.0409454, 0.14649412, 0.32397316],
         [-0.42305111, -0.24223728, -0.04287027, 0.15997045, 0.35014525]],
        [[-0.55857474, -0.39065825, -0.19198182, 0.02378408, 0.23735671],
         [-0.27150199, -0.07088804, 0.13562939, 0.33099728, 0.50158768],
         [-0.51014825, -0.30524429, -0.06755202, 0.17806392, 0.40333043]]])
    assert rel_error(expected_h, h) < 1e-7


def test_word_embedding_forward_published_values():
    x = np.asarray([[0, 3, 1, 2], [2, 1, 0, 3]])
    out, _ = word_embedding_forward(x, linspace(0, 1, 5, 3))
    expected_out = np.asarray([
        [[0., 0.07142857, 0.14285714], [0.64285714, 0.71428571, 0.78571429],
         [0.21428571, 0.28571429, 0.35714286], [0.42857143, 0.5, 0.57142857]],
        [[0.42857143, 0.5, 0.57142857], [0.21428571, 0.28571429, 0.35714286],
         [0., 0.07142857, 0.14285714], [0.64285714, 0.71428571, 0.78571429]]])
    assert rel_error(expected_out, out) < 1e-7


def test_lstm_step_forward_published_values():
    N, D, H = 3, 4, 5
    next_h, next_c, _ = lstm_step_forward(
        linspace(-0.4, 1.2, N, D), linspace(-0.3, 0.7, N, H), linspace(-0.4, 0.9, N, H),
        linspace(-2.1, 1.3, D, 4 * H), linspace(-0.7, 2.2, H, 4 * H), linspace(0.3, 0.7, 4 * H))
    expected_next_h = np.asarray([
        [0.24635157, 0.28610883, 0.32240467, 0.35525807, 0.38474904],
        [0.49223563, 0.55611431, 0.61507696, 0.66844003, 0.7159181],
        [0.56735664, 0.66310127, 0.74419266, 0.80889665, 0.858299]])
    expected_next_c = np.asarray([
        [0.32986176, 0.39145139, 0.451556, 0.51014116, 0.56717407],
        [0.66382255, 0.76674007, 0.87195994, 0.97902709, 1.08751345],
        [0.74192008, 0.90592151, 1.07717006, 1.25120233, 1.42395676]])
    assert rel_error(expected_next_h, next_h) < 1e-8
    assert rel_error(expected_next_c, next_c) < 1e-8


def test_lstm_forward_published_values():
    N, D, H, T = 2, 5, 4, 3
    h, _ = lstm_forward(linspace(-0.4, 0.6, N, T, D), linspace(-0.4, 0.8, N, H), linspace(-0.2, 0.9, D, 4 * H),
                        linspace(-0.3, 0.6, H, 4 * H), linspace(0.2, 0.7, 4 * H))
    expected_h = np.asarray([
        [[0.01764008, 0.01823233, 0.01882671, 0.0194232],
         [0.11287491, 0.12146228, 0.13018446, 0.13902939],
         [0.31358768, 0.33338627, 0.35304453, 0.37250975]],
        [[0.45767879, 0.4761092, 0.4936887, 0.51041945],
         [0.6704845, 0.69350089, 0.71486014, 0.7346449],
         [0.81733511, 0.83677871, 0.85403753, 0.86935314]]])
    assert rel_error(expected_h, h) < 1e-7


@pytest.mark.parametrize("N, T, p, expected", [(100, 1, 1.0, np.log(10)), (100, 10, 1.0, 10 * np.log(10)),
                                               (5000, 10, 0.1, np.log(10))])
def test_temporal_softmax_loss_sanity_values(N, T, p, expected):
    # CS231n: about 2.3, about 23 and about 2.3 (small scores: every word has probability 1/10).
    rng = np.random.default_rng(231)
    x = 0.001 * rng.standard_normal((N, T, 10))
    y = rng.integers(10, size=(N, T))
    mask = rng.random((N, T)) <= p
    loss, _ = temporal_softmax_loss(x, y, mask)
    assert loss == pytest.approx(expected, rel=0.05)


# ----------------------------------------------------------------------------- numerical gradients


def test_rnn_step_backward_numerical():
    rng = np.random.default_rng(231)
    x, h, Wx, Wh, b = (rng.standard_normal(s) for s in ((4, 5), (4, 6), (5, 6), (6, 6), (6,)))
    out, cache = rnn_step_forward(x, h, Wx, Wh, b)
    dnext_h = rng.standard_normal(out.shape)
    grads = rnn_step_backward(dnext_h, cache)
    inputs = [x, h, Wx, Wh, b]
    for i, grad in enumerate(grads):
        def f(v, i=i):
            args = list(inputs)
            args[i] = v
            return rnn_step_forward(*args)[0]
        assert rel_error(grad, eval_numerical_gradient_array(f, inputs[i], dnext_h)) < 1e-8


def test_rnn_backward_numerical():
    rng = np.random.default_rng(231)
    N, D, T, H = 2, 3, 10, 5
    inputs = [rng.standard_normal(s) for s in ((N, T, D), (N, H), (D, H), (H, H), (H,))]
    out, cache = rnn_forward(*inputs)
    dout = rng.standard_normal(out.shape)
    for i, grad in enumerate(rnn_backward(dout, cache)):
        def f(v, i=i):
            args = list(inputs)
            args[i] = v
            return rnn_forward(*args)[0]
        assert rel_error(grad, eval_numerical_gradient_array(f, inputs[i], dout)) < 5e-7


def test_lstm_step_backward_numerical():
    rng = np.random.default_rng(231)
    N, D, H = 4, 5, 6
    inputs = [rng.standard_normal(s) for s in ((N, D), (N, H), (N, H), (D, 4 * H), (H, 4 * H), (4 * H,))]
    next_h, next_c, cache = lstm_step_forward(*inputs)
    dnext_h, dnext_c = rng.standard_normal(next_h.shape), rng.standard_normal(next_c.shape)
    dx, dh, dc, dWx, dWh, db = lstm_step_backward(dnext_h, dnext_c, cache)
    for i, grad in enumerate((dx, dh, dc, dWx, dWh, db)):
        def f_h(v, i=i):
            args = list(inputs)
            args[i] = v
            return lstm_step_forward(*args)[0]

        def f_c(v, i=i):
            args = list(inputs)
            args[i] = v
            return lstm_step_forward(*args)[1]
        num = eval_numerical_gradient_array(f_h, inputs[i], dnext_h) + eval_numerical_gradient_array(
            f_c, inputs[i], dnext_c)
        assert rel_error(grad, num) < 1e-6


def test_lstm_backward_numerical():
    rng = np.random.default_rng(231)
    N, D, T, H = 2, 3, 10, 6
    inputs = [rng.standard_normal(s) for s in ((N, T, D), (N, H), (D, 4 * H), (H, 4 * H), (4 * H,))]
    out, cache = lstm_forward(*inputs)
    dout = rng.standard_normal(out.shape)
    for i, grad in enumerate(lstm_backward(dout, cache)):
        def f(v, i=i):
            args = list(inputs)
            args[i] = v
            return lstm_forward(*args)[0]
        assert rel_error(grad, eval_numerical_gradient_array(f, inputs[i], dout)) < 1e-5


def test_word_embedding_backward_numerical():
    rng = np.random.default_rng(231)
    x = rng.integers(5, size=(50, 3))
    W = rng.standard_normal((5, 6))
    out, cache = word_embedding_forward(x, W)
    dout = rng.standard_normal(out.shape)
    dW_num = eval_numerical_gradient_array(lambda W: word_embedding_forward(x, W)[0], W, dout)
    assert rel_error(word_embedding_backward(dout, cache), dW_num) < 1e-11


def test_temporal_affine_backward_numerical():
    rng = np.random.default_rng(231)
    inputs = [rng.standard_normal(s) for s in ((2, 3, 4), (4, 5), (5,))]
    out, cache = temporal_affine_forward(*inputs)
    dout = rng.standard_normal(out.shape)
    for i, grad in enumerate(temporal_affine_backward(dout, cache)):
        def f(v, i=i):
            args = list(inputs)
            args[i] = v
            return temporal_affine_forward(*args)[0]
        assert rel_error(grad, eval_numerical_gradient_array(f, inputs[i], dout)) < 1e-8


def test_temporal_softmax_loss_numerical():
    rng = np.random.default_rng(231)
    x = rng.standard_normal((7, 8, 9))
    y = rng.integers(9, size=(7, 8))
    mask = rng.random((7, 8)) > 0.5
    _, dx = temporal_softmax_loss(x, y, mask)
    dx_num = eval_numerical_gradient(lambda x: temporal_softmax_loss(x, y, mask)[0], x, verbose=False)
    assert rel_error(dx, dx_num) < 5e-7


# ----------------------------------------------------------------------------- PyTorch as the oracle


@pytest.mark.parametrize("seed", SEEDS)
def test_rnn_step_matches_torch_rnn_cell(seed):
    rng = np.random.default_rng(seed)
    x, h0, Wx, Wh, b, dout = random_sequence(rng, gates=1)
    x, dnext = x[:, 0], dout[:, 0]
    next_h, cache = rnn_step_forward(x, h0, Wx, Wh, b)
    dx, dh, dWx, dWh, db = rnn_step_backward(dnext, cache)

    cell = torch.nn.RNNCell(*Wx.shape, dtype=torch.float64)
    with torch.no_grad():
        cell.weight_ih.copy_(torch.tensor(Wx.T))
        cell.weight_hh.copy_(torch.tensor(Wh.T))
        cell.bias_ih.copy_(torch.tensor(b))
        cell.bias_hh.zero_()
    tx, th = tensors(x, h0)
    out = cell(tx, th)
    out.backward(torch.tensor(dnext))
    np.testing.assert_allclose(next_h, out.detach().numpy(), rtol=1e-12, atol=1e-12)
    for got, want in ((dx, tx.grad.numpy()), (dh, th.grad.numpy()), (dWx, cell.weight_ih.grad.numpy().T),
                      (dWh, cell.weight_hh.grad.numpy().T), (db, cell.bias_ih.grad.numpy())):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_lstm_step_matches_torch_lstm_cell(seed):
    rng = np.random.default_rng(seed)
    x, h0, Wx, Wh, b, dout = random_sequence(rng, gates=4)
    x, dnext_h = x[:, 0], dout[:, 0]
    c0, dnext_c = rng.standard_normal(h0.shape), rng.standard_normal(h0.shape)
    next_h, next_c, cache = lstm_step_forward(x, h0, c0, Wx, Wh, b)
    dx, dh, dc, dWx, dWh, db = lstm_step_backward(dnext_h, dnext_c, cache)

    cell = torch.nn.LSTMCell(Wx.shape[0], h0.shape[1], dtype=torch.float64)
    with torch.no_grad():
        cell.weight_ih.copy_(torch.tensor(cs231n_to_torch_gates(Wx).T))
        cell.weight_hh.copy_(torch.tensor(cs231n_to_torch_gates(Wh).T))
        cell.bias_ih.copy_(torch.tensor(cs231n_to_torch_gates(b)))
        cell.bias_hh.zero_()
    tx, th, tc = tensors(x, h0, c0)
    out_h, out_c = cell(tx, (th, tc))
    torch.autograd.backward([out_h, out_c], [torch.tensor(dnext_h), torch.tensor(dnext_c)])
    np.testing.assert_allclose(next_h, out_h.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(next_c, out_c.detach().numpy(), rtol=1e-12, atol=1e-12)
    expected = (tx.grad.numpy(), th.grad.numpy(), tc.grad.numpy(),
                torch_to_cs231n_gates(cell.weight_ih.grad.numpy().T),
                torch_to_cs231n_gates(cell.weight_hh.grad.numpy().T), torch_to_cs231n_gates(cell.bias_ih.grad.numpy()))
    for got, want in zip((dx, dh, dc, dWx, dWh, db), expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_rnn_matches_torch_nn_rnn(seed):
    rng = np.random.default_rng(seed)
    x, h0, Wx, Wh, b, dout = random_sequence(rng, gates=1)
    h, cache = rnn_forward(x, h0, Wx, Wh, b)
    dx, dh0, dWx, dWh, db = rnn_backward(dout, cache)

    rnn = torch.nn.RNN(*Wx.shape, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.tensor(Wx.T))
        rnn.weight_hh_l0.copy_(torch.tensor(Wh.T))
        rnn.bias_ih_l0.copy_(torch.tensor(b))
        rnn.bias_hh_l0.zero_()
    tx, th0 = tensors(x, h0)
    out, _ = rnn(tx, th0[None])
    out.backward(torch.tensor(dout))
    np.testing.assert_allclose(h, out.detach().numpy(), rtol=1e-12, atol=1e-12)
    for got, want in ((dx, tx.grad.numpy()), (dh0, th0.grad.numpy()), (dWx, rnn.weight_ih_l0.grad.numpy().T),
                      (dWh, rnn.weight_hh_l0.grad.numpy().T), (db, rnn.bias_ih_l0.grad.numpy())):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_lstm_matches_torch_nn_lstm(seed):
    rng = np.random.default_rng(seed)
    x, h0, Wx, Wh, b, dout = random_sequence(rng, gates=4)
    h, cache = lstm_forward(x, h0, Wx, Wh, b)
    dx, dh0, dWx, dWh, db = lstm_backward(dout, cache)

    lstm = torch.nn.LSTM(Wx.shape[0], h0.shape[1], batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(torch.tensor(cs231n_to_torch_gates(Wx).T))
        lstm.weight_hh_l0.copy_(torch.tensor(cs231n_to_torch_gates(Wh).T))
        lstm.bias_ih_l0.copy_(torch.tensor(cs231n_to_torch_gates(b)))
        lstm.bias_hh_l0.zero_()
    tx, th0 = tensors(x, h0)
    out, _ = lstm(tx, (th0[None], torch.zeros_like(th0)[None]))  # CS231n's LSTM starts from c0 = 0
    out.backward(torch.tensor(dout))
    np.testing.assert_allclose(h, out.detach().numpy(), rtol=1e-12, atol=1e-12)
    expected = (tx.grad.numpy(), th0.grad.numpy(), torch_to_cs231n_gates(lstm.weight_ih_l0.grad.numpy().T),
                torch_to_cs231n_gates(lstm.weight_hh_l0.grad.numpy().T),
                torch_to_cs231n_gates(lstm.bias_ih_l0.grad.numpy()))
    for got, want in zip((dx, dh0, dWx, dWh, db), expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_word_embedding_matches_torch(seed):
    rng = np.random.default_rng(seed)
    V, D = 7, 4
    x = rng.integers(V, size=(5, 6))
    W = rng.standard_normal((V, D))
    dout = rng.standard_normal((5, 6, D))
    out, cache = word_embedding_forward(x, W)
    (tW,) = tensors(W)
    tout = F.embedding(torch.tensor(x), tW)
    tout.backward(torch.tensor(dout))
    np.testing.assert_array_equal(out, tout.detach().numpy())
    np.testing.assert_allclose(word_embedding_backward(dout, cache), tW.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_temporal_affine_matches_torch(seed):
    rng = np.random.default_rng(seed)
    x, w, b = rng.standard_normal((3, 4, 5)), rng.standard_normal((5, 6)), rng.standard_normal(6)
    dout = rng.standard_normal((3, 4, 6))
    out, cache = temporal_affine_forward(x, w, b)
    tx, tw, tb = tensors(x, w, b)
    tout = F.linear(tx, tw.T, tb)
    tout.backward(torch.tensor(dout))
    np.testing.assert_allclose(out, tout.detach().numpy(), rtol=1e-12, atol=1e-12)
    for got, want in zip(temporal_affine_backward(dout, cache), grads_of(tx, tw, tb), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_temporal_softmax_loss_matches_torch(seed):
    rng = np.random.default_rng(seed)
    N, T, V = 4, 5, 6
    x = 3 * rng.standard_normal((N, T, V))
    y = rng.integers(V, size=(N, T))
    mask = rng.random((N, T)) > 0.3
    loss, dx = temporal_softmax_loss(x, y, mask)
    (tx,) = tensors(x)
    per_word = F.cross_entropy(tx.reshape(N * T, V), torch.tensor(y.reshape(-1)), reduction="none")
    tloss = (per_word * torch.tensor(mask.reshape(-1), dtype=torch.float64)).sum() / N
    tloss.backward()
    assert loss == pytest.approx(tloss.item(), rel=1e-12)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_sigmoid_is_stable_and_matches_torch():
    x = np.array([-1000.0, -30.0, -1.0, 0.0, 2.0, 40.0, 1000.0])
    with np.errstate(all="raise"):
        out = sigmoid(x)
    np.testing.assert_allclose(out, torch.sigmoid(torch.tensor(x)).numpy(), rtol=1e-14, atol=1e-300)


# ----------------------------------------------------------------------------- float32


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_float32_inputs_stay_float32(cell):
    rng = np.random.default_rng(0)
    gates = 1 if cell == "rnn" else 4
    arrays = random_sequence(rng, gates)
    forward, backward = (rnn_forward, rnn_backward) if cell == "rnn" else (lstm_forward, lstm_backward)
    h64, cache64 = forward(*arrays[:5])
    grads64 = backward(arrays[5], cache64)
    h32, cache32 = forward(*(a.astype(np.float32) for a in arrays[:5]))
    grads32 = backward(arrays[5].astype(np.float32), cache32)
    assert h32.dtype == np.float32 and all(g.dtype == np.float32 for g in grads32)
    assert h64.dtype == np.float64 and all(g.dtype == np.float64 for g in grads64)
    np.testing.assert_allclose(h32, h64, rtol=1e-4, atol=1e-5)
    for g32, g64 in zip(grads32, grads64, strict=True):
        np.testing.assert_allclose(g32, g64, rtol=1e-3, atol=1e-4)


def test_mixed_precision_computes_in_float64():
    rng = np.random.default_rng(0)
    x, h0, Wx, Wh, b, _ = random_sequence(rng, gates=1)
    h, _ = rnn_forward(x.astype(np.float32), h0, Wx, Wh, b)
    assert h.dtype == np.float64


# ----------------------------------------------------------------------------- gradient through time


def torch_hidden_gradient_norms(cell_type, x, h0, Wx, Wh, b, dh_last):
    """The same measurement with autograd: retain every h_t's gradient in a step-by-step loop."""
    tx, tWx, tWh, tb = (torch.tensor(a) for a in (x, Wx, Wh, b))
    th = torch.tensor(h0, requires_grad=True)
    c = torch.zeros_like(th)
    hs = []
    H = h0.shape[1]
    for t in range(x.shape[1]):
        a = tx[:, t] @ tWx + th @ tWh + tb
        if cell_type == "rnn":
            th = torch.tanh(a)
        else:
            i, f, o = (torch.sigmoid(a[:, k * H:(k + 1) * H]) for k in range(3))
            c = f * c + i * torch.tanh(a[:, 3 * H:])
            th = o * torch.tanh(c)
        th.retain_grad()
        hs.append(th)
    (hs[-1] * torch.tensor(dh_last)).sum().backward()
    return np.array([h.grad.norm(dim=1).mean().item() for h in hs])


@pytest.mark.parametrize("cell_type", ["rnn", "lstm"])
@pytest.mark.parametrize("seed", SEEDS)
def test_hidden_gradient_norms_match_autograd(cell_type, seed):
    rng = np.random.default_rng(seed)
    x, h0, Wx, Wh, b, dout = random_sequence(rng, gates=1 if cell_type == "rnn" else 4)
    dh_last = dout[:, -1]
    norms = hidden_gradient_norms(x, h0, Wx, Wh, b, dh_last, cell_type=cell_type)
    assert norms.shape == (x.shape[1],)
    np.testing.assert_allclose(norms, torch_hidden_gradient_norms(cell_type, x, h0, Wx, Wh, b, dh_last),
                               rtol=1e-10)
    assert norms[-1] == pytest.approx(np.linalg.norm(dh_last, axis=1).mean())


def test_rnn_gradient_vanishes_with_small_recurrent_weights():
    # ||Wh|| < 1 and |tanh'| <= 1: every step back multiplies the gradient by less than 1.
    rng = np.random.default_rng(0)
    N, T, D, H = 4, 20, 3, 8
    Wh = rng.standard_normal((H, H))
    Wh *= 0.9 / np.linalg.norm(Wh, 2)
    norms = hidden_gradient_norms(rng.standard_normal((N, T, D)), rng.standard_normal((N, H)),
                                  rng.standard_normal((D, H)), Wh, np.zeros(H), rng.standard_normal((N, H)))
    assert np.all(np.diff(norms) > 0), "the gradient must shrink at every step back in time"
    assert norms[0] < 1e-2 * norms[-1]


# ----------------------------------------------------------------------------- bad input


def test_zero_time_steps_is_refused():
    with pytest.raises(ValueError, match=r"at least one time step.*T >= 1.*\(2, 0, 3\)"):
        rnn_forward(np.zeros((2, 0, 3)), np.zeros((2, 4)), np.zeros((3, 4)), np.zeros((4, 4)), np.zeros(4))
    with pytest.raises(ValueError, match=r"at least one time step"):
        lstm_forward(np.zeros((2, 0, 3)), np.zeros((2, 4)), np.zeros((3, 16)), np.zeros((4, 16)), np.zeros(16))


@pytest.mark.parametrize("Wx_shape, Wh_shape, b_shape, match", [
    ((3, 5), (4, 4), (4,), r"Wx must have shape \(D, H\) = \(3, 4\).*got \(3, 5\)"),
    ((3, 4), (4, 5), (4,), r"Wh must have shape \(H, H\) = \(4, 4\), got \(4, 5\)"),
    ((3, 4), (4, 4), (5,), r"b must have shape \(4,\), got \(5,\)"),
])
def test_rnn_weight_shapes_are_checked(Wx_shape, Wh_shape, b_shape, match):
    with pytest.raises(ValueError, match=match):
        rnn_forward(np.zeros((2, 3, 3)), np.zeros((2, 4)), np.zeros(Wx_shape), np.zeros(Wh_shape), np.zeros(b_shape))


def test_lstm_needs_four_gates():
    with pytest.raises(ValueError, match=r"Wx must have shape \(D, 4H\) = \(3, 16\)"):
        lstm_forward(np.zeros((2, 3, 3)), np.zeros((2, 4)), np.zeros((3, 4)), np.zeros((4, 4)), np.zeros(4))
    with pytest.raises(ValueError, match=r"prev_c must have shape \(2, 4\), got \(2, 5\)"):
        lstm_step_forward(np.zeros((2, 3)), np.zeros((2, 4)), np.zeros((2, 5)), np.zeros((3, 16)),
                          np.zeros((4, 16)), np.zeros(16))


def test_h0_and_x_must_agree():
    with pytest.raises(ValueError, match=r"h0 must have shape \(2, 4\), got \(3, 4\)"):
        rnn_forward(np.zeros((2, 3, 3)), np.zeros((3, 4)), np.zeros((3, 4)), np.zeros((4, 4)), np.zeros(4))
    with pytest.raises(ValueError, match=r"x must have shape \(N, T, D\), got \(2, 3\)"):
        rnn_forward(np.zeros((2, 3)), np.zeros((2, 4)), np.zeros((3, 4)), np.zeros((4, 4)), np.zeros(4))
    with pytest.raises(ValueError, match=r"x must have shape \(N, D\), got \(2, 1, 3\)"):
        rnn_step_forward(np.zeros((2, 1, 3)), np.zeros((2, 4)), np.zeros((3, 4)), np.zeros((4, 4)), np.zeros(4))


def test_upstream_gradient_shape_is_checked():
    _, cache = rnn_forward(np.zeros((2, 3, 3)), np.zeros((2, 4)), np.zeros((3, 4)), np.zeros((4, 4)), np.zeros(4))
    with pytest.raises(ValueError, match=r"dout must have shape \(2, 3, 4\), got \(2, 4, 3\)"):
        rnn_backward(np.zeros((2, 4, 3)), cache)


def test_word_indices_outside_the_vocabulary_are_refused():
    with pytest.raises(ValueError, match=r"x must hold word indices in 0\.\.4 \(a vocabulary of 5 words\), "
                                         r"got values in 0\.\.5"):
        word_embedding_forward(np.array([[0, 5]]), np.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"x must hold integer word indices, got dtype float64"):
        word_embedding_forward(np.array([[0.0, 1.0]]), np.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"y must hold word indices in 0\.\.2"):
        temporal_softmax_loss(np.zeros((1, 2, 3)), np.array([[0, -1]]), np.ones((1, 2), dtype=bool))


def test_mask_of_the_wrong_shape_is_refused():
    with pytest.raises(ValueError, match=r"mask must have shape \(2, 3\), got \(3, 2\)"):
        temporal_softmax_loss(np.zeros((2, 3, 4)), np.zeros((2, 3), dtype=int), np.ones((3, 2), dtype=bool))


def test_hidden_gradient_norms_bad_input():
    args = (np.zeros((2, 3, 3)), np.zeros((2, 4)), np.zeros((3, 4)), np.zeros((4, 4)), np.zeros(4))
    with pytest.raises(ValueError, match=r"cell_type must be 'rnn' or 'lstm', got 'gru'"):
        hidden_gradient_norms(*args, np.zeros((2, 4)), cell_type="gru")
    with pytest.raises(ValueError, match=r"dh_last must have shape \(2, 4\), got \(2, 3, 4\)"):
        hidden_gradient_norms(*args, np.zeros((2, 3, 4)))
