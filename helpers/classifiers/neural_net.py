"""The two-layer network's toy problem and hyperparameter search (assignment 1, two_layer_net.ipynb).

The network itself is `helpers.classifiers.fc_net.TwoLayerNet`, the one two-layer network of
the course (its `loss`, `train` and `predict` are the notebook's exercises):

    init_toy_model(model_class, reg)   -> CS231n's toy network: 4 inputs, 10 hidden units, 3 classes
    init_toy_data()                    -> CS231n's toy data: 5 examples
    tune_two_layer_net(data, settings) -> results, best_net, best_stats

The regularization follows the Solver's convention, 0.5 * reg * sum(W * W) (gradient reg * W),
where CS231n's assignment 1 used reg * sum(W * W): CS231n's published toy loss 1.30378789133
with reg=0.05 is reproduced here with reg=0.1.
"""

import math

import numpy as np

from helpers.classifiers.fc_net import TwoLayerNet
from helpers.optim import TrainingDivergedError

TOY_INPUT_SIZE, TOY_HIDDEN_SIZE, TOY_NUM_CLASSES, TOY_NUM_INPUTS = 4, 10, 3, 5


def init_toy_model(model_class=TwoLayerNet, reg=0.0):
    """
    CS231n's toy network: 4 inputs, 10 hidden units, 3 classes, with the weights CS231n
    draws after np.random.seed(0) (W1 = 0.1 * randn(4, 10), then W2 = 0.1 * randn(10, 3))
    and zero biases, on which its published scores and loss depend. NumPy's global
    generator is left untouched.

    Inputs:
    - model_class: The class to build, e.g. a notebook's own TwoLayerNet (a subclass of
      helpers.classifiers.fc_net.TwoLayerNet)
    - reg: Regularization strength of the model

    Returns:
    - A model_class instance with those parameters
    """
    model = model_class(input_dim=TOY_INPUT_SIZE, hidden_dim=TOY_HIDDEN_SIZE, num_classes=TOY_NUM_CLASSES,
                        weight_scale=1e-1, reg=reg, seed=0)
    rand = np.random.RandomState(0)
    model.params["W1"] = 1e-1 * rand.randn(TOY_INPUT_SIZE, TOY_HIDDEN_SIZE)
    model.params["b1"] = np.zeros(TOY_HIDDEN_SIZE)
    model.params["W2"] = 1e-1 * rand.randn(TOY_HIDDEN_SIZE, TOY_NUM_CLASSES)
    model.params["b2"] = np.zeros(TOY_NUM_CLASSES)
    return model


def init_toy_data():
    """
    CS231n's toy data: 5 examples of dimension 4 drawn with np.random.seed(1).

    Returns:
    - X: Array of shape (5, 4)
    - y: Array of shape (5,) with labels [0, 1, 2, 2, 1]
    """
    X = 10 * np.random.RandomState(1).randn(TOY_NUM_INPUTS, TOY_INPUT_SIZE)
    y = np.array([0, 1, 2, 2, 1])
    return X, y


def tune_two_layer_net(data, settings, model_class=TwoLayerNet, num_classes=10, weight_scale=1e-4,
                       learning_rate_decay=0.95, batch_size=200, seed=0, verbose=True):
    """
    Tune the hyperparameters of a two-layer network on the validation set: train one
    network per setting, measure its accuracy on the training and validation data, and
    keep the one with the best validation accuracy.

    For each setting (hidden_size, learning_rate, reg, num_iters), call np.random.seed(seed),
    then build model_class(D, hidden_size, num_classes, weight_scale=weight_scale, reg=reg),
    with D the number of columns of X_train, and train it with
    train(X_train, y_train, X_val, y_val, learning_rate=learning_rate,
    learning_rate_decay=learning_rate_decay, num_iters=num_iters, batch_size=batch_size,
    seed=seed): runs differ only by their hyperparameters. A run whose training raises
    TrainingDivergedError is recorded as (nan, nan) and never chosen.

    Inputs:
    - data: A dict with X_train of shape (N, D), y_train of shape (N,), X_val of shape
      (N_val, D) and y_val of shape (N_val,).
    - settings: A list of tuples (hidden_size, learning_rate, reg, num_iters) to try.
    - model_class: The network class, e.g. a notebook's own TwoLayerNet.
    - num_classes: The number of classes C.
    - weight_scale: Standard deviation of the initial weights.
    - learning_rate_decay: Factor applied to the learning rate after each epoch.
    - batch_size: Minibatch size of every run.
    - seed: Integer seed of the initial weights and of the minibatches of every run.
    - verbose: boolean; if true print one line per setting.

    Returns a tuple of:
    - results: A dict mapping each setting to a tuple (training_accuracy,
      validation_accuracy) of floats.
    - best_net: The trained network with the highest validation accuracy (the first one
      tried among equals).
    - best_stats: The dict its train call returned (loss and accuracy histories).
    """
    missing = [key for key in ("X_train", "y_train", "X_val", "y_val") if key not in data]
    if missing:
        raise ValueError(f"data must be a dict with X_train, y_train, X_val and y_val; missing {missing}")
    if not settings:
        raise ValueError("settings must hold at least one (hidden_size, learning_rate, reg, num_iters) tuple")
    input_dim = data["X_train"].shape[1]
    results = {}
    best_net, best_stats, best_val = None, None, -1.0
    for setting in settings:
        hidden_size, learning_rate, reg, num_iters = setting
        np.random.seed(seed)  # the same initial weights for every setting of the same hidden size
        net = model_class(input_dim, hidden_size, num_classes, weight_scale=weight_scale, reg=reg)
        try:
            stats = net.train(data["X_train"], data["y_train"], data["X_val"], data["y_val"],
                              learning_rate=learning_rate, learning_rate_decay=learning_rate_decay,
                              num_iters=num_iters, batch_size=batch_size, seed=seed)
        except TrainingDivergedError as error:
            results[setting] = (math.nan, math.nan)
            if verbose:
                print(f"hidden {hidden_size} lr {learning_rate:.1e} reg {reg:g} iters {num_iters}: diverged ({error})")
            continue
        train_acc = float(np.mean(net.predict(data["X_train"]) == data["y_train"]))
        val_acc = float(np.mean(net.predict(data["X_val"]) == data["y_val"]))
        results[setting] = (train_acc, val_acc)
        if verbose:
            print(f"hidden {hidden_size} lr {learning_rate:.1e} reg {reg:g} iters {num_iters}: "
                  f"train accuracy {train_acc:.3f} val accuracy {val_acc:.3f}")
        if val_acc > best_val:
            best_net, best_stats, best_val = net, stats, val_acc
    if best_net is None:
        raise TrainingDivergedError("every run diverged: try smaller learning rates")
    return results, best_net, best_stats
