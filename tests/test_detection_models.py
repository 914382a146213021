"""helpers.classifiers.detection and helpers.detection_solver on small synthetic images drawn here
(squares and discs with known masks and boxes): shapes, target assignment, decoding with NMS, a few
training steps that lower each loss, the evaluation measures on hand-checkable examples, and bad input.
"""

import numpy as np
import pytest
import torch

from helpers import box_utils, detection_solver
from helpers.classifiers.detection import ClassifierBoxRegressor, GridDetector, SegmentationFCN, decode_detections
from helpers.optim import TrainingDivergedError


def draw_scenes(n, size=32, seed=0, max_objects=2):
    """
    Synthetic scenes: noise with up to max_objects squares (class 0) and discs (class 1), each
    object in its own quadrant so that centres never share a grid cell.

    Returns images (n, 3, size, size) float32, masks (n, size, size) int64 (0 background,
    1 square, 2 disc), boxes (n, max_objects, 4) and labels (n, max_objects) (-1: none).
    """
    rng = np.random.default_rng(seed)
    images = rng.normal(0, 0.1, (n, 3, size, size)).astype(np.float32)
    masks = np.zeros((n, size, size), dtype=np.int64)
    boxes = np.zeros((n, max_objects, 4), dtype=np.float32)
    labels = np.full((n, max_objects), -1, dtype=np.int64)
    yy, xx = np.mgrid[0:size, 0:size]
    half = size // 2
    for i in range(n):
        quadrants = rng.permutation(4)[:rng.integers(1, max_objects + 1)]
        for k, q in enumerate(quadrants):
            side = int(rng.integers(size // 5, size // 3))
            x1 = (q % 2) * half + int(rng.integers(0, half - side + 1))
            y1 = (q // 2) * half + int(rng.integers(0, half - side + 1))
            label = int(rng.integers(2))
            if label == 0:
                inside = (xx >= x1) & (xx < x1 + side) & (yy >= y1) & (yy < y1 + side)
            else:
                inside = (xx + 0.5 - x1 - side / 2) ** 2 + (yy + 0.5 - y1 - side / 2) ** 2 <= (side / 2) ** 2
            images[i, label, inside] += 1.0
            masks[i, inside] = label + 1
            boxes[i, k] = (x1, y1, x1 + side, y1 + side)
            labels[i, k] = label
    return torch.from_numpy(images), torch.from_numpy(masks), torch.from_numpy(boxes), torch.from_numpy(labels)


def loss_drops(model, x, targets, steps=25, lr=3e-3):
    """Train on one fixed batch: the loss after `steps` Adam steps is well below the first one."""
    torch.manual_seed(0)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    losses = []
    for _ in range(steps):
        loss, parts = model.loss(x, *targets)
        assert all(np.isfinite(v) for v in parts.values())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses[0], losses[-1]


# ----------------------------------------------------------------------------- segmentation

@pytest.mark.parametrize("skips", [True, False])
def test_fcn_scores_every_pixel(skips):
    torch.manual_seed(0)
    model = SegmentationFCN(num_classes=3, widths=(4, 8, 8), skips=skips)
    assert model(torch.zeros(2, 3, 16, 24)).shape == (2, 3, 16, 24)
    assert model.predict(torch.zeros(1, 3, 8, 8)).shape == (1, 8, 8)


def test_fcn_loss_decreases():
    x, masks, _, _ = draw_scenes(8)
    torch.manual_seed(0)
    first, last = loss_drops(SegmentationFCN(num_classes=3, widths=(8, 16, 16)), x, (masks,))
    assert last < 0.5 * first


def test_evaluate_segmentation_by_hand():
    # A "model" that always predicts class 1 on the left half: against a truth of class 1 on the left
    # quarter and class 0 elsewhere, IoU(1) = 1/2, IoU(0) = (3/4 - 1/4) / 3/4... computed per class below.
    class LeftHalf(torch.nn.Module):
        def forward(self, x):
            scores = torch.zeros(x.shape[0], 2, *x.shape[2:])
            scores[:, 1, :, : x.shape[3] // 2] = 1.0
            return scores

    masks = torch.zeros(3, 4, 8, dtype=torch.int64)
    masks[:, :, :2] = 1
    result = detection_solver.evaluate_segmentation(LeftHalf(), torch.zeros(3, 3, 4, 8), masks)
    # class 1: intersection 2 columns, union 4 columns; class 0: intersection 4 columns, union 6.
    np.testing.assert_allclose(result["class_iou"], [4 / 6, 2 / 4])
    assert result["miou"] == pytest.approx((4 / 6 + 2 / 4) / 2)
    assert result["pixel_accuracy"] == pytest.approx(6 / 8)


# ----------------------------------------------------------------------------- classification + localization

def test_localizer_outputs_scores_and_boxes_inside_the_image():
    torch.manual_seed(0)
    model = ClassifierBoxRegressor(num_classes=4, image_size=32, widths=(4, 8), hidden_dim=16)
    scores, boxes = model(torch.randn(5, 3, 32, 32))
    assert scores.shape == (5, 4) and boxes.shape == (5, 4)
    assert bool((boxes[:, 2:] >= boxes[:, :2]).all())
    labels, boxes = model.predict(torch.randn(2, 3, 32, 32))
    assert labels.shape == (2,) and labels.dtype == torch.int64


def test_localizer_multi_task_loss_decreases():
    x, _, boxes, labels = draw_scenes(16, max_objects=1)
    torch.manual_seed(0)
    model = ClassifierBoxRegressor(num_classes=2, image_size=32, widths=(8, 16, 16), hidden_dim=32)
    first, last = loss_drops(model, x, (labels[:, 0], boxes[:, 0]))
    assert last < 0.5 * first


def test_evaluate_localization_by_hand():
    class Fixed(torch.nn.Module):
        def forward(self, x):
            scores = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
            return scores, torch.tensor([[0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 1.0, 1.0]])

    truth = torch.tensor([[1.0, 0.0, 3.0, 2.0], [0.0, 0.0, 1.0, 1.0]])
    result = detection_solver.evaluate_localization(Fixed(), torch.zeros(2, 3, 4, 4), torch.tensor([0, 0]), truth)
    np.testing.assert_allclose(result["iou"].numpy(), [1 / 3, 1.0])
    assert result["mean_iou"] == pytest.approx(2 / 3)
    assert result["accuracy"] == pytest.approx(0.5)
    assert result["hit_rate"] == pytest.approx(0.0)  # the right class has IoU 1/3, the perfect box the wrong class


def test_paired_box_iou_is_the_diagonal_of_box_iou():
    rng = np.random.default_rng(0)
    corners = rng.uniform(0, 20, (9, 2))
    a = np.concatenate([corners, corners + rng.uniform(0, 10, (9, 2))], axis=1)
    b = a + rng.normal(0, 2, a.shape)
    b[:, 2:] = np.maximum(b[:, 2:], b[:, :2])
    got = detection_solver.paired_box_iou(torch.tensor(a), torch.tensor(b)).numpy()
    np.testing.assert_allclose(got, np.diag(box_utils.box_iou(a, b)), rtol=1e-12)


# ----------------------------------------------------------------------------- single-shot detection

def test_detector_grid_and_boxes():
    torch.manual_seed(0)
    model = GridDetector(num_classes=2, widths=(4, 8), head_width=8, head_depth=1)
    raw = model(torch.zeros(3, 3, 32, 24))
    assert model.stride == 4 and raw.shape == (3, 7, 8, 6)
    assert model.grid_boxes(raw).shape == (3, 8, 6, 4)


def test_detector_assigns_each_object_to_the_cell_of_its_centre():
    model = GridDetector(num_classes=2, widths=(4, 8, 8), head_width=8, head_depth=1)  # stride 8
    boxes = torch.tensor([[[0.0, 0.0, 10.0, 6.0], [20.0, 8.0, 30.0, 30.0]]])
    labels = torch.tensor([[1, -1]])
    positive, cell_boxes, cell_labels = model.assign(boxes, labels, (4, 4))
    assert positive.sum() == 1 and bool(positive[0, 0, 0])  # centre (5, 3): cell (row 0, col 0)
    assert cell_labels[0, 0, 0] == 1 and (cell_labels[0][~positive[0]] == -1).all()
    torch.testing.assert_close(cell_boxes[0, 0, 0], boxes[0, 0])
    labels = torch.tensor([[1, 0]])
    positive, _, cell_labels = model.assign(boxes, labels, (4, 4))
    assert bool(positive[0, 2, 3]) and cell_labels[0, 2, 3] == 0  # centre (25, 19): row 2, col 3


def hand_made_grid(model, cells):
    """A raw (1, 5 + K, 4, 4) grid: every cell confidently empty except `cells`, a dict
    (row, col) -> (objectness logit, class, box centre offset, size in pixels)."""
    K = model.num_classes
    raw = torch.zeros(1, 5 + K, 4, 4)
    raw[:, 0] = -20.0
    for (row, col), (logit, label, offset, size) in cells.items():
        raw[0, 0, row, col] = logit
        raw[0, 1:3, row, col] = torch.logit(torch.tensor(offset))
        raw[0, 3:5, row, col] = torch.log(torch.tensor(size / model.anchor_size))
        raw[0, 5 + label, row, col] = 20.0
    return raw


def test_decode_detections_and_nms():
    model = GridDetector(num_classes=2, widths=(4, 8, 8), head_width=8, head_depth=1)  # stride 8, 32x32 -> 4x4
    # Two neighbouring cells see the same 16-pixel object of class 0, centred at x = 15 and x = 17 (the
    # boxes overlap with IoU 224 / 288 = 0.78); a third cell sees a class-1 object elsewhere.
    raw = hand_made_grid(model, {(1, 1): (3.0, 0, [0.875, 0.5], 16.0), (1, 2): (1.0, 0, [0.125, 0.5], 16.0),
                                 (3, 0): (2.0, 1, [0.5, 0.5], 8.0)})
    before = decode_detections(model, raw, score_threshold=0.05, apply_nms=False)[0]
    after = decode_detections(model, raw, score_threshold=0.05, iou_threshold=0.5)[0]
    assert len(before["scores"]) == 3 and len(after["scores"]) == 2
    assert bool((after["scores"][:-1] >= after["scores"][1:]).all())
    torch.testing.assert_close(after["boxes"][0], torch.tensor([7.0, 4.0, 23.0, 20.0]))
    assert after["labels"].tolist() == [0, 1]
    torch.testing.assert_close(after["boxes"][1], torch.tensor([0.0, 24.0, 8.0, 32.0]))
    torch.testing.assert_close(after["scores"][0], torch.sigmoid(torch.tensor(3.0)), atol=1e-6, rtol=0)
    # With an NMS threshold above their IoU, both boxes of the first object stay.
    assert len(decode_detections(model, raw, iou_threshold=0.9)[0]["scores"]) == 3


def test_decode_detections_may_find_nothing():
    model = GridDetector(num_classes=2, widths=(4, 8, 8), head_width=8, head_depth=1)
    detections = decode_detections(model, hand_made_grid(model, {}), score_threshold=0.5)
    assert detections[0]["boxes"].shape == (0, 4) and detections[0]["scores"].shape == (0,)
    result = detection_solver.mean_average_precision(detections, torch.tensor([[[0.0, 0.0, 8.0, 8.0]]]),
                                                     torch.tensor([[1]]), num_classes=2)
    assert result["map"] == 0.0


def test_detector_loss_decreases():
    x, _, boxes, labels = draw_scenes(16)
    torch.manual_seed(0)
    model = GridDetector(num_classes=2, widths=(8, 16, 16), head_width=16, head_depth=1, anchor_size=8.0)
    first, last = loss_drops(model, x, (boxes, labels))
    assert last < 0.5 * first


# ----------------------------------------------------------------------------- mean average precision

def test_map_by_hand():
    # One image, two true boxes of class 0. Detections by score: a hit, a false positive, the second hit.
    # Precision-recall: (1, 0.5), then (2/3, 1). COCO's 101-point interpolation: precision 1 at the 51
    # recall levels 0..0.5, 2/3 at the 50 levels 0.51..1, so AP = (51 + 50 * 2/3) / 101.
    truth_boxes = torch.tensor([[[0.0, 0.0, 10.0, 10.0], [20.0, 20.0, 30.0, 30.0]]])
    truth_labels = torch.tensor([[0, 0]])
    detections = [{"boxes": torch.tensor([[0.0, 0.0, 10.0, 10.0], [40.0, 40.0, 50.0, 50.0], [21.0, 21.0, 30.0, 30.0]]),
                   "scores": torch.tensor([0.9, 0.8, 0.7]), "labels": torch.tensor([0, 0, 0])}]
    result = detection_solver.mean_average_precision(detections, truth_boxes, truth_labels, num_classes=2)
    assert result["map"] == pytest.approx((51 + 50 * 2 / 3) / 101, abs=1e-6)
    assert result["class_ap"][0] == pytest.approx(result["map"], abs=1e-6) and np.isnan(result["class_ap"][1])
    np.testing.assert_allclose(result["precision"][0, :51], 1.0)
    np.testing.assert_allclose(result["precision"][0, 51:], 2 / 3, rtol=1e-6)
    np.testing.assert_array_equal(result["precision"][1], -1.0)
    assert result["recall"].shape == (101,)


def test_map_counts_a_duplicate_as_a_false_positive():
    # The same object found twice: the second detection matches nothing (the box is taken).
    truth_boxes = torch.tensor([[[0.0, 0.0, 10.0, 10.0]]])
    detections = [{"boxes": torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 0.0, 10.0, 10.0]]),
                   "scores": torch.tensor([0.6, 0.9]), "labels": torch.tensor([0, 0])}]
    result = detection_solver.mean_average_precision(detections, truth_boxes, torch.tensor([[0]]), num_classes=1)
    assert result["map"] == pytest.approx(1.0)  # the higher-scoring duplicate matched; recall 1 at precision 1
    wrong_class = [{"boxes": truth_boxes[0], "scores": torch.tensor([0.9]), "labels": torch.tensor([1])}]
    result = detection_solver.mean_average_precision(wrong_class, truth_boxes, torch.tensor([[0]]), num_classes=2)
    assert result["map"] == 0.0


def test_evaluate_detection_runs_the_detector():
    x, _, boxes, labels = draw_scenes(4)
    torch.manual_seed(0)
    model = GridDetector(num_classes=2, widths=(4, 8, 8), head_width=8, head_depth=1)
    result = detection_solver.evaluate_detection(model, x, boxes, labels, batch_size=3)
    assert len(result["detections"]) == 4 and 0.0 <= result["map"] <= 1.0


# ----------------------------------------------------------------------------- training loop and recipes

def test_train_detection_model_trains_each_model():
    x, masks, boxes, labels = draw_scenes(12)
    torch.manual_seed(0)
    fcn = SegmentationFCN(num_classes=3, widths=(8, 16))
    history = detection_solver.train_detection_model(fcn, x, (masks,), num_epochs=3, batch_size=4, verbose=False)
    assert len(history["loss"]) == 9 and set(history["parts"]) == {"pixel_ce"}
    assert len(history["epoch_cpu_seconds"]) == 3 and not fcn.training
    detector = GridDetector(num_classes=2, widths=(4, 8, 8), head_width=8, head_depth=1)
    history = detection_solver.train_detection_model(detector, x, (boxes, labels), num_epochs=1, batch_size=5,
                                                     verbose=False)
    assert set(history["parts"]) == {"objectness", "class_ce", "box"} and len(history["loss"]) == 3


def test_training_is_reproducible():
    x, masks, _, _ = draw_scenes(8)
    runs = []
    for _ in range(2):
        model = detection_solver.build_model({"model": "fcn", "model_kwargs": dict(num_classes=3, widths=(4, 8))},
                                             seed=3)
        runs.append(detection_solver.train_detection_model(model, x, (masks,), num_epochs=2, batch_size=4,
                                                           verbose=False)["loss"])
    assert runs[0] == runs[1]


@pytest.mark.parametrize("recipe", [detection_solver.FCN_RECIPE, detection_solver.LOCALIZER_RECIPE,
                                    detection_solver.DETECTOR_RECIPE])
def test_recipes_build_their_models(recipe):
    model = detection_solver.build_model(recipe, seed=0)
    assert isinstance(model, detection_solver.MODELS[recipe["model"]])
    assert set(recipe["training"]) <= {"num_epochs", "batch_size", "learning_rate", "weight_decay"}


def test_divergence_is_reported():
    x, masks, _, _ = draw_scenes(4)
    model = SegmentationFCN(num_classes=3, widths=(4, 8))
    with pytest.raises(TrainingDivergedError, match="lower the learning rate"):
        detection_solver.train_detection_model(model, x * float("nan"), (masks,), num_epochs=1, verbose=False)


# ----------------------------------------------------------------------------- bad input

def test_masks_of_the_wrong_shape_are_rejected():
    x = torch.zeros(2, 3, 8, 8)
    model = SegmentationFCN(num_classes=3, widths=(4, 8))
    with pytest.raises(ValueError, match=r"masks must be an integer tensor of shape \(2, 8, 8\) \(one class per "
                                         r"pixel of x \(2, 3, 8, 8\)\), got \(2, 8, 4\)"):
        model.loss(x, torch.zeros(2, 8, 4, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"masks must be an integer tensor .* got \(2, 8, 8\) torch.float32"):
        model.loss(x, torch.zeros(2, 8, 8))
    with pytest.raises(ValueError, match=r"masks must be a tensor of shape \(2, 8, 8\)"):
        detection_solver.evaluate_segmentation(model, x, torch.zeros(3, 8, 8, dtype=torch.int64))


def test_images_of_the_wrong_shape_are_rejected():
    with pytest.raises(ValueError, match=r"x must have H and W divisible by 4"):
        SegmentationFCN(num_classes=3, widths=(4, 8, 8))(torch.zeros(1, 3, 10, 8))
    with pytest.raises(ValueError, match=r"x must be a float tensor of shape \(N, 3, H, W\), got \(1, 1, 8, 8\)"):
        GridDetector(num_classes=2, widths=(4,), head_width=4, head_depth=1)(torch.zeros(1, 1, 8, 8))
    with pytest.raises(ValueError, match=r"x must have shape \(N, 3, 32, 32\), got \(1, 3, 16, 16\)"):
        ClassifierBoxRegressor(num_classes=2, image_size=32, widths=(4,), hidden_dim=4)(torch.zeros(1, 3, 16, 16))


def test_bad_targets_are_rejected():
    x = torch.zeros(2, 3, 16, 16)
    localizer = ClassifierBoxRegressor(num_classes=2, image_size=16, widths=(4,), hidden_dim=4)
    good = torch.tensor([[0.0, 0.0, 4.0, 4.0]] * 2)
    with pytest.raises(ValueError, match=r"boxes must hold boxes \(x1, y1, x2, y2\) with x1 <= x2"):
        localizer.loss(x, torch.tensor([0, 1]), torch.tensor([[4.0, 0.0, 0.0, 4.0]] * 2))
    with pytest.raises(ValueError, match=r"labels must be in 0..1, got range 0..2"):
        localizer.loss(x, torch.tensor([0, 2]), good)
    with pytest.raises(ValueError, match=r"labels must be an int64 tensor of shape \(2,\)"):
        localizer.loss(x, torch.tensor([0.0, 1.0]), good)
    detector = GridDetector(num_classes=2, widths=(4, 8), head_width=4, head_depth=1)
    with pytest.raises(ValueError, match=r"boxes must be a tensor of shape \(N, M, 4\) with N = 2"):
        detector.loss(x, good, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match=r"labels must be in -1..1 \(-1: no object\)"):
        detector.loss(x, good[:, None], torch.tensor([[0], [-2]]))
    with pytest.raises(ValueError, match=r"targets\[0\] must be a tensor with one row per image \(2\), got \(3, 4\)"):
        detection_solver.train_detection_model(localizer, x, (torch.zeros(3, 4),), verbose=False)


def test_bad_thresholds_and_detections_are_rejected():
    model = GridDetector(num_classes=2, widths=(4, 8, 8), head_width=8, head_depth=1)
    raw = hand_made_grid(model, {})
    with pytest.raises(ValueError, match=r"iou_threshold must be in \[0, 1\], got 1.5"):
        decode_detections(model, raw, iou_threshold=1.5)
    with pytest.raises(ValueError, match=r"score_threshold must be in \[0, 1\], got -0.1"):
        decode_detections(model, raw, score_threshold=-0.1)
    truth = torch.zeros(1, 1, 4)
    with pytest.raises(ValueError, match=r"detections must be a list of one dict per image \(1\), got 2"):
        detection_solver.mean_average_precision([{}, {}], truth, torch.tensor([[0]]), num_classes=2)
    with pytest.raises(ValueError, match=r"detections\[0\] must be a dict with 'boxes', 'scores' and 'labels'"):
        detection_solver.mean_average_precision([{"boxes": truth[0]}], truth, torch.tensor([[0]]), num_classes=2)
    with pytest.raises(ValueError, match=r"recipe must be a dict whose 'model' is one of"):
        detection_solver.build_model({"model": "unet"})
