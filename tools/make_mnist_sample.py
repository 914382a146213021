"""Rebuild helpers/data/samples/mnist_sample.npz.xz from the four MNIST IDX files.

The sample holds genuine MNIST digits, balanced across the classes: the first
TRAIN_PER_CLASS digits of each class in the training file and the first TEST_PER_CLASS of
each class in the test file, in file order (no randomness: the same files give the same
sample). The quick scale of the GANs notebook trains and scores on it.

    python tools/make_mnist_sample.py [MNIST_DIR]
"""

import io
import lzma
import sys
from pathlib import Path

import numpy as np

from helpers.data.mnist import SAMPLE_PATH, load_mnist_split

TRAIN_PER_CLASS, TEST_PER_CLASS = 500, 100


def first_per_class(y, per_class):
    """Indices (in file order) of the first `per_class` rows of each digit."""
    rows = [np.flatnonzero(y == digit)[:per_class] for digit in range(10)]
    short = [digit for digit, r in enumerate(rows) if len(r) < per_class]
    if short:
        raise ValueError(f"digits {short} have fewer than {per_class} rows")
    return np.sort(np.concatenate(rows))


def main(mnist_dir: Path) -> None:
    X_train, y_train = load_mnist_split(mnist_dir, "train")
    X_test, y_test = load_mnist_split(mnist_dir, "test")
    train, test = first_per_class(y_train, TRAIN_PER_CLASS), first_per_class(y_test, TEST_PER_CLASS)
    buffer = io.BytesIO()
    np.savez(buffer, X_train=X_train[train], y_train=y_train[train].astype(np.uint8),
             X_test=X_test[test], y_test=y_test[test].astype(np.uint8))
    SAMPLE_PATH.write_bytes(lzma.compress(buffer.getvalue(), preset=9 | lzma.PRESET_EXTREME))
    print(f"wrote {SAMPLE_PATH} ({SAMPLE_PATH.stat().st_size / 1e6:.2f} MB): "
          f"{len(train)} training and {len(test)} test digits")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("datasets/mnist"))
