"""Parts III and IV of the PyTorch notebook: networks as nn.Module subclasses and as
nn.Sequential, trained with a torch.optim optimizer by `train_part34`."""

import copy
import itertools
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm import tqdm

from helpers._checks import positive_int
from helpers.pytorch.barebones import flatten


class TwoLayerFC(nn.Module):
    """
    A two-layer fully-connected network as an nn.Module: affine - ReLU - affine.
    """

    def __init__(self, input_size, hidden_size, num_classes):
        """
        Create the two affine layers: self.fc1 = nn.Linear(input_size, hidden_size) and
        self.fc2 = nn.Linear(hidden_size, num_classes), and draw their weights with Kaiming
        normal initialization (nn.init.kaiming_normal_); the biases keep nn.Linear's default.

        Inputs:
        - input_size: D, the number of features of a flattened example
        - hidden_size: H, the number of hidden units
        - num_classes: C, the number of classes
        """
        super().__init__()
        self.fc1 = nn.Linear(input_size, hidden_size)
        self.fc2 = nn.Linear(hidden_size, num_classes)
        nn.init.kaiming_normal_(self.fc1.weight)
        nn.init.kaiming_normal_(self.fc2.weight)

    def forward(self, x):
        """
        Class scores: flatten each example, then fc1 - ReLU - fc2.

        Inputs:
        - x: Tensor of shape (N, d1, ..., dM) with d1 * ... * dM = D

        Returns:
        - scores: Tensor of shape (N, C)
        """
        return self.fc2(F.relu(self.fc1(flatten(x))))


class ThreeLayerConvNet(nn.Module):
    """
    A three-layer convolutional network as an nn.Module:
    conv 5x5 - ReLU - conv 3x3 - ReLU - affine, both convolutions keeping the image size.
    """

    def __init__(self, in_channel, channel_1, channel_2, num_classes, image_size=32):
        """
        Create the layers: self.conv1 = nn.Conv2d(in_channel, channel_1, 5, padding=2),
        self.conv2 = nn.Conv2d(channel_1, channel_2, 3, padding=1) and self.fc = nn.Linear(
        channel_2 * image_size * image_size, num_classes); draw every weight with Kaiming
        normal initialization (nn.init.kaiming_normal_) and set every bias to zero
        (nn.init.zeros_).

        Inputs:
        - in_channel: Number of channels of the input images
        - channel_1, channel_2: Number of filters of the first and second convolution
        - num_classes: C, the number of classes
        - image_size: Height and width of the (square) input images
        """
        super().__init__()
        self.conv1 = nn.Conv2d(in_channel, channel_1, 5, padding=2)
        self.conv2 = nn.Conv2d(channel_1, channel_2, 3, padding=1)
        self.fc = nn.Linear(channel_2 * image_size * image_size, num_classes)
        for layer in (self.conv1, self.conv2, self.fc):
            nn.init.kaiming_normal_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x):
        """
        Class scores: conv1 - ReLU - conv2 - ReLU - flatten - fc.

        Inputs:
        - x: Tensor of shape (N, in_channel, image_size, image_size)

        Returns:
        - scores: Tensor of shape (N, C)
        """
        if x.ndim != 4 or x.shape[1] != self.conv1.in_channels:
            raise ValueError(f"x must have shape (N, {self.conv1.in_channels}, H, W), got {tuple(x.shape)}")
        return self.fc(flatten(F.relu(self.conv2(F.relu(self.conv1(x))))))


def three_layer_convnet_sequential(in_channel, channel_1, channel_2, num_classes):
    """
    The three-layer convolutional network of ThreeLayerConvNet, written with nn.Sequential:
    nn.Conv2d(in_channel, channel_1, 5, padding=2), nn.ReLU(), nn.Conv2d(channel_1, channel_2,
    3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(channel_2 * 32 * 32, num_classes), in
    this order, with Kaiming-normal weights (nn.init.kaiming_normal_) and zero biases.

    Inputs:
    - in_channel: Number of channels of the input images (32x32)
    - channel_1, channel_2: Number of filters of the first and second convolution
    - num_classes: C, the number of classes

    Returns:
    - model: An nn.Sequential mapping (N, in_channel, 32, 32) to scores (N, C)
    """
    model = nn.Sequential(
        nn.Conv2d(in_channel, channel_1, 5, padding=2), nn.ReLU(),
        nn.Conv2d(channel_1, channel_2, 3, padding=1), nn.ReLU(),
        nn.Flatten(),
        nn.Linear(channel_2 * 32 * 32, num_classes),
    )
    for layer in model:
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(layer.weight)
            nn.init.zeros_(layer.bias)
    return model


def check_accuracy_part34(loader, model, device=None, flip_tta=False, autocast_dtype=None):
    """
    Accuracy of an nn.Module on a dataset, in evaluation mode.

    Inputs:
    - loader: DataLoader yielding (x, y)
    - model: The nn.Module
    - device: Where to run (None: where the model's parameters are)
    - flip_tta: Average the scores of each image and its mirror image (test-time augmentation)
    - autocast_dtype: Lower-precision dtype for autocast (e.g. torch.bfloat16), or None

    Returns:
    - The fraction of examples classified correctly, a float
    """
    device = next(model.parameters()).device if device is None else torch.device(device)
    memory_format = _memory_format(model)
    was_training = model.training
    model.eval()
    num_correct = num_samples = 0
    with torch.no_grad(), torch.autocast(device.type, dtype=autocast_dtype or torch.bfloat16,
                                         enabled=autocast_dtype is not None):
        for x, y in loader:
            x = x.to(device, memory_format=memory_format)
            scores = model(x).float()
            if flip_tta:
                scores = scores + model(torch.flip(x, dims=(3,))).float()
            num_correct += (scores.argmax(dim=1).cpu() == y).sum().item()
            num_samples += y.shape[0]
    model.train(was_training)
    return num_correct / max(num_samples, 1)


def _memory_format(model):
    """channels_last when the model's convolution weights are stored that way."""
    for p in model.parameters():
        if p.ndim == 4:
            if p.is_contiguous(memory_format=torch.channels_last) and not p.is_contiguous():
                return torch.channels_last
            break
    return torch.contiguous_format


def train_part34(model, optimizer, loader_train, loader_val=None, device=None, epochs=1, num_iters=None,
                 scheduler=None, label_smoothing=0.0, autocast_dtype=None, print_every=100,
                 progress=False, flip_tta=False, log_file=None, verbose=True):
    """
    Train an nn.Module with a torch.optim optimizer.

    Inputs:
    - model: The nn.Module; trained in place
    - optimizer: A torch.optim optimizer over model.parameters()
    - loader_train: DataLoader of training minibatches
    - loader_val: DataLoader for the validation accuracy (printed, and recorded per epoch)
    - device: Where to run (None: where the model's parameters are)
    - epochs: Number of passes over loader_train
    - num_iters: Stop after this many minibatches in total (None: all epochs)
    - scheduler: Optional learning-rate scheduler, stepped after every minibatch
    - label_smoothing: Label smoothing of the cross-entropy loss
    - autocast_dtype: Mixed precision dtype (torch.bfloat16), or None for float32 throughout
    - print_every: Print the loss every this many iterations (when progress is off)
    - progress: Show a tqdm bar per epoch instead of periodic prints
    - flip_tta: Use flip test-time augmentation for the per-epoch validation accuracy
    - log_file: Optional path; one line per epoch (epoch, seconds, loss, val accuracy) is appended
    - verbose: Print at all

    Returns a dict with:
    - loss: List of the training loss of each iteration
    - val_acc: List of the validation accuracy after each epoch (empty without loader_val)
    - epoch_seconds: List of the training time of each epoch (without validation)
    """
    device = next(model.parameters()).device if device is None else torch.device(device)
    memory_format = _memory_format(model)
    history = {"loss": [], "val_acc": [], "epoch_seconds": []}
    t = 0
    for epoch in range(epochs):
        model.train()
        start = time.perf_counter()
        batches = loader_train
        if progress:
            total = len(loader_train) if num_iters is None else min(len(loader_train), num_iters - t)
            batches = tqdm(loader_train, total=total, desc=f"epoch {epoch + 1}/{epochs}", leave=verbose,
                           disable=not verbose)
        for x, y in batches:
            if num_iters is not None and t >= num_iters:
                break
            x = x.to(device, memory_format=memory_format)
            y = y.to(device)
            with torch.autocast(device.type, dtype=autocast_dtype or torch.bfloat16,
                                enabled=autocast_dtype is not None):
                scores = model(x)
            loss = F.cross_entropy(scores.float(), y, label_smoothing=label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            history["loss"].append(loss.item())
            if progress:
                batches.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
            elif verbose and t % print_every == 0:
                print(f"Iteration {t}, loss = {loss.item():.4f}")
            t += 1
        seconds = time.perf_counter() - start
        history["epoch_seconds"].append(seconds)
        line = f"epoch {epoch + 1}: {seconds:.1f} s, loss {np.mean(history['loss'][-10:]):.4f}"
        if loader_val is not None:
            acc = check_accuracy_part34(loader_val, model, device, flip_tta=flip_tta,
                                        autocast_dtype=autocast_dtype)
            history["val_acc"].append(acc)
            line += f", val accuracy {acc:.4f}"
        if verbose:
            print(line)
        if log_file is not None:
            with open(log_file, "a") as f:
                f.write(line + "\n")
        if num_iters is not None and t >= num_iters:
            break
    return history


def seconds_per_iteration(model, loader, num_iters=3, label_smoothing=0.0, autocast_dtype=None):
    """
    Time a few training iterations on a copy of the model (the model itself is untouched),
    to estimate the length of an epoch before committing to it.

    Inputs:
    - model: The nn.Module to time
    - loader: DataLoader of training minibatches (data loading and augmentation are timed too)
    - num_iters: Number of timed iterations, after one untimed warm-up iteration
    - label_smoothing, autocast_dtype: As in train_part34

    Returns:
    - The median time of one iteration, in seconds
    """
    positive_int("num_iters", num_iters)
    trial = copy.deepcopy(model)
    optimizer = torch.optim.SGD(trial.parameters(), lr=0.0)
    times = []
    # Restart the loader if it has fewer batches than the iterations to time.
    batches = itertools.chain.from_iterable(itertools.repeat(loader))
    for _ in range(num_iters + 1):
        start = time.perf_counter()
        x, y = next(batches)
        train_part34(trial, optimizer, [(x, y)], epochs=1, label_smoothing=label_smoothing,
                     autocast_dtype=autocast_dtype, verbose=False)
        times.append(time.perf_counter() - start)
    return float(np.median(times[1:]))
