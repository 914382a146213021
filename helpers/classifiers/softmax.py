"""The softmax (cross-entropy) loss of a linear classifier, with loops and vectorized.

Same conventions as linear_svm: W (D, C), X (N, D), y (N,) in 0..C-1,
loss = mean cross-entropy + reg * sum(W * W), so dW includes 2 * reg * W.
Scores are shifted by their row maximum before exponentiating: softmax is unchanged by
the shift, and exp can then never overflow.
"""

import numpy as np

from helpers.classifiers.linear_svm import check_loss_inputs


def softmax_loss_naive(W, X, y, reg):
    """
    Softmax loss function, naive implementation (with loops)

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
        scores = scores - np.max(scores)
        exp_scores = np.exp(scores)
        total = np.sum(exp_scores)
        loss += np.log(total) - scores[y[i]]
        for j in range(num_classes):
            # d(loss_i)/d(score_j) = p_j - 1[j == y_i]
            p = exp_scores[j] / total
            dW[:, j] += (p - (j == y[i])) * X[i]

    loss /= num_train
    dW /= num_train
    loss += reg * np.sum(W * W)
    dW += 2 * reg * W
    return float(loss), dW


def softmax_loss_vectorized(W, X, y, reg):
    """
    Softmax loss function, vectorized version (no loops)

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
    scores -= scores.max(axis=1, keepdims=True)
    probs = np.exp(scores)
    sums = probs.sum(axis=1, keepdims=True)
    # log-sum-exp minus the correct score: no log of a probability that underflowed to 0.
    loss = np.sum(np.log(sums[:, 0]) - scores[rows, y]) / num_train + reg * np.sum(W * W)

    probs /= sums
    probs[rows, y] -= 1.0
    # (coeff.T @ X).T equals X.T @ coeff; reading X row by row this way is about twice as fast.
    dW = (probs.T @ X).T
    dW /= num_train
    dW += 2 * reg * W
    return float(loss), dW
