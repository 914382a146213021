"""Layers of recurrent networks: vanilla RNN and LSTM cells, one step and a whole sequence,
word embeddings, and the temporal (per time step) affine layer and softmax loss.

Names, signatures and return conventions follow the CS231n starter code: every
`*_forward` returns `(out, cache)` (the LSTM step returns `(next_h, next_c, cache)`) and
the matching `*_backward(dout, cache)` returns the gradients in the order of the forward
inputs. Shapes: N sequences (the minibatch), T time steps, D input size, H hidden size,
V vocabulary size, M output size.

Speed. The sequence layers do the work that does not depend on the previous hidden state
outside the time loop: the input projection x_t Wx of every step is one (N*T, D) x (D, H)
product before the loop (for the LSTM (D, 4H): all four gates at once), and in backward the
gradients with respect to x, Wx and Wh are one product each after the loop. Inside the
loop each step does a single (N, H) x (H, H) (LSTM: (H, 4H)) product, and the gates are
updated in place. Arrays are kept time-major inside, so every step reads contiguous memory.
The loop's products are small, and a multi-threaded BLAS spends more time synchronizing its
threads on them than computing (many times more on a busy machine): the loops run them on one
thread (helpers._blas.blas_threads_for).

Precision. Everything is computed in float64, unless every floating-point input is float32:
then it stays float32 (twice as fast for the products, about 1e-7 relative precision,
enough for training but not for numerical gradient checks).
"""

import numpy as np
from scipy.special import expit

from helpers._blas import blas_threads_for
from helpers._checks import as_float_array, check_ndim, check_shape, float_dtype

# ----------------------------------------------------------------------------- validation


def _recurrent_inputs(x, h0, Wx, Wh, b, gates, h0_name="h0"):
    """
    Validate the inputs of a recurrent layer over a sequence and cast them to one float dtype.

    `gates` is 1 for the vanilla RNN and 4 for the LSTM (Wx, Wh and b then hold the four
    gates side by side).
    """
    x, h0, Wx, Wh, b = (as_float_array(name, a) for name, a in
                        (("x", x), (h0_name, h0), ("Wx", Wx), ("Wh", Wh), ("b", b)))
    check_ndim("x", x, 3, "(N, T, D)")
    N, T, D = x.shape
    if T < 1:
        raise ValueError(f"x must hold at least one time step: shape (N, T, D) with T >= 1, got {x.shape}")
    check_ndim(h0_name, h0, 2, "(N, H)")
    H = h0.shape[1]
    check_shape(h0_name, h0, (N, H))
    width = "H" if gates == 1 else "4H"
    if Wx.shape != (D, gates * H):
        raise ValueError(f"Wx must have shape (D, {width}) = ({D}, {gates * H}) for inputs of size D = {D} "
                         f"and hidden size H = {H}, got {Wx.shape}")
    if Wh.shape != (H, gates * H):
        raise ValueError(f"Wh must have shape (H, {width}) = ({H}, {gates * H}), got {Wh.shape}")
    check_shape("b", b, (gates * H,))
    dtype = float_dtype(x, h0, Wx, Wh, b)
    return tuple(a.astype(dtype, copy=False) for a in (x, h0, Wx, Wh, b))


def _step_inputs(x, prev_h, Wx, Wh, b, gates, prev_c=None):
    """Validate the inputs of one recurrent step: x (N, D), prev_h (N, H), Wx, Wh, b as above."""
    x = as_float_array("x", x)
    check_ndim("x", x, 2, "(N, D)")
    x_seq, prev_h, Wx, Wh, b = _recurrent_inputs(x[:, None, :], prev_h, Wx, Wh, b, gates, h0_name="prev_h")
    arrays = [x_seq[:, 0, :], prev_h, Wx, Wh, b]
    if prev_c is not None:
        prev_c = as_float_array("prev_c", prev_c)
        check_shape("prev_c", prev_c, prev_h.shape)
        arrays.append(prev_c.astype(prev_h.dtype, copy=False))
    return arrays


def _upstream(name, dout, shape, dtype):
    """The upstream gradient as an array of `shape`, in the dtype of the forward pass."""
    dout = as_float_array(name, dout)
    check_shape(name, dout, shape)
    return dout.astype(dtype, copy=False)


def sigmoid(x):
    """
    A numerically stable version of the logistic sigmoid function, 1 / (1 + exp(-x)):
    scipy.special.expit, which never overflows and keeps full relative precision
    for very negative x.

    Inputs:
    - x: Array of any shape

    Returns:
    - Array of the shape of x with values in [0, 1]
    """
    return expit(as_float_array("x", x))


# ----------------------------------------------------------------------------- vanilla RNN


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    """
    Run the forward pass for a single timestep of a vanilla RNN that uses a tanh
    activation function.

    The input data has dimension D, the hidden state has dimension H, and we use
    a minibatch size of N.

    Inputs:
    - x: Input data for this timestep, of shape (N, D)
    - prev_h: Hidden state from previous timestep, of shape (N, H)
    - Wx: Weight matrix for input-to-hidden connections, of shape (D, H)
    - Wh: Weight matrix for hidden-to-hidden connections, of shape (H, H)
    - b: Biases of shape (H,)

    Returns a tuple of:
    - next_h: Next hidden state, tanh(x Wx + prev_h Wh + b), of shape (N, H)
    - cache: Tuple of values needed for the backward pass
    """
    x, prev_h, Wx, Wh, b = _step_inputs(x, prev_h, Wx, Wh, b, gates=1)
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    cache = (x, prev_h, Wx, Wh, next_h)
    return next_h, cache


def rnn_step_backward(dnext_h, cache):
    """
    Backward pass for a single timestep of a vanilla RNN.

    Inputs:
    - dnext_h: Gradient of loss with respect to next hidden state, of shape (N, H)
    - cache: Cache object from the forward pass

    Returns a tuple of:
    - dx: Gradients of input data, of shape (N, D)
    - dprev_h: Gradients of previous hidden state, of shape (N, H)
    - dWx: Gradients of input-to-hidden weights, of shape (D, H)
    - dWh: Gradients of hidden-to-hidden weights, of shape (H, H)
    - db: Gradients of bias vector, of shape (H,)
    """
    x, prev_h, Wx, Wh, next_h = cache
    dnext_h = _upstream("dnext_h", dnext_h, next_h.shape, next_h.dtype)
    # tanh'(a) = 1 - tanh(a)^2, read off the output instead of recomputing tanh.
    da = dnext_h * (1 - next_h * next_h)  # (N, H)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def rnn_forward(x, h0, Wx, Wh, b):
    """
    Run a vanilla RNN forward on an entire sequence of data.

    We assume an input sequence composed of T vectors, each of dimension D. The RNN uses
    a hidden size of H, and we work over a minibatch containing N sequences. After
    running the RNN forward, we return the hidden states for all timesteps.

    Inputs:
    - x: Input data for the entire timeseries, of shape (N, T, D), T >= 1
    - h0: Initial hidden state, of shape (N, H)
    - Wx: Weight matrix for input-to-hidden connections, of shape (D, H)
    - Wh: Weight matrix for hidden-to-hidden connections, of shape (H, H)
    - b: Biases of shape (H,)

    Returns a tuple of:
    - h: Hidden states for the entire timeseries, of shape (N, T, H)
    - cache: Values needed in the backward pass
    """
    x, h0, Wx, Wh, b = _recurrent_inputs(x, h0, Wx, Wh, b, gates=1)
    N, T, D = x.shape
    H = h0.shape[1]
    x_tm = x.transpose(1, 0, 2).reshape(T * N, D)  # (T*N, D), time-major
    # The input projections of all steps at once; the loop adds the recurrent term in place.
    hs = (x_tm @ Wx + b).reshape(T, N, H)  # (T, N, H)
    prev_h = h0
    with blas_threads_for(2.0 * N * H * H):
        for t in range(T):
            hs[t] += prev_h @ Wh
            np.tanh(hs[t], out=hs[t])
            prev_h = hs[t]
    h = np.ascontiguousarray(hs.transpose(1, 0, 2))  # (N, T, H)
    cache = ("rnn", x_tm, h0, Wx, Wh, hs)
    return h, cache


def _rnn_backward(dout, cache):
    """rnn_backward, also returning dh_states (T, N, H): the gradient with respect to each h_t."""
    _, x_tm, h0, Wx, Wh, hs = cache
    T, N, H = hs.shape
    dout_tm = _upstream("dout", dout, (N, T, H), hs.dtype).transpose(1, 0, 2)  # (T, N, H)
    da = np.empty_like(hs)  # (T, N, H): gradient at the tanh's input, per step
    dh_states = np.empty_like(hs)
    dh_next = np.zeros_like(h0)
    with blas_threads_for(2.0 * N * H * H):
        for t in range(T - 1, -1, -1):
            # h_t feeds the output at step t and the next step: its gradient is the sum of both.
            dh = dh_states[t]
            np.add(dout_tm[t], dh_next, out=dh)
            np.multiply(dh, 1 - hs[t] * hs[t], out=da[t])
            dh_next = da[t] @ Wh.T
    da_flat = da.reshape(T * N, H)  # (T*N, H)
    h_prev = np.concatenate([h0[None], hs[:-1]]).reshape(T * N, H)  # (T*N, H): h_{t-1} of every step
    dx = (da_flat @ Wx.T).reshape(T, N, -1).transpose(1, 0, 2)  # (N, T, D)
    grads = (np.ascontiguousarray(dx), dh_next, x_tm.T @ da_flat, h_prev.T @ da_flat, da_flat.sum(axis=0))
    return grads, dh_states


def rnn_backward(dout, cache):
    """
    Compute the backward pass for a vanilla RNN over an entire sequence of data.

    Inputs:
    - dout: Upstream gradients of all hidden states, of shape (N, T, H)
    - cache: Cache object from rnn_forward

    NOTE: 'dout' refers to the upstream gradients produced by individual losses at
    each timestep, *not* the gradients being passed between timesteps (which you'll
    have to compute yourself by calling rnn_step_backward in a loop).

    Returns a tuple of:
    - dx: Gradient of inputs, of shape (N, T, D)
    - dh0: Gradient of initial hidden state, of shape (N, H)
    - dWx: Gradient of input-to-hidden weights, of shape (D, H)
    - dWh: Gradient of hidden-to-hidden weights, of shape (H, H)
    - db: Gradient of biases, of shape (H,)
    """
    return _rnn_backward(dout, cache)[0]


# ----------------------------------------------------------------------------- LSTM


def _lstm_cell_(a, prev_c, next_c, tanh_c, next_h):
    """
    The LSTM update from activations `a` (N, 4H) = [a_i, a_f, a_o, a_g], turned in place
    into the gates [i, f, o, g] = [sigmoid, sigmoid, sigmoid, tanh]. Writes next_c,
    tanh(next_c) and next_h, each (N, H), into the arrays given.
    """
    H = prev_c.shape[1]
    expit(a[:, :3 * H], out=a[:, :3 * H])
    np.tanh(a[:, 3 * H:], out=a[:, 3 * H:])
    i, f, o, g = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
    np.multiply(f, prev_c, out=next_c)
    next_c += i * g
    np.tanh(next_c, out=tanh_c)
    np.multiply(o, tanh_c, out=next_h)


def _lstm_cell_backward(dnext_h, dnext_c, gates, prev_c, tanh_c, da):
    """
    Gradients through one LSTM update: writes the gradient of the activations into `da`
    (N, 4H) and returns the gradient with respect to prev_c (N, H).
    """
    H = prev_c.shape[1]
    i, f, o, g = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
    # next_h = o * tanh(next_c): the cell receives gradient from next_h as well as from next_c.
    dc = dnext_c + dnext_h * o * (1 - tanh_c * tanh_c)
    # sigmoid'(a) = s (1 - s) and tanh'(a) = 1 - t^2, read off the stored gate values.
    np.multiply(dc * g, i * (1 - i), out=da[:, :H])
    np.multiply(dc * prev_c, f * (1 - f), out=da[:, H:2 * H])
    np.multiply(dnext_h * tanh_c, o * (1 - o), out=da[:, 2 * H:3 * H])
    np.multiply(dc * i, 1 - g * g, out=da[:, 3 * H:])
    return dc * f


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """
    Forward pass for a single timestep of an LSTM.

    The input data has dimension D, the hidden state has dimension H, and we use
    a minibatch size of N. The activations a = x Wx + prev_h Wh + b (N, 4H) are split
    into a_i, a_f, a_o, a_g, giving the input, forget and output gates
    i, f, o = sigmoid(a_i), sigmoid(a_f), sigmoid(a_o) and the block input g = tanh(a_g);
    then next_c = f * prev_c + i * g and next_h = o * tanh(next_c).

    The sigmoid() function of this module computes the sigmoid without overflow.

    Inputs:
    - x: Input data, of shape (N, D)
    - prev_h: Previous hidden state, of shape (N, H)
    - prev_c: previous cell state, of shape (N, H)
    - Wx: Input-to-hidden weights, of shape (D, 4H)
    - Wh: Hidden-to-hidden weights, of shape (H, 4H)
    - b: Biases, of shape (4H,)

    Returns a tuple of:
    - next_h: Next hidden state, of shape (N, H)
    - next_c: Next cell state, of shape (N, H)
    - cache: Tuple of values needed for backward pass.
    """
    x, prev_h, Wx, Wh, b, prev_c = _step_inputs(x, prev_h, Wx, Wh, b, gates=4, prev_c=prev_c)
    gates = x @ Wx + prev_h @ Wh + b  # (N, 4H), turned into the gate values in place
    next_c, tanh_c, next_h = (np.empty_like(prev_h) for _ in range(3))
    _lstm_cell_(gates, prev_c, next_c, tanh_c, next_h)
    cache = (x, prev_h, prev_c, Wx, Wh, gates, tanh_c)
    return next_h, next_c, cache


def lstm_step_backward(dnext_h, dnext_c, cache):
    """
    Backward pass for a single timestep of an LSTM.

    Inputs:
    - dnext_h: Gradients of next hidden state, of shape (N, H)
    - dnext_c: Gradients of next cell state, of shape (N, H)
    - cache: Values from the forward pass

    Returns a tuple of:
    - dx: Gradient of input data, of shape (N, D)
    - dprev_h: Gradient of previous hidden state, of shape (N, H)
    - dprev_c: Gradient of previous cell state, of shape (N, H)
    - dWx: Gradient of input-to-hidden weights, of shape (D, 4H)
    - dWh: Gradient of hidden-to-hidden weights, of shape (H, 4H)
    - db: Gradient of biases, of shape (4H,)
    """
    x, prev_h, prev_c, Wx, Wh, gates, tanh_c = cache
    dnext_h = _upstream("dnext_h", dnext_h, prev_h.shape, prev_h.dtype)
    dnext_c = _upstream("dnext_c", dnext_c, prev_h.shape, prev_h.dtype)
    da = np.empty_like(gates)  # (N, 4H)
    dprev_c = _lstm_cell_backward(dnext_h, dnext_c, gates, prev_c, tanh_c, da)
    return da @ Wx.T, da @ Wh.T, dprev_c, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def lstm_forward(x, h0, Wx, Wh, b):
    """
    Forward pass for an LSTM over an entire sequence of data. We assume an input
    sequence composed of T vectors, each of dimension D. The LSTM uses a hidden
    size of H, and we work over a minibatch containing N sequences. After running
    the LSTM forward, we return the hidden states for all timesteps.

    Note that the initial cell state is passed as input, but the initial cell state
    is set to zero. Also note that the cell state is not returned; it is an internal
    variable to the LSTM and is not accessed from outside.

    Inputs:
    - x: Input data of shape (N, T, D), T >= 1
    - h0: Initial hidden state of shape (N, H)
    - Wx: Weights for input-to-hidden connections, of shape (D, 4H)
    - Wh: Weights for hidden-to-hidden connections, of shape (H, 4H)
    - b: Biases of shape (4H,)

    Returns a tuple of:
    - h: Hidden states for all timesteps of all sequences, of shape (N, T, H)
    - cache: Values needed for the backward pass.
    """
    x, h0, Wx, Wh, b = _recurrent_inputs(x, h0, Wx, Wh, b, gates=4)
    N, T, D = x.shape
    H = h0.shape[1]
    x_tm = x.transpose(1, 0, 2).reshape(T * N, D)  # (T*N, D), time-major
    # All four gates' input projections of all steps in one product; the loop adds prev_h Wh.
    gates = (x_tm @ Wx + b).reshape(T, N, 4 * H)  # (T, N, 4H), becomes the gate values in place
    cs = np.empty((T, N, H), dtype=x.dtype)
    tanh_cs = np.empty_like(cs)
    hs = np.empty_like(cs)
    prev_h, prev_c = h0, np.zeros_like(h0)
    with blas_threads_for(8.0 * N * H * H):
        for t in range(T):
            gates[t] += prev_h @ Wh
            _lstm_cell_(gates[t], prev_c, cs[t], tanh_cs[t], hs[t])
            prev_h, prev_c = hs[t], cs[t]
    h = np.ascontiguousarray(hs.transpose(1, 0, 2))  # (N, T, H)
    cache = ("lstm", x_tm, h0, Wx, Wh, gates, cs, tanh_cs, hs)
    return h, cache


def _lstm_backward(dout, cache):
    """lstm_backward, also returning dh_states (T, N, H): the gradient with respect to each h_t."""
    _, x_tm, h0, Wx, Wh, gates, cs, tanh_cs, hs = cache
    T, N, H = hs.shape
    dout_tm = _upstream("dout", dout, (N, T, H), hs.dtype).transpose(1, 0, 2)  # (T, N, H)
    da = np.empty_like(gates)  # (T, N, 4H)
    dh_states = np.empty_like(hs)
    dh_next = np.zeros_like(h0)
    dc_next = np.zeros_like(h0)
    c0 = np.zeros_like(h0)
    with blas_threads_for(8.0 * N * H * H):
        for t in range(T - 1, -1, -1):
            dh = dh_states[t]
            np.add(dout_tm[t], dh_next, out=dh)
            dc_next = _lstm_cell_backward(dh, dc_next, gates[t], cs[t - 1] if t else c0, tanh_cs[t], da[t])
            dh_next = da[t] @ Wh.T
    da_flat = da.reshape(T * N, 4 * H)  # (T*N, 4H)
    h_prev = np.concatenate([h0[None], hs[:-1]]).reshape(T * N, H)  # (T*N, H): h_{t-1} of every step
    dx = (da_flat @ Wx.T).reshape(T, N, -1).transpose(1, 0, 2)  # (N, T, D)
    grads = (np.ascontiguousarray(dx), dh_next, x_tm.T @ da_flat, h_prev.T @ da_flat, da_flat.sum(axis=0))
    return grads, dh_states


def lstm_backward(dout, cache):
    """
    Backward pass for an LSTM over an entire sequence of data.

    Inputs:
    - dout: Upstream gradients of hidden states, of shape (N, T, H)
    - cache: Values from the forward pass

    Returns a tuple of:
    - dx: Gradient of input data of shape (N, T, D)
    - dh0: Gradient of initial hidden state of shape (N, H)
    - dWx: Gradient of input-to-hidden weight matrix of shape (D, 4H)
    - dWh: Gradient of hidden-to-hidden weight matrix of shape (H, 4H)
    - db: Gradient of biases, of shape (4H,)
    """
    return _lstm_backward(dout, cache)[0]


def hidden_gradient_norms(x, h0, Wx, Wh, b, dh_last, cell_type="rnn"):
    """
    How far back in time a gradient reaches: backpropagate a gradient that enters at the
    last hidden state only and measure it at every earlier hidden state.

    With s = sum(dh_last * h_T) (any scalar computed from the last hidden state h_T, e.g.
    the loss of the last word, has this form locally), this returns the norm of ds/dh_t for
    every step t, averaged over the minibatch. In a vanilla RNN it shrinks (or grows)
    geometrically as t moves away from T, because every step multiplies it by
    Wh^T diag(1 - h^2); the LSTM's additive cell path lets it travel much further.

    Inputs:
    - x, h0, Wx, Wh, b: The inputs of rnn_forward (cell_type 'rnn') or lstm_forward ('lstm')
    - dh_last: Gradient of the scalar with respect to the last hidden state, of shape (N, H)
    - cell_type: 'rnn' or 'lstm'

    Returns:
    - norms: Array of shape (T,); norms[t] is the mean over the N sequences of ||ds/dh_t||,
      so norms[T - 1] is the mean norm of dh_last
    """
    if cell_type not in ("rnn", "lstm"):
        raise ValueError(f"cell_type must be 'rnn' or 'lstm', got {cell_type!r}")
    forward, backward = (rnn_forward, _rnn_backward) if cell_type == "rnn" else (lstm_forward, _lstm_backward)
    h, cache = forward(x, h0, Wx, Wh, b)
    N, T, H = h.shape
    dh_last = _upstream("dh_last", dh_last, (N, H), h.dtype)
    dout = np.zeros_like(h)
    dout[:, -1] = dh_last
    _, dh_states = backward(dout, cache)  # (T, N, H)
    return np.linalg.norm(dh_states, axis=2).mean(axis=1)


# ----------------------------------------------------------------------------- words and outputs


def word_embedding_forward(x, W):
    """
    Forward pass for word embeddings. We operate on minibatches of size N where
    each sequence has length T. We assume a vocabulary of V words, assigning each
    word to a vector of dimension D.

    Inputs:
    - x: Integer array of shape (N, T) giving indices of words. Each element idx
      of x must be in the range 0 <= idx < V.
    - W: Weight matrix of shape (V, D) giving word vectors for all words.

    Returns a tuple of:
    - out: Array of shape (N, T, D) giving word vectors for all input words.
    - cache: Values needed for the backward pass
    """
    W = as_float_array("W", W)
    check_ndim("W", W, 2, "(V, D)")
    x = check_word_indices("x", x, W.shape[0])
    out = W[x]  # (N, T, D)
    cache = (x, W.shape)
    return out, cache


def word_embedding_backward(dout, cache):
    """
    Backward pass for word embeddings. We cannot back-propagate into the words
    since they are integers, so we only return gradient for the word embedding
    matrix.

    Inputs:
    - dout: Upstream gradients of shape (N, T, D)
    - cache: Values from the forward pass

    Returns:
    - dW: Gradient of word embedding matrix, of shape (V, D)
    """
    x, (V, D) = cache
    dout = as_float_array("dout", dout)
    check_shape("dout", dout, (*x.shape, D))
    dW = np.zeros((V, D), dtype=dout.dtype)
    # A word that occurs several times collects the gradient of every occurrence.
    np.add.at(dW, x.reshape(-1), dout.reshape(-1, D))
    return dW


def check_word_indices(name, x, V, ndim=2):
    """
    Word indices: an integer array of `ndim` dimensions with values in 0..V-1.

    Returns:
    - x as an int64 array
    """
    x = np.asarray(x)
    layout = "(N, T)" if ndim == 2 else f"{ndim} dimensions"
    check_ndim(name, x, ndim, layout)
    if x.dtype.kind not in "iu":
        raise ValueError(f"{name} must hold integer word indices, got dtype {x.dtype}")
    if x.size and (x.min() < 0 or x.max() >= V):
        raise ValueError(f"{name} must hold word indices in 0..{V - 1} (a vocabulary of {V} words), "
                         f"got values in {x.min()}..{x.max()}")
    return x.astype(np.int64, copy=False)


def temporal_affine_forward(x, w, b):
    """
    Forward pass for a temporal affine layer. The input is a set of D-dimensional
    vectors arranged into a minibatch of N timeseries, each of length T. We use
    an affine function to transform each of those vectors into a new vector of
    dimension M.

    Inputs:
    - x: Input data of shape (N, T, D)
    - w: Weights of shape (D, M)
    - b: Biases of shape (M,)

    Returns a tuple of:
    - out: Output data of shape (N, T, M)
    - cache: Values needed for the backward pass
    """
    x, w, b = (as_float_array(name, a) for name, a in (("x", x), ("w", w), ("b", b)))
    check_ndim("x", x, 3, "(N, T, D)")
    N, T, D = x.shape
    check_ndim("w", w, 2, "(D, M)")
    check_shape("w", w, (D, None))
    check_shape("b", b, (w.shape[1],))
    M = w.shape[1]
    out = (x.reshape(N * T, D) @ w + b).reshape(N, T, M)  # (N*T, D) -> (N, T, M)
    cache = x, w, b, out
    return out, cache


def temporal_affine_backward(dout, cache):
    """
    Backward pass for temporal affine layer.

    Input:
    - dout: Upstream gradients of shape (N, T, M)
    - cache: Values from forward pass

    Returns a tuple of:
    - dx: Gradient of input, of shape (N, T, D)
    - dw: Gradient of weights, of shape (D, M)
    - db: Gradient of biases, of shape (M,)
    """
    x, w, b, out = cache
    N, T, D = x.shape
    M = b.shape[0]
    dout = as_float_array("dout", dout)
    check_shape("dout", dout, out.shape)
    dout_flat = dout.reshape(N * T, M)  # (N*T, M)
    dx = (dout_flat @ w.T).reshape(N, T, D)  # (N, T, D)
    dw = x.reshape(N * T, D).T @ dout_flat
    db = dout_flat.sum(axis=0)
    return dx, dw, db


def temporal_softmax_loss(x, y, mask, verbose=False):
    """
    A temporal version of softmax loss for use in RNNs. We assume that we are
    making predictions over a vocabulary of size V for each timestep of a
    timeseries of length T, over a minibatch of size N. The input x gives scores
    for all vocabulary elements at all timesteps, and y gives the indices of the
    ground-truth element at each timestep. We use a cross-entropy loss at each
    timestep, summing the loss over all timesteps and averaging across the
    minibatch.

    As an additional complication, we may want to ignore the model output at some
    timesteps, since sequences of different length may have been combined into a
    minibatch and padded with NULL tokens. The optional mask argument tells us
    which elements should contribute to the loss.

    Inputs:
    - x: Input scores, of shape (N, T, V)
    - y: Ground-truth indices, of shape (N, T) where each element is in the range
         0 <= y[i, t] < V
    - mask: Boolean array of shape (N, T) where mask[i, t] tells whether or not
      the scores at x[i, t] should contribute to the loss.
    - verbose: If True, print the shape of dx

    Returns a tuple of:
    - loss: Scalar giving loss
    - dx: Gradient of loss with respect to scores x, of shape (N, T, V)
    """
    x = as_float_array("x", x)
    check_ndim("x", x, 3, "(N, T, V)")
    N, T, V = x.shape
    y = np.asarray(y)
    check_shape("y", y, (N, T))
    y = check_word_indices("y", y, V)
    mask = np.asarray(mask)
    check_shape("mask", mask, (N, T))
    if mask.dtype.kind not in "biuf":
        raise ValueError(f"mask must be a boolean array, got dtype {mask.dtype}")

    x_flat = x.reshape(N * T, V)  # (N*T, V)
    y_flat = y.reshape(N * T)
    mask_flat = mask.reshape(N * T).astype(x.dtype)
    rows = np.arange(N * T)
    # Shifting each row by its maximum leaves the softmax unchanged and keeps exp() finite.
    shifted = x_flat - x_flat.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -np.sum(mask_flat * log_probs[rows, y_flat]) / N
    dx_flat = np.exp(log_probs)
    dx_flat[rows, y_flat] -= 1
    dx_flat *= mask_flat[:, None] / N
    if verbose:
        print("dx_flat: ", dx_flat.shape)
    dx = dx_flat.reshape(N, T, V)  # (N, T, V)
    return float(loss), dx
