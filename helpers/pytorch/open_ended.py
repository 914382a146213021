"""Part V of the PyTorch notebook, the open-ended model: a ResNet-9-style network, its
one-cycle learning-rate schedule and its optimizer, sized to train well on a CPU."""


import torch
import torch.nn as nn

from helpers._checks import number_in, positive_int


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
    positive_int("total_steps", total_steps)
    number_in("peak_fraction", peak_fraction, 0, 1, low_open=True, high_open=True)
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
