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
    "FullyConnectedNets": {
        "affine_forward": Bug("""
            out = x.reshape(x.shape[0], -1) @ w  # the bias is forgotten
            return out, (x, w, b)
            """, r"affine_forward does not match.*out differs.*Hint \(out\)"),
        "affine_backward": Bug("""
            x, w, b = cache
            dx = (dout @ w.T).reshape(x.shape)
            dw = x.reshape(x.shape[0], -1).T @ dout
            db = np.sum(dout, axis=1)  # sums over the wrong axis
            return dx, dw, db
            """, r"affine_backward does not match.*db has shape \(10,\), expected \(5,\).*Hint \(db\)"),
        "relu_forward": Bug("""
            x[x < 0] = 0  # in place: the caller's array changes
            return x, x
            """, r"relu_forward does not match.*`x` was modified in place"),
        "relu_backward": Bug("""
            return dout * (dout > 0)  # the sign of the upstream gradient instead of the input's
            """, r"relu_backward does not match.*dx differs.*Hint \(dx\)"),
        "svm_loss": Bug("""
            N = x.shape[0]
            correct = x[np.arange(N), y][:, None]
            margins = np.maximum(0, x - correct + 1)  # the correct class counts its own margin of 1
            loss = margins.sum() / N
            dx = (margins > 0).astype(x.dtype)
            dx[np.arange(N), y] -= dx.sum(axis=1)
            return loss, dx / N
            """, r"svm_loss does not match.*loss is 9\.99\d+, expected 8\.99\d+.*What matched: dx.*Hint \(loss\)"),
        "softmax_loss": Bug("""
            shifted = x - x.max(axis=1, keepdims=True)
            probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
            N = x.shape[0]
            loss = -np.log(probs[np.arange(N), y]).mean()
            dx = probs.copy()
            dx[np.arange(N), y] -= 1
            return loss, dx  # not averaged over the batch like the loss
            """, r"softmax_loss does not match.*dx differs.*Hint \(dx\)"),
        "TwoLayerNet.__init__": Bug("""
            self.params["W1"] = rng.standard_normal((input_dim, hidden_dim))  # weight_scale is forgotten
            self.params["b1"] = np.zeros(hidden_dim)
            self.params["W2"] = rng.standard_normal((hidden_dim, num_classes))
            self.params["b2"] = np.zeros(num_classes)
            """, r"TwoLayerNet.__init__ does not match.*self.params\['W1'\] has mean .* standard deviation.*"
                 r"Hint \(self.params\['W1'\]\)"),
        "TwoLayerNet.loss": Bug("""
            W1, b1, W2, b2 = (self.params[k] for k in ("W1", "b1", "W2", "b2"))
            hidden, cache1 = affine_forward(X, W1, b1)
            activated, relu_cache = relu_forward(hidden)
            scores, cache2 = affine_forward(activated, W2, b2)
            if y is None:
                return scores
            data_loss, dscores = softmax_loss(scores, y)
            loss = data_loss + self.reg * (np.sum(W1 * W1) + np.sum(W2 * W2))  # the factor 0.5 is missing
            grads = {}
            dactivated, grads["W2"], grads["b2"] = affine_backward(dscores, cache2)
            dhidden = relu_backward(dactivated, relu_cache)
            _, grads["W1"], grads["b1"] = affine_backward(dhidden, cache1)
            grads["W1"] += self.reg * W1
            grads["W2"] += self.reg * W2
            return loss, grads
            """, r"TwoLayerNet.loss does not match.*loss is .*What matched: grads.*Hint \(loss\)"),
        "FullyConnectedNet.__init__": Bug("""
            dims = [input_dim, *hidden_dims, num_classes]
            for i in range(1, self.num_layers + 1):
                self.params[f"W{i}"] = weight_scale * rng.standard_normal((dims[i - 1], dims[i]))
                self.params[f"b{i}"] = weight_scale * rng.standard_normal(dims[i])  # biases start at zero
            """, r"FullyConnectedNet.__init__ does not match.*self.params\['b1'\] should start as all 0"),
        "FullyConnectedNet.loss": Bug("""
            caches = []
            out = X
            for i in range(1, self.num_layers):
                out, fc_cache = affine_forward(out, self.params[f"W{i}"], self.params[f"b{i}"])
                out, relu_cache = relu_forward(out)
                caches.append((fc_cache, relu_cache))
            L = self.num_layers
            scores, last_cache = affine_forward(out, self.params[f"W{L}"], self.params[f"b{L}"])
            if mode == "test":
                return scores
            loss, dout = softmax_loss(scores, y)
            grads = {}
            dout, grads[f"W{L}"], grads[f"b{L}"] = affine_backward(dout, last_cache)
            for i in range(L - 1, 0, -1):
                fc_cache, relu_cache = caches[i - 1]
                dout = relu_backward(dout, relu_cache)
                dout, grads[f"W{i}"], grads[f"b{i}"] = affine_backward(dout, fc_cache)
            for i in range(1, L):  # the output layer's weights are left out of the penalty
                W = self.params[f"W{i}"]
                loss += 0.5 * self.reg * np.sum(W * W)
                grads[f"W{i}"] += self.reg * W
            return loss, grads
            """, r"FullyConnectedNet.loss does not match.*loss is .*Hint \(loss\)"),
        "sgd_momentum": Bug("""
            config = dict(config or {})
            config.setdefault("learning_rate", 1e-2)
            config.setdefault("momentum", 0.9)
            v = config.get("velocity", np.zeros_like(w))
            next_w = w + v  # moves with the old velocity
            config["velocity"] = config["momentum"] * v - config["learning_rate"] * dw
            return next_w, config
            """, r"sgd_momentum does not match.*next_w differs.*Hint \(next_w\)"),
        "rmsprop": Bug("""
            config = dict(config or {})
            config.setdefault("learning_rate", 1e-2)
            config.setdefault("decay_rate", 0.99)
            config.setdefault("epsilon", 1e-8)
            cache = config.get("cache", np.zeros_like(w))
            cache = config["decay_rate"] * cache + dw**2  # the new term lacks its weight 1 - decay_rate
            config["cache"] = cache
            return w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"]), config
            """, r"rmsprop does not match.*config\['cache'\] differs.*Hint \(config\)"),
        "adam": Bug("""
            config = dict(config or {})
            for key, value in (("learning_rate", 1e-3), ("beta1", 0.9), ("beta2", 0.999), ("epsilon", 1e-8)):
                config.setdefault(key, value)
            m = config.get("m", np.zeros_like(w))
            v = config.get("v", np.zeros_like(w))
            t = config.get("t", 0)  # used before it is incremented
            m = config["beta1"] * m + (1 - config["beta1"]) * dw
            v = config["beta2"] * v + (1 - config["beta2"]) * dw**2
            m_hat, v_hat = m / (1 - config["beta1"] ** t), v / (1 - config["beta2"] ** t)
            next_w = w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"])
            config.update(m=m, v=v, t=t + 1)
            return next_w, config
            """, r"adam does not match.*next_w differs.*Hint \(next_w\): increment t"),
    },
    "BatchNormalization": {
        "batchnorm_forward": Bug("""
            eps, momentum = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
            D = x.shape[1]
            running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
            running_var = bn_param.get("running_var", np.zeros(D, dtype=x.dtype))
            if bn_param["mode"] == "train":
                mean, var = x.mean(axis=0), x.var(axis=0, ddof=1)  # the unbiased variance
                bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mean
                bn_param["running_var"] = momentum * running_var + (1 - momentum) * var
            else:
                mean, var = running_mean, running_var
            x_hat = (x - mean) / np.sqrt(var + eps)
            return gamma * x_hat + beta, (x_hat, gamma, 1 / np.sqrt(var + eps))
            """, r"batchnorm_forward does not match.*out differs.*Hint \(out\)"),
        "batchnorm_backward": Bug("""
            x_hat, xmu, inv_std, gamma = (cache[k] for k in ("x_hat", "xmu", "inv_std", "gamma"))
            N = dout.shape[0]
            dbeta = dout.sum(axis=0)
            dgamma = np.sum(dout * x_hat, axis=0)
            dx_hat = dout * gamma
            dxmu = dx_hat * inv_std
            dvar = np.sum(dx_hat * xmu, axis=0) * -0.5 * inv_std**3
            dxmu += 2 * xmu * dvar / N
            dx = dxmu - dxmu.sum(axis=0)  # the mean node's 1/N is missing
            return dx, dgamma, dbeta
            """, r"batchnorm_backward does not match.*dx differs.*What matched: dgamma, dbeta.*Hint \(dx\)"),
        "batchnorm_backward_alt": Bug("""
            x_hat, gamma, inv_std = cache["x_hat"], cache["gamma"], cache["inv_std"]
            dbeta = dout.sum(axis=0)
            dgamma = np.sum(dout * x_hat, axis=0)
            # the variance path takes the mean of dout instead of the mean of dout * x_hat
            dx = gamma * inv_std * (dout - dout.mean(axis=0) - x_hat * dout.mean(axis=0))
            return dx, dgamma, dbeta
            """, r"batchnorm_backward_alt does not match.*dx differs.*Hint \(dx\)"),
        "FullyConnectedNet.__init__": Bug("""
            dims = [input_dim, *hidden_dims, num_classes]
            for i in range(1, self.num_layers + 1):
                self.params[f"W{i}"] = weight_scale * rng.standard_normal((dims[i - 1], dims[i]))
                self.params[f"b{i}"] = np.zeros(dims[i])
                if normalization is not None and i < self.num_layers:
                    self.params[f"gamma{i}"] = np.zeros(dims[i])  # zero like a bias: the layer outputs nothing
                    self.params[f"beta{i}"] = np.zeros(dims[i])
            self.bn_params = []
            if normalization == "batchnorm":
                self.bn_params = [{"mode": "train"} for _ in range(self.num_layers - 1)]
            if normalization == "layernorm":
                self.bn_params = [{} for _ in range(self.num_layers - 1)]
            """, r"FullyConnectedNet.__init__ does not match.*self.params\['gamma1'\] should start as all 1"),
        "FullyConnectedNet.loss": Bug("""
            caches = []
            out = X
            for i in range(1, self.num_layers):
                out, fc_cache = affine_forward(out, self.params[f"W{i}"], self.params[f"b{i}"])
                out, relu_cache = relu_forward(out)
                norm_cache = None
                gamma, beta = self.params.get(f"gamma{i}"), self.params.get(f"beta{i}")
                if self.normalization == "batchnorm":  # normalizes after the ReLU instead of before it
                    out, norm_cache = batchnorm_forward(out, gamma, beta, self.bn_params[i - 1])
                elif self.normalization == "layernorm":
                    out, norm_cache = layernorm_forward(out, gamma, beta, self.bn_params[i - 1])
                caches.append((fc_cache, relu_cache, norm_cache))
            L = self.num_layers
            scores, last_cache = affine_forward(out, self.params[f"W{L}"], self.params[f"b{L}"])
            if mode == "test":
                return scores
            loss, dout = softmax_loss(scores, y)
            grads = {}
            dout, grads[f"W{L}"], grads[f"b{L}"] = affine_backward(dout, last_cache)
            for i in range(L - 1, 0, -1):
                fc_cache, relu_cache, norm_cache = caches[i - 1]
                if self.normalization == "batchnorm":
                    dout, grads[f"gamma{i}"], grads[f"beta{i}"] = batchnorm_backward_alt(dout, norm_cache)
                elif self.normalization == "layernorm":
                    dout, grads[f"gamma{i}"], grads[f"beta{i}"] = layernorm_backward(dout, norm_cache)
                dout = relu_backward(dout, relu_cache)
                dout, grads[f"W{i}"], grads[f"b{i}"] = affine_backward(dout, fc_cache)
            for i in range(1, L + 1):
                W = self.params[f"W{i}"]
                loss += 0.5 * self.reg * np.sum(W * W)
                grads[f"W{i}"] += self.reg * W
            return loss, grads
            """, r"FullyConnectedNet.loss does not match.*loss is .*Hint \(loss\)"),
        "layernorm_forward": Bug("""
            eps = ln_param.get("eps", 1e-5)
            mean, var = x.mean(axis=0), x.var(axis=0)  # over the batch, as in batchnorm, not over each row
            x_hat = (x - mean) / np.sqrt(var + eps)
            return gamma * x_hat + beta, (x_hat, gamma, 1 / np.sqrt(var + eps))
            """, r"layernorm_forward does not match.*out differs.*Hint \(out\)"),
        "layernorm_backward": Bug("""
            x_hat, gamma, inv_std = cache["x_hat"], cache["gamma"], cache["inv_std"]
            D = dout.shape[1]
            dbeta = dout.sum(axis=0)
            dgamma = np.sum(dout * x_hat, axis=0)
            dx_hat = dout * gamma
            # the sums run over the batch, as in batchnorm, instead of over each row's features
            dx = inv_std / D * (D * dx_hat - dx_hat.sum(axis=0) - x_hat * np.sum(dx_hat * x_hat, axis=0))
            return dx, dgamma, dbeta
            """, r"layernorm_backward does not match.*dx differs.*Hint \(dx\)"),
    },
    "Dropout": {
        "dropout_forward": Bug("""
            if dropout_param["mode"] == "test":
                return x, None
            rng = np.random.default_rng(dropout_param["seed"]) if "seed" in dropout_param else np.random
            mask = rng.random(x.shape) < dropout_param["p"]
            return x * mask, mask  # the kept units are not scaled up
            """, r"dropout_forward does not match.*out differs.*Hint \(out\): p is the probability of KEEPING"),
        "dropout_backward": Bug("""
            if cache is None:
                return dout
            return dout * (cache != 0)  # the mask's scale is lost
            """, r"dropout_backward does not match.*dx differs.*Hint \(dx\)"),
        "FullyConnectedNet.__init__": Bug("""
            dims = [input_dim, *hidden_dims, num_classes]
            for i in range(1, self.num_layers + 1):
                self.params[f"W{i}"] = weight_scale * rng.standard_normal((dims[i - 1], dims[i]))
                self.params[f"b{i}"] = np.zeros(dims[i])
                if normalization is not None and i < self.num_layers:
                    self.params[f"gamma{i}"] = np.ones(dims[i])
                    self.params[f"beta{i}"] = np.zeros(dims[i])
            self.dropout_param = {}
            if self.use_dropout:
                self.dropout_param = {"mode": "train", "p": 1 - dropout_keep_ratio}  # the drop probability
                if seed is not None:
                    self.dropout_param["seed"] = seed
            """, r"FullyConnectedNet.__init__ does not match.*self.dropout_param\['p'\] is 0.25, expected 0.75"),
        "FullyConnectedNet.loss": Bug("""
            caches = []
            out = X
            for i in range(1, self.num_layers):
                out, fc_cache = affine_forward(out, self.params[f"W{i}"], self.params[f"b{i}"])
                out, relu_cache = relu_forward(out)
                drop_cache = None
                if self.use_dropout:
                    out, drop_cache = dropout_forward(out, self.dropout_param)
                caches.append((fc_cache, relu_cache, drop_cache))
            L = self.num_layers
            scores, last_cache = affine_forward(out, self.params[f"W{L}"], self.params[f"b{L}"])
            if mode == "test":
                return scores
            loss, dout = softmax_loss(scores, y)
            grads = {}
            dout, grads[f"W{L}"], grads[f"b{L}"] = affine_backward(dout, last_cache)
            for i in range(L - 1, 0, -1):
                fc_cache, relu_cache, drop_cache = caches[i - 1]  # the backward loop skips the dropout layer
                dout = relu_backward(dout, relu_cache)
                dout, grads[f"W{i}"], grads[f"b{i}"] = affine_backward(dout, fc_cache)
            for i in range(1, L + 1):
                W = self.params[f"W{i}"]
                loss += 0.5 * self.reg * np.sum(W * W)
                grads[f"W{i}"] += self.reg * W
            return loss, grads
            """, r"FullyConnectedNet.loss does not match.*grads\['W1'\] differs.*Hint \(grads\)"),
    },
    "ConvolutionalNetworks": {
        "conv_forward_naive": Bug("""
            N, C, H, W = x.shape
            F, _, HH, WW = w.shape
            stride, pad = conv_param["stride"], conv_param["pad"]
            xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
            H_out, W_out = 1 + (H + 2 * pad - HH) // stride, 1 + (W + 2 * pad - WW) // stride
            out = np.zeros((N, F, H_out, W_out))
            for n in range(N):
                for f in range(F):
                    for i in range(H_out):
                        for j in range(W_out):
                            # the window moves one pixel at a time whatever the stride
                            out[n, f, i, j] = np.sum(xp[n, :, i:i + HH, j:j + WW] * w[f]) + b[f]
            return out, (x, w, b, conv_param)
            """, r"conv_forward_naive does not match.*out differs.*Hint \(out\)"),
        "conv_backward_naive": Bug("""
            x, w, b, conv_param = cache
            stride, pad = conv_param["stride"], conv_param["pad"]
            HH, WW = w.shape[2], w.shape[3]
            N, F, H_out, W_out = dout.shape
            xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
            dxp, dw = np.zeros_like(xp), np.zeros_like(w)
            for n in range(N):
                for f in range(F):
                    for i in range(H_out):
                        for j in range(W_out):
                            patch = xp[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
                            dw[f] += patch * dout[n, f, i, j]
                            dxp[n, :, i:i + HH, j:j + WW] += w[f] * dout[n, f, i, j]  # the stride is forgotten
            dx = dxp[:, :, pad:pad + x.shape[2], pad:pad + x.shape[3]]
            return dx, dw, dout.sum(axis=(0, 2, 3))
            """, r"conv_backward_naive does not match.*dx differs.*What matched: dw, db.*Hint \(dx\)"),
        "max_pool_forward_naive": Bug("""
            ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
            N, C, H, W = x.shape
            H_out, W_out = 1 + (H - ph) // stride, 1 + (W - pw) // stride
            out = np.zeros((N, C, H_out, W_out))
            for i in range(H_out):
                for j in range(W_out):
                    out[:, :, i, j] = x[:, :, i:i + ph, j:j + pw].max(axis=(2, 3))  # windows ignore the stride
            return out, (x, pool_param)
            """, r"max_pool_forward_naive does not match.*out differs.*Hint \(out\)"),
        "max_pool_backward_naive": Bug("""
            x, pool_param = cache
            ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
            dx = np.zeros_like(x)
            N, C, H_out, W_out = dout.shape
            for n in range(N):
                for c in range(C):
                    for i in range(H_out):
                        for j in range(W_out):
                            window = x[n, c, i * stride:i * stride + ph, j * stride:j * stride + pw]
                            r, q = np.unravel_index(np.argmax(window), window.shape)
                            dx[n, c, i * stride + r, j * stride + q] = dout[n, c, i, j]  # = instead of +=
            return dx
            """, r"max_pool_backward_naive does not match.*dx differs.*Hint \(dx\): .*add, do not overwrite"),
        "ThreeLayerConvNet.__init__": Bug("""
            C, H, W = input_dim
            self.params["W1"] = weight_scale * rng.standard_normal((num_filters, C, filter_size, filter_size))
            self.params["b1"] = np.zeros(num_filters)
            # the 2x2 pool is forgotten: W2 expects the full-size feature maps
            self.params["W2"] = weight_scale * rng.standard_normal((num_filters * H * W, hidden_dim))
            self.params["b2"] = np.zeros(hidden_dim)
            self.params["W3"] = weight_scale * rng.standard_normal((hidden_dim, num_classes))
            self.params["b3"] = np.zeros(num_classes)
            """, r"ThreeLayerConvNet.__init__ does not match.*self.params\['W2'\] has shape \(2048, 30\), "
                 r"expected \(512, 30\).*Hint \(self.params\)"),
        "ThreeLayerConvNet.loss": Bug("""
            W1, b1, W2, b2, W3, b3 = (self.params[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
            conv_param = {"stride": 1, "pad": (W1.shape[2] - 1) // 2}
            pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
            pooled, cache1 = conv_relu_pool_forward(X, W1, b1, conv_param, pool_param)
            hidden, cache2 = affine_forward(pooled, W2, b2)  # the hidden layer's ReLU is missing
            scores, cache3 = affine_forward(hidden, W3, b3)
            if y is None:
                return scores
            loss, dscores = softmax_loss(scores, y)
            loss += 0.5 * self.reg * sum(np.sum(W * W) for W in (W1, W2, W3))
            grads = {}
            dhidden, grads["W3"], grads["b3"] = affine_backward(dscores, cache3)
            dpooled, grads["W2"], grads["b2"] = affine_backward(dhidden, cache2)
            _, grads["W1"], grads["b1"] = conv_relu_pool_backward(dpooled, cache1)
            for name in ("W1", "W2", "W3"):
                grads[name] += self.reg * self.params[name]
            return loss, grads
            """, r"ThreeLayerConvNet.loss does not match.*scores differs.*Hint \(scores\)"),
        "spatial_batchnorm_forward": Bug("""
            N, C, H, W = x.shape
            # rows made without moving the channels last: each row mixes channels and positions
            out, cache = layers.batchnorm_forward(x.reshape(-1, C), gamma, beta, bn_param)
            return out.reshape(N, C, H, W), cache
            """, r"spatial_batchnorm_forward does not match.*out differs.*Hint \(out\)"),
        "spatial_batchnorm_backward": Bug("""
            N, C, H, W = dout.shape
            dx, dgamma, dbeta = layers.batchnorm_backward_alt(dout.transpose(0, 2, 3, 1).reshape(-1, C), cache)
            return dx.reshape(N, C, H, W), dgamma, dbeta  # the rows are put back without undoing the transpose
            """, r"spatial_batchnorm_backward does not match.*dx differs.*What matched: dgamma, dbeta"),
        "spatial_groupnorm_forward": Bug("""
            N, C, H, W = x.shape
            eps = gn_param.get("eps", 1e-5)
            groups = x.reshape(N, G, -1)
            mean = groups.mean(axis=(0, 2), keepdims=True)  # the statistics also run over the batch
            var = groups.var(axis=(0, 2), keepdims=True)
            x_hat = ((groups - mean) / np.sqrt(var + eps)).reshape(N, C, H, W)
            return gamma * x_hat + beta, (x_hat, 1 / np.sqrt(var + eps), gamma, G)
            """, r"spatial_groupnorm_forward does not match.*out differs.*Hint \(out\)"),
        "spatial_groupnorm_backward": Bug("""
            x_hat, inv_std, gamma, G = cache
            N, C, H, W = dout.shape
            dbeta = dout.sum(axis=(0, 2, 3))  # loses the (1, C, 1, 1) shape of beta
            dgamma = np.sum(dout * x_hat, axis=(0, 2, 3))
            dx_hat = (dout * gamma).reshape(N, G, -1)
            groups = x_hat.reshape(N, G, -1)
            M = groups.shape[2]
            dx = inv_std / M * (M * dx_hat - dx_hat.sum(axis=2, keepdims=True)
                                - groups * np.sum(dx_hat * groups, axis=2, keepdims=True))
            return dx.reshape(N, C, H, W), dgamma, dbeta
            """, r"spatial_groupnorm_backward does not match.*dgamma has shape \(6,\), expected \(1, 6, 1, 1\)"),
    },
    "PyTorch": {
        "two_layer_fc": Bug("""
            w1, w2 = params
            return flatten(x).mm(w1).mm(w2)  # the ReLU is forgotten
            """, r"two_layer_fc does not match.*the output differs.*Hint \(the output\)"),
        "three_layer_convnet": Bug("""
            conv_w1, conv_b1, conv_w2, conv_b2, fc_w, fc_b = params
            h = F.relu(F.conv2d(x, conv_w1, conv_b1, padding=2))
            h = F.conv2d(h, conv_w2, conv_b2, padding=1)  # the second ReLU is forgotten
            return flatten(h).mm(fc_w) + fc_b
            """, r"three_layer_convnet does not match.*the output differs.*Hint \(the output\)"),
        "check_accuracy_part2": Bug("""
            accuracies = []
            with torch.no_grad():
                for x, y in loader:
                    scores = model_fn(x, params)
                    accuracies.append((scores.argmax(dim=1) == y).float().mean().item())
            return sum(accuracies) / len(accuracies)  # the short last minibatch counts as much as a full one
            """, r"check_accuracy_part2 does not match.*the output is .*Hint \(the output\)"),
        "train_part2": Bug("""
            losses = []
            for t, (x, y) in enumerate(loader_train):
                if num_iters is not None and t >= num_iters:
                    break
                loss = F.cross_entropy(model_fn(x, params), y)
                loss.backward()
                with torch.no_grad():
                    for w in params:
                        w -= learning_rate * w.grad  # w.grad is never reset: gradients pile up
                losses.append(loss.item())
            return losses
            """, r"train_part2 does not match.*losses differs in 2 of 4 values.*Hint \(losses\)"),
        "TwoLayerFC.__init__": Bug("""
            super().__init__()
            self.fc1 = nn.Linear(input_size, hidden_size)  # nn.Linear's default initialization is kept
            self.fc2 = nn.Linear(hidden_size, num_classes)
            """, r"TwoLayerFC.__init__ does not match.*parameter 'fc1.weight' has mean .* standard deviation.*"
                 r"Hint \(parameter 'fc1.weight'\)"),
        "TwoLayerFC.forward": Bug("""
            return self.fc2(self.fc1(flatten(x)))  # the ReLU is forgotten
            """, r"TwoLayerFC.forward does not match.*the output differs.*Hint \(the output\)"),
        "ThreeLayerConvNet.__init__": Bug("""
            super().__init__()
            self.conv1 = nn.Conv2d(in_channel, channel_1, 5, padding=2)
            self.conv2 = nn.Conv2d(channel_1, channel_2, 3, padding=1)
            self.fc = nn.Linear(channel_2 * image_size * image_size, num_classes)
            for layer in (self.conv1, self.conv2, self.fc):
                nn.init.kaiming_normal_(layer.weight)  # the biases keep their random default values
            """, r"ThreeLayerConvNet.__init__ does not match.*parameter 'conv1.bias' should start as all 0.*"
                 r"Hint \(parameter 'conv1.bias'\)"),
        "ThreeLayerConvNet.forward": Bug("""
            h = F.relu(self.conv1(x))
            h = self.conv2(h)  # the second ReLU is forgotten
            return self.fc(flatten(h))
            """, r"ThreeLayerConvNet.forward does not match.*the output differs.*Hint \(the output\)"),
        "three_layer_convnet_sequential": Bug("""
            return nn.Sequential(  # the layers keep PyTorch's default initialization
                nn.Conv2d(in_channel, channel_1, 5, padding=2), nn.ReLU(),
                nn.Conv2d(channel_1, channel_2, 3, padding=1), nn.ReLU(),
                nn.Flatten(), nn.Linear(channel_2 * 32 * 32, num_classes))
            """, r"three_layer_convnet_sequential does not match.*the output parameter '0.weight' has mean .*"
                 r"standard deviation.*Hint \(the output\)"),
    },
    "GANs": {
        "sample_noise": Bug("""
            generator = None if seed is None else torch.Generator().manual_seed(seed)
            return torch.rand(batch_size, dim, generator=generator)  # [0, 1), never scaled to [-1, 1)
            """, r"sample_noise does not match.*the output differs in \d+ of \d+ values.*Hint \(the output\)"),
        "discriminator": Bug("""
            return nn.Sequential(
                nn.Flatten(),
                nn.Linear(784, 256), nn.ReLU(),  # a plain ReLU where the docstring says LeakyReLU(0.01)
                nn.Linear(256, 256), nn.ReLU(),
                nn.Linear(256, 1),
            )
            """, r"scores of your discriminator on the reference's weights differs from the expected value.*"
                 r"Hint: compare each layer with the docstring"),
        "generator": Bug("""
            return nn.Sequential(
                nn.Linear(noise_dim, 1024), nn.ReLU(),
                nn.Linear(1024, 1024), nn.ReLU(),
                nn.Linear(1024, 784),  # the tanh is forgotten: the pixels are not squashed into [-1, 1]
            )
            """, r"images of your generator on the reference's weights differs from the expected value.*"
                 r"Hint: the images must lie in \[-1, 1\]"),
        "discriminator_loss": Bug("""
            # one cross-entropy over real and fake images together: a mean over 2N, half the sum of the two means
            logits = torch.cat([logits_real, logits_fake])
            targets = torch.cat([torch.ones_like(logits_real), torch.zeros_like(logits_fake)])
            return bce_loss(logits, targets)
            """, r"discriminator_loss does not match.*the output is .*, expected .*Hint \(the output\)"),
        "generator_loss": Bug("""
            # minus the discriminator's loss on the fakes: the saturating minimax loss
            return -bce_loss(logits_fake, torch.zeros_like(logits_fake))
            """, r"generator_loss does not match.*the output is .*, expected .*Hint \(the output\): the generator "
                 r"wants its fakes labelled real"),
        "ls_discriminator_loss": Bug("""
            return ((scores_real - 1) ** 2).mean() + (scores_fake ** 2).mean()  # the factors 1/2 are dropped
            """, r"ls_discriminator_loss does not match.*the output is .*, expected .*Hint \(the output\)"),
        "ls_generator_loss": Bug("""
            return 0.5 * ((scores_fake - 1) ** 2).sum()  # a sum over the minibatch, not a mean
            """, r"ls_generator_loss does not match.*the output is .*, expected .*Hint \(the output\): an "
                 r"expectation over the minibatch is a mean"),
        "build_dc_classifier": Bug("""
            return nn.Sequential(  # the DCGAN paper's LeakyReLU slope 0.2, not the docstring's 0.01
                Unflatten(batch_size, 1, 28, 28),
                nn.Conv2d(1, 32, kernel_size=5), nn.LeakyReLU(0.2), nn.MaxPool2d(2, 2),
                nn.Conv2d(32, 64, kernel_size=5), nn.LeakyReLU(0.2), nn.MaxPool2d(2, 2),
                nn.Flatten(),
                nn.Linear(4 * 4 * 64, 4 * 4 * 64), nn.LeakyReLU(0.2),
                nn.Linear(4 * 4 * 64, 1),
            )
            """, r"scores of your DC discriminator on the reference's weights differs from the expected value.*"
                 r"Hint: compare each layer with the docstring"),
        "build_dc_generator": Bug("""
            return nn.Sequential(  # batch normalization before each ReLU, not after it
                nn.Linear(noise_dim, 1024), nn.BatchNorm1d(1024), nn.ReLU(),
                nn.Linear(1024, 7 * 7 * 128), nn.BatchNorm1d(7 * 7 * 128), nn.ReLU(),
                Unflatten(-1, 128, 7, 7),
                nn.ConvTranspose2d(128, 64, kernel_size=4, stride=2, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
                nn.ConvTranspose2d(64, 1, kernel_size=4, stride=2, padding=1), nn.Tanh(),
                nn.Flatten(),
            )
            """, r"build_dc_generator does not match.*parameter '2.weight' is missing.*"
                 r"Hint \(the output\): the layers in the docstring's order"),
    },
    "StyleTransfer": {
        "content_loss": Bug("""
            return torch.sum((content_current - content_original) ** 2)  # content_weight is forgotten
            """, r"content_loss does not match.*the output .*Hint \(the output\): look at the content weight"),
        "gram_matrix": Bug("""
            N, C, H, W = features.shape
            flat = features.reshape(N, C, H * W)
            gram = flat @ flat.transpose(1, 2)
            if normalize:
                gram = gram / (H * W)  # divides by the number of positions, not of neurons
            return gram
            """, r"gram_matrix does not match.*the output differs in 50 of 50 values.*"
                 r"Hint \(the output\): .*what you divide by"),
        "style_loss": Bug("""
            loss = 0
            for idx, target in zip(style_layers, style_targets):
                loss = loss + torch.sum((gram_matrix(feats[idx]) - target) ** 2)  # no layer weights
            return loss
            """, r"style_loss does not match.*the output .*Hint \(the output\): look at the layer weights"),
        "tv_loss": Bug("""
            vertical = torch.sum((img[:, :, 1:, :] - img[:, :, :-1, :]) ** 2)
            return tv_weight * vertical  # the horizontal neighbours are forgotten
            """, r"tv_loss does not match.*the output .*Hint \(the output\): look at both directions"),
    },
    "NetworkVisualization": {
        "compute_saliency_maps": Bug("""
            model.eval()
            X = X.clone().requires_grad_()
            scores = model(X)
            scores.gather(1, y.view(-1, 1)).sum().backward()
            return X.grad.max(dim=1).values  # the largest gradient, not the largest absolute gradient
            """, r"compute_saliency_maps does not match.*saliency differs in \d+ of \d+ values.*Hint \(saliency\)"),
        "make_fooling_image": Bug("""
            model.eval()
            X_fooling = X.clone().requires_grad_()
            for _ in range(100):
                scores = model(X_fooling)
                if scores.argmax(dim=1).item() == target_y:
                    break
                scores[0, target_y].backward()
                with torch.no_grad():
                    X_fooling -= X_fooling.grad / X_fooling.grad.norm()  # descends the target score
                X_fooling.grad.zero_()
            return X_fooling.detach()
            """, r"make_fooling_image does not match.*X_fooling (differs in \d+ of \d+|holds \d+ NaN) values.*"
                 r"Hint \(X_fooling\)"),
        "class_visualization_update_step": Bug("""
            probs = torch.softmax(model(img), dim=1)
            objective = probs[0, target_y] - l2_reg * torch.sum(img * img)  # the probability, not the raw score
            objective.backward()
            with torch.no_grad():
                img += learning_rate * img.grad / img.grad.norm()
            img.grad.zero_()
            """, r"class_visualization_update_step does not match.*`img` after the call differs in \d+ of \d+ "
                 r"values.*Hint \(img\)"),
    },
    "DetectionSegmentation": {
        "conv_transpose_forward_naive": Bug("""
            stride, pad = conv_param["stride"], conv_param["pad"]
            N, C, H, W = x.shape
            num_filters, HH, WW = w.shape[1:]
            out_full = np.zeros((N, num_filters, (H - 1) * stride + HH, (W - 1) * stride + WW))
            for n in range(N):
                for i in range(H):
                    for j in range(W):
                        painted = np.tensordot(x[n, :, i, j], w, axes=(0, 0))
                        out_full[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW] += painted
            H_out, W_out = out_full.shape[2] - 2 * pad, out_full.shape[3] - 2 * pad
            out = out_full[:, :, :H_out, :W_out] + b.reshape(1, -1, 1, 1)  # crops 2 * pad from the bottom and right
            return out, (x, w, b, conv_param)
            """, r"conv_transpose_forward_naive does not match.*out differs.*Hint \(out\): .*from EVERY border"),
        "conv_transpose_backward_naive": Bug("""
            x, w, b, conv_param = cache
            stride, pad = conv_param["stride"], conv_param["pad"]
            N, C, H, W = x.shape
            HH, WW = w.shape[2:]
            dout_full = np.pad(dout, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
            dx = np.zeros_like(x)
            dw = np.zeros_like(w)
            for n in range(N):
                for i in range(H):
                    for j in range(W):
                        window = dout_full[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
                        dx[n, :, i, j] = np.tensordot(w, window, axes=3)
                        dw = x[n, :, i, j].reshape(C, 1, 1, 1) * window  # overwrites instead of adding up
            db = dout.sum(axis=(0, 2, 3))
            return dx, dw, db
            """, r"conv_transpose_backward_naive does not match.*dw differs.*Hint \(dw\)"),
        "SegmentationFCN.forward": Bug("""
            features = []
            for k, stage in enumerate(self.encoder):
                x = stage(x if k == 0 else F.max_pool2d(x, 2))
                features.append(x)
            for k in reversed(range(len(self.up))):
                x = self.up[k](x)
                if self.skips:
                    x = torch.cat([features[k], x], dim=1)  # the encoder's features first
                x = self.decoder[k](x)
            return self.head(x)
            """, r"SegmentationFCN.forward does not match.*Hint \(the output\): .*in that order"),
        "box_iou": Bug("""
            area1 = (boxes1[:, 2] - boxes1[:, 0]) * (boxes1[:, 3] - boxes1[:, 1])
            area2 = (boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1])
            top_left = np.maximum(boxes1[:, None, :2], boxes2[None, :, :2])
            bottom_right = np.minimum(boxes1[:, None, 2:], boxes2[None, :, 2:])
            inter = np.prod(bottom_right - top_left, axis=2)  # not clamped at 0
            return inter / (area1[:, None] + area2[None, :] - inter)
            """, r"box_iou does not match.*Hint \(the output\): .*not negative"),
        "ClassifierBoxRegressor.loss": Bug("""
            scores, pred = self(x)
            class_loss = F.cross_entropy(scores, labels)
            box_loss = generalized_box_iou_loss(pred, boxes, reduction="mean")
            box_loss = box_loss + F.l1_loss(pred, boxes) * 4 / self.image_size
            # box_weight is forgotten:
            return class_loss + box_loss, {"class_ce": class_loss.item(), "box": box_loss.item()}
            """, r"ClassifierBoxRegressor.loss does not match.*loss .*Hint \(loss\): .*box_weight"),
        "nms": Bug("""
            order = np.argsort(-scores)
            best = order[0]
            overlap = box_iou(boxes[best:best + 1], boxes)[0]
            # only the best box suppresses its neighbours; the boxes kept after it suppress nothing
            keep = [i for i in order if i == best or overlap[i] <= iou_threshold]
            return np.array(keep, dtype=np.int64)
            """, r"nms does not match.*Hint \(the output\): .*every kept box suppresses"),
        "roi_pool": Bug("""
            N, C, H, W = features.shape
            ph, pw = (output_size, output_size) if np.ndim(output_size) == 0 else output_size
            cells = np.floor(rois[:, 1:] * spatial_scale + 0.5).astype(int)
            out = np.zeros((rois.shape[0], C, ph, pw))
            for k, (x1, y1, x2, y2) in enumerate(cells):
                fmap = features[int(rois[k, 0])]
                bin_h = max(y2 - y1, 1) / ph  # the region's last row and column are left out
                bin_w = max(x2 - x1, 1) / pw
                for i in range(ph):
                    top = min(max(int(np.floor(i * bin_h)) + y1, 0), H)
                    bottom = min(max(int(np.ceil((i + 1) * bin_h)) + y1, 0), H)
                    for j in range(pw):
                        left = min(max(int(np.floor(j * bin_w)) + x1, 0), W)
                        right = min(max(int(np.ceil((j + 1) * bin_w)) + x1, 0), W)
                        if bottom > top and right > left:
                            out[k, :, i, j] = fmap[:, top:bottom, left:right].max(axis=(1, 2))
            return out
            """, r"roi_pool does not match.*Hint \(the output\): .*BOTH ends included"),
        "GridDetector.grid_boxes": Bug("""
            cx = torch.sigmoid(raw[:, 1]) * self.stride  # the cell's column is forgotten
            cy = torch.sigmoid(raw[:, 2]) * self.stride  # and its row
            w = torch.exp(raw[:, 3].clamp(max=4.0)) * self.anchor_size
            h = torch.exp(raw[:, 4].clamp(max=4.0)) * self.anchor_size
            return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=-1)
            """, r"GridDetector.grid_boxes does not match.*Hint \(the output\): .*column"),
    },
    "Transformer_Captioning": {
        "MultiHeadAttention.forward": Bug("""
            attn_mask = self._check_inputs(query, key, value, attn_mask)
            N, S, E = query.shape
            T = key.shape[1]
            H = self.n_head
            q = self.query(query).view(N, S, H, E // H).transpose(1, 2)
            k = self.key(key).view(N, T, H, E // H).transpose(1, 2)
            v = self.value(value).view(N, T, H, E // H).transpose(1, 2)
            scores = q @ k.transpose(-2, -1) / math.sqrt(E)  # the full embedding width, not the head's
            if attn_mask is not None:
                scores = scores.masked_fill(~attn_mask, float("-inf"))
            weights = F.softmax(scores, dim=-1)
            y = (self.attn_drop(weights) @ v).transpose(1, 2).reshape(N, S, E)
            output = self.proj(y)
            return (output, weights) if need_weights else output
            """, r"MultiHeadAttention.forward does not match.*weights differs in \d+ of 280 values.*"
                 r"Hint \(weights\): look at the scale of the scores"),
        "PositionalEncoding.__init__": Bug("""
            self.embed_dim, self.max_len = embed_dim, max_len
            self.dropout = nn.Dropout(dropout)
            position = torch.arange(max_len, dtype=torch.float32)[:, None]
            frequency = 10000.0 ** (-torch.arange(0, embed_dim, 2, dtype=torch.float32) / embed_dim)
            # all the sines first, then all the cosines
            pe = torch.cat([torch.sin(position * frequency), torch.cos(position * frequency)], dim=1)
            self.register_buffer("pe", pe[None])
            """, r"the table pe differs from the expected value.*differs in \d+ of 300 values.*"
                 r"Hint: feature 2k holds a sine"),
        "PositionalEncoding.forward": Bug("""
            return self.dropout(x) + self.pe[:, :x.shape[1]]  # dropout on the input only
            """, r"the output in training mode \(the same dropout draws\) differs from the expected value.*"
                 r"Hint: dropout acts on the sum"),
        "TransformerDecoderLayer.forward": Bug("""
            tgt = self.norm_self(tgt + self.dropout_self(self.self_attn(tgt, tgt, tgt)))  # tgt_mask is left out
            attended, cross_weights = self.cross_attn(tgt, memory, memory, need_weights=True)
            tgt = self.norm_cross(tgt + self.dropout_cross(attended))
            tgt = self.norm_ffn(tgt + self.dropout_ffn(self.ffn(tgt)))
            return (tgt, cross_weights) if need_weights else tgt
            """, r"TransformerDecoderLayer.forward does not match.*out differs.*Hint \(out\): three blocks"),
        "CaptioningTransformer.forward": Bug("""
            memory = self.image_memory(features)
            captions = self._check_captions(captions, memory.shape[0])
            words = self.positional_encoding(self.embedding(captions))
            out, attention = self.transformer(words, memory, need_weights=True)  # no causal mask
            scores = self.output(out)
            return (scores, attention) if return_attention else scores
            """, r"CaptioningTransformer.forward does not match.*scores differs.*"
                 r"Hint \(scores\): do the scores of early words change"),
        "PatchEmbedding.forward": Bug("""
            patches = x.reshape(x.shape[0], self.num_patches, self.patch_dim)  # pixels of several patches mixed
            return self.proj(patches)
            """, r"PatchEmbedding.forward does not match.*the output differs.*Hint: the patches are"),
    },
    "RNN_Captioning": {
        "rnn_step_forward": Bug("""
            next_h = np.tanh(x @ Wx + prev_h @ Wh.T + b)  # Wh is square: the transpose raises no error
            return next_h, (x, prev_h, Wx, Wh, next_h)
            """, r"rnn_step_forward does not match.*next_h differs.*Hint \(next_h\)"),
        "rnn_step_backward": Bug("""
            x, prev_h, Wx, Wh, next_h = cache
            da = dnext_h * (1 - np.tanh(next_h) ** 2)  # next_h already is the tanh: this applies it twice
            return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)
            """, r"rnn_step_backward does not match.*dx differs.*Hint \(dx\)"),
        "rnn_forward": Bug("""
            N, T, D = x.shape
            h = np.zeros((N, T, h0.shape[1]))
            caches = []
            for t in range(T):
                h[:, t], cache = rnn_step_forward(x[:, t], h0, Wx, Wh, b)  # every step starts from h0
                caches.append(cache)
            return h, caches
            """, r"rnn_forward does not match.*h differs.*Hint \(h\)"),
        "rnn_backward": Bug("""
            _, x_tm, h0, Wx, Wh, hs = cache  # the cache of rnn_forward (time-major)
            T, N, H = hs.shape
            x = x_tm.reshape(T, N, -1)
            dx = np.zeros((N, T, x.shape[2]))
            dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(H)
            for t in reversed(range(T)):
                prev_h = hs[t - 1] if t > 0 else h0
                # only the gradient from the output at step t: what step t + 1 sent back is dropped
                dx[:, t], dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(dout[:, t], (x[t], prev_h, Wx, Wh, hs[t]))
                dWx += dWx_t
                dWh += dWh_t
                db += db_t
            return dx, dprev_h, dWx, dWh, db
            """, r"rnn_backward does not match.*dh0 differs.*Hint \(dh0\)"),
        "word_embedding_forward": Bug("""
            out = W[x.T]  # (T, N, D): time and batch swapped
            return out, (x, W.shape)
            """, r"word_embedding_forward does not match.*out has shape \(4, 2, 3\), expected \(2, 4, 3\)"),
        "word_embedding_backward": Bug("""
            x, (V, D) = cache
            dW = np.zeros((V, D))
            dW[x] += dout  # a repeated word keeps only one of its gradients
            return dW
            """, r"word_embedding_backward does not match.*dW differs.*Hint \(dW\)"),
        "temporal_softmax_loss": Bug("""
            N, T, V = x.shape
            x_flat, y_flat = x.reshape(N * T, V), y.reshape(N * T)
            probs = np.exp(x_flat - x_flat.max(axis=1, keepdims=True))
            probs /= probs.sum(axis=1, keepdims=True)
            loss = -np.sum(np.log(probs[np.arange(N * T), y_flat])) / N  # the mask is forgotten: padding counts
            dx = probs.copy()
            dx[np.arange(N * T), y_flat] -= 1
            return loss, (dx / N).reshape(N, T, V)
            """, r"temporal_softmax_loss does not match.*loss is .*Hint \(loss\)"),
        "CaptioningRNN.loss": Bug("""
            captions_in, captions_out = captions[:, :-1], captions[:, 1:]
            mask = np.ones(captions_out.shape, dtype=bool)  # the <NULL> padding is scored too
            L, p = self.layers, self.params
            h0, proj_cache = L["affine_forward"](features, p["W_proj"], p["b_proj"])
            x, embed_cache = L["word_embedding_forward"](captions_in, p["W_embed"])
            h, rnn_cache = L["rnn_forward"](x, h0, p["Wx"], p["Wh"], p["b"])
            scores, vocab_cache = L["temporal_affine_forward"](h, p["W_vocab"], p["b_vocab"])
            loss, dscores = L["temporal_softmax_loss"](scores, captions_out, mask)
            grads = {}
            dh, grads["W_vocab"], grads["b_vocab"] = L["temporal_affine_backward"](dscores, vocab_cache)
            dx, dh0, grads["Wx"], grads["Wh"], grads["b"] = L["rnn_backward"](dh, rnn_cache)
            grads["W_embed"] = L["word_embedding_backward"](dx, embed_cache)
            _, grads["W_proj"], grads["b_proj"] = L["affine_backward"](dh0, proj_cache)
            return loss, grads
            """, r"CaptioningRNN.loss does not match.*loss is .*Hint \(loss\)"),
        "CaptioningRNN.sample": Bug("""
            p = self.params
            N = features.shape[0]
            h = features @ p["W_proj"] + p["b_proj"]
            captions = np.full((N, max_length), self._null, dtype=np.int64)
            words = np.full(N, self._start)
            for t in range(max_length):
                h, _ = self.layers["rnn_step_forward"](p["W_embed"][words], h, p["Wx"], p["Wh"], p["b"])
                scores = h @ p["W_vocab"] + p["b_vocab"]
                scores[:, [self._null, self._start]] = -np.inf
                captions[:, t] = scores.argmax(axis=1)  # never fed back: every step reads <START> again
            return captions
            """, r"CaptioningRNN.sample does not match.*captions differs.*Hint \(captions\)"),
    },
    "LSTM_Captioning": {
        "lstm_step_forward": Bug("""
            H = prev_h.shape[1]
            a = x @ Wx + prev_h @ Wh + b
            i, f = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H])
            g, o = np.tanh(a[:, 2 * H:3 * H]), sigmoid(a[:, 3 * H:])  # the gate order is i, f, o, g
            next_c = f * prev_c + i * g
            next_h = o * np.tanh(next_c)
            return next_h, next_c, (x, prev_h, prev_c, Wx, Wh, a)
            """, r"lstm_step_forward does not match.*next_h differs.*next_c differs.*Hint \(next_h\)"),
        "lstm_step_backward": Bug("""
            x, prev_h, prev_c, Wx, Wh, gates, tanh_c = cache
            H = prev_h.shape[1]
            i, f, o, g = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
            dc = dnext_c  # next_h = o * tanh(next_c) depends on the cell too: that part of its gradient is lost
            da = np.hstack([dc * g * i * (1 - i), dc * prev_c * f * (1 - f), dnext_h * tanh_c * o * (1 - o),
                            dc * i * (1 - g ** 2)])
            return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, prev_h.T @ da, da.sum(axis=0)
            """, r"lstm_step_backward does not match.*dprev_c differs.*Hint \(dprev_c\)"),
        "lstm_forward": Bug("""
            N, T, D = x.shape
            h = np.zeros((N, T, h0.shape[1]))
            prev_h, caches = h0, []
            for t in range(T):
                # the cell state is not carried: every step starts from a cell of zeros
                prev_h, _, cache = lstm_step_forward(x[:, t], prev_h, np.zeros_like(h0), Wx, Wh, b)
                h[:, t] = prev_h
                caches.append(cache)
            return h, caches
            """, r"lstm_forward does not match.*h differs.*Hint \(h\)"),
        "lstm_backward": Bug("""
            _, x_tm, h0, Wx, Wh, gates, cs, tanh_cs, hs = cache  # the cache of lstm_forward (time-major)
            T, N, H = hs.shape
            x = x_tm.reshape(T, N, -1)
            dx = np.zeros((N, T, x.shape[2]))
            dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(4 * H)
            dprev_c = np.zeros((N, H))
            for t in reversed(range(T)):
                prev_h = hs[t - 1] if t > 0 else h0
                prev_c = cs[t - 1] if t > 0 else np.zeros((N, H))
                # the cell's gradient is carried, but the dprev_h of step t + 1 is dropped
                dx[:, t], dprev_h, dprev_c, dWx_t, dWh_t, db_t = lstm_step_backward(
                    dout[:, t], dprev_c, (x[t], prev_h, prev_c, Wx, Wh, gates[t], tanh_cs[t]))
                dWx += dWx_t
                dWh += dWh_t
                db += db_t
            return dx, dprev_h, dWx, dWh, db
            """, r"lstm_backward does not match.*dh0 differs.*Hint \(dh0\)"),
        "CaptioningRNN.loss": Bug("""
            captions_in, captions_out = captions[:, :-1], captions[:, :-1]  # the targets are not shifted by one
            mask = captions_out != self._null
            L, p = self.layers, self.params
            h0, proj_cache = L["affine_forward"](features, p["W_proj"], p["b_proj"])
            x, embed_cache = L["word_embedding_forward"](captions_in, p["W_embed"])
            h, rnn_cache = L[f"{self.cell_type}_forward"](x, h0, p["Wx"], p["Wh"], p["b"])
            scores, vocab_cache = L["temporal_affine_forward"](h, p["W_vocab"], p["b_vocab"])
            loss, dscores = L["temporal_softmax_loss"](scores, captions_out, mask)
            grads = {}
            dh, grads["W_vocab"], grads["b_vocab"] = L["temporal_affine_backward"](dscores, vocab_cache)
            dx, dh0, grads["Wx"], grads["Wh"], grads["b"] = L[f"{self.cell_type}_backward"](dh, rnn_cache)
            grads["W_embed"] = L["word_embedding_backward"](dx, embed_cache)
            _, grads["W_proj"], grads["b_proj"] = L["affine_backward"](dh0, proj_cache)
            return loss, grads
            """, r"CaptioningRNN.loss does not match.*loss is .*Hint \(loss\)"),
        "CaptioningRNN.sample": Bug("""
            p = self.params
            N = features.shape[0]
            h = features @ p["W_proj"] + p["b_proj"]
            c = np.zeros_like(h)
            captions = np.full((N, max_length), self._null, dtype=np.int64)
            words, done = np.full(N, self._start), np.zeros(N, dtype=bool)
            for t in range(max_length):
                x = p["W_embed"][words]
                if self.cell_type == "lstm":
                    h, _, _ = self.layers["lstm_step_forward"](x, h, c, p["Wx"], p["Wh"], p["b"])  # c stays zero
                else:
                    h, _ = self.layers["rnn_step_forward"](x, h, p["Wx"], p["Wh"], p["b"])
                scores = h @ p["W_vocab"] + p["b_vocab"]
                scores[:, [self._null, self._start]] = -np.inf
                words = scores.argmax(axis=1)
                words[done] = self._null
                captions[:, t] = words
                done |= words == self._end
            return captions
            """, r"CaptioningRNN.sample does not match.*captions differs.*Hint \(captions\)"),
    },
}

# Second classic mistakes, for exercises whose brief names two: each runs the notebook once more
# (tests/test_contract_assignment2.py), with the same expectations as BUGS.
EXTRA_BUGS = {
    "Dropout": {
        "dropout_forward": Bug("""
            if dropout_param["mode"] == "test":
                return x, None
            rng = np.random.default_rng(dropout_param["seed"]) if "seed" in dropout_param else np.random
            mask = (rng.random(x.shape) > dropout_param["p"]) / dropout_param["p"]  # keeps the dropped units
            return x * mask, mask
            """, r"dropout_forward does not match.*out differs.*Hint \(out\): p is the probability of KEEPING"),
    },
}
