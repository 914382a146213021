"""The network and images the visualization notebooks (NetworkVisualization, StyleTransfer) run on.

One entry point, `load_vision_setup`: SqueezeNet 1.1 pretrained on ImageNet with CS231n's 25
ImageNet validation images when `./setup_datasets.sh squeezenet imagenet_val` has installed them,
otherwise the course's own CIFAR-10 network (the PyTorch notebook's ResNet9, trained by
`tools/train_cifar10_model.py`, committed under helpers/data/checkpoints/) on CIFAR-10 test images.
Either way the result says in one line which model and which images run, and carries the
settings (layers, step sizes, sizes) each experiment uses with that model.
"""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from helpers._checks import positive_int
from helpers.data.bundled import BUNDLED_CHECKPOINTS, load_bundled_state_dict
from helpers.data.cifar10 import (
    CIFAR10_CLASSES,
    CIFAR10_FOLDER,
    cifar10_available,
    load_cifar10_sample,
    load_CIFAR_batch,
)
from helpers.data.imagenet import IMAGENET_VAL_FILE, NUM_IMAGENET_CLASSES, load_imagenet_val
from helpers.data.paths import datasets_dir, fetch_command
from helpers.data.squeezenet import load_squeezenet, squeezenet_weights_installed

MODELS = ("squeezenet", "cifar10")
CIFAR10_CHECKPOINT = "cifar10_resnet9"
SAMPLES_DIR = Path(__file__).resolve().parent / "samples"
STYLE_IMAGES = ("tubingen", "composition_vii", "the_scream", "starry_night")
SAMPLE_PHOTOS = ("kitten", "puppy")

# CS231n's three style-transfer settings (content: tubingen.jpg), for SqueezeNet's features.
SQUEEZENET_STYLE_PAIRS = {
    "composition_vii": dict(image_size=192, style_size=512, content_layer=3, content_weight=5e-2,
                            style_layers=(1, 4, 6, 7), style_weights=(20000, 500, 12, 1), tv_weight=5e-2),
    "the_scream": dict(image_size=192, style_size=224, content_layer=3, content_weight=3e-2,
                       style_layers=(1, 4, 6, 7), style_weights=(200000, 800, 12, 1), tv_weight=2e-2),
    "starry_night": dict(image_size=192, style_size=192, content_layer=3, content_weight=6e-2,
                         style_layers=(1, 4, 6, 7), style_weights=(300000, 1000, 15, 3), tv_weight=2e-2),
}

# Full-scale settings of every experiment, per model (the notebooks shrink the step counts at the quick scale):
# - class_visualization: keyword arguments of net_visualization.create_class_visualization;
#   class_visualization_targets: the classes shown
# - patch_layer: the layer of max_activating_patches; occlusion: arguments of occlusion_sensitivity
# - inversion_layers, inversion: the layers and arguments of invert_features
# - dream_layer, dream_image_size, deep_dream: deep_dream's layer, starting image size and arguments
# - style_pairs: per style image, style_transfer's sizes, layers and weights (content: tubingen);
#   style_schedule: its step count and Adam rates; feature_inversion, texture_synthesis: their arguments
SQUEEZENET_SETTINGS = {
    # CS231n's class visualization settings with 200 steps instead of 100 (at 100 steps "oboe" ends at p = 0.68
    # with these weights), and the classes its notebook shows.
    "class_visualization": dict(image_size=224, learning_rate=25, l2_reg=1e-3, num_iterations=200, blur_every=10,
                                max_jitter=16),
    "class_visualization_targets": (76, 78, 187, 366, 683, 604),  # tarantula, tick, terrier, gorilla, oboe, hourglass
    "patch_layer": 6,  # Fire 6: 256 channels on a 27x27 grid, 47x47-pixel receptive fields
    "occlusion": dict(patch_size=32, stride=16),
    "inversion_layers": (1, 4, 7, 10, 12),
    "inversion": dict(learning_rate=0.05, tv_weight=0.1),
    "dream_layer": 7,
    "dream_image_size": 224,
    "deep_dream": dict(learning_rate=0.02, max_jitter=16, num_octaves=3),
    "style_pairs": SQUEEZENET_STYLE_PAIRS,
    # CS231n's Adam rates (3.0, then 0.1) with the decay earlier and 100 more steps: the style loss of
    # all three pairs falls by at least 90% (CS231n's 200 steps, decay at 180: 86-92%)
    "style_schedule": dict(num_iterations=300, decay_lr_at=100, initial_lr=3.0, decayed_lr=0.1),
    "feature_inversion": dict(image_size=192, content_layer=3, content_weight=6e-2, tv_weight=2e-2),
    "texture_synthesis": dict(image_size=192, style_size=192, style_layers=(1, 4, 6, 7),
                              style_weights=(300000, 1000, 15, 3), tv_weight=2e-2),
}

# The same experiments with the CIFAR-10 ResNet9 (features: 0-1 conv 32x32, 2 pool, 3 residual
# 16x16, 4 conv, 5 pool, 6 conv 8x8, 7 pool, 8 residual 4x4, 9 global max pool, 10 flatten).
CIFAR10_SETTINGS = {
    "class_visualization": dict(image_size=32, learning_rate=3.0, l2_reg=1e-3, num_iterations=100, blur_every=10,
                                max_jitter=2),
    "class_visualization_targets": tuple(range(10)),
    "patch_layer": 4,
    "occlusion": dict(patch_size=8, stride=4),
    "inversion_layers": (0, 3, 4, 6, 8),
    "inversion": dict(learning_rate=0.05, tv_weight=0.1),
    "dream_layer": 8,  # dreams cars, trucks and horses into the kitten
    "dream_image_size": 128,
    "deep_dream": dict(learning_rate=0.015, max_jitter=4, num_octaves=3),
    # One resolution per style layer (conv 24 at full size, residual 48 at 1/2, conv 192 at 1/4, residual 192 at
    # 1/8), weighted so that each contributes about equally to the content image's style loss
    "style_pairs": {name: dict(image_size=128, style_size=128, content_layer=4, content_weight=6e-2,
                               style_layers=(0, 3, 6, 8), style_weights=(1e6, 1.5e5, 1e6, 2.5e4), tv_weight=2e-2)
                    for name in ("composition_vii", "the_scream", "starry_night")},
    "style_schedule": dict(num_iterations=300, decay_lr_at=100, initial_lr=3.0, decayed_lr=0.1),
    "feature_inversion": dict(image_size=128, content_layer=4, content_weight=6e-2, tv_weight=2e-2),
    "texture_synthesis": dict(image_size=128, style_size=128, style_layers=(0, 3, 6, 8),
                              style_weights=(1e6, 1.5e5, 1e6, 2.5e4), tv_weight=2e-2),
}


@dataclass
class VisionSetup:
    """
    A frozen classifier, its input normalization, a few labelled images and the settings the
    experiments use with it.

    - name: "squeezenet" or "cifar10"
    - model: The nn.Module in evaluation mode, parameters frozen; its convolutional part is
      model.features (an nn.Sequential)
    - weights: One line saying which weights run
    - data: One line saying which images these are
    - mean, std: Per-channel normalization of its inputs (pixels in [0, 1]), arrays of shape (3,)
    - image_size: Height and width of its inputs
    - X: Images, uint8 array of shape (N, image_size, image_size, 3)
    - y: Labels, int64 array of shape (N,)
    - class_names: List of num_classes names ("class 134" where the data names none)
    - settings: Layers, step sizes and sizes for each experiment (see SQUEEZENET_SETTINGS)
    """
    name: str
    model: torch.nn.Module
    weights: str
    data: str
    mean: np.ndarray
    std: np.ndarray
    image_size: int
    X: np.ndarray
    y: np.ndarray
    class_names: list
    settings: dict = field(default_factory=dict)

    @property
    def num_classes(self):
        return len(self.class_names)

    @property
    def description(self):
        return f"Model: {self.weights}. Images: {self.data}."

    def preprocess(self, X):
        """uint8 images (N, image_size, image_size, 3) -> normalized tensor (N, 3, image_size, image_size)."""
        from helpers.image_utils import preprocess_batch

        return preprocess_batch(X, self.mean, self.std, image_size=self.image_size)

    def deprocess(self, img, should_rescale=False):
        """A normalized tensor (1, 3, H, W) -> PIL image."""
        from helpers.image_utils import deprocess

        return deprocess(img, should_rescale=should_rescale, mean=self.mean, std=self.std)


def load_cifar10_model():
    """
    The course's CIFAR-10 network (bundled checkpoint, sha256-verified), frozen.

    Returns a tuple of:
    - model: helpers.pytorch.open_ended.ResNet9 in evaluation mode, float32, parameters frozen
    - checkpoint: The checkpoint's metadata (widths, classes, mean, std, accuracies, ...)
    """
    from helpers.pytorch.open_ended import ResNet9

    checkpoint = load_bundled_state_dict(CIFAR10_CHECKPOINT)
    model = ResNet9(tuple(checkpoint["widths"]), num_classes=checkpoint["num_classes"])
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in checkpoint["state_dict"].items()})
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model, {k: v for k, v in checkpoint.items() if k != "state_dict"}


def cifar10_test_images(num):
    """
    The first `num` CIFAR-10 test images: from the full set when installed, else from the bundled
    sample (the same first 500 rows).

    Returns a tuple of:
    - X: uint8 array (num', 32, 32, 3), num' = num, or 500 when only the sample is there
    - y: int64 array (num',)
    - source: One line naming where they come from
    """
    if cifar10_available():
        X, y = load_CIFAR_batch(datasets_dir() / CIFAR10_FOLDER / "test_batch", as_float=False)
        source = f"CIFAR-10 test images from {datasets_dir() / CIFAR10_FOLDER}"
    else:
        _, _, X, y = load_cifar10_sample()
        source = "CIFAR-10 test images from the bundled sample"
        if num > len(y):
            source += f" (only {len(y)}; `{fetch_command('cifar10')}` gives all 10000)"
    return X[:num], y[:num], source


def _choose(model):
    if model is not None:
        if model not in MODELS:
            raise ValueError(f"model must be one of {MODELS} or None, got {model!r}")
        return model, ""
    if squeezenet_weights_installed() and (datasets_dir() / IMAGENET_VAL_FILE).exists():
        return "squeezenet", ""
    missing = [name for name, there in (("squeezenet", squeezenet_weights_installed()),
                                        ("imagenet_val", (datasets_dir() / IMAGENET_VAL_FILE).exists())) if not there]
    return "cifar10", f" (for SqueezeNet on ImageNet images: `{fetch_command(' '.join(missing))}`)"


def load_vision_setup(model=None, num_images=None, verbose=True):
    """
    The model and images of the visualization notebooks.

    Inputs:
    - model: "squeezenet", "cifar10", or None: SqueezeNet when its weights and the ImageNet sample
      are installed, else the CIFAR-10 network
    - num_images: Number of labelled images (default: the 25 ImageNet images, or 25 CIFAR-10 test images)
    - verbose: Print the one-line description

    Returns:
    - A VisionSetup
    """
    name, hint = _choose(model)
    if num_images is not None:
        positive_int("num_images", num_images)
    from helpers.image_utils import SQUEEZENET_MEAN, SQUEEZENET_STD

    if name == "squeezenet":
        net, weights = load_squeezenet()
        X, y, label_map = load_imagenet_val(num=None if num_images is None else min(num_images, 25))
        class_names = [label_map.get(i, f"class {i}") for i in range(NUM_IMAGENET_CLASSES)]
        setup = VisionSetup("squeezenet", net, weights, f"{len(y)} ImageNet validation images (CS231n's sample)",
                            SQUEEZENET_MEAN, SQUEEZENET_STD, 224, X, y, class_names, dict(SQUEEZENET_SETTINGS))
    else:
        net, meta = load_cifar10_model()
        X, y, source = cifar10_test_images(25 if num_images is None else num_images)
        weights = (f"the course's CIFAR-10 ResNet9 ({BUNDLED_CHECKPOINTS[CIFAR10_CHECKPOINT].file}, "
                   f"{100 * meta['test_accuracy']:.1f}% test accuracy){hint}")
        setup = VisionSetup("cifar10", net, weights, f"{len(y)} {source}", np.asarray(meta["mean"], np.float32),
                            np.asarray(meta["std"], np.float32), 32, X, y, list(CIFAR10_CLASSES),
                            dict(CIFAR10_SETTINGS))
    if verbose:
        print(setup.description)
    return setup


def load_style_image(name):
    """
    One of CS231n's style-transfer images, as a uint8 array (H, W, 3): the installed file
    (`./setup_datasets.sh styles`) or, on a fresh clone, the small copy bundled with the course.

    Inputs:
    - name: One of STYLE_IMAGES ("tubingen", "composition_vii", "the_scream", "starry_night")

    Returns a tuple of:
    - image: uint8 array (H, W, 3)
    - source: One line naming the file
    """
    from helpers.image_utils import load_image

    if name not in STYLE_IMAGES:
        raise ValueError(f"name must be one of {STYLE_IMAGES}, got {name!r}")
    installed = datasets_dir() / "cs231n_style_images" / "styles" / f"{name}.jpg"
    if installed.is_file():
        return load_image(installed), f"{name}.jpg from {installed.parent}"
    bundled = SAMPLES_DIR / "styles" / f"{name}.jpg"
    return load_image(bundled), (f"{name}.jpg, the 256-pixel copy bundled with the course "
                                 f"(`{fetch_command('styles')}` gives the full-size image)")


def load_sample_photo(name, size=None):
    """
    One of the two photos bundled with the course (200x200 crops of CS231n's kitten.jpg and puppy.jpg),
    e.g. the starting image of DeepDream.

    Inputs:
    - name: "kitten" or "puppy"
    - size: Resize to size x size pixels (bilinear); None keeps 200 x 200

    Returns:
    - A uint8 array of shape (size, size, 3)
    """
    from helpers.image_utils import load_image

    if name not in SAMPLE_PHOTOS:
        raise ValueError(f"name must be one of {SAMPLE_PHOTOS}, got {name!r}")
    return load_image(SAMPLES_DIR / f"{name}.jpg", size=size)
