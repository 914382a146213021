"""The training experiments and plots the notebooks share (helpers.experiments, helpers.vis_utils): a diverging
run stops with one line instead of an error, sweeps summarize each run, plots refuse mismatched lengths."""

import matplotlib

matplotlib.use("agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from helpers.classifiers.fc_net import FullyConnectedNet  # noqa: E402
from helpers.experiments import train_model, weight_scale_sweep  # noqa: E402
from helpers.vis_utils import imshow_no_ax, plot_solver_histories, plot_weight_scale_sweep  # noqa: E402


def tiny_data(seed=0, n=60, d=8, c=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = np.argmax(X[:, :c], axis=1)  # learnable: the label is the largest of the first c features
    return {"X_train": X[:40], "y_train": y[:40], "X_val": X[40:], "y_val": y[40:]}


def tiny_net(weight_scale=1e-1, seed=0):
    return FullyConnectedNet([10], input_dim=8, num_classes=3, weight_scale=weight_scale, seed=seed)


def test_train_model_trains_quietly_and_is_repeatable(capsys):
    first = train_model(tiny_net(), tiny_data(), batch_size=10, num_epochs=3, seed=1)
    second = train_model(tiny_net(), tiny_data(), batch_size=10, num_epochs=3, seed=1)
    assert capsys.readouterr().out == ""
    assert len(first.loss_history) == 12 and len(first.val_acc_history) == 4
    assert first.loss_history == second.loss_history
    assert first.loss_history[-1] < first.loss_history[0]


def test_a_diverging_run_prints_one_line_and_keeps_its_histories(capsys):
    with np.errstate(over="ignore", invalid="ignore"):
        solver = train_model(tiny_net(weight_scale=1e30), tiny_data(), batch_size=10, num_epochs=3,
                             label="huge weights")
    out = capsys.readouterr().out
    assert out.startswith("huge weights: ") and len(out.strip().splitlines()) == 1
    assert all(np.isfinite(solver.loss_history))  # the histories end where the loss stopped being finite


def test_weight_scale_sweep_summarizes_every_run():
    scales = [1e-3, 1e-1]
    results = weight_scale_sweep(lambda ws: train_model(tiny_net(ws), tiny_data(), batch_size=10, num_epochs=2),
                                 scales, last_iterations=3)
    assert set(results) == {"best_train_acc", "best_val_acc", "final_loss"}
    assert all(len(v) == 2 for v in results.values())
    assert all(0 <= a <= 1 for a in results["best_train_acc"] + results["best_val_acc"])
    solver = train_model(tiny_net(1e-1), tiny_data(), batch_size=10, num_epochs=2)
    assert results["final_loss"][1] == pytest.approx(np.mean(solver.loss_history[-3:]))


def test_plots_draw_one_curve_per_run_and_refuse_mismatched_lengths():
    runs = {label: train_model(tiny_net(seed=s), tiny_data(), batch_size=10, num_epochs=2)
            for label, s in (("a", 0), ("b", 1))}
    fig = plot_solver_histories(runs, title="runs")
    assert [len(ax.get_lines()) for ax in fig.axes] == [2, 2, 2]
    plt.close(fig)
    sweeps = {"a": {"best_val_acc": [0.1, 0.2], "best_train_acc": [0.2, 0.3], "final_loss": [2.3, 1.0]}}
    fig = plot_weight_scale_sweep([1e-3, 1e-1], sweeps)
    assert [len(ax.get_lines()) for ax in fig.axes] == [1, 1, 1]
    plt.close(fig)
    with pytest.raises(ValueError, match=r"sweeps\['a'\]\['best_val_acc'\] has 2 values for 3 weight scales"):
        plot_weight_scale_sweep([1e-3, 1e-2, 1e-1], sweeps)


def test_imshow_no_ax_stretches_filter_responses_and_rejects_other_shapes():
    plt.figure()
    imshow_no_ax(np.array([[-1.0, 1.0], [0.0, 3.0]]))
    image = plt.gca().get_images()[0].get_array()
    assert image.min() == 0 and image.max() == 255 and not plt.gca().axison
    plt.close("all")
    with pytest.raises(ValueError, match=r"img must have shape \(H, W\) or \(H, W, 3\), got \(2, 2, 2, 2\)"):
        imshow_no_ax(np.zeros((2, 2, 2, 2)))
