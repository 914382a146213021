"""Numerical gradients and the relative error used by every check in the course."""

from random import randrange

import numpy as np

from helpers._checks import check_shape, positive_int


def rel_error(x, y):
    """
    Maximum relative error between two arrays (or numbers).

    Inputs:
    - x, y: Arrays of the same shape (or scalars)

    Returns:
    - max over elements of |x - y| / max(1e-8, |x| + |y|)
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"rel_error needs equal shapes, got {x.shape} and {y.shape}")
    if x.size == 0:
        return 0.0
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def eval_numerical_gradient(f, x, verbose=True, h=1e-5):
    """
    Centered-difference gradient of a scalar function f at x.

    Inputs:
    - f: Function of one argument (x) returning a scalar
    - x: Array of any shape; modified in place during evaluation and restored
    - verbose: Print each coordinate's gradient as it is computed
    - h: Step size

    Returns:
    - grad: Array of the same shape as x
    """
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        old = x[ix]
        x[ix] = old + h
        fxph = f(x)
        x[ix] = old - h
        fxmh = f(x)
        x[ix] = old
        grad[ix] = (fxph - fxmh) / (2 * h)
        if verbose:
            print(ix, grad[ix])
        it.iternext()
    return grad


def eval_numerical_gradient_array(f, x, df, h=1e-5):
    """
    Numerical gradient of an array-valued function f at x, contracted with the
    upstream gradient df (i.e. the vector-Jacobian product df^T J).

    Inputs:
    - f: Function of one argument (x) returning an array
    - x: Array of any shape; modified in place during evaluation and restored
    - df: Upstream gradient, same shape as f(x)
    - h: Step size

    Returns:
    - grad: Array of the same shape as x
    """
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        old = x[ix]
        x[ix] = old + h
        pos = f(x).copy()
        x[ix] = old - h
        neg = f(x).copy()
        x[ix] = old
        grad[ix] = np.sum((pos - neg) * df) / (2 * h)
        it.iternext()
    return grad


def grad_check_sparse(f, x, analytic_grad, num_checks=10, h=1e-5, seed=None, verbose=True):
    """
    Compare an analytic gradient with centered differences at a few random coordinates.

    Inputs:
    - f: Function of one argument (x) returning a scalar
    - x: Array; modified in place during evaluation and restored
    - analytic_grad: Array of the same shape as x
    - num_checks: Number of random coordinates
    - h: Step size
    - seed: Seed for choosing coordinates (None: Python's global random state)
    - verbose: Print one line per coordinate

    Returns:
    - errors: List of relative errors, one per checked coordinate
    """
    check_shape("analytic_grad", analytic_grad, x.shape)
    num_checks = positive_int("num_checks", num_checks)
    rng = np.random.default_rng(seed) if seed is not None else None
    errors = []
    for _ in range(num_checks):
        if rng is not None:
            ix = tuple(int(rng.integers(m)) for m in x.shape)
        else:
            ix = tuple(randrange(m) for m in x.shape)
        old = x[ix]
        x[ix] = old + h
        fxph = f(x)
        x[ix] = old - h
        fxmh = f(x)
        x[ix] = old
        grad_numerical = (fxph - fxmh) / (2 * h)
        grad_analytic = analytic_grad[ix]
        denom = max(abs(grad_numerical) + abs(grad_analytic), 1e-12)
        error = abs(grad_numerical - grad_analytic) / denom
        errors.append(float(error))
        if verbose:
            print(f"numerical: {grad_numerical:f} analytic: {grad_analytic:f}, relative error: {error:e}")
    return errors
