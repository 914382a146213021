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
import time

import numpy as np
import torch

from helpers.classification_solver_vit import (
    COMPARISON_CNN_WIDTHS,
    VIT_CIFAR10_TRAINING,
    ClassificationSolverViT,
    build_vit_cifar10,
)
from helpers.pytorch.data import augmentation_transform, get_CIFAR10_tensors, make_loader
from helpers.pytorch.modules import check_accuracy_part34, train_part34
from helpers.pytorch.open_ended import build_open_ended


def train_vit(data, epochs, seed):
    solver = ClassificationSolverViT((data["X_train"], data["y_train"]), (data["X_test"], data["y_test"]),
                                     build_vit_cifar10(seed), **{**VIT_CIFAR10_TRAINING, "num_epochs": epochs,
                                                                 "seed": seed})
    return solver.train()


def train_cnn(data, epochs, seed):
    # The PyTorch notebook's settings for this model (batch 256, label smoothing 0.2).
    loader_train = make_loader(data["X_train"], data["y_train"], batch_size=256, shuffle=True,
                               transform=augmentation_transform(), seed=seed)
    loader_test = make_loader(data["X_test"], data["y_test"], batch_size=256)
    model, optimizer, scheduler = build_open_ended("cpu", widths=COMPARISON_CNN_WIDTHS, epochs=epochs,
                                                   steps_per_epoch=len(loader_train), seed=seed)
    dtype = None  # float32, as the ViT
    results = {"train_loss": [], "test_acc@1": [], "epoch_seconds": [], "epoch_cpu_seconds": []}
    for epoch in range(epochs):
        cpu_start = time.process_time()
        history = train_part34(model, optimizer, loader_train, epochs=1, scheduler=scheduler,
                               label_smoothing=0.2, autocast_dtype=dtype, verbose=False)
        results["epoch_cpu_seconds"].append(time.process_time() - cpu_start)
        results["epoch_seconds"].append(history["epoch_seconds"][0])
        results["train_loss"].append(float(np.mean(history["loss"])))
        results["test_acc@1"].append(check_accuracy_part34(loader_test, model, autocast_dtype=dtype))
        print(f"epoch {epoch + 1}/{epochs}: loss {results['train_loss'][-1]:.4f}, test accuracy "
              f"{results['test_acc@1'][-1]:.4f}, {results['epoch_seconds'][-1]:.0f} s "
              f"({results['epoch_cpu_seconds'][-1]:.0f} s CPU)", flush=True)
    return results


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
