"""CS231n's sample of 25 ImageNet validation images (`imagenet_val_25.npz`).

The file holds X (25, 224, 224, 3) uint8, y (25,) int64 and label_map, an object array that
holds a pickled dict (class index -> name; 999 entries, index 134 has none). The dict is read
with a restricted unpickler that builds only dicts, strings, numbers and NumPy scalars, so the
file is never unpickled with `allow_pickle=True`.
"""

import pickle
import zipfile
from pathlib import Path

import numpy as np
from numpy.lib import format as npy_format

from helpers.data.paths import dataset_path, fetch_command
from helpers.data.safe_pickle import RestrictedUnpickler

IMAGENET_VAL_FILE = "imagenet_val_25.npz"
NUM_IMAGENET_CLASSES = 1000

def _read_label_map(archive, origin):
    """The dict in label_map.npy, read through the .npy header and the restricted unpickler."""
    with archive.open("label_map.npy") as f:
        version = npy_format.read_magic(f)
        shape, _, dtype = (npy_format.read_array_header_1_0(f) if version == (1, 0)
                           else npy_format.read_array_header_2_0(f))
        if dtype != np.dtype(object) or shape != ():
            raise ValueError(f"{origin}: label_map must be a 0-d object array holding a dict, "
                             f"got dtype {dtype} and shape {shape}")
        try:
            array = RestrictedUnpickler(f, "a label map", encoding="latin1").load()
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as error:
            raise ValueError(f"{origin}: label_map is not a readable label map ({error}); "
                             f"re-fetch it with `{fetch_command('imagenet_val')}`") from error
    label_map = array.item() if isinstance(array, np.ndarray) else array
    if not isinstance(label_map, dict) or not all(isinstance(k, int) and 0 <= k < NUM_IMAGENET_CLASSES
                                                  for k in label_map):
        raise ValueError(f"{origin}: label_map must map class indices 0..{NUM_IMAGENET_CLASSES - 1} to names")
    return {int(k): str(v) for k, v in label_map.items()}


def load_imagenet_val(num=None, path=None):
    """
    Load a handful of ImageNet validation images (CS231n's `imagenet_val_25.npz`).

    Inputs:
    - num: Number of images to return (the first num), or None for all 25
    - path: The .npz file; None: the one installed by `./setup_datasets.sh imagenet_val`

    Returns a tuple of:
    - X: Images of shape (num, 224, 224, 3), uint8, RGB
    - y: Labels of shape (num,), int64 in 0..999
    - class_names: Dict mapping each class index to its name (index 134 is absent from the file)
    """
    path = Path(path) if path is not None else dataset_path("imagenet_val", IMAGENET_VAL_FILE)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise ValueError(f"{path} is not an .npz file ({error}); re-fetch it with "
                         f"`{fetch_command('imagenet_val')}`") from error
    with archive:
        names = set(archive.namelist())
        if not {"X.npy", "y.npy", "label_map.npy"} <= names:
            raise ValueError(f"{path} must hold X, y and label_map, has {sorted(n[:-4] for n in names)}")
        with archive.open("X.npy") as f:
            X = npy_format.read_array(f, allow_pickle=False)
        with archive.open("y.npy") as f:
            y = npy_format.read_array(f, allow_pickle=False)
        class_names = _read_label_map(archive, path)
    if X.dtype != np.uint8 or X.ndim != 4 or X.shape[1:] != (224, 224, 3) or y.shape != (X.shape[0],):
        raise ValueError(f"{path}: expected X (N, 224, 224, 3) uint8 and y (N,), got X {X.shape} {X.dtype} "
                         f"and y {y.shape}")
    y = y.astype(np.int64)
    if y.size and (y.min() < 0 or y.max() >= NUM_IMAGENET_CLASSES):
        raise ValueError(f"{path}: labels must be in 0..{NUM_IMAGENET_CLASSES - 1}, got {y.min()}..{y.max()}")
    if num is not None:
        if isinstance(num, bool) or not isinstance(num, int) or not 1 <= num <= X.shape[0]:
            raise ValueError(f"num must be an integer in 1..{X.shape[0]}, got {num!r}")
        X, y = X[:num], y[:num]
    return X, y, class_names
