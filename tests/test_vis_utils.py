"""The pictures of vis_utils that carry logic: the full-scale figure saved beside a live one."""

import matplotlib.pyplot as plt

from helpers.vis_utils import full_scale_figure


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
