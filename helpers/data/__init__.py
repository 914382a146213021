"""Dataset locations, loaders and the small samples bundled with the course.

The loaders are imported on first use, so that `setup_datasets.sh` (which runs
`helpers.data.fetch` with nothing but the standard library) can import this package.
"""

import importlib

_EXPORTS = {
    "CIFAR10_CLASSES": "helpers.data.cifar10",
    "get_CIFAR10_data": "helpers.data.cifar10",
    "get_CIFAR10_linear_data": "helpers.data.cifar10",
    "load_CIFAR10": "helpers.data.cifar10",
    "load_CIFAR_batch": "helpers.data.cifar10",
    "MNISTFormatError": "helpers.data.mnist",
    "get_MNIST_data": "helpers.data.mnist",
    "load_MNIST": "helpers.data.mnist",
    "mnist_loader": "helpers.data.mnist",
    "load_imagenet_val": "helpers.data.imagenet",
    "load_squeezenet": "helpers.data.squeezenet",
    "load_vision_setup": "helpers.data.vision_models",
    "load_style_image": "helpers.data.vision_models",
    "DatasetMissingError": "helpers.data.paths",
    "dataset_path": "helpers.data.paths",
    "datasets_dir": "helpers.data.paths",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'helpers.data' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
