"""The multiclass SVM (hinge) loss of a linear classifier, with loops and vectorized.

Conventions (CS231n): weights W of shape (D, C), a minibatch X of shape (N, D) whose last
column is usually the constant 1 of the bias trick, labels y of shape (N,) in 0..C-1,
margin delta = 1, loss = mean hinge loss + reg * sum(W * W), so dW includes 2 * reg * W.
"""

import numpy as np

from helpers._checks import as_float_array, check_labels, check_ndim, non_negative_number


def check_loss_inputs(W, X, y, reg):
    """
    Reject inputs a linear-classifier loss cannot use, with a message naming what was expected.
    Shared by the SVM and softmax losses.

    Inputs:
    - W: A numpy array of shape (D, C) containing weights.
    - X: A numpy array of shape (N, D) containing a minibatch of data.
    - y: A numpy array of shape (N,) containing training labels; y[i] = c means
      that X[i] has label c, where 0 <= c < C.
    - reg: (float) regularization strength, >= 0

    Returns:
    - y as an integer numpy array of shape (N,).

    Raises ValueError on a shape mismatch, an empty minibatch, labels outside 0..C-1,
    non-integer labels, or a negative (or non-finite) reg.
    """
    W, X = as_float_array("W", W), as_float_array("X", X)
    check_ndim("W", W, 2, "(D, C)")
    W_shape, X_shape = np.shape(W), np.shape(X)
    D, C = W_shape
    if len(X_shape) != 2:
        raise ValueError(f"X must have shape (N, {D}) matching W {W_shape}, got {X_shape}")
    if X_shape[1] != D:
        raise ValueError(f"X has {X_shape[1]} columns but W has {D} rows: X must have shape "
                         f"(N, {D}) matching W {W_shape}, got {X_shape}")
    N = X_shape[0]
    if N == 0:
        raise ValueError(f"empty minibatch: X has shape {X_shape}; the loss is a mean over at least one row")
    non_negative_number("reg", reg)
    return check_labels("y", y, num_classes=C, n=N, classes_from=f"W has {C} columns")


def svm_loss_naive(W, X, y, reg):
    """
    Structured SVM loss function, naive implementation (with loops).

    Inputs have dimension D, there are C classes, and we operate on minibatches
    of N examples. The loss is the average loss over the minibatch plus the L2
    regularization reg * np.sum(W * W).

    Inputs:
    - W: A numpy array of shape (D, C) containing weights.
    - X: A numpy array of shape (N, D) containing a minibatch of data.
    - y: A numpy array of shape (N,) containing training labels; y[i] = c means
      that X[i] has label c, where 0 <= c < C.
    - reg: (float) regularization strength

    Returns a tuple of:
    - loss as single float
    - gradient with respect to weights W; an array of same shape as W
    """
    y = check_loss_inputs(W, X, y, reg)
    dW = np.zeros(W.shape, dtype=np.result_type(W, X, np.float64))
    num_classes = W.shape[1]
    num_train = X.shape[0]
    loss = 0.0
    for i in range(num_train):
        scores = X[i].dot(W)
        correct_class_score = scores[y[i]]
        for j in range(num_classes):
            if j == y[i]:
                continue
            margin = scores[j] - correct_class_score + 1  # note delta = 1
            if margin > 0:
                loss += margin
                # A violated margin pushes score j down and the correct score up.
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]

    loss /= num_train
    dW /= num_train
    loss += reg * np.sum(W * W)
    dW += 2 * reg * W
    return float(loss), dW


def svm_loss_vectorized(W, X, y, reg):
    """
    Structured SVM loss function, vectorized implementation (no loops).

    Inputs have dimension D, there are C classes, and we operate on minibatches
    of N examples. The loss is the average loss over the minibatch plus the L2
    regularization reg * np.sum(W * W).

    Inputs:
    - W: A numpy array of shape (D, C) containing weights.
    - X: A numpy array of shape (N, D) containing a minibatch of data.
    - y: A numpy array of shape (N,) containing training labels; y[i] = c means
      that X[i] has label c, where 0 <= c < C.
    - reg: (float) regularization strength

    Returns a tuple of:
    - loss as single float
    - gradient with respect to weights W; an array of same shape as W
    """
    y = check_loss_inputs(W, X, y, reg)
    num_train = X.shape[0]
    rows = np.arange(num_train)
    scores = X @ W
    margins = scores - scores[rows, y][:, None] + 1.0
    # The correct class would contribute exactly delta = 1: exclude it from the sum.
    margins[rows, y] = 0.0
    np.maximum(margins, 0.0, out=margins)
    loss = margins.sum() / num_train + reg * np.sum(W * W)

    # Each violated margin adds X[i] to column j and subtracts it from column y[i]:
    # one indicator matrix turns both updates into a single matrix product.
    coeff = (margins > 0).astype(scores.dtype)
    coeff[rows, y] = -coeff.sum(axis=1)
    # (coeff.T @ X).T equals X.T @ coeff; reading X row by row this way is about twice as fast.
    dW = (coeff.T @ X).T
    dW /= num_train
    dW += 2 * reg * W
    return float(loss), dW
