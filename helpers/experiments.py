"""Training experiments that a notebook runs many times with different settings: train one
model with the Solver, and sweep the initial weight scale (the BatchNormalization notebook's
comparisons). Plots of their results are in helpers.vis_utils."""

import numpy as np

from helpers.solver import Solver


def train_model(model, data, update_rule="adam", learning_rate=1e-3, lr_decay=1.0, batch_size=50, num_epochs=2,
                seed=231, label=None):
    """
    Train a model quietly with the Solver. A run whose loss becomes NaN or infinite stops
    with one printed line instead of an error, so that a sweep over settings goes on; its
    histories then end where it diverged.

    Inputs:
    - model: A model with `params` and `loss(X, y=None)` (e.g. a FullyConnectedNet)
    - data: Dict with 'X_train', 'y_train', 'X_val', 'y_val', as for the Solver
    - update_rule: Name of an update rule in helpers.optim, or such a function
    - learning_rate: Initial learning rate
    - lr_decay: Factor applied to the learning rate after each epoch
    - batch_size: Minibatch size
    - num_epochs: Number of epochs
    - seed: Seed of the Solver's minibatch and subsample draws
    - label: Name of the run in the line printed if it diverges

    Returns:
    - solver: The Solver after training (loss_history, train_acc_history, val_acc_history, ...)
    """
    solver = Solver(model, data, update_rule=update_rule, optim_config={"learning_rate": learning_rate},
                    lr_decay=lr_decay, batch_size=batch_size, num_epochs=num_epochs, verbose=False, seed=seed)
    try:
        solver.train()
    except FloatingPointError as error:  # the Solver's divergence error is a FloatingPointError
        print(f"{label or 'run'}: {error}")
    return solver


def weight_scale_sweep(train, weight_scales, last_iterations=10):
    """
    Train one model per initial weight scale and summarize each run.

    Inputs:
    - train: Function weight_scale -> trained Solver (e.g. a call of train_model)
    - weight_scales: Sequence of S initial weight scales
    - last_iterations: The final training loss is the mean of the finite losses of this many
      last iterations (a single minibatch loss is too noisy to compare runs)

    Returns a dict of lists of length S:
    - best_train_acc: Highest training accuracy of each run (NaN if it never finished an epoch)
    - best_val_acc: Highest validation accuracy of each run
    - final_loss: Final training loss of each run (NaN when none of those losses is finite)
    """
    results = {"best_train_acc": [], "best_val_acc": [], "final_loss": []}
    for weight_scale in weight_scales:
        solver = train(weight_scale)
        results["best_train_acc"].append(max(solver.train_acc_history, default=np.nan))
        results["best_val_acc"].append(solver.best_val_acc)
        finite = [loss for loss in solver.loss_history[-last_iterations:] if np.isfinite(loss)]
        results["final_loss"].append(float(np.mean(finite)) if finite else np.nan)
    return results
