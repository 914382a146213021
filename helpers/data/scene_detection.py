"""The generated scenes (helpers.data.scenes) as detection and segmentation data.

Every scene keeps its ground truth, so the same images serve three tasks:
- semantic segmentation: a class for every pixel, 0 for the background and 1 + the index of the
  object's shape in SHAPES (7 classes). The class is the shape, not the shape and colour: colour
  is a property of a single pixel, so classes by colour would be learned from one pixel at a time,
  while a shape can only be told from its neighbourhood, which is what a fully convolutional
  network's growing receptive field is for. It also keeps the classes few and balanced (36
  colour-shape classes would give 6 pixel classes no training scene ever shows: the train split
  holds out six combinations for the captioning test of composition). A pixel belongs to the
  object seen there (the scene's visible-instance map), so an occluded object's mask is its
  visible part;
- classification plus localization: scenes with exactly one object, its shape and its box;
- detection: every object's shape and box (x1, y1, x2, y2 in pixels, x2 and y2 exclusive, around
  the whole shape, the hidden part of an occluded object included).

Scenes are generated on the fly (about a millisecond each), deterministically: scene i of a
split depends only on (seed, split, i).
"""

import dataclasses

import numpy as np
import torch

from helpers._checks import non_negative_int, positive_int
from helpers.data.scenes import SHAPES, SceneConfig, generate_scenes

DETECTION_CLASSES = SHAPES
SEGMENTATION_CLASSES = ("background",) + SHAPES

# Images are scaled from 0..255 to about -1..1 (the scenes' colours span the whole range, so
# per-channel statistics would add nothing but a dependence on the sample).
PIXEL_MEAN, PIXEL_STD = 127.5, 64.0


def images_to_tensor(images):
    """
    Scene images as the models' input.

    Inputs:
    - images: uint8 array of shape (N, H, W, 3)

    Returns:
    - A float32 tensor of shape (N, 3, H, W): (pixel - PIXEL_MEAN) / PIXEL_STD
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[3] != 3:
        raise ValueError(f"images must have shape (N, H, W, 3), got {images.shape}")
    x = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2))).float()  # (N, 3, H, W)
    return (x - PIXEL_MEAN) / PIXEL_STD


def tensor_to_images(x):
    """The inverse of images_to_tensor, for display: (N, 3, H, W) float -> (N, H, W, 3) uint8."""
    images = (x.detach().cpu().float() * PIXEL_STD + PIXEL_MEAN).clamp(0, 255).round().byte()
    return images.permute(0, 2, 3, 1).numpy()  # (N, H, W, 3)


def scene_targets(instances, scenes, max_objects=None):
    """
    The segmentation masks, boxes and labels of generated scenes.

    Inputs:
    - instances: uint8 array of shape (N, H, W), the visible-instance maps (0 background, k + 1
      where scenes[n].objects[k] is seen)
    - scenes: List of N scenes (each with .objects, each object with .shape and .box)
    - max_objects: Rows of the padded boxes and labels (None: the most objects of any scene)

    Returns a tuple of:
    - masks: uint8 array of shape (N, H, W), 0 for background, 1 + SHAPES.index(shape) for a shape
    - boxes: float32 array of shape (N, M, 4), each scene's boxes, padded with zeros
    - labels: int64 array of shape (N, M), SHAPES.index of each object's shape, -1 for padding
    """
    instances = np.asarray(instances)
    if instances.ndim != 3 or len(scenes) != instances.shape[0]:
        raise ValueError(f"instances must have shape (N, H, W) with N = len(scenes) = {len(scenes)}, "
                         f"got {instances.shape}")
    counts = [len(scene.objects) for scene in scenes]
    M = max(counts, default=0) if max_objects is None else non_negative_int("max_objects", max_objects)
    if counts and max(counts) > M:
        raise ValueError(f"max_objects = {M} is fewer than the {max(counts)} objects of a scene")
    masks = np.zeros(instances.shape, dtype=np.uint8)
    boxes = np.zeros((len(scenes), M, 4), dtype=np.float32)
    labels = np.full((len(scenes), M), -1, dtype=np.int64)
    for n, scene in enumerate(scenes):
        # Instance id k + 1 -> class of object k; id 0 stays background.
        classes = np.array([0] + [1 + SHAPES.index(o.shape) for o in scene.objects], dtype=np.uint8)
        if instances[n].max() >= len(classes):
            raise ValueError(f"instances[{n}] names object {int(instances[n].max()) - 1} but its scene has "
                             f"{len(scene.objects)} objects")
        masks[n] = classes[instances[n]]
        for k, o in enumerate(scene.objects):
            boxes[n, k] = o.box
            labels[n, k] = SHAPES.index(o.shape)
    return masks, boxes, labels


def get_scene_detection_data(num_train, num_val, seed=0, single_object=False, config=None, verbose=True):
    """
    Generate scenes for segmentation and detection (or, with single_object, for classification
    plus localization) and return them as tensors.

    Inputs:
    - num_train, num_val: Numbers of scenes of the 'train' and 'val' splits
    - seed: Seed of the scene set
    - single_object: Scenes with exactly one object each
    - config: A helpers.data.scenes.SceneConfig (None: the default, 64x64 images of 1-3 objects);
      with single_object, its min_objects and max_objects are replaced by 1

    Returns a dict with, for split in ('train', 'val'):
    - X_{split}: float32 tensor (N, 3, H, W), the images through images_to_tensor
    - images_{split}: uint8 array (N, H, W, 3), the images for display
    - masks_{split}: uint8 tensor (N, H, W), the class of each pixel (SEGMENTATION_CLASSES)
    - boxes_{split}: float32 tensor (N, M, 4) of boxes (x1, y1, x2, y2) in pixels, zero-padded;
      with single_object, (N, 4)
    - labels_{split}: int64 tensor (N, M) of classes (DETECTION_CLASSES), -1 for padding; with
      single_object, (N,)
    - scenes_{split}: The list of N scenes (ground truth with attributes)
    and 'class_names' (DETECTION_CLASSES), 'segmentation_class_names' (SEGMENTATION_CLASSES).
    """
    num_train, num_val = positive_int("num_train", num_train), positive_int("num_val", num_val)
    config = SceneConfig() if config is None else config
    if single_object:
        config = dataclasses.replace(config, min_objects=1, max_objects=1)
    data = {"class_names": DETECTION_CLASSES, "segmentation_class_names": SEGMENTATION_CLASSES}
    for split, count in (("train", num_train), ("val", num_val)):
        images, instances, scenes = generate_scenes(count, split, seed, config)
        masks, boxes, labels = scene_targets(instances, scenes, max_objects=config.max_objects)
        data[f"X_{split}"] = images_to_tensor(images)
        data[f"images_{split}"] = images
        data[f"masks_{split}"] = torch.from_numpy(masks)
        data[f"boxes_{split}"] = torch.from_numpy(boxes[:, 0] if single_object else boxes)
        data[f"labels_{split}"] = torch.from_numpy(labels[:, 0] if single_object else labels)
        data[f"scenes_{split}"] = scenes
    if verbose:
        what = "single-object" if single_object else f"{config.min_objects}-{config.max_objects}-object"
        print(f"Generated {num_train} train and {num_val} val {what} scenes ({config.image_size}x{config.image_size}, "
              f"seed {seed})")
    return data
