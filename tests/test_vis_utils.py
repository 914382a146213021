"""The pictures of vis_utils that carry logic: the full-scale figure saved beside a live one, captioned images,
the gradient-over-time panels."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from helpers.vis_utils import full_scale_figure, plot_gradient_over_time, show_captioned_images


def test_full_scale_figure_is_saved_at_the_full_scale_and_shown_at_the_quick_scale(tmp_path, capsys):
    path = tmp_path / "figures" / "curve.png"
    fig = plt.figure(figsize=(4, 3))
    plt.plot([3, 1, 2])
    assert full_scale_figure(fig, path, full_scale=False) is None
    assert "no full-scale figure" in capsys.readouterr().out

    assert full_scale_figure(fig, path, full_scale=True) is None
    assert path.exists() and path.stat().st_size < 50_000

    shown = full_scale_figure(plt.figure(figsize=(4, 3)), path, full_scale=False)
    assert shown is not None
    assert "full scale" in shown.axes[0].get_title()
    assert shown.axes[0].images[0].get_array().shape[:2] == plt.imread(path).shape[:2]
    plt.close("all")


def test_show_captioned_images_writes_every_caption_under_its_image():
    images = np.zeros((3, 8, 8, 3), dtype=np.uint8)
    fig = show_captioned_images(images, ["a red circle", ["reference: a blue square", "generated: a square"],
                                         "a star"], titles=["0", "1", "2"], columns=2)
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert texts == ["a red circle", "reference: a blue square\ngenerated: a square", "a star"]
    assert len(fig.axes) == 4 and not fig.axes[3].images  # 2 x 2 grid, the last cell empty
    plt.close("all")


def test_show_captioned_images_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="one entry per image, got 2 images and 1 captions"):
        show_captioned_images(np.zeros((2, 8, 8, 3)), ["only one"])


def test_plot_gradient_over_time_draws_one_panel_per_model_on_a_log_scale():
    fig = plot_gradient_over_time({"RNN": {"trained": np.geomspace(1e-6, 1, 5)},
                                   "LSTM": {"trained": np.ones(5), "untrained": np.full(5, 0.5)}})
    assert [ax.get_title() for ax in fig.axes] == ["RNN", "LSTM"]
    assert [len(ax.lines) for ax in fig.axes] == [1, 2]
    assert all(ax.get_yscale() == "log" for ax in fig.axes)
    plt.close("all")
