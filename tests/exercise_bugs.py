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
        "split_folds": Bug("""
            fold_size = X.shape[0] // num_folds  # the remainder rows are lost
            X_folds = [X[i * fold_size:(i + 1) * fold_size] for i in range(num_folds)]
            y_folds = [y[i * fold_size:(i + 1) * fold_size] for i in range(num_folds)]
            return X_folds, y_folds
            """, r"split_folds does not match.*X_folds\[0\] has shape \(200, 3072\), expected \(201, 3072\)"),
        "cross_validate_k": Bug("""
            X_folds, y_folds = split_folds(X, y, num_folds)
            k_to_accuracies = {k: [] for k in k_choices}
            for i in range(num_folds):
                X_tr, y_tr = np.concatenate(X_folds), np.concatenate(y_folds)  # the held-out fold is still in
                dists = compute_distances_no_loops(X_folds[i], X_tr)
                for k in k_choices:
                    k_to_accuracies[k].append(np.mean(predict_labels(dists, y_tr, k=k) == y_folds[i]))
            means = [np.mean(k_to_accuracies[k]) for k in k_choices]
            return k_to_accuracies, k_choices[int(np.argmax(means))]
            """, r"cross_validate_k does not match.*k_to_accuracies\[1\] differs in 5 of 5 values.*"
                 r"Hint \(k_to_accuracies\): the rows of the held-out fold"),
    },
    "svm": {
        "svm_loss_naive": Bug("""
            dW = np.zeros(W.shape)
            loss = 0.0
            for i in range(X.shape[0]):
                scores = X[i].dot(W)
                for j in range(W.shape[1]):
                    if j == y[i]:
                        continue
                    margin = scores[j] - scores[y[i]] + 1
                    if margin > 0:
                        loss += margin
                        dW[:, j] += X[i]
                        dW[:, y[i]] -= X[i]
            loss = loss / X.shape[0] + reg * np.sum(W * W)
            dW = dW / X.shape[0] + reg * W  # the factor 2 of the regularization gradient is missing
            return loss, dW
            """, r"svm_loss_naive does not match.*dW differs.*What matched: loss\..*"
                 r"Hint: without regularization your loss and gradient matched"),
        "svm_loss_vectorized": Bug("""
            N = X.shape[0]
            scores = X @ W
            margins = np.maximum(0, scores - scores[np.arange(N), y][:, None] + 1)  # the correct class counts too
            loss = margins.sum() / N + reg * np.sum(W * W)
            coeff = (margins > 0).astype(float)
            coeff[np.arange(N), y] = -coeff.sum(axis=1)
            return loss, X.T @ coeff / N + 2 * reg * W
            """, r"svm_loss_vectorized does not match.*- loss is .*expected.*Hint \(loss\): the correct class's own"),
        "sample_batch": Bug("""
            idx = rng.choice(X.shape[0], batch_size, replace=False)  # without replacement: other indices
            return X[idx], y[idx]
            """, r"sample_batch does not match.*X_batch differs.*Hint: draw the indices with rng.choice"),
        "sgd_step": Bug("""
            W -= learning_rate * dW  # changes the caller's W
            return W
            """, r"sgd_step does not match.*`W` was modified in place"),
        "LinearClassifier.train": Bug("""
            rng = np.random.default_rng(seed)
            if self.W is None:
                self.W = 0.001 * rng.standard_normal((X.shape[1], np.max(y) + 1))
            loss_history = []
            for it in range(num_iters):
                X_batch, y_batch = sample_batch(X, y, batch_size, rng)
                loss, grad = self.loss(X_batch, y_batch, reg)
                loss_history.append(loss)
                sgd_step(self.W, grad, learning_rate)  # the new weights are thrown away
            return loss_history
            """, r"LinearClassifier.train does not match.*self.W differs.*Hint \(self.W\)"),
        "LinearClassifier.predict": Bug("""
            return np.argmax(X @ self.W, axis=0)  # the best example per class
            """, r"LinearClassifier.predict does not match.*y_pred has shape \(10,\), expected \(250,\)"),
        "hyperparameter_search": Bug("""
            results, best_classifier, best_val = {}, None, -1.0
            classifier = make_classifier()  # made once: each pair continues from the previous pair's weights
            for lr in learning_rates:
                for reg in regularization_strengths:
                    try:
                        classifier.train(data["X_train"], data["y_train"], learning_rate=lr, reg=reg,
                                         num_iters=num_iters, batch_size=batch_size, seed=seed)
                    except linear_classifier.TrainingDivergedError:
                        results[(lr, reg)] = (np.nan, np.nan)
                        continue
                    train_acc = np.mean(classifier.predict(data["X_train"]) == data["y_train"])
                    val_acc = np.mean(classifier.predict(data["X_val"]) == data["y_val"])
                    results[(lr, reg)] = (train_acc, val_acc)
                    if val_acc > best_val:
                        best_classifier, best_val = classifier, val_acc
            return results, best_classifier, best_val
            """, r"hyperparameter_search does not match.*results\[.*differs.*Hint \(results\): every pair trains"),
    },
    "softmax": {
        "softmax_loss_naive": Bug("""
            dW = np.zeros(W.shape)
            loss = 0.0
            for i in range(X.shape[0]):
                scores = X[i].dot(W)  # not shifted by its maximum
                probs = np.exp(scores) / np.sum(np.exp(scores))
                loss -= np.log(probs[y[i]])
                for j in range(W.shape[1]):
                    dW[:, j] += (probs[j] - (j == y[i])) * X[i]
            loss = loss / X.shape[0] + reg * np.sum(W * W)
            return loss, dW / X.shape[0] + 2 * reg * W
            """, r"softmax_loss_naive does not match.*NaN.*overflowing exp.*Hint: small weights passed"),
        "softmax_loss_vectorized": Bug("""
            N = X.shape[0]
            scores = X @ W
            scores -= scores.max(axis=1, keepdims=True)
            probs = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
            loss = -np.log(probs[np.arange(N), y]).mean() + reg * np.sum(W * W)
            probs[np.arange(N), y] -= 1
            return loss, X.T @ probs + 2 * reg * W  # the data term is summed, not averaged
            """, r"softmax_loss_vectorized does not match.*dW differs.*What matched: loss\..*Hint \(dW\)"),
        "hyperparameter_search": Bug("""
            results, best_classifier, best_val, best_train = {}, None, -1.0, -1.0
            for lr in learning_rates:
                for reg in regularization_strengths:
                    classifier = make_classifier()
                    try:
                        classifier.train(data["X_train"], data["y_train"], learning_rate=lr, reg=reg,
                                         num_iters=num_iters, batch_size=batch_size, seed=seed)
                    except linear_classifier.TrainingDivergedError:
                        results[(lr, reg)] = (np.nan, np.nan)
                        continue
                    train_acc = np.mean(classifier.predict(data["X_train"]) == data["y_train"])
                    val_acc = np.mean(classifier.predict(data["X_val"]) == data["y_val"])
                    results[(lr, reg)] = (train_acc, val_acc)
                    if train_acc > best_train:  # chosen by its training accuracy
                        best_train, best_classifier, best_val = train_acc, classifier, val_acc
            return results, best_classifier, best_val
            """, r"hyperparameter_search does not match.*best_val is .*expected.*Hint \(best_val\)"),
    },
    "two_layer_net": {
        "TwoLayerNet.loss": Bug("""
            W1, b1, W2, b2 = self.params["W1"], self.params["b1"], self.params["W2"], self.params["b2"]
            N = X.shape[0]
            X2 = X.reshape(N, -1)
            hidden = np.maximum(0, X2 @ W1 + b1)
            scores = hidden @ W2 + b2
            if y is None:
                return scores
            shifted = scores - scores.max(axis=1, keepdims=True)
            probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
            # CS231n 2017's regularization, reg * sum(W^2): no factor 0.5
            loss = -np.log(probs[np.arange(N), y]).mean() + self.reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
            dscores = probs.copy()
            dscores[np.arange(N), y] -= 1
            dscores /= N
            dhidden = dscores @ W2.T * (hidden > 0)
            grads = {"W1": X2.T @ dhidden + 2 * self.reg * W1, "b1": dhidden.sum(axis=0),
                     "W2": hidden.T @ dscores + 2 * self.reg * W2, "b2": dscores.sum(axis=0)}
            return loss, grads
            """, r"TwoLayerNet.loss does not match.*- loss is .*expected.*Hint \(loss\): the scores matched"),
        "TwoLayerNet.train": Bug("""
            rng = np.random if seed is None else np.random.RandomState(seed)
            N = X.shape[0]
            iterations_per_epoch = max(N // batch_size, 1)
            loss_history, train_acc_history, val_acc_history = [], [], []
            for it in range(num_iters):
                batch = rng.choice(N, batch_size)
                loss, grads = self.loss(X[batch], y[batch])
                loss_history.append(loss)
                for name in self.params:
                    self.params[name] -= learning_rate * grads[name]
                if it % iterations_per_epoch == 0:  # also after the very first iteration
                    train_acc_history.append(np.mean(self.predict(X[batch]) == y[batch]))
                    val_acc_history.append(np.mean(self.predict(X_val) == y_val))
                    learning_rate *= learning_rate_decay
            return {"loss_history": loss_history, "train_acc_history": train_acc_history,
                    "val_acc_history": val_acc_history}
            """, r"TwoLayerNet.train does not match.*stats\['train_acc_history'\] has shape \(3,\), expected \(2,\)"
                 r".*Hint \(stats\)"),
        "TwoLayerNet.predict": Bug("""
            return np.argmax(self.loss(X), axis=0)  # the best example per class
            """, r"TwoLayerNet.predict does not match.*y_pred has shape \(3,\), expected \(5,\)"),
        "tune_two_layer_net": Bug("""
            results, best_net, best_stats, best_val = {}, None, None, -1.0
            for setting in settings:
                hidden_size, learning_rate, reg, num_iters = setting
                np.random.seed(seed)
                net = model_class(data["X_train"].shape[1], hidden_size, num_classes, weight_scale=weight_scale,
                                  reg=reg)
                stats = net.train(data["X_train"], data["y_train"], data["X_val"], data["y_val"],
                                  learning_rate=learning_rate, learning_rate_decay=learning_rate_decay,
                                  num_iters=num_iters, batch_size=batch_size, seed=seed)
                val_acc = np.mean(net.predict(data["X_val"]) == data["y_val"])
                results[setting] = (np.mean(net.predict(data["X_train"]) == data["y_train"]), val_acc)
                if val_acc > best_val:
                    best_val = val_acc
                best_net, best_stats = net, stats  # kept whatever its accuracy: the last network wins
            return results, best_net, best_stats
            """, r"tune_two_layer_net does not match.*best_net.params\['W1'\] differs.*Hint \(best_net\)"),
    },
    "features": {
        "color_histogram_hsv": Bug("""
            hue = matplotlib.colors.rgb_to_hsv(im / xmax)[..., 0] * xmax
            bins = np.linspace(xmin, xmax, nbin + 1)
            imhist, _ = np.histogram(hue, bins=bins, density=normalized)  # a density, not fractions of the pixels
            return imhist
            """, r"color_histogram_hsv does not match.*the output differs.*Hint \(the output\)"),
        "hyperparameter_search": Bug("""
            results, best_classifier, best_val = {}, None, -1.0
            for lr in learning_rates:
                for reg in regularization_strengths:
                    classifier = make_classifier()
                    try:
                        classifier.train(data["X_train"], data["y_train"], learning_rate=lr, reg=reg,
                                         num_iters=num_iters, batch_size=batch_size, seed=seed)
                    except linear_classifier.TrainingDivergedError:
                        results[(reg, lr)] = (np.nan, np.nan)
                        continue
                    train_acc = np.mean(classifier.predict(data["X_train"]) == data["y_train"])
                    val_acc = np.mean(classifier.predict(data["X_val"]) == data["y_val"])
                    results[(reg, lr)] = (train_acc, val_acc)  # the key's order is swapped
                    if val_acc > best_val:
                        best_classifier, best_val = classifier, val_acc
            return results, best_classifier, best_val
            """, r"hyperparameter_search does not match.*results lacks the keys"),
        "tune_two_layer_net": Bug("""
            results, best_net, best_stats, best_val = {}, None, None, -1.0
            for setting in settings:
                hidden_size, learning_rate, reg, num_iters = setting
                # no np.random.seed(seed): each network starts from other random weights
                net = model_class(data["X_train"].shape[1], hidden_size, num_classes, weight_scale=weight_scale,
                                  reg=reg)
                stats = net.train(data["X_train"], data["y_train"], data["X_val"], data["y_val"],
                                  learning_rate=learning_rate, learning_rate_decay=learning_rate_decay,
                                  num_iters=num_iters, batch_size=batch_size, seed=seed)
                val_acc = np.mean(net.predict(data["X_val"]) == data["y_val"])
                results[setting] = (np.mean(net.predict(data["X_train"]) == data["y_train"]), val_acc)
                if val_acc > best_val:
                    best_net, best_stats, best_val = net, stats, val_acc
            return results, best_net, best_stats
            """, r"tune_two_layer_net does not match.*best_net.params\['W1'\] differs.*Hint \(best_net\)"),
    },
}
