"""Train the recipe's Vision Transformer, or the CNN it is compared with (the course's ResNet9 at a third of
its width) at the same number of epochs, on CIFAR-10, and print the test accuracy and the wall-clock and
CPU seconds of every epoch.

    python tools/vit_vs_cnn_cifar10.py --model vit [--epochs 6] [--threads 2] [--json FILE]
    python tools/vit_vs_cnn_cifar10.py --model cnn [--epochs 6]

Both models see the same images, augmentation and number of epochs (the same data budget), in float32;
each is trained with its own optimizer recipe (ViT: helpers.classification_solver_vit.VIT_CIFAR10_TRAINING;
CNN: helpers.pytorch.open_ended.build_open_ended with COMPARISON_CNN_WIDTHS, SGD with Nesterov momentum
and a one-cycle schedule, batch 256 and label smoothing 0.2, as in the PyTorch notebook).
Needs the full CIFAR-10 (./setup_datasets.sh cifar10). Seeded: the same command gives the same numbers
on the same machine and thread count.
"""

import argparse
import json
import os

import torch

from helpers.classification_solver_vit import (
    VIT_CIFAR10_TRAINING,
    ClassificationSolverViT,
    build_vit_cifar10,
    train_comparison_cnn,
)
from helpers.pytorch.data import get_CIFAR10_tensors


def train_vit(data, epochs, seed):
    solver = ClassificationSolverViT((data["X_train"], data["y_train"]), (data["X_test"], data["y_test"]),
                                     build_vit_cifar10(seed), **{**VIT_CIFAR10_TRAINING, "num_epochs": epochs,
                                                                 "seed": seed})
    return solver.train()


def train_cnn(data, epochs, seed):
    return train_comparison_cnn((data["X_train"], data["y_train"]), (data["X_test"], data["y_test"]), epochs,
                                seed=seed)[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=("vit", "cnn"), required=True)
    parser.add_argument("--epochs", type=int, default=VIT_CIFAR10_TRAINING["num_epochs"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="write the results dict to this file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    os.environ["CS231N_SCALE"] = "full"  # the full CIFAR-10, not the bundled sample
    data = get_CIFAR10_tensors()
    results = (train_vit if args.model == "vit" else train_cnn)(data, args.epochs, args.seed)
    print(f"{args.model}: final test accuracy {results['test_acc@1'][-1]:.4f}; training "
          f"{sum(results['epoch_seconds']):.0f} s wall, {sum(results['epoch_cpu_seconds']):.0f} s CPU")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
