"""k-nearest-neighbour classification with Euclidean (L2) distances.

The pieces a learner writes in knn.ipynb are plain functions of explicit inputs:

    compute_distances_two_loops(X, X_train)   -> dists (num_test, num_train)
    compute_distances_one_loop(X, X_train)    -> dists
    compute_distances_no_loops(X, X_train)    -> dists
    predict_labels(dists, y_train, k=1)       -> y_pred (num_test,)
    split_folds(X, y, num_folds)              -> X_folds, y_folds (lists of num_folds arrays)
    cross_validate_k(X, y, k_choices, num_folds) -> k_to_accuracies, best_k

`KNearestNeighbor` keeps the CS231n API (`train`, `predict(X, k, num_loops)`, the three
`compute_distances_*` methods and `predict_labels`) and delegates to those functions, or to
functions passed to its constructor, so a notebook can run its finished exercises through it.
"""

import numbers

import numpy as np

from helpers._checks import as_float_array, check_labels, check_shape, positive_int

# ----------------------------------------------------------------------------- validation


def _check_pair(X, X_train):
    """Return X and X_train as 2-D float64 arrays with the same number of columns, or raise.

    Integer pixels (uint8) are converted, so that differences and products cannot wrap around."""
    X = np.asarray(X)
    X_train = np.asarray(X_train)
    if X_train.ndim != 2 or X_train.shape[0] == 0:
        raise ValueError(f"X_train must have shape (num_train, D) with num_train >= 1, got {X_train.shape}")
    D = X_train.shape[1]
    if X.ndim != 2 or X.shape[1] != D:
        raise ValueError(f"X must have shape (num_test, {D}) matching X_train {X_train.shape}, got {X.shape}")
    if X.shape[0] == 0:
        raise ValueError(f"X must hold at least one example, got shape {X.shape}")
    for name, array in (("X", X), ("X_train", X_train)):
        if array.dtype.kind not in "iuf":
            raise ValueError(f"{name} must hold numbers, got dtype {array.dtype}")
    return X.astype(np.float64, copy=False), X_train.astype(np.float64, copy=False)


def _check_k(k, num_train):
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise ValueError(f"k must be an integer in 1..{num_train}, got {k!r}")
    if k < 1:
        raise ValueError(f"k must be at least 1, got k={k}")
    if k > num_train:
        raise ValueError(f"k={k} exceeds the {num_train} training examples")
    return int(k)


# ----------------------------------------------------------------------------- distances


def compute_distances_two_loops(X, X_train):
    """
    Compute the distance between each test point in X and each training point in X_train
    using a nested loop over both the test data and the training data.

    Inputs:
    - X: A numpy array of shape (num_test, D) containing test data.
    - X_train: A numpy array of shape (num_train, D) containing training data.

    Returns:
    - dists: A numpy array of shape (num_test, num_train) where dists[i, j]
      is the Euclidean distance between the ith test point and the jth training point.
    """
    X, X_train = _check_pair(X, X_train)
    num_test, num_train = X.shape[0], X_train.shape[0]
    dists = np.zeros((num_test, num_train))
    for i in range(num_test):
        for j in range(num_train):
            dists[i, j] = np.sqrt(np.sum((X[i] - X_train[j]) ** 2))
    return dists


def compute_distances_one_loop(X, X_train):
    """
    Compute the distance between each test point in X and each training point in X_train
    using a single loop over the test data.

    Inputs:
    - X: A numpy array of shape (num_test, D) containing test data.
    - X_train: A numpy array of shape (num_train, D) containing training data.

    Returns:
    - dists: A numpy array of shape (num_test, num_train) where dists[i, j]
      is the Euclidean distance between the ith test point and the jth training point.
    """
    X, X_train = _check_pair(X, X_train)
    num_test, num_train = X.shape[0], X_train.shape[0]
    dists = np.zeros((num_test, num_train))
    for i in range(num_test):
        # Broadcasting X[i] (D,) against X_train (num_train, D) gives one whole row at once.
        dists[i, :] = np.sqrt(np.sum((X_train - X[i]) ** 2, axis=1))
    return dists


def compute_distances_no_loops(X, X_train):
    """
    Compute the distance between each test point in X and each training point in X_train
    using no explicit loops.

    Inputs:
    - X: A numpy array of shape (num_test, D) containing test data.
    - X_train: A numpy array of shape (num_train, D) containing training data.

    Returns:
    - dists: A numpy array of shape (num_test, num_train) where dists[i, j]
      is the Euclidean distance between the ith test point and the jth training point.
    """
    X, X_train = _check_pair(X, X_train)
    # ||x - t||^2 = ||x||^2 - 2 x.t + ||t||^2: the middle term for all pairs is one matrix product.
    test_sq = np.einsum("ij,ij->i", X, X)
    train_sq = np.einsum("ij,ij->i", X_train, X_train)
    # Work in place on the (num_test, num_train) product: it is the only large array.
    dists = X @ X_train.T
    dists *= -2.0
    dists += test_sq[:, None]
    dists += train_sq[None, :]
    # Cancellation can leave tiny negative squares for (near-)identical points.
    np.maximum(dists, 0.0, out=dists)
    return np.sqrt(dists, out=dists)


# ----------------------------------------------------------------------------- voting


def predict_labels(dists, y_train, k=1):
    """
    Given a matrix of distances between test points and training points,
    predict a label for each test point by a majority vote of its k nearest neighbors.

    When labels tie in the vote, the smallest of them wins (as np.bincount(...).argmax()
    does); training points at equal distance are taken in training order (a stable sort).

    Inputs:
    - dists: A numpy array of shape (num_test, num_train) where dists[i, j]
      gives the distance between the ith test point and the jth training point.
    - y_train: A numpy array of shape (num_train,) of non-negative integer labels.
    - k: The number of nearest neighbors that vote for the predicted labels.

    Returns:
    - y: A numpy array of shape (num_test,) of integer labels (the dtype of y_train),
      where y[i] is the predicted label for the ith test point.
    """
    dists = as_float_array("dists", dists)
    if dists.ndim != 2 or dists.shape[1] == 0:
        raise ValueError(f"dists must have shape (num_test, num_train), got {dists.shape}")
    if np.isnan(dists).any():
        first = tuple(int(i) for i in np.argwhere(np.isnan(dists))[0])
        raise ValueError(f"dists holds {int(np.isnan(dists).sum())} NaN distances (first at {first}): no neighbour can "
                         "be chosen; check the distance computation (e.g. the square root of a negative number)")
    num_test, num_train = dists.shape
    y_train = check_labels("y_train", y_train, n=num_train)
    k = _check_k(k, num_train)
    if num_test == 0:
        raise ValueError(f"dists must hold at least one test row, got shape {dists.shape}")
    if k == 1:
        nearest = np.argmin(dists, axis=1)[:, None]  # argmin returns the first minimum: stable
    else:
        nearest = np.argsort(dists, axis=1, kind="stable")[:, :k]
    # Votes are counted over the sorted distinct labels, so argmax (first maximum) picks the
    # smallest label on a tie, whatever the label values are.
    labels, label_index = np.unique(y_train, return_inverse=True)
    closest = label_index[nearest]  # (num_test, k) indices into labels
    num_labels = labels.size
    # One bincount over (row, label) pairs counts the votes of every row at once.
    votes = np.bincount((np.arange(num_test)[:, None] * num_labels + closest).ravel(),
                        minlength=num_test * num_labels).reshape(num_test, num_labels)  # (num_test, num_labels)
    return labels[np.argmax(votes, axis=1)]


# ----------------------------------------------------------------------------- cross-validation


def split_folds(X, y, num_folds):
    """
    Split the training data into num_folds folds of consecutive rows, as np.array_split
    does: fold i holds the rows after those of fold i - 1, and when N is not a multiple
    of num_folds the first N % num_folds folds hold one row more than the others.

    Inputs:
    - X: A numpy array of shape (N, D) containing training data.
    - y: A numpy array of shape (N,) containing training labels.
    - num_folds: (integer) number of folds, between 2 and N.

    Returns a tuple of:
    - X_folds: A list of num_folds numpy arrays; X_folds[i] has shape (N_i, D), and the
      N_i add up to N.
    - y_folds: A list of num_folds numpy arrays; y_folds[i] has shape (N_i,) and holds
      the labels of the rows of X_folds[i].
    """
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must have shape (N, D), got {X.shape}")
    y = check_labels("y", y, n=X.shape[0])
    num_folds = positive_int("num_folds", num_folds)
    if not 2 <= num_folds <= X.shape[0]:
        raise ValueError(f"num_folds must be between 2 and the {X.shape[0]} rows of X, got {num_folds}")
    return np.array_split(X, num_folds), np.array_split(y, num_folds)


def cross_validate_k(X, y, k_choices, num_folds):
    """
    Choose k for the k-nearest-neighbor classifier by num_folds-fold cross-validation.

    The training data is split with split_folds. For each fold i, the other folds
    (concatenated in their order) are the training data and fold i is the validation data:
    compute the distances from fold i to the training data once with
    compute_distances_no_loops, then for every k in k_choices predict the labels of
    fold i with predict_labels and record the fraction predicted correctly.

    Inputs:
    - X: A numpy array of shape (N, D) containing training data.
    - y: A numpy array of shape (N,) containing training labels.
    - k_choices: A list of the values of k to try.
    - num_folds: (integer) number of folds.

    Returns a tuple of:
    - k_to_accuracies: A dict mapping each k in k_choices to a list of num_folds floats,
      where k_to_accuracies[k][i] is the accuracy on fold i when the other folds are the
      training data.
    - best_k: (integer) the k with the highest mean accuracy over the folds; the smallest
      such k when several tie.
    """
    if isinstance(k_choices, (str, bytes)) or not hasattr(k_choices, "__len__") or len(k_choices) == 0:
        raise ValueError(f"k_choices must be a non-empty list of integers, got {k_choices!r}")
    X_folds, y_folds = split_folds(X, y, num_folds)
    smallest_training_set = X.shape[0] - max(len(fold) for fold in X_folds)
    for k in k_choices:
        _check_k(k, smallest_training_set)
    k_to_accuracies = {k: [] for k in k_choices}
    for i in range(num_folds):
        X_tr = np.concatenate(X_folds[:i] + X_folds[i + 1:])  # (N - N_i, D)
        y_tr = np.concatenate(y_folds[:i] + y_folds[i + 1:])
        # The distances do not depend on k: compute them once per fold.
        dists = compute_distances_no_loops(X_folds[i], X_tr)
        for k in k_choices:
            k_to_accuracies[k].append(float(np.mean(predict_labels(dists, y_tr, k=k) == y_folds[i])))
    means = [np.mean(k_to_accuracies[k]) for k in k_choices]
    best_k = min(k for k, mean in zip(k_choices, means, strict=True) if mean == max(means))
    return k_to_accuracies, int(best_k)


# ----------------------------------------------------------------------------- classifier


class KNearestNeighbor:
    """
    A kNN classifier with L2 distance.

    The distance and voting functions default to the references above; pass your own
    (same signatures) to run them through this class, e.g.
    KNearestNeighbor(compute_distances_no_loops=my_no_loops, predict_labels=my_vote).
    """

    def __init__(self, compute_distances_two_loops=compute_distances_two_loops,
                 compute_distances_one_loop=compute_distances_one_loop,
                 compute_distances_no_loops=compute_distances_no_loops,
                 predict_labels=predict_labels):
        fns = {
            "compute_distances_two_loops": compute_distances_two_loops,
            "compute_distances_one_loop": compute_distances_one_loop,
            "compute_distances_no_loops": compute_distances_no_loops,
            "predict_labels": predict_labels,
        }
        for name, fn in fns.items():
            if not callable(fn):
                raise ValueError(f"{name} must be a function, got {fn!r}")
        self._distance_fns = {2: fns["compute_distances_two_loops"], 1: fns["compute_distances_one_loop"],
                              0: fns["compute_distances_no_loops"]}
        self._predict_labels = fns["predict_labels"]
        self.X_train = None
        self.y_train = None

    def train(self, X, y):
        """
        Train the classifier. For k-nearest neighbors this is just memorizing the training data.

        Inputs:
        - X: A numpy array of shape (num_train, D) containing the training data
          consisting of num_train samples each of dimension D.
        - y: A numpy array of shape (N,) containing the training labels, where
          y[i] is the label for X[i].
        """
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[0] == 0:
            raise ValueError(f"X must have shape (num_train, D) with num_train >= 1, got {X.shape}")
        self.y_train = check_labels("y_train", y, n=X.shape[0])
        self.X_train = X

    def _check_trained(self):
        if self.X_train is None:
            raise ValueError("the classifier has no training data yet: call train(X, y) first")

    def predict(self, X, k=1, num_loops=0):
        """
        Predict labels for test data using this classifier.

        Inputs:
        - X: A numpy array of shape (num_test, D) containing test data consisting
             of num_test samples each of dimension D.
        - k: The number of nearest neighbors that vote for the predicted labels.
        - num_loops: Determines which implementation to use to compute distances
          between training points and testing points (0, 1 or 2).

        Returns:
        - y: A numpy array of shape (num_test,) containing predicted labels for the
          test data, where y[i] is the predicted label for the test point X[i].
        """
        self._check_trained()
        if isinstance(num_loops, bool) or not isinstance(num_loops, numbers.Integral) \
                or num_loops not in self._distance_fns:
            raise ValueError(f"num_loops must be 0, 1 or 2, got {num_loops!r}")
        _check_pair(X, self.X_train)
        _check_k(k, self.X_train.shape[0])
        dists = self._distance_fns[num_loops](X, self.X_train)
        return self.predict_labels(dists, k=k)

    def compute_distances_two_loops(self, X):
        """Distances (num_test, num_train) from X (num_test, D) to the training data, two loops."""
        self._check_trained()
        return self._distance_fns[2](X, self.X_train)

    def compute_distances_one_loop(self, X):
        """Distances (num_test, num_train) from X (num_test, D) to the training data, one loop."""
        self._check_trained()
        return self._distance_fns[1](X, self.X_train)

    def compute_distances_no_loops(self, X):
        """Distances (num_test, num_train) from X (num_test, D) to the training data, no loops."""
        self._check_trained()
        return self._distance_fns[0](X, self.X_train)

    def predict_labels(self, dists, k=1):
        """
        Majority vote of the k nearest training labels for each row of dists.

        Inputs:
        - dists: Array of shape (num_test, num_train) of distances to the training data
        - k: Number of nearest neighbours that vote

        Returns:
        - y: Array of shape (num_test,) of predicted labels
        """
        self._check_trained()
        check_shape("dists", dists, ("num_test", self.X_train.shape[0]))
        return self._predict_labels(dists, self.y_train, k=k)
