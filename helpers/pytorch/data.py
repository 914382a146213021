"""CIFAR-10 for the PyTorch notebook: normalized tensors, the standard augmentation and loaders."""


import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, TensorDataset
from torchvision.transforms import v2

from helpers._checks import non_negative_int, number_in, positive_int
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
    images = torch.from_numpy(np.ascontiguousarray(X.transpose(0, 3, 1, 2))).to(dtype) / 255.0  # (N, 3, 32, 32)
    mean = torch.tensor(CIFAR10_MEAN, dtype=dtype).view(1, 3, 1, 1)  # (1, 3, 1, 1)
    std = torch.tensor(CIFAR10_STD, dtype=dtype).view(1, 3, 1, 1)  # (1, 3, 1, 1)
    return (images - mean) / std


def unnormalize_image(image):
    """
    Undo normalize_images for one image, for display.

    Inputs:
    - image: Tensor of shape (3, H, W), standardized with CIFAR10_MEAN and CIFAR10_STD

    Returns:
    - Array of shape (H, W, 3) with values in [0, 1], for plt.imshow
    """
    if image.ndim != 3 or image.shape[0] != 3:
        raise ValueError(f"image must have shape (3, H, W), got {tuple(image.shape)}")
    mean = torch.tensor(CIFAR10_MEAN, dtype=image.dtype).view(3, 1, 1)  # (3, 1, 1)
    std = torch.tensor(CIFAR10_STD, dtype=image.dtype).view(3, 1, 1)  # (3, 1, 1)
    return (image.detach().cpu() * std + mean).clamp(0, 1).permute(1, 2, 0).numpy()  # (H, W, 3)


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
        positive_int(name, value)
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
    non_negative_int("padding", padding)
    number_in("flip_p", flip_p, 0, 1)
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
