"""PyTorch on CIFAR-10: tensors and loaders, the barebones and nn.Module networks of the
PyTorch notebook, their training loops, and the open-ended model with its augmentation and
learning-rate schedule.

The notebook keeps the CS231n names (`flatten`, `two_layer_fc`, `three_layer_convnet`,
`random_weight`, `check_accuracy_part2`, `train_part2`, `TwoLayerFC`, `ThreeLayerConvNet`,
`check_accuracy_part34`, `train_part34`); unlike CS231n, nothing reads a global `device` or
`loader_train`: every function takes what it uses as arguments.
"""

import copy
import itertools
import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, TensorDataset
from torchvision.transforms import v2
from tqdm import tqdm

from helpers.data.cifar10 import load_CIFAR10

# Per-channel statistics of the 50000 CIFAR-10 training images, on pixel values in [0, 1].
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)


# ----------------------------------------------------------------------------- data

def normalize_images(X, dtype=torch.float32):
    """
    Turn CIFAR-10 images as loaded by `load_CIFAR10` into a normalized tensor.

    Inputs:
    - X: Array of shape (N, 32, 32, 3), pixel values 0..255 (channels last)
    - dtype: Floating-point dtype of the result

    Returns:
    - A tensor of shape (N, 3, 32, 32): pixels scaled to [0, 1], then each channel
      standardized with CIFAR10_MEAN and CIFAR10_STD
    """
    X = np.asarray(X)
    if X.ndim != 4 or X.shape[1:] != (32, 32, 3):
        raise ValueError(f"X must have shape (N, 32, 32, 3), got {X.shape}")
    images = torch.from_numpy(np.ascontiguousarray(X.transpose(0, 3, 1, 2))).to(dtype) / 255.0
    mean = torch.tensor(CIFAR10_MEAN, dtype=dtype).view(1, 3, 1, 1)
    std = torch.tensor(CIFAR10_STD, dtype=dtype).view(1, 3, 1, 1)
    return (images - mean) / std


def get_CIFAR10_tensors(num_training=49000, num_validation=1000, num_test=10000, verbose=True):
    """
    Load CIFAR-10 through `load_CIFAR10` and split it into normalized tensors.

    Inputs:
    - num_training, num_validation: Sizes of the training split and of the validation
      split (the rows that follow the training rows)
    - num_test: Number of test images (the first rows of the test set)
    - verbose: Print which data is used

    Returns a dict with X_train (num_training, 3, 32, 32) float32 and y_train
    (num_training,) int64, and likewise X_val, y_val, X_test, y_test.
    """
    X_train, y_train, X_test, y_test = load_CIFAR10(verbose=verbose)
    for name, value in (("num_training", num_training), ("num_validation", num_validation),
                        ("num_test", num_test)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if num_training + num_validation > len(y_train):
        raise ValueError(f"num_training + num_validation = {num_training + num_validation} exceeds the "
                         f"{len(y_train)} training images available")
    if num_test > len(y_test):
        raise ValueError(f"num_test = {num_test} exceeds the {len(y_test)} test images available")
    val = slice(num_training, num_training + num_validation)
    splits = {"train": (X_train[:num_training], y_train[:num_training]),
              "val": (X_train[val], y_train[val]),
              "test": (X_test[:num_test], y_test[:num_test])}
    data = {}
    for name, (X, y) in splits.items():
        data[f"X_{name}"] = normalize_images(X)
        data[f"y_{name}"] = torch.from_numpy(np.asarray(y, dtype=np.int64))
    return data


def augmentation_transform(padding=4, flip_p=0.5):
    """
    The standard CIFAR-10 augmentation, for one normalized image tensor: a random 32x32
    crop of the image padded by reflection, then a random horizontal flip.

    Inputs:
    - padding: Pixels of reflection padding on each side before cropping (0: no shift)
    - flip_p: Probability of flipping the image left-right

    Returns:
    - A torchvision.transforms.v2 transform mapping a (3, 32, 32) tensor to a (3, 32, 32) tensor
    """
    if padding < 0:
        raise ValueError(f"padding must be >= 0, got {padding}")
    if not 0.0 <= flip_p <= 1.0:
        raise ValueError(f"flip_p must be in [0, 1], got {flip_p}")
    # Reflection keeps the padded border looking like image content; zero padding after
    # normalization would add a flat frame the network never sees at test time.
    return v2.Compose([v2.RandomCrop(32, padding=padding, padding_mode="reflect"),
                       v2.RandomHorizontalFlip(p=flip_p)])


class TransformedTensorDataset(Dataset):
    """A (images, labels) tensor pair whose images go through `transform` on every access."""

    def __init__(self, X, y, transform):
        if X.shape[0] != y.shape[0]:
            raise ValueError(f"X and y must have the same length, got {X.shape[0]} and {y.shape[0]}")
        self.X, self.y, self.transform = X, y, transform

    def __len__(self):
        return self.X.shape[0]

    def __getitem__(self, i):
        return self.transform(self.X[i]), self.y[i]


def make_loader(X, y, batch_size=64, shuffle=False, transform=None, seed=0):
    """
    Wrap tensors in a DataLoader.

    Inputs:
    - X: Tensor of shape (N, 3, 32, 32)
    - y: Tensor of shape (N,) of int64 labels
    - batch_size: Minibatch size
    - shuffle: Reshuffle every epoch (with a generator seeded by `seed`)
    - transform: Optional per-image transform, e.g. `augmentation_transform()`
    - seed: Seed of the shuffling and of the random augmentation

    Returns:
    - A DataLoader yielding (x, y) with x of shape (B, 3, 32, 32) and y of shape (B,)
    """
    if X.ndim != 4 or y.ndim != 1 or X.shape[0] != y.shape[0]:
        raise ValueError(f"X must have shape (N, C, H, W) and y shape (N,), got {tuple(X.shape)} "
                         f"and {tuple(y.shape)}")
    dataset = TensorDataset(X, y) if transform is None else TransformedTensorDataset(X, y, transform)
    generator = torch.Generator().manual_seed(seed)
    if transform is not None:
        # v2 transforms draw from the global generator; seed it so augmented runs repeat.
        torch.manual_seed(seed)
    # Workers would compete with the training threads for the same few CPU cores.
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator, num_workers=0)


# ----------------------------------------------------------------------------- Part II: barebones

def flatten(x):
    """
    Flatten each example of a minibatch into a vector.

    Inputs:
    - x: Tensor of shape (N, d1, ..., dk)

    Returns:
    - Tensor of shape (N, d1 * ... * dk), a view of x when possible
    """
    return x.reshape(x.shape[0], -1)


def two_layer_fc(x, params):
    """
    A fully-connected network: affine - ReLU - affine, with no biases (as in CS231n).

    Inputs:
    - x: Tensor of shape (N, d1, ..., dM); it is flattened to (N, D), D = d1 * ... * dM
    - params: List [w1, w2] of tensors: w1 of shape (D, H), w2 of shape (H, C)

    Returns:
    - scores: Tensor of shape (N, C), the class scores of each input
    """
    w1, w2 = params
    x = flatten(x)
    if x.shape[1] != w1.shape[0] or w1.shape[1] != w2.shape[0]:
        raise ValueError(f"x flattens to {tuple(x.shape)}, which needs w1 of shape ({x.shape[1]}, H) and "
                         f"w2 of shape (H, C); got w1 {tuple(w1.shape)} and w2 {tuple(w2.shape)}")
    return F.relu(x.mm(w1)).mm(w2)


def three_layer_convnet(x, params):
    """
    A three-layer convolutional network:
    conv (KH1 x KW1, zero-padding 2) - ReLU - conv (KH2 x KW2, zero-padding 1) - ReLU - affine.

    Inputs:
    - x: Tensor of shape (N, 3, H, W)
    - params: List [conv_w1, conv_b1, conv_w2, conv_b2, fc_w, fc_b] of tensors:
      - conv_w1: (channel_1, 3, KH1, KW1), conv_b1: (channel_1,)
      - conv_w2: (channel_2, channel_1, KH2, KW2), conv_b2: (channel_2,)
      - fc_w: (channel_2 * H * W, C), fc_b: (C,)
      With 5x5 and 3x3 kernels the convolutions keep the spatial size H x W.

    Returns:
    - scores: Tensor of shape (N, C)
    """
    conv_w1, conv_b1, conv_w2, conv_b2, fc_w, fc_b = params
    h = F.relu(F.conv2d(x, conv_w1, conv_b1, padding=2))
    h = F.relu(F.conv2d(h, conv_w2, conv_b2, padding=1))
    h = flatten(h)
    if h.shape[1] != fc_w.shape[0]:
        raise ValueError(f"the second convolution gives {h.shape[1]} features per example, but fc_w has "
                         f"shape {tuple(fc_w.shape)}; it must be ({h.shape[1]}, C)")
    return h.mm(fc_w) + fc_b


def random_weight(shape, device=None, dtype=torch.float32):
    """
    A weight drawn with Kaiming (He) normal initialization: standard deviation sqrt(2 / fan_in),
    which keeps the activation variance steady through ReLU layers.

    Inputs:
    - shape: (fan_in, fan_out) for a fully-connected weight, or (out, in, KH, KW) for a
      convolution (fan_in = in * KH * KW)
    - device, dtype: Where and how the tensor is stored

    Returns:
    - A leaf tensor of the given shape with requires_grad=True
    """
    shape = tuple(shape)
    if len(shape) == 2:
        fan_in = shape[0]
    elif len(shape) == 4:
        fan_in = int(np.prod(shape[1:]))
    else:
        raise ValueError(f"shape must be (fan_in, fan_out) or (out, in, KH, KW), got {shape}")
    w = torch.randn(shape, device=device, dtype=dtype) * math.sqrt(2.0 / fan_in)
    return w.requires_grad_()


def zero_weight(shape, device=None, dtype=torch.float32):
    """A zero tensor of the given shape with requires_grad=True (biases)."""
    return torch.zeros(shape, device=device, dtype=dtype, requires_grad=True)


def check_accuracy_part2(loader, model_fn, params, device=None):
    """
    Accuracy of a barebones model on a dataset.

    Inputs:
    - loader: DataLoader yielding (x, y) minibatches
    - model_fn: Function (x, params) -> scores of shape (N, C)
    - params: List of parameter tensors for model_fn
    - device: Where to run (None: where the parameters are)

    Returns:
    - The fraction of examples classified correctly, a float
    """
    device = params[0].device if device is None else torch.device(device)
    num_correct = num_samples = 0
    with torch.no_grad():
        for x, y in loader:
            scores = model_fn(x.to(device), params)
            num_correct += (scores.argmax(dim=1).cpu() == y).sum().item()
            num_samples += y.shape[0]
    return num_correct / max(num_samples, 1)


def train_part2(model_fn, params, learning_rate, loader_train, loader_val=None, device=None,
                num_iters=None, print_every=100, verbose=True):
    """
    Train a barebones model for one epoch (or `num_iters` minibatches) of plain SGD,
    computing gradients with autograd and updating the parameters by hand.

    Inputs:
    - model_fn: Function (x, params) -> scores of shape (N, C)
    - params: List of leaf tensors with requires_grad=True; updated in place
    - learning_rate: SGD step size
    - loader_train: DataLoader of training minibatches
    - loader_val: DataLoader used for the periodic accuracy printout (None: no printout)
    - device: Where to run (None: where the parameters are)
    - num_iters: Stop after this many minibatches (None: one full epoch)
    - print_every: Print the loss (and validation accuracy) every this many iterations

    Returns:
    - losses: List of the training loss of each iteration
    """
    device = params[0].device if device is None else torch.device(device)
    losses = []
    for t, (x, y) in enumerate(loader_train):
        if num_iters is not None and t >= num_iters:
            break
        x, y = x.to(device), y.to(device)
        loss = F.cross_entropy(model_fn(x, params), y)
        loss.backward()
        with torch.no_grad():
            for w in params:
                w -= learning_rate * w.grad
                w.grad = None
        losses.append(loss.item())
        if verbose and t % print_every == 0:
            line = f"Iteration {t}, loss = {loss.item():.4f}"
            if loader_val is not None:
                line += f", val accuracy = {check_accuracy_part2(loader_val, model_fn, params, device):.3f}"
            print(line)
    return losses


# ----------------------------------------------------------------------------- Part III/IV: nn.Module

class TwoLayerFC(nn.Module):
    """
    affine - ReLU - affine, as an nn.Module, with Kaiming-normal weights.

    Inputs to the constructor:
    - input_size: D, the number of features of a flattened example
    - hidden_size: H
    - num_classes: C
    forward(x): x of shape (N, d1, ..., dM) with d1 * ... * dM = D -> scores of shape (N, C)
    """

    def __init__(self, input_size, hidden_size, num_classes):
        super().__init__()
        self.fc1 = nn.Linear(input_size, hidden_size)
        self.fc2 = nn.Linear(hidden_size, num_classes)
        nn.init.kaiming_normal_(self.fc1.weight)
        nn.init.kaiming_normal_(self.fc2.weight)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(flatten(x))))


class ThreeLayerConvNet(nn.Module):
    """
    conv 5x5 (channel_1, zero-padding 2) - ReLU - conv 3x3 (channel_2, zero-padding 1) - ReLU
    - affine, as an nn.Module, with Kaiming-normal weights and zero biases.

    Inputs to the constructor:
    - in_channel: Channels of the input images
    - channel_1, channel_2: Filters of the two convolutions
    - num_classes: C
    - image_size: Height and width of the (square) input images
    forward(x): x of shape (N, in_channel, image_size, image_size) -> scores of shape (N, C)
    """

    def __init__(self, in_channel, channel_1, channel_2, num_classes, image_size=32):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channel, channel_1, 5, padding=2)
        self.conv2 = nn.Conv2d(channel_1, channel_2, 3, padding=1)
        self.fc = nn.Linear(channel_2 * image_size * image_size, num_classes)
        for layer in (self.conv1, self.conv2, self.fc):
            nn.init.kaiming_normal_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x):
        return three_layer_convnet_module_forward(self, x)


def three_layer_convnet_module_forward(model, x):
    """
    The forward pass of ThreeLayerConvNet: conv1 - ReLU - conv2 - ReLU - flatten - fc.

    Inputs:
    - model: A ThreeLayerConvNet (its layers conv1, conv2 and fc are used)
    - x: Tensor of shape (N, in_channel, image_size, image_size)

    Returns:
    - scores: Tensor of shape (N, num_classes)
    """
    if x.ndim != 4 or x.shape[1] != model.conv1.in_channels:
        raise ValueError(f"x must have shape (N, {model.conv1.in_channels}, H, W), got {tuple(x.shape)}")
    return model.fc(flatten(F.relu(model.conv2(F.relu(model.conv1(x))))))


def three_layer_convnet_sequential(in_channel, channel_1, channel_2, num_classes):
    """
    The same three-layer convolutional network, written with nn.Sequential.

    Inputs:
    - in_channel, channel_1, channel_2, num_classes: As in ThreeLayerConvNet (32x32 images)

    Returns:
    - An nn.Sequential mapping (N, in_channel, 32, 32) to scores (N, num_classes)
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
    if num_iters < 1:
        raise ValueError(f"num_iters must be >= 1, got {num_iters}")
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


# ----------------------------------------------------------------------------- Part V: open-ended model

def conv_bn_relu(in_channels, out_channels):
    """3x3 convolution (no bias: the batch norm supplies it) - batch norm - ReLU; keeps H x W."""
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
                         nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


class Residual(nn.Module):
    """x + f(x), with f two conv_bn_relu blocks of `channels` channels."""

    def __init__(self, channels):
        super().__init__()
        self.body = nn.Sequential(conv_bn_relu(channels, channels), conv_bn_relu(channels, channels))

    def forward(self, x):
        return x + self.body(x)


class ResNet9(nn.Module):
    """
    A ResNet-9-style network for 32x32 images (after David Page's DAWNBench model), sized
    for a CPU with widths (w0, w1, w2, w3):

    conv_bn_relu(w0) - conv_bn_relu(w1) - maxpool - residual(w1)     32x32 -> 16x16
    - conv_bn_relu(w2) - maxpool                                      16x16 -> 8x8
    - conv_bn_relu(w3) - maxpool - residual(w3)                       8x8 -> 4x4
    - global max pool - linear(C) - scaled by `scale`

    Inputs to the constructor:
    - widths: The four channel counts
    - num_classes: C
    - scale: Multiplier of the scores; a small value (1/8) keeps the initial softmax soft
    forward(x): x of shape (N, 3, 32, 32) -> scores of shape (N, C)
    """

    def __init__(self, widths=(24, 48, 96, 192), num_classes=10, scale=0.125):
        super().__init__()
        if len(widths) != 4 or any(int(w) != w or w < 1 for w in widths):
            raise ValueError(f"widths must be four positive integers, got {widths!r}")
        w0, w1, w2, w3 = widths
        self.features = nn.Sequential(
            conv_bn_relu(3, w0),
            conv_bn_relu(w0, w1), nn.MaxPool2d(2), Residual(w1),
            conv_bn_relu(w1, w2), nn.MaxPool2d(2),
            conv_bn_relu(w2, w3), nn.MaxPool2d(2), Residual(w3),
            nn.AdaptiveMaxPool2d(1), nn.Flatten(),
        )
        self.classifier = nn.Linear(w3, num_classes)
        self.scale = scale

    def forward(self, x):
        return self.classifier(self.features(x)) * self.scale


def one_cycle_schedule(optimizer, total_steps, peak_fraction=0.25):
    """
    The one-cycle learning-rate schedule: the rate rises linearly from 0 to the optimizer's
    learning rate over the first `peak_fraction` of the steps, then falls linearly to 0.

    Inputs:
    - optimizer: A torch.optim optimizer; its learning rate is the peak
    - total_steps: Number of scheduler steps (minibatches) in the whole run
    - peak_fraction: Where the peak lies, as a fraction of total_steps, in (0, 1)

    Returns:
    - A torch.optim.lr_scheduler.LambdaLR to step after every minibatch
    """
    if int(total_steps) != total_steps or total_steps < 1:
        raise ValueError(f"total_steps must be a positive integer, got {total_steps!r}")
    if not 0.0 < peak_fraction < 1.0:
        raise ValueError(f"peak_fraction must be in (0, 1), got {peak_fraction}")
    peak = max(1, round(peak_fraction * total_steps))

    def factor(step):
        if step < peak:
            return (step + 1) / peak
        return max(0.0, (total_steps - step) / max(1, total_steps - peak))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def default_autocast_dtype(device):
    """
    bfloat16 when the device computes it natively (recent CUDA GPUs, CPUs with AVX-512 BF16
    or AMX), else None (plain float32). Parameters and optimizer state stay float32 either way.
    """
    device = torch.device(device)
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    if device.type == "cpu" and torch.ops.mkldnn._is_mkldnn_bf16_supported():
        return torch.bfloat16
    return None


def build_open_ended(device, widths=(24, 48, 96, 192), epochs=8, steps_per_epoch=1, lr=0.2,
                     momentum=0.9, weight_decay=5e-4, seed=0):
    """
    The open-ended model and its optimizer: ResNet9 in channels_last memory layout, SGD with
    Nesterov momentum and weight decay (not on batch-norm and bias parameters), and a
    one-cycle learning-rate schedule.

    Inputs:
    - device: Where the model lives
    - widths: Channel widths of ResNet9
    - epochs, steps_per_epoch: Length of the run, for the schedule
    - lr: Peak learning rate
    - momentum, weight_decay: SGD settings
    - seed: Seed of the weight initialization

    Returns:
    - model, optimizer, scheduler
    """
    torch.manual_seed(seed)
    # channels_last lets the oneDNN (CPU) and cuDNN (GPU) convolutions skip layout conversions.
    model = ResNet9(widths).to(device, memory_format=torch.channels_last)
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    optimizer = torch.optim.SGD([{"params": decay, "weight_decay": weight_decay},
                                 {"params": no_decay, "weight_decay": 0.0}],
                                lr=lr, momentum=momentum, nesterov=True)
    scheduler = one_cycle_schedule(optimizer, epochs * steps_per_epoch)
    return model, optimizer, scheduler
