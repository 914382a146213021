"""The pictures of vis_utils that carry logic: the full-scale figure saved beside a live one, attention maps laid
over an image, captioned images, the gradient-over-time panels, masks and boxes."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from helpers.vis_utils import full_scale_figure, plot_gradient_over_time, show_attention, show_captioned_images


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


def test_full_scale_figure_keeps_labels_outside_the_figure_box(tmp_path):
    fig = plt.figure(figsize=(4, 3))
    ax = fig.add_axes((0.1, 0.0, 0.8, 0.9))  # the tick labels and the x label hang below the figure
    ax.set_xlabel("epoch")
    full_scale_figure(fig, tmp_path / "curve.png", full_scale=True, dpi=60)
    assert plt.imread(tmp_path / "curve.png").shape[0] > 3 * 60
    plt.close("all")


def test_mask_to_rgb_colours_each_class():
    import numpy as np
    import pytest

    from helpers.vis_utils import SEGMENTATION_PALETTE, mask_to_rgb

    rgb = mask_to_rgb(np.array([[[0, 1], [2, 12]]]))
    assert rgb.shape == (1, 2, 2, 3) and rgb.dtype == np.uint8
    np.testing.assert_array_equal(rgb[0, 0, 0], [0, 0, 0])
    np.testing.assert_array_equal(rgb[0, 1, 1], SEGMENTATION_PALETTE[12 % len(SEGMENTATION_PALETTE)])
    with pytest.raises(ValueError, match="masks must hold non-negative integer classes"):
        mask_to_rgb(np.array([[0.5]]))


def test_draw_boxes_and_precision_recall():
    import numpy as np

    from helpers.vis_utils import draw_boxes, plot_precision_recall

    fig, ax = plt.subplots()
    draw_boxes(ax, np.zeros((16, 16, 3), dtype=np.uint8), np.array([[1, 2, 8, 9], [3, 3, 5, 5]]), labels=[0, 1],
               scores=[0.9, 0.4], class_names=["square", "disc"], title="detections")
    assert len(ax.patches) == 2 and [t.get_text() for t in ax.texts] == ["square 0.90", "disc 0.40"]
    draw_boxes(ax, np.zeros((16, 16, 3), dtype=np.uint8), np.zeros((0, 4)))
    recall = np.linspace(0, 1, 101)
    precision = np.stack([np.where(recall <= 0.5, 1.0, 2 / 3), -np.ones(101)])
    fig = plot_precision_recall(recall, precision, ["square", "disc"], class_ap=[0.83, np.nan])
    assert len(fig.axes[0].lines) == 1 and "square (AP 0.830)" in fig.axes[0].get_legend().get_texts()[0].get_text()
    plt.close("all")


def test_show_attention_draws_one_panel_per_word_and_checks_its_inputs():
    image = np.zeros((64, 64, 3), dtype=np.uint8)
    attention = np.full((3, 16), 1 / 16)
    attention[1] = np.eye(16)[5]                                    # word 1 looks at row 1, column 1
    fig = show_attention(image, ["a", "red", "circle"], attention, cols=2)
    drawn = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in drawn] == ["image", "a (max 0.06)", "red (max 1.00)", "circle (max 0.06)"]
    shade = drawn[2].images[1].get_array()                          # (4, 4, RGBA) over the 64 x 64 image
    assert shade.shape == (4, 4, 4) and drawn[2].images[1].get_extent() == [0, 64, 64, 0]
    assert shade[1, 1, 3] == 0 and np.all(np.delete(shade[..., 3].ravel(), 5) > 0.7)
    plt.close("all")

    with pytest.raises(ValueError, match=r"attention must have shape \(L, P\) with L = 2"):
        show_attention(image, ["a", "red"], attention)
    with pytest.raises(ValueError, match="P = 6 positions, not a square grid"):
        show_attention(image, ["a"], np.ones((1, 6)) / 6)
    with pytest.raises(ValueError, match=r"grid_shape must be \(h, w\) with h \* w = P = 6"):
        show_attention(image, ["a"], np.ones((1, 6)) / 6, grid_shape=(2, 2))
    with pytest.raises(ValueError, match=r"image must have shape \(H, W, 3\)"):
        show_attention(image[..., 0], ["a"], attention[:1])


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
