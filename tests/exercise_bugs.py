"""One realistic mistake per exercise, and what its check cell must say about it.

Each Bug's body replaces the exercise's `raise NotImplementedError`; the contract tests
(tests/test_contract_*.py) run the notebook with the correct solutions, and at each exercise's
check cell run it once with the bug, expecting the check to fail with a message matching
`expect`. The mistakes are the classic ones learners make, written as a learner would.
"""

from notebook_tools import Bug

BUGS = {
    "knn": {
        "compute_distances_two_loops": Bug("""
            dists = np.zeros((X.shape[0], X_train.shape[0]))
            for i in range(X.shape[0]):
                for j in range(X_train.shape[0]):
                    dists[i, j] = np.sum((X[i] - X_train[j]) ** 2)  # the square root is missing
            return dists
            """, r"compute_distances_two_loops does not match.*the output differs in \d+ of 2000 values"),
        "predict_labels": Bug("""
            closest = np.argsort(dists, axis=1)[:, :k]
            # the vote: the most frequent label, but ties go to the label of the first neighbour
            y_pred = []
            for labels in y_train[closest]:
                counts = {label: list(labels).count(label) for label in labels}
                y_pred.append(max(counts, key=counts.get))
            return np.array(y_pred)
            """, r"predict_labels does not match.*the output differs in \d+ of \d+ values.*Hint: when labels tie"),
        "compute_distances_one_loop": Bug("""
            dists = np.zeros((X.shape[0], X_train.shape[0]))
            for i in range(X.shape[0]):
                dists[i] = np.sqrt(np.sum(X[i] - X_train, axis=1) ** 2)  # squares after summing
            return dists
            """, r"compute_distances_one_loop does not match.*the output differs"),
        "compute_distances_no_loops": Bug("""
            # the cross term without its factor 2
            squared = np.sum(X ** 2, axis=1)[:, None] - X @ X_train.T + np.sum(X_train ** 2, axis=1)
            return np.sqrt(np.maximum(squared, 0))
            """, r"compute_distances_no_loops does not match.*the output differs"),
    },
}
