"""Rebuild helpers/data/samples/cifar10_sample.npz.xz from the full CIFAR-10 batches.

The sample holds only rows that are byte-identical to the original archive (the first
2000 rows of data_batch_1 and the first 500 of test_batch), so quick-scale results on a
fresh clone come from genuine CIFAR-10 images.

    python tools/make_cifar10_sample.py [CIFAR_DIR]
"""

import io
import lzma
import sys
from pathlib import Path

import numpy as np

from helpers.data.cifar10 import SAMPLE_PATH, load_CIFAR_batch

NUM_TRAIN, NUM_TEST = 2000, 500


def main(cifar_dir: Path) -> None:
    X_train, y_train = load_CIFAR_batch(cifar_dir / "data_batch_1", as_float=False)
    X_test, y_test = load_CIFAR_batch(cifar_dir / "test_batch", as_float=False)
    buffer = io.BytesIO()
    np.savez(buffer, X_train=X_train[:NUM_TRAIN], y_train=y_train[:NUM_TRAIN].astype(np.uint8),
             X_test=X_test[:NUM_TEST], y_test=y_test[:NUM_TEST].astype(np.uint8))
    SAMPLE_PATH.write_bytes(lzma.compress(buffer.getvalue(), preset=9 | lzma.PRESET_EXTREME))
    print(f"wrote {SAMPLE_PATH} ({SAMPLE_PATH.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("datasets/cifar-10-batches-py"))
