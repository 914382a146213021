"""Training image classifiers on CIFAR-10 tensors: CS231n's ClassificationSolverViT, and the recipe of the
course's small Vision Transformer, sized for the Transformer notebook's target (>= 65% test accuracy in at
most 15 minutes of training on 2 CPU cores).

The solver is model-agnostic (any nn.Module from images to class scores). Its epochs, and those of
train_comparison_cnn (the CNN the recipe is compared with, on its own optimizer recipe), run through
train_epochs: helpers.pytorch.modules.train_part34 one epoch at a time, then the test accuracy; the
data, augmentation and loaders come from helpers.pytorch.data.

The recipe (VIT_CIFAR10_MODEL, VIT_CIFAR10_TRAINING, build_vit_cifar10) departs from CS231n's defaults
(patch 8, 6 layers, sinusoidal positions, Adam at 1e-4 for 2 epochs, no augmentation) where a short CPU
budget needs it:
- patch 4 instead of 8: 64 tokens of 4x4 pixels instead of 16 of 8x8; a 32x32 image cut into 16 pieces
  loses too much detail to the first linear layer;
- 4 encoder layers instead of 6: a third less compute per epoch, which buys more epochs;
- a learned positional embedding and a LayerNorm before the head;
- no dropout: a few epochs are far from overfitting, so dropout would only slow learning;
- AdamW (lr 1e-3, weight decay 0.05) with a one-cycle schedule (linear warm-up over the first 20% of
  the steps, then linear decay to 0): the warm-up keeps the post-norm layers stable at that rate;
- random crops and flips, and label smoothing 0.1;
- float32, not bfloat16 autocast: on the course's 2-core CPU (AVX-512 BF16) autocast made this ViT 1.4x
  slower (its many small operations, layer norms, softmaxes, reshapes, each convert between the types).
Measured with tools/vit_vs_cnn_cifar10.py on 2 idle cores: 80 s per epoch; test accuracy 0.389, 0.514,
0.571, 0.613, 0.645, 0.672 after epochs 1 to 6.

COMPARISON_CNN_WIDTHS is the CNN it is compared with at the same budget (same images, augmentation and
epochs): the PyTorch notebook's ResNet9 (helpers.pytorch.open_ended) at a third of its width, 0.1 M
parameters and a sixth of the ViT's compute per image, so that both fit the notebook's time.
"""

import time

import numpy as np
import torch

from helpers._checks import non_negative_number, number_in, positive_int, positive_number
from helpers.classifiers.transformer import VisionTransformer
from helpers.pytorch.data import augmentation_transform, make_loader
from helpers.pytorch.modules import check_accuracy_part34, train_part34
from helpers.pytorch.open_ended import build_open_ended, default_autocast_dtype, one_cycle_schedule

# The ViT of the recipe: 0.55 M parameters.
VIT_CIFAR10_MODEL = dict(img_size=32, patch_size=4, in_channels=3, embed_dim=128, num_layers=4, num_heads=4,
                         dim_feedforward=256, num_classes=10, dropout=0.0, learned_pos=True, final_norm=True)

# Its training: ClassificationSolverViT keyword arguments.
VIT_CIFAR10_TRAINING = dict(learning_rate=1e-3, weight_decay=0.05, batch_size=128, num_epochs=6,
                            schedule="one_cycle", warmup_fraction=0.2, augment=True, label_smoothing=0.1,
                            autocast_dtype=None)

# The CNN it is compared with: helpers.pytorch.open_ended.build_open_ended(widths=...), ResNet9 at a third of
# the PyTorch notebook's widths (24, 48, 96, 192).
COMPARISON_CNN_WIDTHS = (8, 16, 32, 64)


def train_epochs(model, optimizer, loader_train, loader_test, results, num_epochs, device="cpu", scheduler=None,
                 label_smoothing=0.0, autocast_dtype=None, progress=False, verbose=True):
    """
    Train a classifier for num_epochs epochs (helpers.pytorch.modules.train_part34, one epoch at a time),
    evaluating on the test loader after each, and record every epoch in `results`: train_loss (mean of the
    epoch's minibatch losses), test_acc@1, epoch_seconds (wall clock of the training pass) and
    epoch_cpu_seconds (CPU time of this process, all threads, during it). Prints one line per epoch when
    verbose.

    Yields:
    - Each epoch's minibatch losses, once that epoch is recorded
    """
    for epoch in range(num_epochs):
        cpu_start = time.process_time()
        history = train_part34(model, optimizer, loader_train, device=device, epochs=1, scheduler=scheduler,
                               label_smoothing=label_smoothing, autocast_dtype=autocast_dtype, progress=progress,
                               verbose=False)
        results["epoch_cpu_seconds"].append(time.process_time() - cpu_start)
        results["epoch_seconds"].append(history["epoch_seconds"][0])
        results["train_loss"].append(float(np.mean(history["loss"])))
        results["test_acc@1"].append(check_accuracy_part34(loader_test, model, device, autocast_dtype=autocast_dtype))
        if verbose:
            print(f"epoch {epoch + 1}/{num_epochs}: loss {results['train_loss'][-1]:.4f}, "
                  f"test accuracy {results['test_acc@1'][-1]:.4f}, {results['epoch_seconds'][-1]:.0f} s "
                  f"({results['epoch_cpu_seconds'][-1]:.0f} s CPU)", flush=True)
        yield history["loss"]


def train_comparison_cnn(train_data, test_data, num_epochs, device="cpu", seed=0, verbose=True):
    """
    Train the CNN the ViT recipe is compared with: ResNet9 at COMPARISON_CNN_WIDTHS with the PyTorch
    notebook's recipe (helpers.pytorch.open_ended: SGD with Nesterov momentum and a one-cycle schedule,
    batch 256, label smoothing 0.2), on the same augmented images, in the ViT's precision.

    Inputs:
    - train_data, test_data: Pairs (X, y) of tensors, as for ClassificationSolverViT
    - num_epochs: Passes over the training set
    - device: Where to train
    - seed: Seed of the weights, the shuffling and the augmentation
    - verbose: Print one line per epoch

    Returns a tuple of:
    - The trained model
    - The results dict of train_epochs (train_loss, test_acc@1, epoch_seconds, epoch_cpu_seconds)
    """
    X_train, y_train = _check_split("train_data", train_data)
    X_test, y_test = _check_split("test_data", test_data)
    loader_train = make_loader(X_train, y_train, batch_size=256, shuffle=True, transform=augmentation_transform(),
                               seed=seed)
    loader_test = make_loader(X_test, y_test, batch_size=256)
    model, optimizer, scheduler = build_open_ended(device, widths=COMPARISON_CNN_WIDTHS, epochs=num_epochs,
                                                   steps_per_epoch=len(loader_train), seed=seed)
    results = {"train_loss": [], "test_acc@1": [], "epoch_seconds": [], "epoch_cpu_seconds": []}
    for _ in train_epochs(model, optimizer, loader_train, loader_test, results, num_epochs, device=device,
                          scheduler=scheduler, label_smoothing=0.2,
                          autocast_dtype=VIT_CIFAR10_TRAINING["autocast_dtype"], verbose=verbose):
        pass
    return model, results


def build_vit_cifar10(seed=0, **overrides):
    """
    The recipe's VisionTransformer (VIT_CIFAR10_MODEL), with its weights drawn from `seed`.

    Inputs:
    - seed: Seed of the weight initialization
    - overrides: VisionTransformer keyword arguments that replace the recipe's

    Returns:
    - A VisionTransformer on the CPU
    """
    unknown = set(overrides) - set(VIT_CIFAR10_MODEL)
    if unknown:
        raise ValueError(f"unknown VisionTransformer arguments {sorted(unknown)}; "
                         f"the recipe's are {sorted(VIT_CIFAR10_MODEL)}")
    torch.manual_seed(seed)
    return VisionTransformer(**{**VIT_CIFAR10_MODEL, **overrides})


def _check_split(name, data):
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise ValueError(f"{name} must be a pair (X, y) of tensors, got {type(data).__name__}")
    X, y = (torch.as_tensor(a) for a in data)
    if X.ndim != 4 or y.ndim != 1 or X.shape[0] != y.shape[0]:
        raise ValueError(f"{name} must be (X, y) with X of shape (N, C, H, W) and y of shape (N,), "
                         f"got {tuple(X.shape)} and {tuple(y.shape)}")
    if not X.is_floating_point() or y.dtype != torch.int64:
        raise ValueError(f"{name}: X must be floating point and y int64 labels, got {X.dtype} and {y.dtype}")
    return X, y


class ClassificationSolverViT:
    """
    Trains an image classifier (CS231n's solver for the Vision Transformer; any nn.Module mapping
    (N, C, H, W) images to (N, C) scores works) and records its test accuracy after every epoch.

    Usage:
        data = get_CIFAR10_tensors()
        solver = ClassificationSolverViT((data["X_train"], data["y_train"]), (data["X_test"], data["y_test"]),
                                         build_vit_cifar10(), **VIT_CIFAR10_TRAINING)
        solver.train()
        solver.results["test_acc@1"][-1]

    After train(), `results` holds per epoch: train_loss (mean of the epoch's minibatch losses),
    test_acc@1, epoch_seconds (wall clock of the training pass) and epoch_cpu_seconds (CPU time of this
    process, all threads, during it); and best_test_acc, as in CS231n. `loss_history` holds every
    minibatch's loss.
    """

    def __init__(self, train_data, test_data, model, **kwargs):
        """
        Inputs:
        - train_data, test_data: Pairs (X, y): X a float tensor of shape (N, C, H, W) (normalized
          images), y an int64 tensor of shape (N,)
        - model: The nn.Module to train, in place

        Optional keyword arguments (CS231n's defaults first):
        - learning_rate: Peak learning rate of AdamW (default 1e-4)
        - weight_decay: AdamW's decoupled weight decay, not applied to biases and norms (default 0.0)
        - batch_size: Minibatch size (default 64)
        - num_epochs: Passes over the training set (default 2)
        - schedule: "constant" (default) or "one_cycle": linear warm-up to the peak, then linear decay to 0
        - warmup_fraction: Share of the steps spent warming up, for "one_cycle" (default 0.2)
        - augment: Random crops (reflection padding 4) and horizontal flips (default False)
        - label_smoothing: Of the cross-entropy loss (default 0.0)
        - autocast_dtype: "auto" (bfloat16 where the device computes it natively), a torch dtype, or None
        - seed: Seed of the shuffling and augmentation (default 0)
        - progress: Show a tqdm bar per epoch (default False)
        - verbose: Print one line per epoch (default True)
        """
        self.model = model
        self.train_data = _check_split("train_data", train_data)
        self.test_data = _check_split("test_data", test_data)
        self.learning_rate = positive_number("learning_rate", kwargs.pop("learning_rate", 1e-4))
        self.weight_decay = non_negative_number("weight_decay", kwargs.pop("weight_decay", 0.0))
        self.batch_size = positive_int("batch_size", kwargs.pop("batch_size", 64))
        self.num_epochs = positive_int("num_epochs", kwargs.pop("num_epochs", 2))
        self.schedule = kwargs.pop("schedule", "constant")
        if self.schedule not in ("constant", "one_cycle"):
            raise ValueError(f"schedule must be 'constant' or 'one_cycle', got {self.schedule!r}")
        self.warmup_fraction = number_in("warmup_fraction", kwargs.pop("warmup_fraction", 0.2), 0, 1,
                                         low_open=True, high_open=True)
        self.augment = bool(kwargs.pop("augment", False))
        self.label_smoothing = number_in("label_smoothing", kwargs.pop("label_smoothing", 0.0), 0, 1,
                                         high_open=True)
        self.autocast_dtype = kwargs.pop("autocast_dtype", "auto")
        self.seed = int(kwargs.pop("seed", 0))
        self.progress = bool(kwargs.pop("progress", False))
        self.verbose = bool(kwargs.pop("verbose", True))
        if kwargs:
            raise ValueError(f"Unrecognized arguments {', '.join(repr(k) for k in kwargs)}")
        self._reset()

    def _reset(self):
        self.epoch = 0
        self.loss_history = []
        self.results = {"train_loss": [], "test_acc@1": [], "epoch_seconds": [], "epoch_cpu_seconds": []}

    def _optimizer(self):
        # Decay the weight matrices only: shrinking a bias or a norm's gain regularizes nothing useful.
        params = [p for p in self.model.parameters() if p.requires_grad]
        decay = [p for p in params if p.ndim > 1]
        no_decay = [p for p in params if p.ndim <= 1]
        return torch.optim.AdamW([{"params": decay, "weight_decay": self.weight_decay},
                                  {"params": no_decay, "weight_decay": 0.0}], lr=self.learning_rate)

    def train(self, device="cpu"):
        """
        Run the optimization for num_epochs epochs on `device`, evaluating on the test data after each.

        Returns:
        - The results dict (also self.results)
        """
        device = torch.device(device)
        self.model.to(device)
        autocast_dtype = default_autocast_dtype(device) if self.autocast_dtype == "auto" else self.autocast_dtype
        transform = augmentation_transform() if self.augment else None
        loader_train = make_loader(*self.train_data, batch_size=self.batch_size, shuffle=True,
                                   transform=transform, seed=self.seed)
        loader_test = make_loader(*self.test_data, batch_size=256)
        optimizer = self._optimizer()
        scheduler = None
        if self.schedule == "one_cycle":
            scheduler = one_cycle_schedule(optimizer, self.num_epochs * len(loader_train), self.warmup_fraction)
        epochs = train_epochs(self.model, optimizer, loader_train, loader_test, self.results, self.num_epochs,
                              device=device, scheduler=scheduler, label_smoothing=self.label_smoothing,
                              autocast_dtype=autocast_dtype, progress=self.progress, verbose=self.verbose)
        for epoch, losses in enumerate(epochs, 1):
            self.loss_history += losses
            self.epoch = epoch
        self.results["best_test_acc"] = max(self.results["test_acc@1"])
        return self.results
