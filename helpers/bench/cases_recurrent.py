"""The benchmark cases of assignment 3's recurrent layers: rnn_forward/backward and
lstm_forward/backward of helpers.rnn_layers (NumPy, float64 and float32) against PyTorch's
nn.RNN / nn.LSTM (float64, CPU, and CUDA when a GPU is present).

Full shape: N=100 captions of T=16 steps (captions of 17 tokens, as in COCO), word vectors
D=256, hidden size H=512: CS231n's captioning model (wordvec_dim=256, hidden_dim=512) on a
minibatch of 100, the largest model the captioning notebooks train. The baseline is NumPy
float64 (the reference), so "vs naive" reads as the speedup of each implementation over it.

Flops are those of the matrix products (the elementwise gate work is not counted):
forward 2*N*T*G*H*(D+H) with G = 1 (RNN) or 4 (LSTM gates), backward twice that
(gradients with respect to the inputs and to the weights).
"""

import numpy as np

from helpers.bench.harness import Case, Impl, Target, cuda_skip, cuda_sync, import_torch

RECURRENT_SHAPE, RECURRENT_QUICK = (100, 16, 256, 512), (4, 3, 5, 6)

TARGETS = [
    Target("rnn_forward: NumPy float64 time <= 2x torch nn.RNN (CPU, float64)", "rnn_forward", "numpy",
           1 / 2, "torch_cpu"),
    Target("rnn_backward: NumPy float64 time <= 2x torch nn.RNN (CPU, float64)", "rnn_backward", "numpy",
           1 / 2, "torch_cpu"),
    Target("lstm_forward: NumPy float64 time <= 2x torch nn.LSTM (CPU, float64)", "lstm_forward", "numpy",
           1 / 2, "torch_cpu"),
    Target("lstm_backward: NumPy float64 time <= 2x torch nn.LSTM (CPU, float64)", "lstm_backward", "numpy",
           1 / 2, "torch_cpu"),
]


def _flops(shape, gates, backward):
    N, T, D, H = shape
    return (2.0 if backward else 1.0) * 2.0 * N * T * gates * H * (D + H)


def _inputs(shape, gates, dtype=np.float64):
    N, T, D, H = shape
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, T, D))
    h0 = rng.standard_normal((N, H))
    Wx = rng.standard_normal((D, gates * H)) / np.sqrt(D)
    Wh = rng.standard_normal((H, gates * H)) / np.sqrt(H)
    b = rng.standard_normal(gates * H)
    dout = rng.standard_normal((N, T, H))
    return tuple(a.astype(dtype) for a in (x, h0, Wx, Wh, b, dout))


def _numpy_impl(key, cell, shape, backward, dtype):
    from helpers import rnn_layers

    gates = 1 if cell == "rnn" else 4
    forward, backward_fn = getattr(rnn_layers, f"{cell}_forward"), getattr(rnn_layers, f"{cell}_backward")
    x, h0, Wx, Wh, b, dout = _inputs(shape, gates, dtype)
    if not backward:
        return Impl(key, lambda: forward(x, h0, Wx, Wh, b))
    cache = forward(x, h0, Wx, Wh, b)[1]
    return Impl(key, lambda: backward_fn(dout, cache))


def _torch_impl(key, cell, shape, backward, device):
    """
    nn.RNN / nn.LSTM (float64) on tensors already on `device`, weights set from the same
    arrays as NumPy's (gates reordered from CS231n's i, f, o, g to PyTorch's i, f, g, o).
    The backward call is the autograd pass alone, through a graph built once.
    """
    import torch

    gates = 1 if cell == "rnn" else 4
    N, T, D, H = shape
    x, h0, Wx, Wh, b, dout = _inputs(shape, gates)
    if cell == "lstm":
        Wx, Wh, b = (np.concatenate([w[..., :2 * H], w[..., 3 * H:], w[..., 2 * H:3 * H]], axis=-1)
                     for w in (Wx, Wh, b))
    module = (torch.nn.RNN if cell == "rnn" else torch.nn.LSTM)(D, H, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        module.weight_ih_l0.copy_(torch.tensor(Wx.T))
        module.weight_hh_l0.copy_(torch.tensor(Wh.T))
        module.bias_ih_l0.copy_(torch.tensor(b))
        module.bias_hh_l0.zero_()
    module.to(device)
    xt = torch.tensor(x, device=device, requires_grad=backward)
    h0t = torch.tensor(h0, device=device, requires_grad=backward)[None]  # (1, N, H): one layer
    state = h0t if cell == "rnn" else (h0t, torch.zeros_like(h0t))
    sync = cuda_sync if device == "cuda" else (lambda: None)

    if not backward:
        def run():
            with torch.no_grad():
                out = module(xt, state)[0]
            sync()
            return out
        return Impl(key, run)

    out = module(xt, state)[0]
    doutt = torch.tensor(dout, device=device)
    wrt = [xt, h0t, *module.parameters()]

    def run_backward():
        grads = torch.autograd.grad(out, wrt, doutt, retain_graph=True)
        sync()
        return grads
    return Impl(key, run_backward)


def _build(cell, backward):
    def build(quick: bool) -> list[Impl]:
        shape = RECURRENT_QUICK if quick else RECURRENT_SHAPE
        impls = [_numpy_impl("numpy", cell, shape, backward, np.float64),
                 _numpy_impl("numpy_float32", cell, shape, backward, np.float32)]
        torch, reason = import_torch()
        for device in ("cpu", "cuda"):
            key = f"torch_{device}"
            skip = reason if torch is None else (cuda_skip() if device == "cuda" else "")
            if skip:
                impls.append(Impl(key, None, skip=skip))
            else:
                impls.append(_torch_impl(key, cell, shape, backward, device))
        return impls

    return build


def _case_list() -> list[Case]:
    def desc(shape):
        N, T, D, H = shape
        return f"N={N} T={T} D={D} H={H} float64"

    return [Case(f"{cell}_{direction}", "assignment3", desc(RECURRENT_SHAPE),
                 _flops(RECURRENT_SHAPE, gates, direction == "backward"), _build(cell, direction == "backward"),
                 desc(RECURRENT_QUICK), _flops(RECURRENT_QUICK, gates, direction == "backward"))
            for cell, gates in (("rnn", 1), ("lstm", 4)) for direction in ("forward", "backward")]


CASES = _case_list()
