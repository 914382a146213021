"""Numbers for generated digits, because pictures alone cannot compare GANs.

Both scores use a small MNIST classifier trained by the course (`tools/train_mnist_classifier.py`,
checkpoint bundled in helpers/data/checkpoints/, sha256-verified):

- Fréchet distance (FID with this classifier instead of Inception): fit a Gaussian to the
  classifier's penultimate-layer features (128 numbers per digit) of the real digits and one to
  those of the generated digits, and measure ||mu_r - mu_g||^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2)).
  0 means the two feature distributions have the same mean and covariance; lower is better. The
  value depends on the feature extractor and on the numbers of samples (a finite sample of real
  digits is not at 0 from another), so compare models only at the same settings, and read it
  against the real-vs-real baseline (`real_frechet_baseline`: real training digits drawn at random
  against the real test digits, the FID a perfect generator would get at that sample size). It is
  computed by torchmetrics' FrechetInceptionDistance with this classifier as its feature extractor.
- Mode coverage: the share of each digit, as the classifier reads them, among generated samples.
  A generator that covers every digit gives shares near 0.1; mode collapse shows as some shares
  near 0 (and others well above 0.1).
"""

import numpy as np
import torch
import torch.nn as nn
from torchmetrics.image.fid import FrechetInceptionDistance

from helpers._checks import positive_int, shape_of
from helpers.data.bundled import load_bundled_state_dict

CHECKPOINT_NAME = "mnist_classifier"
NUM_CLASSES = 10
NUM_SCORE_SAMPLES = 1000  # generated digits scored per model: compare FIDs only at the same count


class MNISTClassifier(nn.Module):
    """
    The scoring classifier: a small CNN for digits in [-1, 1].

    conv 16 3x3 - batch norm - ReLU - max pool 2      28x28 -> 14x14
    conv 32 3x3 - batch norm - ReLU - max pool 2      14x14 -> 7x7
    flatten - fully connected 1568 -> 128 - ReLU      the 128 features
    fully connected 128 -> 10                         the class scores

    features(x): x of shape (N, 1, 28, 28) or (N, 784) -> (N, 128), the penultimate layer
    forward(x): -> class scores of shape (N, 10)
    """

    num_features = 128

    def __init__(self):
        super().__init__()

        def block(c_in, c_out):
            return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
                    nn.MaxPool2d(2)]

        self.body = nn.Sequential(
            *block(1, 16), *block(16, 32), nn.Flatten(),  # (N, 32 * 7 * 7)
            nn.Linear(32 * 7 * 7, self.num_features), nn.ReLU(inplace=True),
        )
        self.classifier = nn.Linear(self.num_features, NUM_CLASSES)

    def features(self, x):
        if x.ndim < 2 or x.shape[0] < 1 or tuple(x.shape[1:]) not in ((1, 28, 28), (784,)):
            raise ValueError(f"the classifier takes digits of shape (N, 1, 28, 28) or (N, 784) in [-1, 1], "
                             f"got {tuple(x.shape)}")
        return self.body(x.reshape(-1, 1, 28, 28))  # (N, 128)

    def forward(self, x):
        return self.classifier(self.features(x))


class ClassifierFeatures(nn.Module):
    """The classifier's penultimate layer as a feature extractor for torchmetrics' FID: always in
    evaluation mode (the metric must not update batch-norm statistics), without gradients."""

    def __init__(self, classifier):
        super().__init__()
        self.classifier = classifier
        self.num_features = classifier.num_features
        self.train(False)

    def train(self, mode=True):
        return super().train(False)

    def forward(self, x):
        with torch.no_grad():
            return self.classifier.features(x.float())


def load_mnist_classifier(device="cpu"):
    """
    The bundled scoring classifier (its checkpoint checked against its sha256), in evaluation mode.

    Inputs:
    - device: Where to put it

    Returns:
    - An MNISTClassifier
    """
    model = MNISTClassifier()
    model.load_state_dict(load_bundled_state_dict(CHECKPOINT_NAME))
    return model.to(device).eval()


def _check_images(name, images):
    if not torch.is_tensor(images) or images.ndim < 2 or tuple(images.shape[1:]) not in ((1, 28, 28), (784,)):
        raise ValueError(f"{name} must be a tensor of digits of shape (N, 1, 28, 28) or (N, 784), "
                         f"got {shape_of(images)}")


def _batches(images, batch_size, device):
    for chunk in images.split(positive_int("batch_size", batch_size)):
        yield chunk.to(device, torch.float32)


def predict_digits(images, classifier=None, batch_size=500):
    """
    The digit the scoring classifier reads in each image.

    Inputs:
    - images: Tensor of shape (N, 1, 28, 28) or (N, 784), values in [-1, 1]
    - classifier: An MNISTClassifier (None: the bundled one)
    - batch_size: Images per forward pass

    Returns:
    - An int64 tensor of shape (N,) with values 0..9
    """
    _check_images("images", images)
    classifier = load_mnist_classifier() if classifier is None else classifier
    device = next(classifier.parameters()).device
    was_training = classifier.training
    classifier.eval()
    try:
        with torch.no_grad():
            return torch.cat([classifier(x).argmax(dim=1).cpu() for x in _batches(images, batch_size, device)])
    finally:
        classifier.train(was_training)


def classifier_accuracy(images, labels, classifier=None, batch_size=500):
    """
    Accuracy of the scoring classifier on labelled digits (e.g. the MNIST test set).

    Inputs:
    - images: Tensor of shape (N, 1, 28, 28) or (N, 784), values in [-1, 1]
    - labels: Tensor of shape (N,) with the true digits
    - classifier: An MNISTClassifier (None: the bundled one)
    - batch_size: Images per forward pass

    Returns:
    - The fraction of digits classified correctly, a float
    """
    _check_images("images", images)
    if not torch.is_tensor(labels) or tuple(labels.shape) != (images.shape[0],):
        raise ValueError(f"labels must be a tensor of shape ({images.shape[0]},), one per image, "
                         f"got {shape_of(labels)}")
    predictions = predict_digits(images, classifier, batch_size)
    return (predictions == labels.cpu()).double().mean().item()


def mode_coverage(images, classifier=None, batch_size=500):
    """
    The share of each digit among images, as the scoring classifier reads them.

    Inputs:
    - images: Tensor of shape (N, 1, 28, 28) or (N, 784), e.g. samples of a generator
    - classifier: A model mapping images to scores of shape (N, 10) (None: the bundled one)
    - batch_size: Images per forward pass

    Returns:
    - coverage: Array of shape (10,) summing to 1; coverage[k] is the fraction of images read
      as digit k. Even coverage is 0.1 each; a digit the generator never draws is 0.
    """
    predictions = predict_digits(images, classifier, batch_size)
    return np.bincount(predictions.numpy(), minlength=NUM_CLASSES) / len(predictions)


def frechet_distance(fake_images, real_images, classifier=None, batch_size=500):
    """
    Fréchet distance between the scoring classifier's penultimate-layer features of two sets
    of digits (FID with this classifier as the feature extractor; torchmetrics computes it).

    Inputs:
    - fake_images: Tensor of shape (N, 1, 28, 28) or (N, 784), values in [-1, 1], N >= 2
    - real_images: Tensor of shape (M, 1, 28, 28) or (M, 784), M >= 2
    - classifier: An MNISTClassifier (None: the bundled one)
    - batch_size: Images per forward pass

    Returns:
    - The distance, a float >= 0 (up to rounding); 0 for two sets with equal feature means
      and covariances
    """
    _check_images("fake_images", fake_images)
    _check_images("real_images", real_images)
    for name, images in (("fake_images", fake_images), ("real_images", real_images)):
        if images.shape[0] < 2:
            raise ValueError(f"{name} must hold at least 2 images to estimate a covariance, got {images.shape[0]}")
    classifier = load_mnist_classifier() if classifier is None else classifier
    device = next(classifier.parameters()).device
    was_training = classifier.training
    metric = FrechetInceptionDistance(feature=ClassifierFeatures(classifier), normalize=False).to(device)
    try:
        for images, real in ((real_images, True), (fake_images, False)):
            for x in _batches(images, batch_size, device):
                metric.update(x, real=real)
        return float(metric.compute())
    finally:
        classifier.train(was_training)


def real_frechet_baseline(real_train, real_test, num_samples=NUM_SCORE_SAMPLES, seed=0, classifier=None):
    """
    The Fréchet distance a perfect generator would get: num_samples real digits drawn at random
    from one set against another set of real digits. Finite samples keep it above 0; a GAN's FID
    measured with the same num_samples is read against it.

    Inputs:
    - real_train: Tensor of shape (N, 1, 28, 28) of real digits to draw from (e.g. X_train)
    - real_test: Tensor of shape (M, 1, 28, 28), the reference set the GANs are scored against
    - num_samples: How many digits to draw, at most N
    - seed: Seed of the draw
    - classifier: An MNISTClassifier (None: the bundled one)

    Returns:
    - The distance, a float
    """
    _check_images("real_train", real_train)
    num_samples = positive_int("num_samples", num_samples)
    if num_samples > len(real_train):
        raise ValueError(f"num_samples = {num_samples} exceeds the {len(real_train)} digits of real_train")
    rows = torch.randperm(len(real_train), generator=torch.Generator().manual_seed(seed))[:num_samples]
    return frechet_distance(real_train[rows], real_test, classifier)
