"""Part II of the PyTorch notebook, barebones PyTorch: networks as functions of explicit
parameter tensors, trained by a hand-written SGD loop over autograd gradients."""

import math

import numpy as np
import torch
import torch.nn.functional as F


def flatten(x):
    """
    Flatten each example of a minibatch into a vector.

    Inputs:
    - x: Tensor of shape (N, d1, ..., dk)

    Returns:
    - Tensor of shape (N, d1 * ... * dk), a view of x when possible
    """
    return x.reshape(x.shape[0], -1)  # (N, d1 * ... * dk)


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
