"""Generative adversarial networks on MNIST: CS231n's vanilla GAN, least-squares GAN and deep
convolutional GAN, with its names, signatures and architectures.

Images are flattened digits in [-1, 1]: real ones come from `helpers.data.mnist` already in
that range, and the generators end with tanh. Discriminators return one logit (score) per image,
shape (N, 1). How good the samples are is measured in `helpers.gan_metrics`.
"""

import math

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm import tqdm

from helpers._checks import positive_int, positive_number, shape_of

NOISE_DIM = 96
IMAGE_SHAPE = (1, 28, 28)
IMAGE_SIZE = 784  # 1 * 28 * 28

# Training settings of the notebook, per GAN and scale: keyword arguments of run_a_gan, for
# `run_a_gan(..., **pick(**TRAINING_RECIPES["dc"]))` (batch size 128, CS231n's Adam). At the full scale
# (60,000 digits, 468 iterations an epoch) the three train in 4.5 minutes on 2 idle cores (46, 45 and
# 176 s measured), most of it the DC-GAN (0.22 s an iteration against 0.02 for the fully connected ones), and the
# DC-GAN, in a third of the iterations, reaches by far the lowest FID with every digit drawn
# (`python tools/gan_recipes.py` trains and scores them and prints the numbers and times).
# At the quick scale (the 5,000-digit sample, 39 iterations an epoch) they only show the mechanics.
TRAINING_RECIPES = {
    "vanilla": {"quick": {"num_epochs": 3, "num_iterations": 100, "show_every": 25},
                "full": {"num_epochs": 6, "num_iterations": 2400, "show_every": 400}},
    "ls": {"quick": {"num_epochs": 3, "num_iterations": 100, "show_every": 25},
           "full": {"num_epochs": 6, "num_iterations": 2400, "show_every": 400}},
    "dc": {"quick": {"num_epochs": 1, "num_iterations": 30, "show_every": 10},
           "full": {"num_epochs": 2, "num_iterations": 800, "show_every": 100}},
}


# ----------------------------------------------------------------------------- noise

def _uniform_noise(batch_size, dim, generator=None, device=None):
    # Uniform in [-1, 1): scale and shift torch.rand's [0, 1).
    return torch.rand(batch_size, dim, generator=generator).to(device) * 2 - 1


def sample_noise(batch_size, dim, seed=None):
    """
    Generate a PyTorch Tensor of uniform random noise.

    Inputs:
    - batch_size: Integer giving the batch size of noise to generate.
    - dim: Integer giving the dimension of noise to generate.
    - seed: If given, the noise is drawn from a generator seeded with it (the same seed gives
      the same noise; PyTorch's global random state is left alone); else from the global one.

    Returns:
    - A PyTorch Tensor of shape (batch_size, dim) containing uniform random noise in the
      range [-1, 1).
    """
    batch_size = positive_int("batch_size", batch_size)
    dim = positive_int("dim", dim)
    generator = None if seed is None else torch.Generator().manual_seed(seed)
    return _uniform_noise(batch_size, dim, generator)


# ----------------------------------------------------------------------------- shape modules

class Flatten(nn.Module):
    """
    Flatten a batch of images, (N, C, H, W) -> (N, C * H * W), checking that it is a batch of
    images of the expected shape (N, C, H, W), or already flat (N, C * H * W).
    """

    def __init__(self, image_shape=IMAGE_SHAPE):
        super().__init__()
        self.image_shape = tuple(image_shape)
        self.size = math.prod(self.image_shape)

    def forward(self, x):
        if tuple(x.shape[1:]) not in (self.image_shape, (self.size,)) or x.shape[0] < 1:
            sizes = ", ".join(map(str, self.image_shape))
            raise ValueError(f"the input must be a batch of images of shape (N, {sizes}) or (N, {self.size}), "
                             f"got {tuple(x.shape)}")
        return x.reshape(x.shape[0], self.size)  # (N, C * H * W)


class Unflatten(nn.Module):
    """
    An Unflatten module receives an input of shape (N, C*H*W) and reshapes it to produce an
    output of shape (N, C, H, W) (an input already of that shape passes through). N = -1
    accepts any batch size; a positive N only that one.
    """

    def __init__(self, N=-1, C=128, H=7, W=7):
        super().__init__()
        self.N, self.C, self.H, self.W = N, C, H, W

    def forward(self, x):
        size = self.C * self.H * self.W
        if tuple(x.shape[1:]) not in ((size,), (self.C, self.H, self.W)) or (self.N != -1 and x.shape[0] != self.N):
            batch = "N" if self.N == -1 else str(self.N)
            raise ValueError(f"the input must have shape ({batch}, {size}) or ({batch}, {self.C}, {self.H}, "
                             f"{self.W}), got {tuple(x.shape)}")
        return x.reshape(x.shape[0], self.C, self.H, self.W)  # (N, C, H, W)


def _seeded(seed, build):
    """Build a model with its parameters drawn from `seed`, leaving the global random state alone."""
    if seed is None:
        return build()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


# ----------------------------------------------------------------------------- vanilla GAN

def discriminator(seed=None):
    """
    Build and return a PyTorch model implementing the discriminator:
    flatten - fully connected 784 -> 256 - LeakyReLU(0.01) - fully connected 256 -> 256 -
    LeakyReLU(0.01) - fully connected 256 -> 1. It has 267,009 parameters.

    Inputs:
    - seed: Seed of the initial parameters (None: PyTorch's global random state)

    Returns:
    - An nn.Sequential mapping images of shape (N, 1, 28, 28) or (N, 784) to logits (N, 1)
    """
    return _seeded(seed, lambda: nn.Sequential(
        Flatten(),
        nn.Linear(IMAGE_SIZE, 256), nn.LeakyReLU(0.01),
        nn.Linear(256, 256), nn.LeakyReLU(0.01),
        nn.Linear(256, 1),
    ))


def generator(noise_dim=NOISE_DIM, seed=None):
    """
    Build and return a PyTorch model implementing the generator:
    fully connected noise_dim -> 1024 - ReLU - fully connected 1024 -> 1024 - ReLU -
    fully connected 1024 -> 784 - tanh. With noise_dim = 4 it has 1,858,320 parameters.

    Inputs:
    - noise_dim: Dimension of the noise vectors, a positive integer
    - seed: Seed of the initial parameters (None: PyTorch's global random state)

    Returns:
    - An nn.Sequential mapping noise of shape (N, noise_dim) to images (N, 784) in [-1, 1]
    """
    noise_dim = positive_int("noise_dim", noise_dim)
    return _seeded(seed, lambda: nn.Sequential(
        nn.Linear(noise_dim, 1024), nn.ReLU(),
        nn.Linear(1024, 1024), nn.ReLU(),
        nn.Linear(1024, IMAGE_SIZE), nn.Tanh(),
    ))


# ----------------------------------------------------------------------------- losses

def _check_scores(name, scores):
    """Scores of a discriminator: a float tensor of shape (N,) or (N, 1), N >= 1."""
    if not torch.is_tensor(scores):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(scores).__name__}")
    if not scores.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor, got dtype {scores.dtype}")
    if scores.ndim not in (1, 2) or (scores.ndim == 2 and scores.shape[1] != 1) or scores.shape[0] < 1:
        raise ValueError(f"{name} must have shape (N,) or (N, 1), one score per image, got {tuple(scores.shape)}")


def bce_loss(input, target):
    """
    Numerically stable version of the binary cross-entropy loss function in PyTorch:
    the mean over elements of -[t log sigmoid(s) + (1 - t) log(1 - sigmoid(s))].

    Inputs:
    - input: PyTorch Tensor of shape (N,) (or (N, 1)) giving scores (logits).
    - target: PyTorch Tensor of the same shape containing 0 and 1 giving targets.

    Returns:
    - A PyTorch Tensor containing the mean BCE loss over the minibatch of input data.
    """
    for name, value in (("input", input), ("target", target)):
        if not torch.is_tensor(value):
            raise ValueError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if input.shape != target.shape:
        # Broadcasting (N, 1) against (N,) would silently average an (N, N) matrix of losses.
        raise ValueError(f"input and target must have the same shape, got input {tuple(input.shape)} "
                         f"and target {tuple(target.shape)}")
    return F.binary_cross_entropy_with_logits(input, target.to(input.dtype))


def discriminator_loss(logits_real, logits_fake):
    """
    Computes the discriminator loss: the binary cross-entropy of classifying real images as
    real (target 1) plus that of classifying fake images as fake (target 0).

    Inputs:
    - logits_real: PyTorch Tensor of shape (N,) or (N, 1) giving scores for the real data.
    - logits_fake: PyTorch Tensor of shape (N,) or (N, 1) giving scores for the fake data.

    Returns:
    - loss: PyTorch Tensor containing (scalar) the loss for the discriminator.
    """
    _check_scores("logits_real", logits_real)
    _check_scores("logits_fake", logits_fake)
    return bce_loss(logits_real, torch.ones_like(logits_real)) + bce_loss(logits_fake, torch.zeros_like(logits_fake))


def generator_loss(logits_fake):
    """
    Computes the generator loss: the binary cross-entropy of the discriminator classifying
    the fake images as real (target 1), i.e. -mean(log D(G(z))).

    Inputs:
    - logits_fake: PyTorch Tensor of shape (N,) or (N, 1) giving scores for the fake data.

    Returns:
    - loss: PyTorch Tensor containing the (scalar) loss for the generator.
    """
    _check_scores("logits_fake", logits_fake)
    return bce_loss(logits_fake, torch.ones_like(logits_fake))


def get_optimizer(model, lr=1e-3, betas=(0.5, 0.999)):
    """
    Construct and return an Adam optimizer for the model with learning rate 1e-3,
    beta1=0.5, and beta2=0.999.

    Inputs:
    - model: A PyTorch model that we want to optimize.
    - lr, betas: The learning rate and Adam's betas (CS231n's values by default)

    Returns:
    - An Adam optimizer for the model with the desired hyperparameters.
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be an nn.Module, got {type(model).__name__}")
    return torch.optim.Adam(model.parameters(), lr=positive_number("lr", lr), betas=betas)


def ls_discriminator_loss(scores_real, scores_fake):
    """
    Compute the Least-Squares GAN loss for the discriminator:
    0.5 * mean((D(x) - 1)^2) + 0.5 * mean(D(G(z))^2).

    Inputs:
    - scores_real: PyTorch Tensor of shape (N,) or (N, 1) giving scores for the real data.
    - scores_fake: PyTorch Tensor of shape (N,) or (N, 1) giving scores for the fake data.

    Outputs:
    - loss: A PyTorch Tensor containing the loss.
    """
    _check_scores("scores_real", scores_real)
    _check_scores("scores_fake", scores_fake)
    return 0.5 * ((scores_real - 1) ** 2).mean() + 0.5 * (scores_fake ** 2).mean()


def ls_generator_loss(scores_fake):
    """
    Computes the Least-Squares GAN loss for the generator: 0.5 * mean((D(G(z)) - 1)^2).

    Inputs:
    - scores_fake: PyTorch Tensor of shape (N,) or (N, 1) giving scores for the fake data.

    Outputs:
    - loss: A PyTorch Tensor containing the loss.
    """
    _check_scores("scores_fake", scores_fake)
    return 0.5 * ((scores_fake - 1) ** 2).mean()


# ----------------------------------------------------------------------------- deep convolutional GAN

def build_dc_classifier(batch_size=-1, seed=None):
    """
    Build and return a PyTorch model for the DCGAN discriminator (after the TensorFlow MNIST
    tutorial): reshape to (N, 1, 28, 28) - conv 32 5x5 stride 1 - LeakyReLU(0.01) - max pool
    2x2 stride 2 - conv 64 5x5 stride 1 - LeakyReLU(0.01) - max pool 2x2 stride 2 - flatten -
    fully connected 1024 -> 1024 - LeakyReLU(0.01) - fully connected 1024 -> 1.
    It has 1,102,721 parameters.

    Inputs:
    - batch_size: The batch size the model accepts (CS231n fixes it in its Unflatten layer);
      -1 accepts any
    - seed: Seed of the initial parameters (None: PyTorch's global random state)

    Returns:
    - An nn.Sequential mapping images of shape (N, 1, 28, 28) or (N, 784) to logits (N, 1)
    """
    if batch_size != -1:
        batch_size = positive_int("batch_size", batch_size)
    return _seeded(seed, lambda: nn.Sequential(
        Unflatten(batch_size, *IMAGE_SHAPE),
        nn.Conv2d(1, 32, kernel_size=5), nn.LeakyReLU(0.01), nn.MaxPool2d(2, 2),  # (N, 32, 12, 12)
        nn.Conv2d(32, 64, kernel_size=5), nn.LeakyReLU(0.01), nn.MaxPool2d(2, 2),  # (N, 64, 4, 4)
        nn.Flatten(),  # (N, 1024)
        nn.Linear(4 * 4 * 64, 4 * 4 * 64), nn.LeakyReLU(0.01),
        nn.Linear(4 * 4 * 64, 1),
    ))


def build_dc_generator(noise_dim=NOISE_DIM, seed=None):
    """
    Build and return a PyTorch model implementing the DCGAN generator (after InfoGAN):
    fully connected noise_dim -> 1024 - ReLU - batch norm - fully connected 1024 -> 7*7*128 -
    ReLU - batch norm - reshape to (N, 128, 7, 7) - transposed conv 64 4x4 stride 2 padding 1 -
    ReLU - batch norm - transposed conv 1 4x4 stride 2 padding 1 - tanh - flatten.
    With noise_dim = 4 it has 6,580,801 parameters.

    Inputs:
    - noise_dim: Dimension of the noise vectors, a positive integer
    - seed: Seed of the initial parameters (None: PyTorch's global random state)

    Returns:
    - An nn.Sequential mapping noise of shape (N, noise_dim) to images (N, 784) in [-1, 1]
    """
    noise_dim = positive_int("noise_dim", noise_dim)
    return _seeded(seed, lambda: nn.Sequential(
        nn.Linear(noise_dim, 1024), nn.ReLU(), nn.BatchNorm1d(1024),
        nn.Linear(1024, 7 * 7 * 128), nn.ReLU(), nn.BatchNorm1d(7 * 7 * 128),
        Unflatten(-1, 128, 7, 7),  # (N, 128, 7, 7)
        nn.ConvTranspose2d(128, 64, kernel_size=4, stride=2, padding=1), nn.ReLU(), nn.BatchNorm2d(64),  # 14x14
        nn.ConvTranspose2d(64, 1, kernel_size=4, stride=2, padding=1), nn.Tanh(),  # (N, 1, 28, 28)
        nn.Flatten(),  # (N, 784)
    ))


def initialize_weights(m):
    """Xavier-uniform initialization of the weights of fully connected and transposed
    convolution layers (CS231n applies it to the DC networks: `model.apply(initialize_weights)`)."""
    if isinstance(m, (nn.Linear, nn.ConvTranspose2d)):
        nn.init.xavier_uniform_(m.weight.data)


def count_params(model):
    """Count the number of parameters in the model."""
    return sum(p.numel() for p in model.parameters())


# ----------------------------------------------------------------------------- training

def run_a_gan(D, G, D_solver, G_solver, discriminator_loss, generator_loss, loader_train, show_every=250,
              batch_size=128, noise_size=NOISE_DIM, num_epochs=10, num_iterations=None, seed=None, show=True,
              progress=True):
    """
    Train a GAN: each iteration takes one step of the discriminator on a batch of real images
    and a batch of fakes, then one step of the generator on a new batch of fakes.

    Inputs:
    - D, G: PyTorch models for the discriminator and generator
    - D_solver, G_solver: torch.optim Optimizers to use for training the
      discriminator and generator.
    - discriminator_loss, generator_loss: Functions to use for computing the discriminator
      and generator loss, respectively.
    - loader_train: Iterable of (x, y) minibatches (or of x alone) of real images in [-1, 1],
      x of shape (batch_size, 1, 28, 28) (mnist_loader); batches of another size are skipped
    - show_every: Record (and show) the generated images every show_every iterations.
    - batch_size: Batch size to use for training.
    - noise_size: Dimension of the noise to use as input to the generator.
    - num_epochs: Number of epochs over the training dataset to use for training.
    - num_iterations: Stop after this many iterations in all (None: run all the epochs)
    - seed: Seed of the noise (None: PyTorch's global random state); the order of the real
      images is the loader's
    - show: Plot the 16 recorded images with show_images each time they are recorded
    - progress: Show a tqdm bar with the current losses

    Returns a dict with:
    - d_loss, g_loss: Lists of the discriminator and generator loss of every iteration
    - images: List of arrays of shape (16, 784), the first 16 fakes of the generator's batch
      every show_every iterations and after the last iteration
    - image_iterations: The iteration of each entry of images
    """
    show_every = positive_int("show_every", show_every)
    batch_size = positive_int("batch_size", batch_size)
    noise_size = positive_int("noise_size", noise_size)
    num_epochs = positive_int("num_epochs", num_epochs)
    if num_iterations is not None:
        num_iterations = positive_int("num_iterations", num_iterations)
    for name, model in (("D", D), ("G", G)):
        if not isinstance(model, nn.Module):
            raise ValueError(f"{name} must be an nn.Module, got {type(model).__name__}")
    device = next(G.parameters()).device
    noise_rng = None if seed is None else torch.Generator().manual_seed(seed)
    total = len(loader_train) * num_epochs if hasattr(loader_train, "__len__") else None
    if num_iterations is not None:
        total = num_iterations if total is None else min(total, num_iterations)
    history = {"d_loss": [], "g_loss": [], "images": [], "image_iterations": []}
    D.train()
    G.train()
    bar = tqdm(total=total, desc="training the GAN", unit="it", disable=not progress)
    iter_count = 0
    fake_images = None
    try:
        for _ in range(num_epochs):
            for batch in loader_train:
                x = batch[0] if isinstance(batch, (tuple, list)) else batch  # (x, y) pairs, or images alone
                if num_iterations is not None and iter_count >= num_iterations:
                    break
                if len(x) != batch_size:
                    continue
                if iter_count == 0 and (x.min() < -1.001 or x.max() > 1.001):
                    raise ValueError(f"loader_train must yield real images in [-1, 1] (the range of the "
                                     f"generator's tanh), got values in [{x.min():.3g}, {x.max():.3g}]")
                real_data = x.to(device)

                D_solver.zero_grad()
                logits_real = D(real_data)
                g_fake_seed = _uniform_noise(batch_size, noise_size, noise_rng, device)
                fake_images = G(g_fake_seed).detach()  # no gradient into G on D's step
                logits_fake = D(fake_images.view(batch_size, *IMAGE_SHAPE))
                d_total_error = discriminator_loss(logits_real, logits_fake)
                d_total_error.backward()
                D_solver.step()

                G_solver.zero_grad()
                g_fake_seed = _uniform_noise(batch_size, noise_size, noise_rng, device)
                fake_images = G(g_fake_seed)
                gen_logits_fake = D(fake_images.view(batch_size, *IMAGE_SHAPE))
                g_error = generator_loss(gen_logits_fake)
                g_error.backward()
                G_solver.step()

                history["d_loss"].append(d_total_error.item())
                history["g_loss"].append(g_error.item())
                bar.update()
                bar.set_postfix(D=f"{d_total_error.item():.3f}", G=f"{g_error.item():.3f}", refresh=False)
                if iter_count % show_every == 0:
                    _record(history, iter_count, fake_images, show)
                iter_count += 1
            if num_iterations is not None and iter_count >= num_iterations:
                break
    finally:
        bar.close()
    if iter_count == 0:
        raise ValueError(f"loader_train yielded no batch of batch_size = {batch_size} images")
    if history["image_iterations"][-1] != iter_count - 1:
        _record(history, iter_count - 1, fake_images, show)
    return history


def _record(history, iteration, fake_images, show):
    images = fake_images[:16].detach().cpu().reshape(-1, IMAGE_SIZE).numpy()  # (16, 784)
    history["images"].append(images)
    history["image_iterations"].append(iteration)
    if show:
        print(f"Iter: {iteration}, D: {history['d_loss'][-1]:.4}, G: {history['g_loss'][-1]:.4}")
        figure = show_images(images)
        plt.show()
        plt.close(figure)


def sample_generator(G, num_samples, noise_dim=NOISE_DIM, seed=0, batch_size=500):
    """
    Draw images from a trained generator, in evaluation mode (batch norm uses its running
    statistics) and without gradients.

    Inputs:
    - G: The generator, mapping (N, noise_dim) noise to (N, 784) images
    - num_samples: How many images
    - noise_dim: Dimension of the noise
    - seed: Seed of the noise (the same seed gives the same images)
    - batch_size: Images generated per forward pass

    Returns:
    - A float32 tensor of shape (num_samples, 1, 28, 28) in [-1, 1], on the CPU
    """
    num_samples = positive_int("num_samples", num_samples)
    batch_size = positive_int("batch_size", batch_size)
    noise = sample_noise(num_samples, noise_dim, seed=seed)  # (num_samples, noise_dim)
    return generate(G, noise, batch_size)


def generate(G, noise, batch_size=500):
    """
    The generator's images for given noise vectors, in evaluation mode, without gradients.

    Inputs:
    - G: The generator
    - noise: Tensor of shape (N, noise_dim)
    - batch_size: Images generated per forward pass

    Returns:
    - A float32 tensor of shape (N, 1, 28, 28), on the CPU
    """
    if not torch.is_tensor(noise) or noise.ndim != 2:
        raise ValueError(f"noise must be a tensor of shape (N, noise_dim), got {shape_of(noise)}")
    device = next(G.parameters()).device
    was_training = G.training
    G.eval()
    try:
        with torch.no_grad():
            images = [G(chunk.to(device)).cpu() for chunk in noise.split(positive_int("batch_size", batch_size))]
    finally:
        G.train(was_training)
    return torch.cat(images).reshape(-1, *IMAGE_SHAPE)  # (N, 1, 28, 28)


def interpolate_noise(z_start, z_end, num_steps=10):
    """
    Points on the straight line between two noise vectors, ends included.

    Inputs:
    - z_start, z_end: Tensors of shape (noise_dim,)
    - num_steps: Number of points, at least 2

    Returns:
    - A tensor of shape (num_steps, noise_dim); row i is z_start + i / (num_steps - 1) * (z_end - z_start)
    """
    num_steps = positive_int("num_steps", num_steps)
    if num_steps < 2:
        raise ValueError(f"num_steps must be at least 2 (the two ends), got {num_steps}")
    if not (torch.is_tensor(z_start) and torch.is_tensor(z_end)) or z_start.ndim != 1 or z_start.shape != z_end.shape:
        raise ValueError(f"z_start and z_end must be tensors of the same shape (noise_dim,), got "
                         f"{shape_of(z_start)} and {shape_of(z_end)}")
    weights = torch.linspace(0, 1, num_steps, dtype=z_start.dtype).unsqueeze(1)  # (num_steps, 1)
    return torch.lerp(z_start.unsqueeze(0), z_end.unsqueeze(0), weights)  # (num_steps, noise_dim)


# ----------------------------------------------------------------------------- pictures

def show_images(images, title=None):
    """
    Show a batch of digits in a square grid, gray levels -1 (black) to 1 (white).

    Inputs:
    - images: Array or tensor of shape (N, 784) or (N, 1, 28, 28), values in [-1, 1]
    - title: Optional title of the figure

    Returns:
    - The matplotlib Figure
    """
    images = images.detach().cpu().numpy() if torch.is_tensor(images) else np.asarray(images)
    if images.ndim < 2 or math.prod(images.shape[1:]) != IMAGE_SIZE:
        raise ValueError(f"images must have shape (N, 784) or (N, 1, 28, 28), got {images.shape}")
    images = images.reshape(-1, 28, 28)  # (N, 28, 28)
    side = math.ceil(math.sqrt(len(images)))
    fig, axes = plt.subplots(side, side, figsize=(side, side), squeeze=False,
                             gridspec_kw={"wspace": 0.05, "hspace": 0.05})
    for ax in axes.ravel():
        ax.axis("off")
    for ax, img in zip(axes.ravel(), images, strict=False):
        ax.imshow(img, cmap="gray", vmin=-1, vmax=1)
    if title:
        fig.suptitle(title)
    return fig


def show_training_grids(history, num_snapshots=6, num_images=8, title=None):
    """
    One row of generated digits per recorded iteration, to watch a GAN learn.

    Inputs:
    - history: The dict returned by run_a_gan
    - num_snapshots: Show at most this many recorded iterations, evenly spaced, the last included
    - num_images: Digits per row (at most 16)
    - title: Optional title of the figure

    Returns:
    - The matplotlib Figure
    """
    num_snapshots = positive_int("num_snapshots", num_snapshots)
    num_images = positive_int("num_images", num_images)
    recorded = len(history["images"])
    picks = sorted({round(i) for i in np.linspace(0, recorded - 1, min(num_snapshots, recorded))})
    fig, axes = plt.subplots(len(picks), num_images, figsize=(num_images * 0.8, len(picks) * 0.85),
                             squeeze=False, gridspec_kw={"wspace": 0.05, "hspace": 0.1})
    for row, index in zip(axes, picks, strict=True):
        for ax, img in zip(row, history["images"][index][:num_images], strict=False):
            ax.imshow(img.reshape(28, 28), cmap="gray", vmin=-1, vmax=1)
        for ax in row:
            ax.set_xticks([])
            ax.set_yticks([])
        row[0].set_ylabel(f"{history['image_iterations'][index]}", rotation=0, ha="right", va="center")
    fig.supylabel("iteration")
    if title:
        fig.suptitle(title)
    return fig


def plot_gan_losses(histories, smooth=25):
    """
    The discriminator and generator losses of one or more runs, side by side.

    Inputs:
    - histories: Dict of name -> history returned by run_a_gan
    - smooth: Width of the moving average drawn over each curve (1: none)

    Returns:
    - The matplotlib Figure
    """
    smooth = positive_int("smooth", smooth)
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
    for ax, key, label in zip(axes, ("d_loss", "g_loss"), ("discriminator loss", "generator loss"), strict=True):
        for name, history in histories.items():
            values = np.asarray(history[key])
            width = min(smooth, len(values))
            curve = np.convolve(values, np.ones(width) / width, mode="valid")
            ax.plot(np.arange(width - 1, len(values)), curve, label=name)
        ax.set_xlabel("iteration")
        ax.set_title(label)
        ax.legend()
    fig.tight_layout()
    return fig
