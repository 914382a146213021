"""helpers.box_utils: box_iou, nms and roi_pool against torchvision.ops, hand-checked values, and bad input."""

import numpy as np
import pytest
import torch
import torchvision.ops as ops

from helpers import box_utils


def random_boxes(rng, n, size=50.0, low=1.0, high=20.0):
    corners = rng.uniform(0, size, (n, 2))
    return np.concatenate([corners, corners + rng.uniform(low, high, (n, 2))], axis=1)  # (n, 4)


# ----------------------------------------------------------------------------- box_iou

@pytest.mark.parametrize("seed", range(5))
def test_box_iou_matches_torchvision(seed):
    rng = np.random.default_rng(seed)
    a, b = random_boxes(rng, 7), random_boxes(rng, 11)
    expected = ops.box_iou(torch.tensor(a), torch.tensor(b)).numpy()
    np.testing.assert_allclose(box_utils.box_iou(a, b), expected, rtol=1e-12, atol=1e-15)


def test_box_iou_by_hand():
    # Two 2x2 squares sharing a 1x2 strip: 2 / (4 + 4 - 2) = 1/3; disjoint boxes 0; a box with itself 1.
    a = np.array([[0, 0, 2, 2]])
    b = np.array([[1, 0, 3, 2], [5, 5, 6, 6], [0, 0, 2, 2], [0, 0, 1, 1]])
    np.testing.assert_allclose(box_utils.box_iou(a, b), [[1 / 3, 0.0, 1.0, 0.25]])
    assert box_utils.box_iou(a, np.zeros((0, 4))).shape == (1, 0)


def test_box_iou_of_empty_boxes_is_zero():
    # Zero-area boxes have no union with each other: defined as 0 (torchvision gives NaN).
    point = np.array([[3.0, 3.0, 3.0, 3.0]])
    assert box_utils.box_iou(point, point)[0, 0] == 0.0
    assert box_utils.box_iou(point, np.array([[0, 0, 5, 5]]))[0, 0] == 0.0


def test_box_area():
    np.testing.assert_allclose(box_utils.box_area([[0, 0, 2, 3], [1, 1, 1, 4]]), [6.0, 0.0])


# ----------------------------------------------------------------------------- nms

@pytest.mark.parametrize("iou_threshold", [0.0, 0.1, 0.3, 0.5, 0.7, 1.0])
@pytest.mark.parametrize("seed", range(3))
def test_nms_matches_torchvision(iou_threshold, seed):
    rng = np.random.default_rng(seed)
    boxes, scores = random_boxes(rng, 60, size=30.0), rng.random(60)
    keep = box_utils.nms(boxes, scores, iou_threshold)
    expected = ops.nms(torch.tensor(boxes), torch.tensor(scores), iou_threshold).numpy()
    assert keep.dtype == np.int64
    np.testing.assert_array_equal(keep, expected)


def test_nms_by_hand():
    # Boxes 0 and 1 overlap with IoU 81/119 = 0.68; box 2 is elsewhere. Kept in order of score.
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]])
    scores = np.array([0.8, 0.9, 0.3])
    np.testing.assert_array_equal(box_utils.nms(boxes, scores, 0.5), [1, 2])
    np.testing.assert_array_equal(box_utils.nms(boxes, scores, 0.7), [1, 0, 2])


def test_nms_of_no_boxes_is_empty():
    keep = box_utils.nms(np.zeros((0, 4)), np.zeros(0), 0.5)
    assert keep.shape == (0,) and keep.dtype == np.int64


# ----------------------------------------------------------------------------- roi_pool

@pytest.mark.parametrize("spatial_scale", [1.0, 0.5, 0.25])
@pytest.mark.parametrize("output_size", [1, 2, (3, 2)])
def test_roi_pool_matches_torchvision(spatial_scale, output_size):
    rng = np.random.default_rng(0)
    features = rng.standard_normal((2, 3, 10, 12))
    # Regions of every size, some reaching past the map's borders.
    rois = np.concatenate([rng.integers(0, 2, (25, 1)), random_boxes(rng, 25, size=45.0, low=0.0) - 5], axis=1)
    out = box_utils.roi_pool(features, rois, output_size, spatial_scale)
    expected = ops.roi_pool(torch.tensor(features), torch.tensor(rois), output_size, spatial_scale).numpy()
    np.testing.assert_array_equal(out, expected)


def test_roi_pool_rounds_halves_away_from_zero_as_torchvision():
    features = np.random.default_rng(1).standard_normal((1, 2, 8, 8))
    rois = np.array([[0, 0.5, 1.5, 2.5, 3.5], [0, -2.5, 0.0, 4.0, 4.5], [0, 1.49, 2.51, 6.5, 6.5]])
    expected = ops.roi_pool(torch.tensor(features), torch.tensor(rois), 2, 1.0).numpy()
    np.testing.assert_array_equal(box_utils.roi_pool(features, rois, 2), expected)


def test_roi_pool_by_hand():
    # A 4x4 region split into 2x2 bins: each bin is the max of its 2x2 block.
    features = np.arange(16.0).reshape(1, 1, 4, 4)
    out = box_utils.roi_pool(features, np.array([[0, 0, 0, 3, 3]]), 2)
    np.testing.assert_array_equal(out[0, 0], [[5.0, 7.0], [13.0, 15.0]])


def test_roi_pool_outside_the_map_gives_zeros():
    # Documented (as torchvision): bins are clipped to the map, and a bin wholly outside it is 0.
    features = np.full((1, 2, 4, 4), 7.0)
    rois = np.array([[0, 10, 10, 20, 20], [0, 2, 2, 9, 9]])
    out = box_utils.roi_pool(features, rois, 2)
    np.testing.assert_array_equal(out[0], 0.0)
    np.testing.assert_array_equal(out[1, :, 0, 0], 7.0)
    np.testing.assert_array_equal(out[1, :, 1, 1], 0.0)
    np.testing.assert_array_equal(out, ops.roi_pool(torch.tensor(features), torch.tensor(rois, dtype=torch.float64),
                                                    2, 1.0).numpy())


def test_roi_pool_of_no_regions_is_empty():
    assert box_utils.roi_pool(np.zeros((1, 3, 4, 4)), np.zeros((0, 5)), (2, 3)).shape == (0, 3, 2, 3)


# ----------------------------------------------------------------------------- bad input

def test_boxes_with_x2_before_x1_are_rejected():
    good, bad = np.array([[0, 0, 2, 2]]), np.array([[0, 0, 2, 2], [5, 1, 3, 4]])
    message = r"boxes2 must hold boxes \(x1, y1, x2, y2\) with x1 <= x2 and y1 <= y2, got boxes2\[1\] = \[5.0"
    with pytest.raises(ValueError, match=message):
        box_utils.box_iou(good, bad)
    with pytest.raises(ValueError, match=r"boxes must hold boxes .* got boxes\[1\]"):
        box_utils.nms(bad, np.ones(2), 0.5)
    with pytest.raises(ValueError, match=r"rois\[:, 1:\] must hold boxes"):
        box_utils.roi_pool(np.zeros((1, 1, 4, 4)), np.array([[0, 3, 0, 1, 2]]), 2)


def test_boxes_of_the_wrong_shape_or_not_finite_are_rejected():
    with pytest.raises(ValueError, match=r"boxes1 must have shape \(N, 4\) \(one row \(x1, y1, x2, y2\) per box\), "
                                         r"got \(4,\)"):
        box_utils.box_iou(np.zeros(4), np.zeros((1, 4)))
    with pytest.raises(ValueError, match="boxes holds 1 NaN or infinite values"):
        box_utils.nms(np.array([[0, 0, np.nan, 1]]), np.ones(1), 0.5)


@pytest.mark.parametrize("threshold", [-0.1, 1.5, float("nan")])
def test_nms_rejects_an_iou_threshold_outside_0_1(threshold):
    with pytest.raises(ValueError, match=r"iou_threshold must be in \[0, 1\]"):
        box_utils.nms(np.array([[0, 0, 1, 1]]), np.ones(1), threshold)


def test_nms_rejects_scores_that_do_not_match_the_boxes():
    with pytest.raises(ValueError, match=r"scores must have shape \(2,\) \(one score per box: boxes has 2 rows\), "
                                         r"got \(3,\)"):
        box_utils.nms(np.zeros((2, 4)), np.ones(3), 0.5)


def test_roi_pool_rejects_bad_regions_and_sizes():
    features = np.zeros((2, 1, 4, 4))
    with pytest.raises(ValueError, match=r"rois\[:, 0\] must hold batch indices in 0..1 \(features has 2 maps\), "
                                         r"got \[2.0\]"):
        box_utils.roi_pool(features, np.array([[2, 0, 0, 1, 1]]), 2)
    with pytest.raises(ValueError, match=r"rois must have shape \(K, 5\)"):
        box_utils.roi_pool(features, np.array([[0, 0, 1, 1]]), 2)
    with pytest.raises(ValueError, match="output_size must be an integer or a pair"):
        box_utils.roi_pool(features, np.array([[0, 0, 0, 1, 1]]), (2, 2, 2))
    with pytest.raises(ValueError, match=r"output_size\[0\] must be a positive integer, got 0"):
        box_utils.roi_pool(features, np.array([[0, 0, 0, 1, 1]]), 0)
    with pytest.raises(ValueError, match=r"spatial_scale must be in \(0, inf\]"):
        box_utils.roi_pool(features, np.array([[0, 0, 0, 1, 1]]), 2, spatial_scale=0)
    with pytest.raises(ValueError, match=r"features must have shape \(N, C, H, W\)"):
        box_utils.roi_pool(np.zeros((4, 4)), np.array([[0, 0, 0, 1, 1]]), 2)
