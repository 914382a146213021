"""Style transfer (Gatys, Ecker and Bethge, 2015) and its two halves, feature inversion and texture
synthesis: the losses and the optimization loop of CS231n's StyleTransfer notebook.

An image is optimized so that its features at one layer match those of a content image (the
content loss), the Gram matrices of its features at several layers match those of a style image
(the style loss), and neighbouring pixels stay close (the total-variation loss).
"""

import time

import matplotlib.pyplot as plt
import numpy as np
import torch

from helpers._checks import non_negative_int, non_negative_number, positive_int
from helpers.image_utils import SQUEEZENET_MEAN, SQUEEZENET_STD, deprocess, load_image, preprocess


def extract_features(x, cnn):
    """
    Run an image through a network and keep the output of every module.

    Inputs:
    - x: Tensor of shape (N, C, H, W), a minibatch of images
    - cnn: A torch.nn.Sequential (e.g. model.features); each of its modules runs in turn

    Returns:
    - features: List of len(cnn) tensors; features[i] is the output of module i, of shape
      (N, C_i, H_i, W_i)
    """
    if not isinstance(x, torch.Tensor) or x.ndim != 4 or not x.is_floating_point():
        raise ValueError(f"x must be a float tensor of shape (N, C, H, W), got "
                         f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
    features = []
    prev_feat = x
    for module in cnn:
        next_feat = module(prev_feat)
        features.append(next_feat)
        prev_feat = next_feat
    return features


def content_loss(content_weight, content_current, content_original):
    """
    Compute the content loss for style transfer.

    Inputs:
    - content_weight: Scalar giving the weighting for the content loss.
    - content_current: features of the current image; this is a PyTorch Tensor of shape
      (1, C_l, H_l, W_l).
    - content_original: features of the content image, Tensor with shape (1, C_l, H_l, W_l).

    Returns:
    - scalar content loss: content_weight * sum((content_current - content_original) ** 2)
    """
    if content_current.shape != content_original.shape:
        raise ValueError(f"content_current {tuple(content_current.shape)} and content_original "
                         f"{tuple(content_original.shape)} must have the same shape")
    return content_weight * torch.sum((content_current - content_original) ** 2)


def gram_matrix(features, normalize=True):
    """
    Compute the Gram matrix from features.

    Inputs:
    - features: PyTorch Tensor of shape (N, C, H, W) giving features for
      a batch of N images.
    - normalize: optional, whether to normalize the Gram matrix
        If True, divide the Gram matrix by the number of neurons (H * W * C)

    Returns:
    - gram: PyTorch Tensor of shape (N, C, C) giving the
      (optionally normalized) Gram matrices for the N input images.
    """
    if features.ndim != 4:
        raise ValueError(f"features must have shape (N, C, H, W), got {tuple(features.shape)}")
    N, C, H, W = features.shape
    flat = features.reshape(N, C, H * W)  # (N, C, H*W)
    gram = flat @ flat.transpose(1, 2)  # (N, C, C)
    if normalize:
        gram = gram / (H * W * C)
    return gram


def _check_style_layers(style_layers, style_targets, style_weights, num_layers):
    if len(style_targets) != len(style_layers) or len(style_weights) != len(style_layers):
        raise ValueError(f"style_layers, style_targets and style_weights must have the same length, got "
                         f"{len(style_layers)} layers {list(style_layers)}, {len(style_targets)} targets and "
                         f"{len(style_weights)} weights {list(style_weights)}")
    for idx in style_layers:
        if isinstance(idx, bool) or not isinstance(idx, (int, np.integer)) or not 0 <= idx < num_layers:
            raise ValueError(f"style layer {idx!r} does not exist: layers are 0..{num_layers - 1}")


def style_loss(feats, style_layers, style_targets, style_weights):
    """
    Computes the style loss at a set of layers.

    Inputs:
    - feats: list of the features at every layer of the current image, as produced by
      the extract_features function.
    - style_layers: List of layer indices into feats giving the layers to include in the
      style loss.
    - style_targets: List of the same length as style_layers, where style_targets[i] is
      a PyTorch Tensor giving the Gram matrix of the source style image computed at
      layer style_layers[i].
    - style_weights: List of the same length as style_layers, where style_weights[i]
      is a scalar giving the weight for the style loss at layer style_layers[i].

    Returns:
    - style_loss: A PyTorch Tensor holding a scalar giving the style loss:
      sum over i of style_weights[i] * sum((gram_matrix(feats[style_layers[i]]) - style_targets[i]) ** 2)
    """
    _check_style_layers(style_layers, style_targets, style_weights, len(feats))
    loss = 0
    for idx, target, weight in zip(style_layers, style_targets, style_weights, strict=True):
        gram = gram_matrix(feats[idx])
        if gram.shape != target.shape:
            raise ValueError(f"style target for layer {idx} has shape {tuple(target.shape)}, expected "
                             f"{tuple(gram.shape)} (the Gram matrix of that layer)")
        loss = loss + weight * torch.sum((gram - target) ** 2)
    return loss


def tv_loss(img, tv_weight):
    """
    Compute total variation loss.

    Inputs:
    - img: PyTorch Variable of shape (1, 3, H, W) holding an input image.
    - tv_weight: Scalar giving the weight w_t to use for the TV loss.

    Returns:
    - loss: PyTorch Variable holding a scalar giving the total variation loss
      for img weighted by tv_weight: tv_weight * (sum of the squared differences between
      vertically and horizontally neighbouring pixels, over all channels).
    """
    if img.ndim != 4:
        raise ValueError(f"img must have shape (N, C, H, W), got {tuple(img.shape)}")
    vertical = torch.sum((img[:, :, 1:, :] - img[:, :, :-1, :]) ** 2)
    horizontal = torch.sum((img[:, :, :, 1:] - img[:, :, :, :-1]) ** 2)
    return tv_weight * (vertical + horizontal)


def _load(image, size, mean, std):
    """A normalized (1, 3, H, W) tensor from a file name, a uint8 array or a PIL image."""
    if isinstance(image, torch.Tensor):
        return image.detach().float()
    if isinstance(image, (str, bytes)) or hasattr(image, "__fspath__"):
        image = load_image(image)
    return preprocess(image, size=size, mean=mean, std=std)


def style_transfer(content_image, style_image, image_size, style_size, content_layer, content_weight,
                   style_layers, style_weights, tv_weight, init_random=False, *, cnn, mean=SQUEEZENET_MEAN,
                   std=SQUEEZENET_STD, num_iterations=200, initial_lr=3.0, decayed_lr=0.1, decay_lr_at=180,
                   clamp=1.5, seed=0, content_loss_fn=None, style_loss_fn=None, tv_loss_fn=None,
                   gram_matrix_fn=None, verbose=True):
    """
    Run style transfer: Adam on the pixels of an image, to minimize content + style + TV loss.

    Inputs:
    - content_image: File name, uint8 array (H, W, 3), PIL image, or an already normalized
      tensor (1, 3, H, W) of the content image
    - style_image: The same, for the style image
    - image_size: Size of the smaller dimension of the content image (and of the result)
    - style_size: Size of the smaller dimension of the style image
    - content_layer: Layer to use for the content loss
    - content_weight: Weighting on the content loss (0: texture synthesis)
    - style_layers: List of layers to use for the style loss
    - style_weights: List of weights, one per layer in style_layers (all 0: feature inversion)
    - tv_weight: Weight of the total-variation regularization term
    - init_random: Start from uniform noise in [0, 1) instead of the content image
    - cnn: The feature extractor, a torch.nn.Sequential (e.g. model.features), frozen
    - mean, std: Normalization of the network's inputs
    - num_iterations, initial_lr, decayed_lr, decay_lr_at: CS231n's schedule (200 steps of
      Adam at 3.0, then 0.1 from step 180)
    - clamp: Keep the pixels in [-clamp, clamp] until ten steps before the end (CS231n: 1.5)
    - seed: Seed of the random start
    - content_loss_fn, style_loss_fn, tv_loss_fn, gram_matrix_fn: Your implementations of the
      losses (None: the ones in this module)
    - verbose: Print the losses every 50 iterations

    Returns a dict with:
    - image: The result, a tensor of shape (1, 3, H, W) (normalized like the inputs)
    - content_image, style_image: The normalized inputs, (1, 3, H, W) and (1, 3, H_s, W_s)
    - content_loss, style_loss, tv_loss, loss: Lists of num_iterations + 1 floats, the
      losses before every step and of the final image
    - content_image_style_loss: The style loss of the content image itself
    - style_loss_reduction: 1 - (final style loss) / content_image_style_loss
    - seconds: Time taken
    """
    content_loss_fn = content_loss_fn or content_loss
    style_loss_fn = style_loss_fn or style_loss
    tv_loss_fn = tv_loss_fn or tv_loss
    gram_matrix_fn = gram_matrix_fn or gram_matrix
    num_iterations = positive_int("num_iterations", num_iterations)
    decay_lr_at = non_negative_int("decay_lr_at", decay_lr_at)
    for name, value in (("content_weight", content_weight), ("tv_weight", tv_weight)):
        non_negative_number(name, value)
    if len(style_weights) != len(style_layers):
        raise ValueError(f"style_weights must have one weight per style layer: {len(style_layers)} layers "
                         f"{list(style_layers)}, got {len(style_weights)} weights {list(style_weights)}")
    num_layers = len(cnn)
    for name, layers in (("content_layer", [content_layer]), ("style_layers", list(style_layers))):
        for idx in layers:
            if isinstance(idx, bool) or not isinstance(idx, (int, np.integer)) or not 0 <= idx < num_layers:
                raise ValueError(f"{name}: layer {idx!r} does not exist; the network has layers 0..{num_layers - 1}")
    start = time.perf_counter()

    content_img = _load(content_image, image_size, mean, std)
    style_img = _load(style_image, style_size, mean, std)
    with torch.no_grad():
        feats = extract_features(content_img, cnn)
        content_target = feats[content_layer].clone()
        content_image_style_feats = feats
        feats = extract_features(style_img, cnn)
        style_targets = [gram_matrix_fn(feats[idx].clone()) for idx in style_layers]
        content_image_style_loss = float(style_loss_fn(content_image_style_feats, style_layers, style_targets,
                                                       style_weights))

    if init_random:
        generator = torch.Generator().manual_seed(seed)
        img = torch.rand(content_img.shape, generator=generator)
    else:
        img = content_img.clone()
    img.requires_grad_()
    optimizer = torch.optim.Adam([img], lr=initial_lr)
    history = {"content_loss": [], "style_loss": [], "tv_loss": [], "loss": []}

    def losses():
        feats = extract_features(img, cnn)
        c_loss = content_loss_fn(content_weight, feats[content_layer], content_target)
        s_loss = style_loss_fn(feats, style_layers, style_targets, style_weights)
        t_loss = tv_loss_fn(img, tv_weight)
        loss = c_loss + s_loss + t_loss
        for key, value in (("content_loss", c_loss), ("style_loss", s_loss), ("tv_loss", t_loss), ("loss", loss)):
            history[key].append(float(value.detach()) if isinstance(value, torch.Tensor) else float(value))
        return loss

    for t in range(num_iterations):
        if t < num_iterations - 10:
            img.data.clamp_(-clamp, clamp)
        optimizer.zero_grad()
        loss = losses()
        loss.backward()
        if t == decay_lr_at:
            optimizer = torch.optim.Adam([img], lr=decayed_lr)
        optimizer.step()
        if verbose and t % 50 == 0:
            print(f"iteration {t}: content {history['content_loss'][-1]:.4g}, style {history['style_loss'][-1]:.4g}, "
                  f"tv {history['tv_loss'][-1]:.4g}")
    with torch.no_grad():
        losses()
    final_style = history["style_loss"][-1]
    reduction = 1.0 - final_style / content_image_style_loss if content_image_style_loss > 0 else float("nan")
    seconds = time.perf_counter() - start
    if verbose:
        print(f"final: content {history['content_loss'][-1]:.4g}, style {final_style:.4g} "
              f"(content image: {content_image_style_loss:.4g}, {100 * reduction:.1f}% lower), "
              f"tv {history['tv_loss'][-1]:.4g}; {seconds:.1f} s")
    return {"image": img.detach(), "content_image": content_img, "style_image": style_img, **history,
            "content_image_style_loss": content_image_style_loss, "style_loss_reduction": reduction,
            "seconds": seconds}


def feature_inversion(content_image, image_size, content_layer, content_weight, tv_weight, *, cnn, **kwargs):
    """
    Reconstruct an image from its features at one layer alone: style transfer with no style
    loss, from a random start. Takes style_transfer's keyword arguments; returns its dict.
    """
    return style_transfer(content_image, content_image, image_size, image_size, content_layer, content_weight,
                          [], [], tv_weight, init_random=True, cnn=cnn, **kwargs)


def texture_synthesis(style_image, image_size, style_size, style_layers, style_weights, tv_weight, *, cnn,
                      content_layer=0, **kwargs):
    """
    Synthesize a texture from the Gram matrices of a style image alone: style transfer with
    no content loss, from a random start (the style image sets the result's size too). Takes
    style_transfer's keyword arguments; returns its dict.
    """
    return style_transfer(style_image, style_image, image_size, style_size, content_layer, 0.0, style_layers,
                          style_weights, tv_weight, init_random=True, cnn=cnn, **kwargs)


# ----------------------------------------------------------------------------- pictures

def show_style_transfer(result, mean=SQUEEZENET_MEAN, std=SQUEEZENET_STD, title=None):
    """
    Show the content image, the style image and the result of style_transfer side by side,
    and the content, style and total-variation losses per iteration.

    Inputs:
    - result: The dict returned by style_transfer
    - mean, std: The normalization of the inputs
    - title: Optional title of the figure
    """
    # Feature inversion has no style target and texture synthesis no content target: show only what was used.
    panels = [(key, name) for key, name, loss in (("content_image", "content", "content_loss"),
                                                  ("style_image", "style", "style_loss"), ("image", "result", None))
              if loss is None or np.any(np.asarray(result[loss]) > 0)]
    fig, axes = plt.subplots(1, len(panels) + 1, figsize=(4 * len(panels) + 5, 3.8),
                             gridspec_kw={"width_ratios": [1] * len(panels) + [1.3]})
    for ax, (key, name) in zip(axes, panels, strict=False):
        ax.imshow(deprocess(result[key], should_rescale=False, mean=mean, std=std))
        ax.set_title(name)
        ax.axis("off")
    ax = axes[-1]
    for key in ("content_loss", "style_loss", "tv_loss"):
        values = np.asarray(result[key])
        if np.any(values > 0):
            ax.semilogy(values, label=key.replace("_", " "))
    ax.set_xlabel("iteration")
    ax.legend()
    ax.set_title(f"style loss {100 * result['style_loss_reduction']:.0f}% below the content image's"
                 if np.isfinite(result["style_loss_reduction"]) else "losses")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
