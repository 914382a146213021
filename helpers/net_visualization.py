"""Looking inside a trained network (lecture 12): what its filters and features respond to, which
pixels its decisions depend on, and images optimized to drive it.

CS231n's exercises: `compute_saliency_maps`, `make_fooling_image`, `class_visualization_update_step`
(with `create_class_visualization` running it with jitter and blur). Around them, the rest of the
lecture: first-layer filters, nearest neighbours and t-SNE in feature space, maximally activating
patches, occlusion sensitivity, feature inversion and DeepDream.

Models are classifiers whose convolutional part is `model.features`, an nn.Sequential (SqueezeNet,
the course's CIFAR-10 ResNet9); "layer i" means `model.features[i]`. Images enter as normalized
float tensors (N, 3, H, W) (see helpers.image_utils.preprocess); parameters are never updated.
"""

import numbers
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.manifold import TSNE
from torchvision.models.squeezenet import Fire

from helpers._checks import non_negative_int, non_negative_number, positive_int, positive_number
from helpers.image_utils import SQUEEZENET_MEAN, SQUEEZENET_STD, blur_image, jitter, unnormalize
from helpers.pytorch.open_ended import Residual
from helpers.style_transfer import tv_loss
from helpers.vis_utils import visualize_grid

# ----------------------------------------------------------------------------- input checks


def _check_images(name, X, batch=None):
    """X must be a float tensor of shape (N, 3, H, W) (N == batch when given)."""
    if not isinstance(X, torch.Tensor):
        raise ValueError(f"{name} must be a torch tensor of shape (N, 3, H, W) (see image_utils.preprocess), "
                         f"got {type(X).__name__}")
    if not X.is_floating_point():
        raise ValueError(f"{name} must be a float tensor of normalized images, got dtype {X.dtype}")
    layout = "(N, 3, H, W)" if batch is None else f"({batch}, 3, H, W)"
    if X.ndim != 4 or X.shape[1] != 3 or (batch is not None and X.shape[0] != batch):
        raise ValueError(f"{name} must have shape {layout}, got {tuple(X.shape)}")


def num_classes_of(model):
    """Number of classes a classifier scores: its num_classes attribute, else the size of its last
    linear layer (or the channels of its last convolution)."""
    if isinstance(getattr(model, "num_classes", None), int):
        return model.num_classes
    for module in reversed(list(model.modules())):
        if isinstance(module, nn.Linear):
            return module.out_features
        if isinstance(module, nn.Conv2d):
            return module.out_channels
    raise ValueError(f"cannot tell how many classes {type(model).__name__} scores")


def _check_class(name, value, num_classes):
    """A class index (int) in 0..num_classes-1."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 0 <= value < num_classes:
        raise ValueError(f"{name} must be a class index in 0..{num_classes - 1}, got {value!r}")
    return int(value)


def _check_labels(name, y, num_classes, n):
    """Labels as an int64 tensor of shape (n,) with values in 0..num_classes-1."""
    y = torch.as_tensor(y)
    if y.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), one class per image, got {tuple(y.shape)}")
    if y.is_floating_point() or y.dtype == torch.bool:
        raise ValueError(f"{name} must hold integer class indices, got dtype {y.dtype}")
    if n and (int(y.min()) < 0 or int(y.max()) >= num_classes):
        raise ValueError(f"{name} must hold class indices in 0..{num_classes - 1}, got values in "
                         f"{int(y.min())}..{int(y.max())}")
    return y.long()


def check_layer(model, layer):
    """`layer` as an int, or a ValueError unless it indexes model.features."""
    features = getattr(model, "features", None)
    if not isinstance(features, nn.Sequential):
        raise ValueError(f"model must keep its convolutional layers in model.features (an nn.Sequential), "
                         f"got {type(model).__name__}")
    if isinstance(layer, bool) or not isinstance(layer, numbers.Integral) or not 0 <= layer < len(features):
        raise ValueError(f"layer must be an index of model.features in 0..{len(features) - 1}, got {layer!r}")
    return int(layer)


def _valid_range(mean, std):
    """Per-channel bounds (3,) of normalized pixels whose values lie in [0, 1]."""
    mean, std = np.asarray(mean, dtype=np.float32), np.asarray(std, dtype=np.float32)
    return torch.from_numpy(-mean / std).view(1, 3, 1, 1), torch.from_numpy((1 - mean) / std).view(1, 3, 1, 1)


def _clamp_(img, low, high):
    img.data.copy_(torch.maximum(torch.minimum(img.data, high), low))


# ----------------------------------------------------------------------------- predictions


def predict_scores(X, model, batch_size=50):
    """
    Class scores of a batch of images, computed in chunks without gradients.

    Inputs:
    - X: Normalized images, tensor of shape (N, 3, H, W)
    - model: The classifier
    - batch_size: Images per forward pass

    Returns:
    - scores: Array of shape (N, C)
    """
    _check_images("X", X)
    batch_size = positive_int("batch_size", batch_size)
    with torch.no_grad():
        return torch.cat([model(X[i:i + batch_size]) for i in range(0, X.shape[0], batch_size)]).float().numpy()


def topk_accuracy(scores, y, k=1):
    """
    Fraction of images whose label is among the k highest scores.

    Inputs:
    - scores: Array of shape (N, C)
    - y: Labels of shape (N,)
    - k: How many of the top classes count

    Returns:
    - The accuracy, a float in [0, 1]
    """
    scores, y = np.asarray(scores), np.asarray(y)
    if scores.ndim != 2 or y.shape != (scores.shape[0],):
        raise ValueError(f"scores must have shape (N, C) and y (N,), got {scores.shape} and {y.shape}")
    k = positive_int("k", k)
    top = np.argsort(-scores, axis=1)[:, :k]  # (N, k)
    return float(np.mean(np.any(top == y[:, None], axis=1)))


# ----------------------------------------------------------------------------- saliency maps


def compute_saliency_maps(X, y, model):
    """
    Compute a class saliency map using the model for images X and labels y.

    Input:
    - X: Input images; Tensor of shape (N, 3, H, W)
    - y: Labels for X; LongTensor of shape (N,)
    - model: A pretrained CNN that will be used to compute the saliency map.

    Returns:
    - saliency: A Tensor of shape (N, H, W) giving the saliency maps for the input
    images: the largest absolute value, over the three colour channels, of the gradient of
    the correct class score with respect to each pixel.
    """
    _check_images("X", X)
    model.eval()
    X = X.detach().clone().requires_grad_()
    scores = model(X)  # (N, C)
    y = _check_labels("y", y, scores.shape[1], X.shape[0])
    correct_scores = scores.gather(1, y.view(-1, 1)).squeeze(1)  # (N,)
    # The images do not interact, so the gradient of the sum is each image's own gradient.
    correct_scores.sum().backward()
    saliency = X.grad.abs().amax(dim=1)  # (N, H, W)
    return saliency


# ----------------------------------------------------------------------------- fooling images


def make_fooling_image(X, target_y, model):
    """
    Generate a fooling image that is close to X, but that the model classifies
    as target_y.

    Inputs:
    - X: Input image; Tensor of shape (1, 3, H, W)
    - target_y: An integer in the range [0, num_classes)
    - model: A pretrained CNN

    Returns:
    - X_fooling: An image that is close to X, but that is classified as target_y
    by the model: gradient ascent on the target class score, steps of L2 norm 1
    (learning rate 1 on the normalized gradient), at most 100 of them, stopping as soon
    as the model predicts target_y.
    """
    _check_images("X", X, batch=1)
    target_y = _check_class("target_y", target_y, num_classes_of(model))
    model.eval()
    X_fooling = X.detach().clone().requires_grad_()
    learning_rate = 1
    for _ in range(100):
        scores = model(X_fooling)  # (1, C)
        if scores.argmax(dim=1).item() == target_y:
            break
        scores[0, target_y].backward()
        with torch.no_grad():
            g = X_fooling.grad
            X_fooling += learning_rate * g / g.norm()
        X_fooling.grad.zero_()
    return X_fooling.detach()


def fooling_experiment(X, target_ys, model, make_fooling_image=make_fooling_image, mean=SQUEEZENET_MEAN,
                       std=SQUEEZENET_STD):
    """
    Make a fooling image for each image and measure how well it worked and how little it changed.

    Inputs:
    - X: Normalized images, tensor of shape (N, 3, H, W)
    - target_ys: Target class of each image, a sequence of N ints
    - model: The classifier
    - make_fooling_image: The function that makes one fooling image (yours, or the reference)
    - mean, std: The normalization of X, to measure the change in pixel values

    Returns a dict with:
    - X_fooling: Tensor of shape (N, 3, H, W)
    - predictions: Array (N,) of the model's class for each fooling image
    - success_rate: Fraction of images classified as their target
    - steps: Array (N,) of gradient steps each took (forward passes minus one)
    - mean_abs_change: Mean absolute change of the pixel values, on the 0..255 scale
    - max_abs_change: Largest absolute change of a pixel value, on the 0..255 scale
    - seconds: Time taken
    """
    _check_images("X", X)
    target_ys = [_check_class("target_ys[i]", t, num_classes_of(model)) for t in target_ys]
    if len(target_ys) != X.shape[0]:
        raise ValueError(f"target_ys must have one class per image ({X.shape[0]}), got {len(target_ys)}")
    calls = [0]
    handle = model.register_forward_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))
    start = time.perf_counter()
    fooled, steps = [], []
    try:
        for i, target in enumerate(target_ys):
            calls[0] = 0
            fooled.append(make_fooling_image(X[i:i + 1].clone(), target, model))
            steps.append(calls[0] - 1)
    finally:
        handle.remove()
    seconds = time.perf_counter() - start
    X_fooling = torch.cat(fooled)
    predictions = predict_scores(X_fooling, model).argmax(axis=1)
    change = 255.0 * (unnormalize(X_fooling, mean, std) - unnormalize(X, mean, std)).abs()
    return {"X_fooling": X_fooling, "predictions": predictions,
            "success_rate": float(np.mean(predictions == np.asarray(target_ys))), "steps": np.asarray(steps),
            "mean_abs_change": float(change.mean()), "max_abs_change": float(change.max()), "seconds": seconds}


# ----------------------------------------------------------------------------- class visualization


def class_visualization_update_step(img, model, target_y, l2_reg, learning_rate):
    """
    Perform one step of gradient ascent on the image, in place: on the score of class
    target_y minus l2_reg times the squared L2 norm of the image, with a step of size
    learning_rate along the normalized gradient.

    Inputs:
    - img: Tensor of shape (1, 3, H, W) with requires_grad=True, the image being generated
    - model: A pretrained CNN
    - target_y: Integer in the range [0, num_classes) giving the index of the class
    - l2_reg: Strength of L2 regularization on the image
    - learning_rate: How big of a step to take

    Returns:
    - Nothing; img is updated in place (and its gradient reset to zero)
    """
    _check_images("img", img, batch=1)
    scores = model(img)  # (1, C)
    target_y = _check_class("target_y", target_y, scores.shape[1])
    objective = scores[0, target_y] - l2_reg * torch.sum(img * img)
    objective.backward()
    with torch.no_grad():
        g = img.grad
        img += learning_rate * g / g.norm()
    img.grad.zero_()


def create_class_visualization(target_y, model, dtype=torch.float32, *, image_size=224, l2_reg=1e-3,
                               learning_rate=25, num_iterations=100, blur_every=10, blur_sigma=0.5, max_jitter=16,
                               mean=SQUEEZENET_MEAN, std=SQUEEZENET_STD, seed=0, update_step=None):
    """
    Generate an image that maximizes the score of target_y under a pretrained model: from
    random noise, repeat class_visualization_update_step on a randomly shifted (jittered)
    copy, keep the pixels in their valid range and blur the image now and then.

    Inputs:
    - target_y: Integer in the range [0, num_classes) giving the index of the class
    - model: A pretrained CNN that will be used to generate the image
    - dtype: Torch datatype to use for computations
    - image_size: Height and width of the image
    - l2_reg, learning_rate: Passed to the update step
    - num_iterations: How many iterations to use
    - blur_every: How often to blur the image as an implicit regularizer
    - blur_sigma: Standard deviation of that blur, in pixels
    - max_jitter: How much to jitter the image as an implicit regularizer
    - mean, std: The normalization the model expects (sets the valid range of pixels)
    - seed: Seed of the random start and of the jitter
    - update_step: Your class_visualization_update_step (None: the reference)

    Returns:
    - img: Tensor of shape (1, 3, image_size, image_size), normalized like the model's inputs
    """
    target_y = _check_class("target_y", target_y, num_classes_of(model))
    image_size = positive_int("image_size", image_size)
    num_iterations = positive_int("num_iterations", num_iterations)
    blur_every = positive_int("blur_every", blur_every)
    max_jitter = non_negative_int("max_jitter", max_jitter)
    update_step = update_step or class_visualization_update_step
    model.eval()
    model.type(dtype)
    generator = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    img = torch.randn(1, 3, image_size, image_size, generator=generator).type(dtype).requires_grad_()
    low, high = (bound.type(dtype) for bound in _valid_range(mean, std))
    for t in range(num_iterations):
        ox, oy = (int(v) for v in rng.integers(0, max_jitter + 1, size=2))
        img.data.copy_(jitter(img.data, ox, oy))
        update_step(img, model, target_y, l2_reg, learning_rate)
        img.data.copy_(jitter(img.data, -ox, -oy))
        _clamp_(img, low, high)
        if t % blur_every == 0:
            blur_image(img.data, sigma=blur_sigma)
    return img.detach()


def class_probability(img, model, target_y):
    """Softmax probability of class target_y for a single image img (1, 3, H, W)."""
    _check_images("img", img, batch=1)
    with torch.no_grad():
        probs = F.softmax(model(img).float(), dim=1)  # (1, C)
    return float(probs[0, _check_class("target_y", target_y, probs.shape[1])])


# ----------------------------------------------------------------------------- filters and features


def first_layer_filters(model):
    """
    The filters of the first convolution of the network.

    Returns:
    - weights: Array of shape (F, C, HH, WW)
    """
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            return module.weight.detach().float().numpy().copy()
    raise ValueError(f"{type(model).__name__} has no convolution")


def penultimate_features(X, model, batch_size=50, input_size=None):
    """
    The features the classifier reads: the output of model.features, averaged over space when
    it is still a map (SqueezeNet) and as it is when already pooled (ResNet9).

    Inputs:
    - X: Normalized images, tensor of shape (N, 3, H, W)
    - model: The classifier
    - batch_size: Images per forward pass
    - input_size: Resize each batch (bilinear) to input_size x input_size first, e.g. to feed
      32x32 CIFAR-10 images to a network trained on 224x224 ImageNet images; None keeps H x W

    Returns:
    - features: Array of shape (N, D)
    """
    _check_images("X", X)
    batch_size = positive_int("batch_size", batch_size)
    check_layer(model, 0)
    out = []
    with torch.no_grad():
        for i in range(0, X.shape[0], batch_size):
            x = X[i:i + batch_size]
            if input_size is not None and x.shape[2:] != (input_size, input_size):
                x = F.interpolate(x, size=(input_size, input_size), mode="bilinear", align_corners=False)
            f = model.features(x)
            out.append(f.mean(dim=(2, 3)) if f.ndim == 4 else f.reshape(f.shape[0], -1))  # (B, D)
    return torch.cat(out).float().numpy()


def nearest_neighbors(query, features, k=5, exclude_self=False):
    """
    The k nearest neighbours of each query in feature space, by cosine similarity.

    Inputs:
    - query: Array of shape (Q, D)
    - features: Array of shape (N, D), the database
    - k: Number of neighbours
    - exclude_self: The queries are the first Q rows of the database: skip each one's own row

    Returns:
    - idx: Array of shape (Q, k) of row indices into features, nearest first
    """
    query, features = np.asarray(query, dtype=np.float64), np.asarray(features, dtype=np.float64)
    if query.ndim != 2 or features.ndim != 2 or query.shape[1] != features.shape[1]:
        raise ValueError(f"query must have shape (Q, D) and features (N, D), got {query.shape} and {features.shape}")
    k = positive_int("k", k)
    if k > features.shape[0] - exclude_self:
        raise ValueError(f"k must be at most {features.shape[0] - exclude_self}, got {k}")
    q = query / np.maximum(np.linalg.norm(query, axis=1, keepdims=True), 1e-12)
    f = features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
    similarity = q @ f.T  # (Q, N)
    if exclude_self:
        similarity[np.arange(q.shape[0]), np.arange(q.shape[0])] = -np.inf
    return np.argsort(-similarity, axis=1, kind="stable")[:, :k]


def tsne_embedding(features, perplexity=30.0, seed=0):
    """
    Embed features in two dimensions with t-SNE (scikit-learn; PCA initialization).

    Inputs:
    - features: Array of shape (N, D)
    - perplexity: t-SNE's perplexity (capped below N / 3)
    - seed: Random seed

    Returns:
    - embedding: Array of shape (N, 2)
    """
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or features.shape[0] < 4:
        raise ValueError(f"features must have shape (N, D) with N >= 4, got {features.shape}")
    perplexity = min(positive_number("perplexity", perplexity), (features.shape[0] - 1) / 3)
    tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed)
    return tsne.fit_transform(features)


# ----------------------------------------------------------------------------- receptive fields and patches


def _receptive_field(module, rf):
    """Apply a module to a receptive field (size, jump, start): size in input pixels, jump =
    input pixels between neighbouring units, start = input coordinate of the first unit's centre."""
    size, jump, start = rf
    if isinstance(module, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
        geometry = [getattr(module, name, 1) for name in ("kernel_size", "stride", "padding", "dilation")]
        geometry = [(v, v) if isinstance(v, int) else tuple(v) for v in geometry]  # (height, width) each
        if any(h != w for h, w in geometry):
            raise ValueError(f"{module} is not square: receptive fields here assume equal height and width")
        k, s, p, d = (h for h, _ in geometry)
        k_eff = d * (k - 1) + 1
        return size + (k_eff - 1) * jump, jump * s, start + ((k_eff - 1) / 2 - p) * jump
    if isinstance(module, (nn.ReLU, nn.BatchNorm2d, nn.Dropout, nn.Identity, nn.LeakyReLU)):
        return rf
    if isinstance(module, nn.Sequential):
        for child in module:
            rf = _receptive_field(child, rf)
        return rf
    if isinstance(module, Fire):
        squeezed = _receptive_field(module.squeeze, rf)
        branches = [_receptive_field(module.expand1x1, squeezed), _receptive_field(module.expand3x3, squeezed)]
        return max(branches, key=lambda b: b[0])  # both keep the stride and the centre; the larger one counts
    if isinstance(module, Residual):
        return _receptive_field(module.body, rf)  # x + f(x): f sees more of the input than x
    raise ValueError(f"{type(module).__name__} has no receptive field on the image (only convolution, pooling "
                     f"and element-wise layers do)")


def receptive_field(model, layer):
    """
    The receptive field of one unit of model.features[layer] on the input image.

    Returns a tuple of:
    - size: Width (= height) of the square of input pixels that can affect one unit
    - stride: Input pixels between neighbouring units
    - start: Input coordinate of the centre of unit 0 (unit i is centred at start + i * stride)
    """
    layer = check_layer(model, layer)
    rf = (1, 1, 0.0)
    for module in model.features[:layer + 1]:
        rf = _receptive_field(module, rf)
    return rf


def layer_activations(X, model, layer, batch_size=50):
    """
    Outputs of model.features[layer] for a batch of images, without gradients.

    Inputs:
    - X: Normalized images, tensor of shape (N, 3, H, W)
    - layer: Index into model.features

    Returns:
    - activations: Tensor of shape (N, C_l, H_l, W_l)
    """
    _check_images("X", X)
    layer = check_layer(model, layer)
    head = model.features[:layer + 1]
    with torch.no_grad():
        return torch.cat([head(X[i:i + batch_size]) for i in range(0, X.shape[0], batch_size)])


def max_activating_patches(X, model, layer, channels=8, k=6, batch_size=50, inside=True):
    """
    For a few channels of a layer, the image patches that activate them most: for each
    channel, the k images whose strongest response is highest, cropped to the receptive field
    of the unit where that response is.

    Inputs:
    - X: Normalized images, tensor of shape (N, 3, H, W)
    - model: The classifier
    - layer: Index into model.features of a layer with spatial outputs
    - channels: A list of channel indices, or a number: that many channels, the ones with the
      highest peak activation over X
    - k: Patches per channel (at most N)
    - batch_size: Images per forward pass
    - inside: Only count units whose receptive field lies inside the image (zero padding makes
      edges that many channels answer to)

    Returns a dict with:
    - patches: Tensor of shape (num_channels, k, 3, S, S), S the receptive-field size, normalized
      like X (outside the image: 0, the mean colour)
    - activations: Array (num_channels, k) of the responses
    - image_index: Array (num_channels, k) of the images they come from
    - channels: List of the channel indices
    - receptive_field: (size, stride, start) as returned by receptive_field
    """
    _check_images("X", X)
    size, stride, start = receptive_field(model, layer)
    acts = layer_activations(X, model, layer, batch_size)  # (N, C, h, w)
    if acts.ndim != 4:
        raise ValueError(f"layer {layer} has no spatial output (shape {tuple(acts.shape)}); pick a convolutional layer")
    N, C, h, w = acts.shape
    k = positive_int("k", k)
    if k > N:
        raise ValueError(f"k must be at most the number of images, {N}, got {k}")
    half = (size - 1) / 2
    if inside:
        def fits(n, extent):  # units whose field [centre - half, centre + half] lies in 0..extent-1
            centres = start + stride * torch.arange(n)
            return (centres - half >= 0) & (centres + half <= extent - 1)
        mask = fits(h, X.shape[2])[:, None] & fits(w, X.shape[3])[None, :]  # (h, w)
        if not mask.any():
            raise ValueError(f"no unit of layer {layer} sees only pixels inside a {X.shape[2]}x{X.shape[3]} image "
                             f"(receptive field {size}); use inside=False")
        acts = acts.masked_fill(~mask, float("-inf"))
    peak, where = acts.reshape(N, C, h * w).max(dim=2)  # (N, C) each
    if isinstance(channels, numbers.Integral) and not isinstance(channels, bool):
        channels = positive_int("channels", int(channels))
        channels = torch.argsort(peak.max(dim=0).values, descending=True)[:min(channels, C)].tolist()
    channels = [int(c) for c in channels]
    for c in channels:
        if not 0 <= c < C:
            raise ValueError(f"channel {c} does not exist: layer {layer} has channels 0..{C - 1}")
    pad = size  # enough zero padding for any unit whose field sticks out of the image
    padded = F.pad(X, (pad, pad, pad, pad))  # (N, 3, H + 2 pad, W + 2 pad)
    patches = torch.zeros(len(channels), k, 3, size, size)
    activations = np.zeros((len(channels), k))
    image_index = np.zeros((len(channels), k), dtype=np.int64)
    for a, c in enumerate(channels):
        top = torch.argsort(peak[:, c], descending=True)[:k]
        for b, n in enumerate(top.tolist()):
            row, col = divmod(int(where[n, c]), w)
            y0 = int(round(start + row * stride - half)) + pad
            x0 = int(round(start + col * stride - half)) + pad
            patches[a, b] = padded[n, :, y0:y0 + size, x0:x0 + size]
            activations[a, b] = float(peak[n, c])
            image_index[a, b] = n
    return {"patches": patches, "activations": activations, "image_index": image_index, "channels": channels,
            "receptive_field": (size, stride, start)}


# ----------------------------------------------------------------------------- occlusion


def occlusion_sensitivity(X, y, model, patch_size=32, stride=16, fill=0.0, batch_size=64):
    """
    Occlusion sensitivity (Zeiler and Fergus, 2014): slide a square of constant value over each
    image and record the probability of the correct class with that square hidden.

    Inputs:
    - X: Normalized images, tensor of shape (N, 3, H, W)
    - y: Correct classes, shape (N,)
    - model: The classifier
    - patch_size: Side of the occluding square, in pixels
    - stride: Pixels between neighbouring positions of the square
    - fill: Value of the occluded pixels, in normalized units (0: the mean colour)
    - batch_size: Occluded copies per forward pass

    Returns:
    - probs: Array of shape (N, H_o, W_o), H_o = 1 + (H - patch_size) // stride: the probability
      of class y[n] when the square's top-left corner is at (i * stride, j * stride)
    """
    _check_images("X", X)
    N, _, H, W = X.shape
    patch_size = positive_int("patch_size", patch_size)
    stride = positive_int("stride", stride)
    batch_size = positive_int("batch_size", batch_size)
    if patch_size > min(H, W):
        raise ValueError(f"patch_size must be at most the image size {min(H, W)}, got {patch_size}")
    y = _check_labels("y", y, num_classes_of(model), N)
    rows = range(0, H - patch_size + 1, stride)
    cols = range(0, W - patch_size + 1, stride)
    positions = [(r, c) for r in rows for c in cols]
    probs = np.zeros((N, len(rows) * len(cols)))
    model.eval()
    with torch.no_grad():
        for n in range(N):
            for i in range(0, len(positions), batch_size):
                chunk = positions[i:i + batch_size]
                batch = X[n:n + 1].repeat(len(chunk), 1, 1, 1)  # (B, 3, H, W)
                for b, (r, c) in enumerate(chunk):
                    batch[b, :, r:r + patch_size, c:c + patch_size] = fill
                p = F.softmax(model(batch).float(), dim=1)[:, y[n]]  # (B,)
                probs[n, i:i + len(chunk)] = p.numpy()
    return probs.reshape(N, len(rows), len(cols))


# ----------------------------------------------------------------------------- feature inversion and DeepDream


def invert_features(X, model, layer, num_iterations=200, learning_rate=0.05, tv_weight=0.1, mean=SQUEEZENET_MEAN,
                    std=SQUEEZENET_STD, seed=0):
    """
    Reconstruct an image from its features at one layer (Mahendran and Vedaldi, 2015): from noise,
    minimize with Adam ||phi(x) - phi(X)||^2 / ||phi(X)||^2 + tv_weight * TV(x) / (H W), where phi is
    model.features up to layer, keeping the pixels in their valid range.

    Inputs:
    - X: The image whose features are inverted, normalized, tensor of shape (1, 3, H, W)
    - model: The network
    - layer: Index into model.features
    - num_iterations, learning_rate: Adam's steps and rate (on normalized pixels)
    - tv_weight: Strength of the total-variation prior
    - mean, std: The normalization of X
    - seed: Seed of the random start

    Returns a dict with:
    - image: The reconstruction, tensor of shape (1, 3, H, W)
    - feature_error: Final ||phi(x) - phi(X)|| / ||phi(X)||
    - pixel_correlation: Correlation of the reconstruction's pixel values with the original's
      (1: identical up to brightness and contrast, 0: unrelated), how much of the image the layer keeps
    """
    _check_images("X", X, batch=1)
    layer = check_layer(model, layer)
    num_iterations = positive_int("num_iterations", num_iterations)
    learning_rate = positive_number("learning_rate", learning_rate)
    tv_weight = non_negative_number("tv_weight", tv_weight)
    model.eval()
    head = model.features[:layer + 1]
    with torch.no_grad():
        target = head(X).clone()
    scale = target.pow(2).sum().clamp_min(1e-12)
    low, high = _valid_range(mean, std)
    generator = torch.Generator().manual_seed(seed)
    img = (low + (high - low) * torch.rand(X.shape, generator=generator)).requires_grad_()
    optimizer = torch.optim.Adam([img], lr=learning_rate)
    num_pixels = X.shape[2] * X.shape[3]
    for _ in range(num_iterations):
        optimizer.zero_grad()
        loss = (head(img) - target).pow(2).sum() / scale + tv_loss(img, tv_weight) / num_pixels
        loss.backward()
        optimizer.step()
        _clamp_(img, low, high)
    with torch.no_grad():
        feature_error = float(((head(img) - target).pow(2).sum() / scale).sqrt())
    a, b = unnormalize(img.detach(), mean, std).flatten(), unnormalize(X, mean, std).flatten()
    pixel_correlation = float(torch.corrcoef(torch.stack([a, b]))[0, 1])
    return {"image": img.detach(), "feature_error": feature_error, "pixel_correlation": pixel_correlation}


def deep_dream(X, model, layer, num_iterations=20, learning_rate=0.02, max_jitter=16, num_octaves=3,
               octave_scale=1.4, mean=SQUEEZENET_MEAN, std=SQUEEZENET_STD, seed=0):
    """
    DeepDream (Mordvintsev, Olah and Tyka, 2015): amplify whatever a layer already sees in an
    image, by gradient ascent on half the sum of its squared activations, with jitter, at a few
    scales (octaves) from coarse to fine.

    Inputs:
    - X: The starting image, normalized, tensor of shape (1, 3, H, W)
    - model: The network
    - layer: Index into model.features
    - num_iterations: Steps per octave
    - learning_rate: Step size; each step is the gradient divided by its mean absolute value
    - max_jitter: Largest random shift before each step, in pixels
    - num_octaves: Number of scales; octave o works on the image shrunk by octave_scale ** o
    - octave_scale: Ratio between neighbouring octaves
    - mean, std: The normalization of X (sets the valid range of pixels)
    - seed: Seed of the jitter

    Returns:
    - img: The dreamed image, tensor of shape (1, 3, H, W)
    """
    _check_images("X", X, batch=1)
    layer = check_layer(model, layer)
    num_iterations = positive_int("num_iterations", num_iterations)
    num_octaves = positive_int("num_octaves", num_octaves)
    max_jitter = non_negative_int("max_jitter", max_jitter)
    learning_rate = positive_number("learning_rate", learning_rate)
    if not octave_scale >= 1:
        raise ValueError(f"octave_scale must be a number >= 1, got {octave_scale!r}")
    model.eval()
    head = model.features[:layer + 1]
    low, high = _valid_range(mean, std)
    rng = np.random.default_rng(seed)
    H, W = X.shape[2:]
    sizes = [(max(8, round(H / octave_scale ** o)), max(8, round(W / octave_scale ** o)))
             for o in reversed(range(num_octaves))]
    # Each octave starts from the original image at its scale plus the detail dreamed so far,
    # upsampled: the original's fine detail is never lost to the down- and upsampling.
    detail = torch.zeros(1, 3, *sizes[0])
    for size in sizes:
        base = F.interpolate(X.detach(), size=size, mode="bilinear", align_corners=False) if size != (H, W) \
            else X.detach()
        detail = F.interpolate(detail, size=size, mode="bilinear", align_corners=False)
        img = (base + detail).requires_grad_()
        for _ in range(num_iterations):
            ox, oy = (int(v) for v in rng.integers(-max_jitter, max_jitter + 1, size=2))
            shifted = jitter(img, ox, oy)
            objective = 0.5 * head(shifted).pow(2).sum()
            (g,) = torch.autograd.grad(objective, img)
            with torch.no_grad():
                img += learning_rate * g / g.abs().mean().clamp_min(1e-12)
                _clamp_(img, low, high)
        detail = img.detach() - base
    return img.detach()


# ----------------------------------------------------------------------------- pictures


def _display(img, mean, std):
    """An (H, W, 3) float array in [0, 1] from a normalized tensor (1, 3, H, W) / (3, H, W) or a uint8 image."""
    if isinstance(img, torch.Tensor):
        x = unnormalize(img.detach().float().reshape(-1, *img.shape[-3:])[0], mean, std).clamp(0, 1)
        return x.permute(1, 2, 0).numpy()  # (H, W, 3)
    img = np.asarray(img)
    return img.astype(np.float64) / 255.0 if img.dtype == np.uint8 else img


def show_images(images, titles=None, mean=SQUEEZENET_MEAN, std=SQUEEZENET_STD, ncols=None, size=2.4):
    """
    Show images in a grid.

    Inputs:
    - images: A sequence of normalized tensors (1, 3, H, W) or (3, H, W), or uint8 arrays (H, W, 3)
    - titles: Optional sequence of strings, one per image
    - mean, std: The normalization of tensors
    - ncols: Columns of the grid (default: all in one row, up to 8)
    - size: Inches per image
    """
    images = list(images)
    ncols = ncols or min(len(images), 8)
    nrows = -(-len(images) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + 0.3 * (titles is not None)),
                             squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if i < len(images):
            ax.imshow(_display(images[i], mean, std))
            if titles is not None:
                ax.set_title(titles[i], fontsize=9)
    fig.tight_layout()
    return fig


def show_filters(model):
    """Show the first convolution's filters as small colour images, each stretched to [0, 1]."""
    weights = first_layer_filters(model)  # (F, C, HH, WW)
    if weights.shape[1] != 3:
        raise ValueError(f"the first convolution must read 3 colour channels, got {weights.shape[1]}")
    grid = visualize_grid(weights.transpose(0, 2, 3, 1), ubound=1.0)  # (G, G, 3)
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.imshow(grid, interpolation="nearest")
    ax.set_title(f"{weights.shape[0]} first-layer filters, {weights.shape[2]}x{weights.shape[3]}")
    ax.axis("off")
    return fig


def show_saliency_maps(X, saliency, titles=None, mean=SQUEEZENET_MEAN, std=SQUEEZENET_STD):
    """
    Show images above their saliency maps.

    Inputs:
    - X: Images, uint8 array (N, H, W, 3) or normalized tensor (N, 3, H, W)
    - saliency: Tensor or array of shape (N, H, W)
    - titles: Optional list of N strings (e.g. the class names)
    """
    saliency = saliency.numpy() if isinstance(saliency, torch.Tensor) else np.asarray(saliency)
    N = saliency.shape[0]
    fig, axes = plt.subplots(2, N, figsize=(2.4 * N, 5), squeeze=False)
    for i in range(N):
        axes[0, i].imshow(_display(X[i], mean, std))
        axes[1, i].imshow(saliency[i], cmap=plt.cm.hot)
        if titles is not None:
            axes[0, i].set_title(titles[i], fontsize=9)
        axes[0, i].axis("off")
        axes[1, i].axis("off")
    fig.tight_layout()
    return fig


def show_fooling_image(X, X_fooling, titles=("original", "fooling image", "difference"), magnify=10,
                       mean=SQUEEZENET_MEAN, std=SQUEEZENET_STD):
    """
    Show an image, its fooling image and their difference magnified (mid-grey is no change).

    Inputs:
    - X, X_fooling: Normalized tensors of shape (1, 3, H, W)
    - titles: Three titles
    - magnify: Factor applied to the difference of pixel values in [0, 1]
    """
    original, fooling = _display(X, mean, std), _display(X_fooling, mean, std)
    difference = np.clip(0.5 + magnify * (fooling - original), 0, 1)
    titles = list(titles)
    titles[2] = f"{titles[2]} x{magnify:g}"
    return show_images([original, fooling, difference], titles, mean, std, size=3)


def show_tsne(embedding, y, class_names, title="t-SNE of the penultimate features"):
    """
    Scatter a 2-D embedding, one colour per class.

    Inputs:
    - embedding: Array (N, 2)
    - y: Labels (N,)
    - class_names: Names indexed by label
    """
    y = np.asarray(y)
    fig, ax = plt.subplots(figsize=(7, 6))
    cmap = plt.get_cmap("tab10" if len(np.unique(y)) <= 10 else "tab20")
    for i, label in enumerate(np.unique(y)):
        chosen = y == label
        ax.scatter(embedding[chosen, 0], embedding[chosen, 1], s=8, color=cmap(i % cmap.N), label=class_names[label])
    ax.legend(markerscale=2, fontsize=8, loc="best")
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    return fig


def show_neighbors(images, neighbors, query_rows=None, mean=SQUEEZENET_MEAN, std=SQUEEZENET_STD, labels=None,
                   class_names=None):
    """
    Show each query image followed by its nearest neighbours.

    Inputs:
    - images: The database, uint8 array (N, H, W, 3) or normalized tensor (N, 3, H, W)
    - neighbors: Array (Q, k) of indices from nearest_neighbors
    - query_rows: Indices of the query images in the database (default: 0..Q-1)
    - labels, class_names: Optional, to title every image with its class
    """
    Q, k = neighbors.shape
    query_rows = range(Q) if query_rows is None else query_rows
    fig, axes = plt.subplots(Q, k + 1, figsize=(1.5 * (k + 1), 1.6 * Q), squeeze=False)
    for q, row in enumerate(query_rows):
        for j, n in enumerate([row, *neighbors[q]]):
            ax = axes[q, j]
            ax.imshow(_display(images[n], mean, std))
            ax.axis("off")
            if labels is not None and class_names is not None:
                ax.set_title(("query: " if j == 0 else "") + str(class_names[labels[n]]), fontsize=7)
    fig.tight_layout()
    return fig


def show_patches(result, mean=SQUEEZENET_MEAN, std=SQUEEZENET_STD):
    """Show the output of max_activating_patches: one row per channel, strongest patch first."""
    patches = result["patches"]
    C, k = patches.shape[:2]
    fig, axes = plt.subplots(C, k, figsize=(1.2 * k, 1.25 * C), squeeze=False)
    for a in range(C):
        for b in range(k):
            axes[a, b].imshow(_display(patches[a, b], mean, std))
            axes[a, b].axis("off")
        axes[a, 0].set_title(f"channel {result['channels'][a]}", fontsize=8, loc="left")
    size = result["receptive_field"][0]
    fig.suptitle(f"patches of {size}x{size} pixels (the receptive field)", fontsize=10)
    fig.tight_layout()
    return fig


def show_occlusion(X, probs, titles=None, mean=SQUEEZENET_MEAN, std=SQUEEZENET_STD):
    """
    Show images above their occlusion maps (dark: hiding that region lowers the probability of
    the correct class the most).

    Inputs:
    - X: Images, uint8 array (N, H, W, 3) or normalized tensor (N, 3, H, W)
    - probs: Array (N, H_o, W_o) from occlusion_sensitivity
    - titles: Optional list of N strings
    """
    N = probs.shape[0]
    fig, axes = plt.subplots(2, N, figsize=(2.4 * N, 5), squeeze=False)
    for i in range(N):
        axes[0, i].imshow(_display(X[i], mean, std))
        shown = axes[1, i].imshow(probs[i], cmap="viridis", vmin=0, vmax=1)
        if titles is not None:
            axes[0, i].set_title(titles[i], fontsize=9)
        axes[0, i].axis("off")
        axes[1, i].axis("off")
    fig.colorbar(shown, ax=axes[1, :].tolist(), shrink=0.8, label="p(correct class)")
    return fig
