"""Image features: HOG on synthetic images (and against CS231n's uniform_filter formulation),
the hue histogram against matplotlib + np.histogram, extract_features, and bad input."""

import matplotlib.colors
import numpy as np
import pytest
from scipy.ndimage import uniform_filter

from helpers.features import (
    color_histogram_hsv,
    extract_features,
    hog_feature,
    hog_picture,
    rgb2gray,
    rgb2hue,
)


def _hog_uniform_filter(image):
    """CS231n's formulation of the cell means (an 8x8 uniform_filter read at the cell centres),
    with every gradient binned by its edge orientation in [0, 180): the oracle for hog_feature."""
    gx = np.zeros(image.shape)
    gy = np.zeros(image.shape)
    gx[:, :-1] = np.diff(image, axis=1)
    gy[:-1, :] = np.diff(image, axis=0)
    mag = np.sqrt(gx**2 + gy**2)
    ori = np.mod(np.degrees(np.arctan2(gy, gx)) + 90, 180)
    ncy, ncx = image.shape[0] // 8, image.shape[1] // 8
    hist = np.zeros((ncy, ncx, 9))
    for i in range(9):
        in_bin = (ori >= 20 * i) & (ori < 20 * (i + 1))
        hist[:, :, i] = uniform_filter(np.where(in_bin, mag, 0), size=(8, 8))[4:ncy * 8:8, 4:ncx * 8:8]
    return hist.ravel()


def _stripes(vertical, size=32, period=4):
    """Black and white stripes: vertical stripes vary along x, horizontal ones along y."""
    wave = (np.arange(size) // (period // 2)) % 2 * 255.0
    return np.tile(wave, (size, 1)) if vertical else np.tile(wave[:, None], (1, size))


def test_hog_output_length():
    assert hog_feature(np.zeros((32, 32, 3))).shape == (4 * 4 * 9,)
    assert hog_feature(np.zeros((32, 32))).shape == (144,)
    # A partial cell at the border is ignored: 40 // 8 = 5 rows, 21 // 8 = 2 columns.
    assert hog_feature(np.zeros((40, 21))).shape == (5 * 2 * 9,)


def test_hog_of_flat_image_is_zero():
    np.testing.assert_array_equal(hog_feature(np.full((16, 16, 3), 77.0)), 0)


@pytest.mark.parametrize("vertical, expected_bin", [(True, 4), (False, 0)])
def test_hog_stripes_fill_the_expected_orientation_bin(vertical, expected_bin):
    # Vertical stripes: horizontal gradients, vertical edges (90 degrees, bin 4 = [80, 100)).
    # Horizontal stripes: vertical gradients, horizontal edges (0 degrees, bin 0).
    feats = hog_feature(_stripes(vertical)).reshape(4, 4, 9)
    energy = feats.sum(axis=(0, 1))
    assert energy[expected_bin] > 0
    np.testing.assert_allclose(np.delete(energy, expected_bin), 0)
    # Both edge directions (dark->light and light->dark) count: CS231n dropped one of them.
    # Each 8-pixel row has 4 steps of 255 (one at the cell's last column is lost at the image
    # border only, for the last cell), so the interior cells average 4 * 255 / 8 per pixel.
    interior = feats[:, :3, expected_bin] if vertical else feats[:3, :, expected_bin]
    np.testing.assert_allclose(interior, 4 * 255 / 8)


def test_hog_diagonal_edges():
    # Intensity growing along x + y: gradient at 45 degrees, edge at 135 degrees -> bin 6.
    yy, xx = np.mgrid[:16, :16]
    feats = hog_feature((xx + yy).astype(float)).reshape(2, 2, 9)
    assert np.argmax(feats.sum(axis=(0, 1))) == 6


def test_hog_matches_uniform_filter_formulation():
    rng = np.random.default_rng(0)
    for shape in [(32, 32), (24, 40), (17, 9)]:
        image = rng.uniform(0, 255, size=shape)
        np.testing.assert_allclose(hog_feature(image), _hog_uniform_filter(image), rtol=1e-10, atol=1e-10)


def test_hog_of_rgb_uses_gray_luma():
    rng = np.random.default_rng(1)
    im = rng.uniform(0, 255, size=(16, 16, 3))
    gray = 0.299 * im[..., 0] + 0.587 * im[..., 1] + 0.114 * im[..., 2]
    np.testing.assert_allclose(rgb2gray(im), gray)
    np.testing.assert_allclose(hog_feature(im), hog_feature(gray))


@pytest.mark.parametrize("nbin", [1, 10, 25])
def test_color_histogram_matches_numpy_histogram_of_hue(nbin):
    rng = np.random.default_rng(nbin)
    im = rng.integers(0, 256, size=(32, 32, 3)).astype(np.float64)
    im[:4] = 128.0  # some grays (hue 0)
    hue = matplotlib.colors.rgb_to_hsv(im / 255)[..., 0] * 255
    expected, _ = np.histogram(hue, bins=np.linspace(0, 255, nbin + 1))
    counts = color_histogram_hsv(im, nbin=nbin, normalized=False)
    np.testing.assert_array_equal(counts, expected)
    fractions = color_histogram_hsv(im, nbin=nbin)
    np.testing.assert_allclose(fractions.sum(), 1.0)
    np.testing.assert_allclose(fractions, expected / expected.sum())


def test_color_histogram_of_pure_colours():
    # Red has hue 0, green 1/3, blue 2/3 of the circle: bins 0, 3 and 6 of 10.
    im = np.zeros((3, 4, 3))
    im[0, :, 0] = im[1, :, 1] = im[2, :, 2] = 255
    np.testing.assert_allclose(color_histogram_hsv(im), np.eye(10)[[0, 3, 6]].sum(0) / 3)


def test_rgb2hue_matches_matplotlib():
    rng = np.random.default_rng(2)
    rgb = rng.integers(0, 4, size=(50, 50, 3)) / 3.0  # few levels: many ties between channels
    np.testing.assert_array_equal(rgb2hue(rgb), matplotlib.colors.rgb_to_hsv(rgb)[..., 0])


def test_extract_features_shapes_and_order():
    rng = np.random.default_rng(3)
    imgs = rng.uniform(0, 255, size=(5, 16, 16, 3))
    feats = extract_features(imgs, [hog_feature, lambda im: color_histogram_hsv(im, nbin=7)])
    assert feats.shape == (5, 2 * 2 * 9 + 7)
    for i in range(5):
        np.testing.assert_allclose(feats[i, :36], hog_feature(imgs[i]))
        np.testing.assert_allclose(feats[i, 36:], color_histogram_hsv(imgs[i], nbin=7))


def test_extract_features_single_function_and_single_image():
    feats = extract_features(np.zeros((1, 8, 8, 3)), [hog_feature])
    assert feats.shape == (1, 9)


@pytest.mark.parametrize("imgs, fns, message", [
    (np.zeros((8, 8, 3)), [hog_feature], r"imgs must have shape \(N, H, W, C\), got \(8, 8, 3\)"),
    (np.zeros((0, 8, 8, 3)), [hog_feature], "at least one image"),
    (np.zeros((2, 8, 8, 3)), [], "non-empty list of functions"),
    (np.zeros((2, 8, 8, 3)), hog_feature, "non-empty list of functions"),
    (np.zeros((2, 8, 8, 3)), [lambda im: np.zeros((2, 2))], "must return a 1-D array, got shape"),
])
def test_extract_features_bad_input(imgs, fns, message):
    with pytest.raises(ValueError, match=message):
        extract_features(imgs, fns)


def test_bad_shapes_and_values_are_rejected():
    with pytest.raises(ValueError, match=r"im must have shape \(H, W\) or \(H, W, 3\), got \(4,\)"):
        hog_feature(np.zeros(4))
    with pytest.raises(ValueError, match="at least 8x8 pixels"):
        hog_feature(np.zeros((7, 32)))
    with pytest.raises(ValueError, match=r"rgb must have shape \(H, W, 3\), got \(8, 8, 2\)"):
        rgb2gray(np.zeros((8, 8, 2)))
    with pytest.raises(ValueError, match=r"im must have shape \(H, W, 3\), got \(8, 8\)"):
        color_histogram_hsv(np.zeros((8, 8)))
    with pytest.raises(ValueError, match="nbin must be a positive integer, got 0"):
        color_histogram_hsv(np.zeros((8, 8, 3)), nbin=0)
    with pytest.raises(ValueError, match="xmin must be below xmax"):
        color_histogram_hsv(np.zeros((8, 8, 3)), xmin=255, xmax=255)


def test_hog_picture_draws_vertical_stroke_for_vertical_edges():
    feats = hog_feature(_stripes(vertical=True))
    picture = hog_picture(feats, (4, 4), cell_pixels=16)
    assert picture.shape == (64, 64)
    cell = picture[:16, :16]
    # Bin 4 is centred on 90 degrees: a vertical line through the cell's centre columns.
    lit_columns = np.flatnonzero(cell.sum(axis=0))
    np.testing.assert_array_equal(lit_columns, [7, 8])
    assert np.all(cell[:, 7] > 0)


def test_hog_picture_rejects_wrong_length():
    with pytest.raises(ValueError, match=r"feat must have shape \(144,\) for 4x4 cells of 9 bins, got \(10,\)"):
        hog_picture(np.zeros(10), (4, 4))
