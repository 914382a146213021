"""MNIST: the IDX file reader, the bundled sample, and the tensors and loader of the GANs notebook.

The four files are the gzip-compressed IDX files of the MNIST database. Every field of a
file is checked before its data is used (gzip stream, magic number, element type, number and
size of dimensions, length of the data), so a corrupt or truncated file is reported with its
name and the command that fetches a fresh copy, never turned into garbage digits.
"""

import gzip
import io
import lzma
import zlib
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from helpers._checks import positive_int, shape_of
from helpers.course.scale import is_full
from helpers.data.paths import DatasetMissingError, dataset_path, datasets_dir, fetch_command

MNIST_FOLDER = "mnist"
MNIST_FILES = {  # split: (images, labels)
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
SAMPLE_PATH = Path(__file__).resolve().parent / "samples" / "mnist_sample.npz.xz"
REFETCH_COMMAND = "./setup_datasets.sh --force mnist"  # --force: the files are there, only damaged

# IDX element types: the third byte of the magic number -> big-endian NumPy dtype.
IDX_DTYPES = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"),
              0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


class MNISTFormatError(ValueError):
    """An MNIST file is not a well-formed IDX file; the message names it and how to re-fetch it."""


def _bad(path, problem):
    return MNISTFormatError(f"{path}: {problem}. The file is corrupt or truncated; "
                            f"re-fetch it with `{REFETCH_COMMAND}` from the repository root.")


def read_idx(path):
    """
    Read one gzip-compressed IDX file (the format of the MNIST database).

    The header is the magic number (two zero bytes, the element type, the number of
    dimensions d), then d big-endian 32-bit sizes, then the elements in row-major order.

    Inputs:
    - path: Path of the .gz file

    Returns:
    - An array of shape (size_1, ..., size_d) in native byte order (uint8 for MNIST)
    """
    path = Path(path)
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise
    except (OSError, EOFError, zlib.error) as error:  # not gzip data, or a stream cut short
        raise _bad(path, f"cannot be decompressed ({error})") from error
    if len(raw) < 4:
        raise _bad(path, f"has {len(raw)} bytes, shorter than the 4-byte IDX magic number")
    zero0, zero1, type_code, ndim = raw[:4]
    if zero0 or zero1 or type_code not in IDX_DTYPES or ndim == 0:
        raise _bad(path, f"starts with {raw[:4].hex()}, not an IDX magic number "
                         f"(00 00, a type code in {sorted(IDX_DTYPES)}, d >= 1)")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise _bad(path, f"has {len(raw)} bytes, shorter than its header of {ndim} sizes ({header} bytes)")
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_DTYPES[type_code]
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        what = "truncated" if len(raw) < expected else "longer than its header says"
        raise _bad(path, f"is {what}: a {dtype.name} array of shape {shape} needs {expected} bytes "
                         f"after decompression, got {len(raw)}")
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def load_mnist_split(folder, split):
    """
    Read the images and labels of one MNIST split from the four IDX .gz files.

    Inputs:
    - folder: Folder with the files named in MNIST_FILES
    - split: 'train' (60000 digits) or 'test' (10000 digits)

    Returns:
    - X: uint8 array of shape (N, 28, 28), pixel values 0..255 (0 is the background)
    - y: int64 array of shape (N,), the digits 0..9
    """
    if split not in MNIST_FILES:
        raise ValueError(f"split must be one of {tuple(MNIST_FILES)}, got {split!r}")
    folder = Path(folder)
    image_path, label_path = (folder / name for name in MNIST_FILES[split])
    for path in (image_path, label_path):
        if not path.exists():
            raise DatasetMissingError(f"{path} is missing. Fetch it with `{fetch_command('mnist')}` "
                                      "from the repository root.")
    X, y = read_idx(image_path), read_idx(label_path)
    if X.dtype != np.uint8 or X.ndim != 3 or X.shape[1:] != (28, 28):
        raise _bad(image_path, f"holds a {X.dtype} array of shape {X.shape}, expected uint8 images (N, 28, 28)")
    if y.dtype != np.uint8 or y.ndim != 1:
        raise _bad(label_path, f"holds a {y.dtype} array of shape {y.shape}, expected uint8 labels (N,)")
    if len(y) != len(X):
        raise _bad(label_path, f"has {len(y)} labels for the {len(X)} images of {image_path.name}")
    if y.size and y.max() > 9:
        raise _bad(label_path, f"holds label {int(y.max())}, expected digits 0..9")
    return X, y.astype(np.int64)


def mnist_available() -> bool:
    """True when the four MNIST files are installed under the datasets folder."""
    root = datasets_dir() / MNIST_FOLDER
    return all((root / name).exists() for pair in MNIST_FILES.values() for name in pair)


def _load_sample():
    with np.load(io.BytesIO(lzma.decompress(SAMPLE_PATH.read_bytes())), allow_pickle=False) as z:
        return (z["X_train"], z["y_train"].astype(np.int64), z["X_test"], z["y_test"].astype(np.int64))


def load_MNIST(root=None, verbose=True):
    """
    Load MNIST: at the quick scale the bundled sample of genuine MNIST digits (balanced
    across the classes), at the full scale the full set fetched by `setup_datasets.sh mnist`
    (an error names that command when it is missing).

    Inputs:
    - root: Folder with the four IDX .gz files; None picks by the scale as above
    - verbose: Print one line saying which data is used

    Returns:
    - X_train: uint8 array of shape (N_train, 28, 28), pixel values 0..255
    - y_train: int64 array of shape (N_train,)
    - X_test: uint8 array of shape (N_test, 28, 28)
    - y_test: int64 array of shape (N_test,)
    """
    if root is not None:
        arrays = (*load_mnist_split(root, "train"), *load_mnist_split(root, "test"))
        source = f"MNIST from {root}"
    elif is_full():
        if not mnist_available():
            for pair in MNIST_FILES.values():
                for name in pair:
                    dataset_path("mnist", MNIST_FOLDER, name)  # raises with the fetch command
        folder = datasets_dir() / MNIST_FOLDER
        arrays = (*load_mnist_split(folder, "train"), *load_mnist_split(folder, "test"))
        source = f"MNIST, full set, from {folder}"
    else:
        # Like CIFAR-10: the quick scale always uses the bundled sample, so quick results are the
        # same on every machine, whether or not the full set has been fetched.
        arrays = _load_sample()
        source = "the bundled MNIST sample of genuine digits (CS231N_SCALE=full uses the full set"
        source += ")" if mnist_available() else f", fetched by `{fetch_command('mnist')}`)"
    if verbose:
        print(f"Data: {source}: {len(arrays[1])} training and {len(arrays[3])} test digits")
    return arrays


def preprocess_MNIST(X):
    """
    Turn uint8 MNIST digits into the generator's range: a float32 tensor in [-1, 1].

    Inputs:
    - X: uint8 array of shape (N, 28, 28), pixel values 0..255

    Returns:
    - A float32 tensor of shape (N, 1, 28, 28), pixel / 127.5 - 1 (background -1, ink +1)
    """
    X = np.asarray(X)
    if X.dtype != np.uint8 or X.ndim != 3 or X.shape[1:] != (28, 28):
        raise ValueError(f"X must be a uint8 array of shape (N, 28, 28), got {X.dtype} {X.shape}")
    images = torch.from_numpy(np.ascontiguousarray(X)).unsqueeze(1)  # (N, 1, 28, 28)
    return images.to(torch.float32) / 127.5 - 1.0


def get_MNIST_data(num_training=None, num_test=None, verbose=True):
    """
    MNIST as tensors for the GANs notebook: digits in [-1, 1] (the range of the generator's
    tanh), channels first.

    Inputs:
    - num_training, num_test: Use the first rows of each split; None keeps them all
    - verbose: Print one line saying which data is used

    Returns a dict with:
    - X_train: float32 tensor of shape (num_training, 1, 28, 28) in [-1, 1]
    - y_train: int64 tensor of shape (num_training,)
    - X_test, y_test: likewise for the test split
    """
    X_train, y_train, X_test, y_test = load_MNIST(verbose=verbose)
    sizes = {}
    for name, value, available in (("num_training", num_training, len(y_train)),
                                   ("num_test", num_test, len(y_test))):
        if value is None:
            value = available
        if isinstance(value, bool) or int(value) != value or not 1 <= value <= available:
            raise ValueError(f"{name} must be an integer in 1..{available} (the digits available), got {value!r}")
        sizes[name] = int(value)
    n_train, n_test = sizes["num_training"], sizes["num_test"]
    return {"X_train": preprocess_MNIST(X_train[:n_train]), "y_train": torch.from_numpy(y_train[:n_train]),
            "X_test": preprocess_MNIST(X_test[:n_test]), "y_test": torch.from_numpy(y_test[:n_test])}


def mnist_loader(X, y, batch_size=128, seed=0, shuffle=True):
    """
    A DataLoader over MNIST tensors that yields (x, y) minibatches of exactly batch_size
    (the last, incomplete batch is dropped, as CS231n's training loop skips it).

    Inputs:
    - X: Tensor of shape (N, 1, 28, 28), as returned by get_MNIST_data
    - y: Tensor of shape (N,)
    - batch_size: Digits per minibatch, at most N
    - seed: Seed of the shuffling order (each epoch draws a new order from it)
    - shuffle: Shuffle the digits each epoch; False keeps the file order

    Returns:
    - A torch.utils.data.DataLoader
    """
    batch_size = positive_int("batch_size", batch_size)
    if not torch.is_tensor(X) or X.ndim != 4 or tuple(X.shape[1:]) != (1, 28, 28):
        raise ValueError(f"X must be a tensor of shape (N, 1, 28, 28), got {shape_of(X)}")
    if not torch.is_tensor(y) or tuple(y.shape) != (X.shape[0],):
        raise ValueError(f"y must be a tensor of shape ({X.shape[0]},), one label per digit, "
                         f"got {shape_of(y)}")
    if batch_size > len(X):
        raise ValueError(f"batch_size = {batch_size} exceeds the {len(X)} digits available")
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=shuffle, drop_last=True,
                      generator=generator)
