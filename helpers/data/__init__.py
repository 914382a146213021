"""Dataset locations, loaders and the small samples bundled with the course."""

from helpers.data.cifar10 import (
    CIFAR10_CLASSES,
    get_CIFAR10_data,
    get_CIFAR10_linear_data,
    load_CIFAR10,
    load_CIFAR_batch,
)
from helpers.data.paths import DatasetMissingError, dataset_path, datasets_dir

__all__ = [
    "CIFAR10_CLASSES",
    "DatasetMissingError",
    "dataset_path",
    "datasets_dir",
    "get_CIFAR10_data",
    "get_CIFAR10_linear_data",
    "load_CIFAR10",
    "load_CIFAR_batch",
]
