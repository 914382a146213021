"""One oracle for every layer and loss test, in the spirit of tinygrad's helper_test_op: run an
implementation and a reference on the same inputs, and compare the output and every gradient.

    check_layer(affine_forward, affine_backward, lambda x, w, b: F.linear(x.flatten(1), w.T, b), x, w, b)
    check_layer(fast.conv_forward_fast, ..., (layers.conv_forward_naive, layers.conv_backward_naive), ...)
    check_loss(lambda x: softmax_loss(x, y), lambda x: F.cross_entropy(x, torch.tensor(y)), x)

A reference is a PyTorch function of float64 tensors (autograd supplies its gradients), or
another implementation with the same interface, e.g. the naive layer a fast path must equal.
Everything is compared with rel_error, the course's measure; a failure names the output
('out', 'dx', 'dw', ..., taken from the forward function's parameter names) and the error.
"""

import inspect

import numpy as np
import torch

from helpers.gradient_check import rel_error


def _names(fn, count):
    """The names of fn's first `count` parameters, or input0, input1, ... when it has fewer."""
    try:
        names = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        names = []
    return names[:count] if len(names) >= count else [f"input{i}" for i in range(count)]


def _as_tuple(grads):
    return tuple(grads) if isinstance(grads, (tuple, list)) else (grads,)


def _tensors(arrays):
    return [torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]


def _compare(what, got, want, tol, dtype):
    if dtype is not None:
        assert isinstance(got, np.ndarray) and got.dtype == dtype, f"{what}: {type(got).__name__} " \
            f"{getattr(got, 'dtype', '')}, expected a {np.dtype(dtype)} array"
    assert want is not None, f"{what}: the reference has no value"
    assert np.shape(got) == np.shape(want), f"{what}: shape {np.shape(got)}, expected {np.shape(want)}"
    error = rel_error(got, want)
    assert error <= tol, f"{what}: relative error {error:.1e} > {tol:.0e}"


def _tolerance(tol, name):
    if not isinstance(tol, dict):
        return tol
    return tol[name] if name in tol else tol["default"]


def check_layer(forward, backward, reference, *inputs, tol=1e-9, seed=0, dtype=None):
    """
    Compare a forward/backward pair with a reference on the same inputs and upstream gradient.

    Inputs:
    - forward: function(*inputs) -> (out, cache)
    - backward: function(dout, cache) -> the gradient of each input (a tuple, or one array);
      further gradients (of parameters that are not inputs) are returned, not compared
    - reference: a PyTorch function(*tensors) -> tensor, or a (forward, backward) pair
    - inputs: NumPy arrays
    - tol: largest rel_error, or a dict {'default': tol, 'dx': tol_dx, ...}
    - seed: seed of dout, standard normal of out's shape
    - dtype: if given, the implementation's out and gradients must be NumPy arrays of it

    Returns a tuple of:
    - out, grads: The implementation's output and all its gradients
    """
    names = ["out"] + [f"d{name}" for name in _names(forward, len(inputs))]
    out, cache = forward(*inputs)
    dout = np.random.default_rng(seed).standard_normal(np.shape(out))
    grads = _as_tuple(backward(dout, cache))
    if isinstance(reference, tuple):
        ref_forward, ref_backward = reference
        ref_out, ref_cache = ref_forward(*(np.copy(a) for a in inputs))
        ref_grads = _as_tuple(ref_backward(dout.copy(), ref_cache))
    else:
        tensors = _tensors(inputs)
        ref = reference(*tensors)
        assert tuple(ref.shape) == np.shape(out), f"out: shape {np.shape(out)}, expected {tuple(ref.shape)}"
        ref.backward(torch.tensor(dout))
        ref_out, ref_grads = ref.detach().numpy(), [None if t.grad is None else t.grad.numpy() for t in tensors]
    for name, got, want in zip(names, (out, *grads[:len(inputs)]), (ref_out, *ref_grads[:len(inputs)]), strict=True):
        _compare(name, got, want, _tolerance(tol, name), dtype)
    return out, grads


def check_loss(loss_fn, reference, *inputs, tol=1e-10):
    """
    Compare a loss that returns its own gradients with a PyTorch reference on the same inputs.

    Inputs:
    - loss_fn: function(*inputs) -> (loss, grads), grads one array or a tuple, one per input;
      or, when inputs is a single dict (a model's params), function(dict) -> (loss, dict of grads)
    - reference: a PyTorch function of float64 tensors, called like loss_fn -> scalar tensor
    - inputs: NumPy arrays, or one dict name -> array
    - tol: largest rel_error, or a dict {'default': tol, 'loss': tol_loss, 'dW': ...}

    Returns a tuple of:
    - loss, grads: The implementation's
    """
    keyed = len(inputs) == 1 and isinstance(inputs[0], dict)
    names = list(inputs[0]) if keyed else _names(loss_fn, len(inputs))
    values = list(inputs[0].values()) if keyed else list(inputs)

    def call(fn, args):
        return fn(dict(zip(names, args, strict=True))) if keyed else fn(*args)

    loss, grads = call(loss_fn, values)
    grads = [grads[name] for name in names] if keyed else _as_tuple(grads)
    tensors = _tensors(values)
    ref_loss = call(reference, tensors)
    ref_loss.backward()
    _compare("loss", loss, ref_loss.item(), _tolerance(tol, "loss"), None)
    for name, got, tensor in zip(names, grads, tensors, strict=True):
        _compare(f"d{name}", got, None if tensor.grad is None else tensor.grad.numpy(),
                 _tolerance(tol, f"d{name}"), None)
    return loss, grads
