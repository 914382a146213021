"""Boxes for object detection in NumPy: overlap (IoU), non-maximum suppression and RoI pooling.

A box is (x1, y1, x2, y2) in pixel coordinates, the corners of a rectangle on the continuous
image plane (x to the right, y down), so its area is (x2 - x1) * (y2 - y1): the convention of
torchvision.ops and of the COCO evaluation. A box covering pixels 3..7 of a row spans x1 = 3,
x2 = 8. Boxes are arrays of shape (N, 4); x2 < x1 or y2 < y1 is an error, and a box with
x1 == x2 or y1 == y2 is empty (area 0).

RoI pooling follows Fast R-CNN as torchvision.ops.roi_pool implements it, where a region is
given by the indices of its first and last feature-map cells instead (see roi_pool).

torchvision.ops (box_iou, nms, roi_pool) is the independent oracle of every function here.
"""

import numpy as np

from helpers._checks import as_float_array, check_finite, check_ndim, check_shape, number_in, positive_int


def check_boxes(name, boxes):
    """
    Validate an array of boxes.

    Inputs:
    - name: The argument's name, for the messages
    - boxes: Array of shape (N, 4), rows (x1, y1, x2, y2)

    Returns:
    - boxes as a float array of shape (N, 4) (not copied)

    Raises ValueError for another shape, NaN or infinite coordinates, or a box with x2 < x1 or
    y2 < y1 (naming the first such row).
    """
    boxes = as_float_array(name, boxes)
    check_shape(name, boxes, ("N", 4), "(one row (x1, y1, x2, y2) per box)")
    check_finite(name, boxes)
    flipped = np.flatnonzero((boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1]))
    if flipped.size:
        i = int(flipped[0])
        raise ValueError(f"{name} must hold boxes (x1, y1, x2, y2) with x1 <= x2 and y1 <= y2, got {name}[{i}] = "
                         f"{boxes[i].tolist()} ({flipped.size} such boxes)")
    return boxes


def box_area(boxes):
    """
    Area of each box.

    Inputs:
    - boxes: Array of shape (N, 4), rows (x1, y1, x2, y2)

    Returns:
    - area: Array of shape (N,), (x2 - x1) * (y2 - y1)
    """
    boxes = check_boxes("boxes", boxes)
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def box_iou(boxes1, boxes2):
    """
    Intersection over union (Jaccard index) of every pair of boxes from two sets.

    IoU(a, b) = area(a and b) / area(a or b), in [0, 1]: 1 for identical boxes, 0 for boxes
    that do not overlap. Two empty boxes have no union; their IoU is defined as 0 here
    (torchvision.ops.box_iou returns NaN).

    Inputs:
    - boxes1: Array of shape (N, 4), rows (x1, y1, x2, y2)
    - boxes2: Array of shape (M, 4)

    Returns:
    - iou: Array of shape (N, M), iou[i, j] the IoU of boxes1[i] and boxes2[j]
    """
    boxes1, boxes2 = check_boxes("boxes1", boxes1), check_boxes("boxes2", boxes2)
    area1 = (boxes1[:, 2] - boxes1[:, 0]) * (boxes1[:, 3] - boxes1[:, 1])  # (N,)
    area2 = (boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1])  # (M,)
    # The intersection of two boxes is the box between the larger top-left and the smaller
    # bottom-right corner; it is empty when those cross.
    top_left = np.maximum(boxes1[:, None, :2], boxes2[None, :, :2])  # (N, M, 2)
    bottom_right = np.minimum(boxes1[:, None, 2:], boxes2[None, :, 2:])  # (N, M, 2)
    sides = np.clip(bottom_right - top_left, 0, None)  # (N, M, 2)
    inter = sides[..., 0] * sides[..., 1]  # (N, M)
    union = area1[:, None] + area2[None, :] - inter  # (N, M)
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def nms(boxes, scores, iou_threshold):
    """
    Non-maximum suppression: greedily keep the highest-scoring box and discard every remaining
    box that overlaps it with IoU > iou_threshold, until no box remains.

    A detector fires on many neighbouring windows (or grid cells) around each object; NMS keeps
    one detection per object. It compares boxes regardless of their class (run it once per
    class for class-aware suppression).

    Inputs:
    - boxes: Array of shape (N, 4), rows (x1, y1, x2, y2)
    - scores: Array of shape (N,), the score of each box
    - iou_threshold: Boxes overlapping a kept box with IoU above this are discarded, in [0, 1]
      (0 keeps only boxes that do not overlap at all; 1 discards nothing)

    Returns:
    - keep: int64 array of shape (K,), the indices of the kept boxes in decreasing order of
      score (as torchvision.ops.nms); empty when there are no boxes
    """
    boxes = check_boxes("boxes", boxes)
    scores = as_float_array("scores", scores)
    check_shape("scores", scores, (boxes.shape[0],), f"(one score per box: boxes has {boxes.shape[0]} rows)")
    check_finite("scores", scores)
    iou_threshold = number_in("iou_threshold", iou_threshold, 0.0, 1.0)
    # A stable sort keeps equal scores in index order, so the result does not depend on the
    # sorting algorithm.
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(best)
        overlap = box_iou(boxes[best:best + 1], boxes[rest])[0]  # (len(rest),)
        order = rest[overlap <= iou_threshold]
    return np.array(keep, dtype=np.int64)


def _round_half_away(values):
    """Round to the nearest integer, halves away from zero (C's round, which torchvision uses)."""
    return (np.sign(values) * np.floor(np.abs(values) + 0.5)).astype(np.int64)


def roi_pool(features, rois, output_size, spatial_scale=1.0):
    """
    RoI (region of interest) max pooling, as in Fast R-CNN: each region of a feature map is
    divided into an output_size grid of bins, and each bin is max-pooled, so regions of any
    size give features of one fixed size for the layers that classify them.

    A region's corners are scaled into the feature map (spatial_scale: 1/16 for a network that
    downsamples 16 times) and rounded to whole cells, and the bin edges are rounded again
    (floor for the start, ceil for the end): both roundings move the region by up to half a
    cell, the misalignment RoIAlign removes by sampling the map bilinearly instead.

    Exactly as torchvision.ops.roi_pool:
    - x1, y1, x2, y2 are scaled and rounded (halves away from zero) to cell indices; the region
      covers cells x1..x2 and y1..y2, both ends included (a region of fewer than one cell is
      treated as one cell);
    - bin (i, j) covers rows floor(i * h / ph) .. ceil((i + 1) * h / ph) - 1 of the region,
      h = y2 - y1 + 1 (columns likewise), so neighbouring bins may share a row;
    - bins are clipped to the feature map, and a bin that lies entirely outside it is 0.

    Inputs:
    - features: Feature maps of shape (N, C, H, W)
    - rois: Array of shape (K, 5), rows (batch_index, x1, y1, x2, y2) in image coordinates;
      batch_index in 0..N-1 picks the feature map of the region's image
    - output_size: Integer ph = pw, or a pair (ph, pw), of the output grid
    - spatial_scale: Positive factor from image to feature-map coordinates

    Returns:
    - out: Array of shape (K, C, ph, pw), the pooled features of each region
    """
    features = as_float_array("features", features)
    check_ndim("features", features, 4, "(N, C, H, W)")
    rois = as_float_array("rois", rois)
    check_shape("rois", rois, ("K", 5), "(one row (batch_index, x1, y1, x2, y2) per region)")
    check_boxes("rois[:, 1:]", rois[:, 1:])
    N, C, H, W = features.shape
    index = rois[:, 0]
    if np.any((index != np.round(index)) | (index < 0) | (index >= N)):
        raise ValueError(f"rois[:, 0] must hold batch indices in 0..{N - 1} (features has {N} maps), got "
                         f"{np.unique(index[(index != np.round(index)) | (index < 0) | (index >= N)]).tolist()}")
    sizes = (output_size, output_size) if np.ndim(output_size) == 0 else tuple(output_size)
    if len(sizes) != 2:
        raise ValueError(f"output_size must be an integer or a pair (ph, pw), got {output_size!r}")
    ph, pw = positive_int("output_size[0]", sizes[0]), positive_int("output_size[1]", sizes[1])
    spatial_scale = number_in("spatial_scale", spatial_scale, 0.0, np.inf, low_open=True)

    cells = _round_half_away(rois[:, 1:] * spatial_scale)  # (K, 4): first and last cell, x then y
    out = np.zeros((rois.shape[0], C, ph, pw), dtype=features.dtype)
    for k, (x1, y1, x2, y2) in enumerate(cells):
        fmap = features[int(index[k])]  # (C, H, W)
        bin_h = max(y2 - y1 + 1, 1) / ph
        bin_w = max(x2 - x1 + 1, 1) / pw
        for i in range(ph):
            top = min(max(int(np.floor(i * bin_h)) + y1, 0), H)
            bottom = min(max(int(np.ceil((i + 1) * bin_h)) + y1, 0), H)
            for j in range(pw):
                left = min(max(int(np.floor(j * bin_w)) + x1, 0), W)
                right = min(max(int(np.ceil((j + 1) * bin_w)) + x1, 0), W)
                if bottom > top and right > left:
                    out[k, :, i, j] = fmap[:, top:bottom, left:right].max(axis=(1, 2))
    return out
