"""helpers.data.scene_detection: the generated scenes as segmentation masks, boxes and labels.

The scene generator (helpers.data.scenes) comes with the captioning data; until it is part of this
checkout, these tests are skipped.
"""

import numpy as np
import pytest
import torch

pytest.importorskip("helpers.data.scenes", reason="helpers.data.scenes (the scene generator of the captioning "
                                                   "data) is not in this checkout")

from helpers.data import scene_detection  # noqa: E402

SHAPES, generate_scenes = scene_detection.SHAPES, scene_detection.generate_scenes


def test_targets_follow_the_scenes():
    images, instances, scenes = generate_scenes(12, "train", seed=0)
    masks, boxes, labels = scene_detection.scene_targets(instances, scenes)
    assert masks.shape == instances.shape and masks.dtype == np.uint8
    for n, scene in enumerate(scenes):
        for k, obj in enumerate(scene.objects):
            assert labels[n, k] == SHAPES.index(obj.shape)
            np.testing.assert_array_equal(boxes[n, k], obj.box)
            # The object's visible pixels carry its shape's class.
            assert (masks[n][instances[n] == k + 1] == 1 + SHAPES.index(obj.shape)).all()
            # Its box holds every one of them.
            rows, cols = np.nonzero(instances[n] == k + 1)
            x1, y1, x2, y2 = obj.box
            assert cols.min() >= x1 and cols.max() < x2 and rows.min() >= y1 and rows.max() < y2
        assert (labels[n, len(scene.objects):] == -1).all()
        assert (masks[n][instances[n] == 0] == 0).all()


def test_get_scene_detection_data_shapes():
    data = scene_detection.get_scene_detection_data(6, 4, seed=1, verbose=False)
    assert data["X_train"].shape == (6, 3, 64, 64) and data["X_train"].dtype == torch.float32
    assert data["masks_val"].shape == (4, 64, 64)
    assert data["boxes_train"].shape == (6, 3, 4) and data["labels_train"].shape == (6, 3)
    assert data["class_names"] == SHAPES and data["segmentation_class_names"][0] == "background"
    np.testing.assert_array_equal(scene_detection.tensor_to_images(data["X_val"]), data["images_val"])


def test_single_object_scenes():
    data = scene_detection.get_scene_detection_data(5, 3, seed=0, single_object=True, verbose=False)
    assert data["boxes_train"].shape == (5, 4) and data["labels_train"].shape == (5,)
    assert all(len(scene.objects) == 1 for scene in data["scenes_train"] + data["scenes_val"])
    assert (data["labels_train"] >= 0).all()


def test_scenes_are_deterministic():
    a = scene_detection.get_scene_detection_data(3, 2, seed=4, verbose=False)
    b = scene_detection.get_scene_detection_data(3, 2, seed=4, verbose=False)
    torch.testing.assert_close(a["X_train"], b["X_train"])
    torch.testing.assert_close(a["boxes_val"], b["boxes_val"])


def test_bad_input_is_rejected():
    _, instances, scenes = generate_scenes(2, "train", seed=0)
    with pytest.raises(ValueError, match=r"instances must have shape \(N, H, W\) with N = len\(scenes\) = 1"):
        scene_detection.scene_targets(instances, scenes[:1])
    with pytest.raises(ValueError, match="max_objects = 0 is fewer than"):
        scene_detection.scene_targets(instances, scenes, max_objects=0)
    with pytest.raises(ValueError, match=r"images must have shape \(N, H, W, 3\), got \(64, 64, 3\)"):
        scene_detection.images_to_tensor(np.zeros((64, 64, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match="num_train must be a positive integer, got 0"):
        scene_detection.get_scene_detection_data(0, 2, verbose=False)
