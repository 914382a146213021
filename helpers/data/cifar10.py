"""CIFAR-10: loading the python batches, the bundled sample, and the standard preprocessing.

The batch files are pickles. They are read with a restricted unpickler that only builds
dicts, lists, strings, numbers and NumPy arrays, so a tampered file cannot run code.
"""

import io
import lzma
import pickle
from pathlib import Path

import numpy as np

from helpers._checks import non_negative_int
from helpers.course.scale import is_full
from helpers.data.paths import DatasetMissingError, dataset_path, datasets_dir, fetch_command
from helpers.data.safe_pickle import RestrictedUnpickler

CIFAR10_CLASSES = ("plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
CIFAR10_FOLDER = "cifar-10-batches-py"
SAMPLE_PATH = Path(__file__).resolve().parent / "samples" / "cifar10_sample.npz.xz"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))

def load_CIFAR_batch(filename, as_float=True):
    """
    Load one CIFAR-10 batch file (python pickle layout). Any number of rows is accepted.

    The file must hold what the official batches hold: 'data', a uint8 array of shape (N, 3072)
    (the red, green and blue planes of each 32x32 image, row-major), and 'labels', N integers in
    0..9. Anything else is refused with a ValueError naming the file; nothing in the file can
    make the loader build more than the arrays it declares.

    Inputs:
    - filename: Path of a batch file (data_batch_1 ... data_batch_5, test_batch)
    - as_float: Return X as float64 (CS231n's convention) instead of uint8

    Returns:
    - X: Images of shape (N, 32, 32, 3), channels last
    - y: Labels of shape (N,), int64 in 0..9
    """
    filename = Path(filename)
    refetch = f"re-fetch it with `{fetch_command('cifar10', repair=True)}`"
    with open(filename, "rb") as f:
        try:
            batch = RestrictedUnpickler(f, "a CIFAR-10 batch", encoding="latin1").load()
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError, MemoryError) as error:
            raise ValueError(f"{filename} is not a readable CIFAR-10 batch ({error}); {refetch}") from error
    if not isinstance(batch, dict) or "data" not in batch or "labels" not in batch:
        raise ValueError(f"{filename} is not a CIFAR-10 batch: expected a dict with 'data' and 'labels'; {refetch}")
    data, labels = batch["data"], batch["labels"]
    # The data must already be an array: a nested list would be expanded by np.asarray, and a small
    # file of repeated references can declare gigabytes.
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise ValueError(f"{filename}: 'data' must be a uint8 array of shape (N, 3072) (pixel values 0..255), got "
                         f"{_describe(data)}; {refetch}")
    N = data.shape[0]
    if isinstance(labels, np.ndarray):
        labels = labels.tolist() if labels.ndim == 1 else labels
    if not isinstance(labels, list) or len(labels) != N or not all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in labels):
        raise ValueError(f"{filename}: 'labels' must be a list of {N} integers (one per image), got "
                         f"{_describe(labels)}; {refetch}")
    labels = np.array(labels, dtype=np.int64)
    if N and (labels.min() < 0 or labels.max() > 9):
        raise ValueError(f"{filename}: labels must be in 0..9, got range {labels.min()}..{labels.max()}; {refetch}")
    X = data.reshape(N, 3, 32, 32).transpose(0, 2, 3, 1)  # (N, 3, 32, 32) -> (N, 32, 32, 3)
    return (X.astype(np.float64) if as_float else np.ascontiguousarray(X)), labels


def _describe(value) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, list):
        kinds = sorted({type(v).__name__ for v in value[:1000]})
        return f"a list of {len(value)} items of type {', '.join(kinds) or 'nothing'}"
    return f"a {type(value).__name__}"


def _load_folder(root: Path):
    xs, ys = [], []
    for name in TRAIN_BATCHES:
        X, y = load_CIFAR_batch(root / name, as_float=False)
        xs.append(X)
        ys.append(y)
    X_test, y_test = load_CIFAR_batch(root / "test_batch", as_float=False)
    return np.concatenate(xs), np.concatenate(ys), X_test, y_test


def load_cifar10_sample():
    """
    The bundled sample of genuine CIFAR-10 rows (tools/make_cifar10_sample.py stores the images as
    load_CIFAR_batch returns them, channels last).

    Returns:
    - X_train: (2000, 32, 32, 3) uint8; y_train: (2000,) int64
    - X_test: (500, 32, 32, 3) uint8; y_test: (500,) int64
    """
    with np.load(io.BytesIO(lzma.decompress(SAMPLE_PATH.read_bytes())), allow_pickle=False) as z:
        return z["X_train"], z["y_train"].astype(np.int64), z["X_test"], z["y_test"].astype(np.int64)


def cifar10_available() -> bool:
    """True when the full CIFAR-10 set is installed under the datasets folder."""
    root = datasets_dir() / CIFAR10_FOLDER
    return all((root / name).exists() for name in (*TRAIN_BATCHES, "test_batch"))


def load_CIFAR10(root=None, verbose=True):
    """
    Load CIFAR-10: at the quick scale the bundled sample of genuine rows (2000 training and
    500 test images), at the full scale the full set (an error names the command that
    fetches it when it is missing).

    Inputs:
    - root: Folder with the batch files; None picks by the scale as above
    - verbose: Print one line saying which data is used

    Returns:
    - X_train: (N_train, 32, 32, 3) float64, pixel values 0..255
    - y_train: (N_train,) int64
    - X_test: (N_test, 32, 32, 3) float64
    - y_test: (N_test,) int64
    """
    X_train, y_train, X_test, y_test = _load_uint8(root, verbose)
    return X_train.astype(np.float64), y_train, X_test.astype(np.float64), y_test


def _load_uint8(root=None, verbose=True):
    """load_CIFAR10 with uint8 images, so callers can take subsets before converting."""
    if root is not None:
        arrays = _load_folder(Path(root))
        source = f"CIFAR-10 from {root}"
    elif is_full():
        if not cifar10_available():
            dataset_path("cifar10", CIFAR10_FOLDER, "data_batch_1")  # raises with the fetch command
            raise DatasetMissingError(f"CIFAR-10 is incomplete; run `{fetch_command('cifar10')}`")
        arrays = _load_folder(datasets_dir() / CIFAR10_FOLDER)
        source = f"CIFAR-10, full set, from {datasets_dir() / CIFAR10_FOLDER}"
    else:
        # The quick scale always uses the bundled sample, so quick results are the same on every
        # machine (a fresh clone, CI, a learner who has fetched the full set) and load in a blink.
        arrays = load_cifar10_sample()
        source = "the bundled CIFAR-10 sample of genuine images (CS231N_SCALE=full uses the full set"
        source += ")" if cifar10_available() else f", fetched by `{fetch_command('cifar10')}`)"
    X_train, y_train, X_test, y_test = arrays
    if verbose:
        print(f"Data: {source}: {len(y_train)} training and {len(y_test)} test images")
    return X_train, y_train, X_test, y_test


def _split(num_training, num_validation, num_test, available_train, available_test):
    for name, value in (("num_training", num_training), ("num_validation", num_validation),
                        ("num_test", num_test)):
        non_negative_int(name, value)
    if num_training + num_validation > available_train:
        raise ValueError(f"num_training + num_validation = {num_training + num_validation} exceeds the "
                         f"{available_train} training images available")
    if num_test > available_test:
        raise ValueError(f"num_test = {num_test} exceeds the {available_test} test images available")


def get_CIFAR10_linear_data(num_training=49000, num_validation=1000, num_test=1000, num_dev=500,
                            seed=0, bias_trick=True, verbose=True):
    """
    CIFAR-10 prepared for the linear classifiers: rows flattened, the mean training image
    subtracted, and a column of ones appended (the bias trick).

    Inputs:
    - num_training, num_validation, num_test: Sizes of the splits. Validation rows are the
      ones that follow the training rows; test rows are the first of the test set.
    - num_dev: Size of a small development subset drawn from the training rows
    - seed: Seed for drawing the development subset
    - bias_trick: Append the column of ones (D = 3073); False keeps D = 3072

    Returns a dict with:
    - X_train (num_training, D), y_train (num_training,)
    - X_val (num_validation, D), y_val; X_test (num_test, D), y_test; X_dev (num_dev, D), y_dev
    - mean_image (3072,): the mean of the training rows, subtracted from every split
    """
    X_train, y_train, X_test, y_test = _load_uint8(verbose=verbose)
    _split(num_training, num_validation, num_test, len(y_train), len(y_test))
    if num_dev > num_training:
        raise ValueError(f"num_dev = {num_dev} exceeds num_training = {num_training}")
    val = slice(num_training, num_training + num_validation)
    dev = np.random.default_rng(seed).choice(num_training, num_dev, replace=False)
    splits = {
        "train": (X_train[:num_training], y_train[:num_training]),
        "val": (X_train[val], y_train[val]),
        "test": (X_test[:num_test], y_test[:num_test]),
        "dev": (X_train[dev], y_train[dev]),
    }
    flat = {k: X.reshape(X.shape[0], 3072).astype(np.float64) for k, (X, _) in splits.items()}  # (N, 3072)
    mean_image = flat["train"].mean(axis=0)
    data = {"mean_image": mean_image}
    for k, (_, y) in splits.items():
        X = flat[k] - mean_image
        data[f"X_{k}"] = np.hstack([X, np.ones((X.shape[0], 1))]) if bias_trick else X
        data[f"y_{k}"] = y
    return data


def get_CIFAR10_data(num_training=49000, num_validation=1000, num_test=1000, subtract_mean=True,
                     verbose=True):
    """
    CIFAR-10 prepared for the neural networks of assignment 2: channels first, optionally
    with the mean training image subtracted.

    Inputs:
    - num_training, num_validation, num_test: Sizes of the splits (validation rows follow
      the training rows)
    - subtract_mean: Subtract the mean training image from every split

    Returns a dict with X_train (num_training, 3, 32, 32), y_train (num_training,),
    X_val, y_val, X_test, y_test, and mean_image (3, 32, 32) when subtract_mean is set.
    """
    X_train, y_train, X_test, y_test = _load_uint8(verbose=verbose)
    _split(num_training, num_validation, num_test, len(y_train), len(y_test))
    val = slice(num_training, num_training + num_validation)
    data = {
        "X_train": X_train[:num_training].astype(np.float64), "y_train": y_train[:num_training],
        "X_val": X_train[val].astype(np.float64), "y_val": y_train[val],
        "X_test": X_test[:num_test].astype(np.float64), "y_test": y_test[:num_test],
    }
    if subtract_mean:
        mean_image = data["X_train"].mean(axis=0)
        for k in ("X_train", "X_val", "X_test"):
            data[k] = data[k] - mean_image
        data["mean_image"] = mean_image.transpose(2, 0, 1).copy()  # (3, 32, 32)
    for k in ("X_train", "X_val", "X_test"):
        data[k] = np.ascontiguousarray(data[k].transpose(0, 3, 1, 2))  # (N, 3, 32, 32)
    return data
