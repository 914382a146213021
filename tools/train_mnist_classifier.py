"""Train the MNIST classifier that scores the GANs (FID features and mode coverage) and write
its checkpoint to helpers/data/checkpoints/mnist_classifier.pt.

Needs the full MNIST set (`./setup_datasets.sh mnist`). Seeded: on the same machine and thread
count it writes the same weights; elsewhere floating-point summation order may differ in the
last bits, so the sha256 printed at the end is what BUNDLED_CHECKPOINTS in
helpers/data/catalog.py must hold for the file committed.

    python tools/train_mnist_classifier.py [--epochs 3]
"""

import argparse
import time

import torch

from helpers.data.bundled import CHECKPOINT_DIR, sha256_of
from helpers.data.mnist import load_MNIST, mnist_loader, preprocess_MNIST
from helpers.data.paths import dataset_path
from helpers.gan_metrics import MNISTClassifier, classifier_accuracy
from helpers.pytorch.modules import train_part34
from helpers.pytorch.open_ended import one_cycle_schedule

TARGET_ACCURACY = 0.99


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=3e-3, help="peak learning rate of Adam's one-cycle schedule")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    X_train, y_train, X_test, y_test = load_MNIST(root=dataset_path("mnist", "mnist"))
    X_train, X_test = preprocess_MNIST(X_train), preprocess_MNIST(X_test)  # (N, 1, 28, 28) in [-1, 1]
    y_train, y_test = torch.from_numpy(y_train), torch.from_numpy(y_test)
    loader = mnist_loader(X_train, y_train, batch_size=args.batch_size, seed=args.seed)

    model = MNISTClassifier()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=1e-4)
    scheduler = one_cycle_schedule(optimizer, total_steps=args.epochs * len(loader))
    start = time.perf_counter()
    train_part34(model, optimizer, loader, epochs=args.epochs, scheduler=scheduler, progress=True)
    model.eval()
    accuracy = classifier_accuracy(X_test, y_test, model)
    print(f"trained in {time.perf_counter() - start:.0f} s; test accuracy {accuracy:.4f} on {len(y_test)} digits")
    if accuracy < TARGET_ACCURACY:
        print(f"below the target {TARGET_ACCURACY}: checkpoint not written")
        return 1
    path = CHECKPOINT_DIR / "mnist_classifier.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.detach().clone() for k, v in model.state_dict().items()}, path)
    print(f"wrote {path} ({path.stat().st_size / 1e3:.0f} kB), sha256 {sha256_of(path)}")
    print("BUNDLED_CHECKPOINTS['mnist_classifier'] in helpers/data/catalog.py must hold this sha256")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
