"""Pictures the notebooks show: image grids, examples per class, class templates, curves, captioned images."""

import io
import textwrap
from math import ceil, sqrt
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

PALETTE_COLORS = 128  # colours of a saved full-scale figure


def visualize_grid(Xs, ubound=255.0, padding=1):
    """
    Tile a batch of images into one image, each rescaled to [0, ubound].

    Inputs:
    - Xs: Data of shape (N, H, W, C)
    - ubound: Output pixels lie in [0, ubound]
    - padding: Blank pixels between tiles

    Returns:
    - grid: Array of shape (G * (H + padding) - padding, G * (W + padding) - padding, C), G = ceil(sqrt(N))
    """
    Xs = np.asarray(Xs)
    if Xs.ndim != 4:
        raise ValueError(f"visualize_grid expects images of shape (N, H, W, C), got {Xs.shape}")
    N, H, W, C = Xs.shape
    grid_size = int(ceil(sqrt(N)))
    grid = np.zeros((grid_size * (H + padding) - padding, grid_size * (W + padding) - padding, C))
    for i in range(N):
        y0, x0 = (i // grid_size) * (H + padding), (i % grid_size) * (W + padding)
        img = Xs[i]
        low, high = np.min(img), np.max(img)
        grid[y0:y0 + H, x0:x0 + W] = ubound * (img - low) / max(high - low, 1e-12)
    return grid


def plot_class_examples(X, y, classes, samples_per_class=7, seed=0):
    """
    Show a few random training images of each class, one column per class.

    Inputs:
    - X: Images of shape (N, 32, 32, 3), pixel values 0..255
    - y: Labels of shape (N,)
    - classes: Class names, indexed by label
    - samples_per_class: Rows of the figure
    - seed: Seed for choosing the examples
    """
    rng = np.random.default_rng(seed)
    num_classes = len(classes)
    fig, axes = plt.subplots(samples_per_class, num_classes, figsize=(1.2 * num_classes, 1.2 * samples_per_class))
    for label, name in enumerate(classes):
        idxs = np.flatnonzero(y == label)
        chosen = rng.choice(idxs, min(samples_per_class, idxs.size), replace=False) if idxs.size else []
        for row in range(samples_per_class):
            ax = axes[row, label]
            ax.axis("off")
            if row < len(chosen):
                ax.imshow(X[chosen[row]].astype("uint8"))
        axes[0, label].set_title(name)
    fig.tight_layout()
    return fig


def plot_class_templates(W, classes, image_shape=(32, 32, 3)):
    """
    Show the weights of a linear classifier as one image per class.

    Inputs:
    - W: Weights of shape (D, C) or (D + 1, C) (a trailing bias row is dropped), D = prod(image_shape)
    - classes: Class names, length C
    - image_shape: Shape of one image
    """
    D = int(np.prod(image_shape))
    W = np.asarray(W)
    if W.shape[0] not in (D, D + 1) or W.shape[1] != len(classes):
        raise ValueError(f"W must have shape ({D}[+1], {len(classes)}), got {W.shape}")
    templates = W[:D].T.reshape(len(classes), *image_shape)  # (C, *image_shape): one image per class
    low, high = templates.min(), templates.max()
    fig, axes = plt.subplots(1, len(classes), figsize=(1.3 * len(classes), 1.8))
    for ax, name, template in zip(axes, classes, templates, strict=True):
        ax.imshow((255.0 * (template - low) / (high - low)).astype("uint8"))
        ax.set_title(name)
        ax.axis("off")
    fig.tight_layout()
    return fig


def plot_training_curves(loss_history, train_acc_history=None, val_acc_history=None, title=None):
    """
    Plot the loss per iteration and, when given, train/validation accuracy per epoch.

    Inputs:
    - loss_history: Sequence of losses, one per iteration
    - train_acc_history, val_acc_history: Sequences of accuracies, one per epoch (or check)
    - title: Optional figure title
    """
    has_acc = train_acc_history is not None or val_acc_history is not None
    fig, axes = plt.subplots(1, 2 if has_acc else 1, figsize=(12 if has_acc else 6, 4))
    axes = np.atleast_1d(axes)
    axes[0].plot(loss_history, lw=0.8)
    axes[0].set_xlabel("iteration")
    axes[0].set_ylabel("loss")
    axes[0].set_title("training loss")
    if has_acc:
        if train_acc_history is not None:
            axes[1].plot(train_acc_history, "-o", label="train")
        if val_acc_history is not None:
            axes[1].plot(val_acc_history, "-o", label="val")
        axes[1].set_xlabel("epoch")
        axes[1].set_ylabel("accuracy")
        axes[1].set_title("classification accuracy")
        axes[1].legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_solver_histories(runs, title=None):
    """
    Compare training runs side by side: the training loss per iteration, and the training
    and validation accuracy per epoch, one curve per run.

    Inputs:
    - runs: Dict label -> an object with loss_history, train_acc_history and
      val_acc_history (a Solver after training)
    - title: Optional figure title

    Returns:
    - The figure.
    """
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for label, run in runs.items():
        axes[0].plot(run.loss_history, "o", ms=2, alpha=0.6, label=label)
        axes[1].plot(run.train_acc_history, "-o", label=label)
        axes[2].plot(run.val_acc_history, "-o", label=label)
    for ax, name, xlabel in zip(axes, ("training loss", "training accuracy", "validation accuracy"),
                                ("iteration", "epoch", "epoch"), strict=True):
        ax.set_title(name)
        ax.set_xlabel(xlabel)
        ax.legend(fontsize="small")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_weight_scale_sweep(weight_scales, sweeps, title=None):
    """
    Best validation accuracy, best training accuracy and final training loss against the
    initial weight scale (log axes), one curve per sweep.

    Inputs:
    - weight_scales: Sequence of S weight scales
    - sweeps: Dict label -> dict with lists 'best_val_acc', 'best_train_acc' and 'final_loss'
      of length S (as returned by helpers.experiments.weight_scale_sweep)
    - title: Optional figure title

    Returns:
    - The figure.
    """
    keys = ("best_val_acc", "best_train_acc", "final_loss")
    names = ("best validation accuracy", "best training accuracy", "final training loss")
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for label, results in sweeps.items():
        for ax, key in zip(axes, keys, strict=True):
            if len(results[key]) != len(weight_scales):
                raise ValueError(f"sweeps[{label!r}][{key!r}] has {len(results[key])} values for "
                                 f"{len(weight_scales)} weight scales")
            ax.semilogx(weight_scales, results[key], "-o", label=label)
    for ax, name in zip(axes, names, strict=True):
        ax.set_title(f"{name} vs weight scale")
        ax.set_xlabel("weight initialization scale")
        ax.legend(fontsize="small")
    axes[2].set_yscale("log")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def imshow_no_ax(img, normalize=True):
    """
    Show one image on the current axes, without the axes' ticks and frame.

    Inputs:
    - img: Array of shape (H, W) or (H, W, 3), pixel values 0..255 unless normalize is set
    - normalize: Stretch the values linearly to 0..255 first (for filter responses,
      whose range is arbitrary)
    """
    img = np.asarray(img, dtype=np.float64)
    if img.ndim not in (2, 3):
        raise ValueError(f"img must have shape (H, W) or (H, W, 3), got {img.shape}")
    if normalize:
        low, high = img.min(), img.max()
        img = 255.0 * (img - low) / max(high - low, 1e-12)
    plt.imshow(np.clip(img, 0, 255).astype("uint8"))
    plt.gca().axis("off")


def show_attention(image, words, attention, grid_shape=None, cols=6, title=None):
    """
    Show where a captioner looks: the image, then one panel per generated word with that word's
    attention over the image's grid of feature positions laid over the image (the positions it
    attends to stay bright, the others are darkened). The weights are stretched to each panel's
    own range, so a panel shows where its word looks most, not how peaked its distribution is;
    the panel's title gives the largest weight.

    Inputs:
    - image: Array of shape (H, W, 3), pixel values 0..255
    - words: List of L words (the generated caption, without <START>)
    - attention: Array of shape (L, P): row t holds the weights of word t over the P grid
      positions, listed row by row
    - grid_shape: (h, w) with h * w = P (default: a square grid)
    - cols: Panels per row of the figure
    - title: Optional figure title

    Returns:
    - The matplotlib figure
    """
    image = np.asarray(image)
    attention = np.asarray(attention, dtype=np.float64)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must have shape (H, W, 3), got {image.shape}")
    if attention.ndim != 2 or attention.shape[0] != len(words):
        raise ValueError(f"attention must have shape (L, P) with L = {len(words)} (one row per word), "
                         f"got {attention.shape}")
    P = attention.shape[1]
    if grid_shape is None:
        side = int(round(sqrt(P)))
        if side * side != P:
            raise ValueError(f"attention has P = {P} positions, not a square grid: give grid_shape=(h, w)")
        grid_shape = (side, side)
    if len(grid_shape) != 2 or grid_shape[0] * grid_shape[1] != P:
        raise ValueError(f"grid_shape must be (h, w) with h * w = P = {P}, got {grid_shape}")
    H, W = image.shape[:2]
    panels = len(words) + 1
    rows = ceil(panels / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2 * cols, 2.4 * rows + 0.4), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    axes[0, 0].imshow(np.clip(image, 0, 255).astype("uint8"))
    axes[0, 0].set_title("image", fontsize=9)
    for t, word in enumerate(words):
        ax = axes.ravel()[t + 1]
        weights = attention[t].reshape(grid_shape)                          # (h, w), row by row
        stretched = (weights - weights.min()) / max(weights.max() - weights.min(), 1e-12)
        shade = np.zeros((*grid_shape, 4))                                  # (h, w, RGBA): black
        shade[..., 3] = 0.8 * (1.0 - stretched)                             # unattended cells darkened
        ax.imshow(np.clip(image, 0, 255).astype("uint8"))
        # Each grid cell covers an (H / h) x (W / w) block of pixels: extent lays the grid on the image.
        ax.imshow(shade, extent=(0, W, H, 0), interpolation="bilinear")
        ax.set_title(f"{word} (max {weights.max():.2f})", fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0, 1, 0.92 if title else 1))
    return fig


def show_net_weights(W1, image_shape=(32, 32, 3), title=None):
    """
    Show the first-layer weights of a network as images, one tile per hidden unit.

    Inputs:
    - W1: Weights of shape (D, H), D = prod(image_shape); column j is hidden unit j's template
    - image_shape: Shape of one input image (H, W, C), channels last
    - title: Optional figure title
    """
    W1 = np.asarray(W1)
    D = int(np.prod(image_shape))
    if W1.ndim != 2 or W1.shape[0] != D:
        raise ValueError(f"W1 must have shape ({D}, H) for images of shape {image_shape}, got {W1.shape}")
    tiles = W1.T.reshape(W1.shape[1], *image_shape)  # (H, *image_shape): one image per hidden unit
    fig, ax = plt.subplots(figsize=(6, 6))
    ax.imshow(visualize_grid(tiles, padding=3).astype("uint8"))
    ax.axis("off")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_hyperparameter_search(results, title=None):
    """
    Show a learning rate x regularization search as two heatmaps (train and validation
    accuracy), with every cell labelled; diverged runs (NaN) are left blank.

    Inputs:
    - results: dict (learning_rate, reg) -> (train_accuracy, val_accuracy), as returned by
      helpers.classifiers.linear_classifier.hyperparameter_search
    - title: Optional figure title
    """
    if not results:
        raise ValueError("plot_hyperparameter_search needs at least one (learning_rate, reg) result")
    lrs = sorted({lr for lr, _ in results})
    regs = sorted({reg for _, reg in results})
    grids = np.full((2, len(lrs), len(regs)), np.nan)
    for (lr, reg), accs in results.items():
        grids[:, lrs.index(lr), regs.index(reg)] = accs
    finite = grids[np.isfinite(grids)]
    low, high = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
    fig, axes = plt.subplots(1, 2, figsize=(5 + 1.1 * len(regs), 1.5 + 0.6 * len(lrs)))
    for ax, grid, name in zip(axes, grids, ("training accuracy", "validation accuracy"), strict=True):
        image = ax.imshow(grid, cmap="viridis", vmin=low, vmax=high, aspect="auto")
        best = np.unravel_index(np.nanargmax(grid), grid.shape) if np.isfinite(grid).any() else None
        for (i, j), value in np.ndenumerate(grid):
            if np.isfinite(value):
                weight = "bold" if (i, j) == best else "normal"
                ax.text(j, i, f"{value:.3f}", ha="center", va="center", fontsize=8, weight=weight,
                        color="white" if value < (low + high) / 2 else "black")
        ax.set_xticks(range(len(regs)), [f"{r:.0e}" for r in regs], rotation=45)
        ax.set_yticks(range(len(lrs)), [f"{lr:.0e}" for lr in lrs])
        ax.set_xlabel("regularization strength")
        ax.set_ylabel("learning rate")
        ax.set_title(name)
        fig.colorbar(image, ax=ax, fraction=0.046)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def full_scale_figure(fig, path, full_scale, dpi=60):
    """
    Pair a live figure with its full-scale version, for effects the quick scale is too small
    to show. At the full scale, save `fig` to `path` as a small PNG (committed with the
    course, so `make run SCALE=full` regenerates it); at the quick scale, draw the PNG the
    last full-scale run saved, titled as such (nothing when there is none yet).

    Inputs:
    - fig: The live matplotlib figure
    - path: Where the PNG lives, e.g. "figures/knn_cross_validation.png" (relative to the notebook)
    - full_scale: True when the notebook runs at the full scale
    - dpi: Resolution of the saved PNG

    Returns:
    - The figure showing the saved PNG at the quick scale, else None
    """
    path = Path(path)
    if full_scale:
        path.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")  # keep the axis labels whole
        # An adaptive palette keeps pictures of noisy weights small; plots lose nothing visible.
        Image.open(buffer).convert("RGB").quantize(colors=PALETTE_COLORS).save(path, optimize=True)
        print(f"saved the full-scale figure to {path}")
        return None
    if not path.exists():
        print(f"(no full-scale figure at {path} yet: `make run SCALE=full` saves it)")
        return None
    image = plt.imread(path)
    width, height = fig.get_size_inches()
    shown, ax = plt.subplots(figsize=(width, height))
    ax.imshow(image)
    ax.axis("off")
    ax.set_title("The same figure at the full scale (saved by `make run SCALE=full`)", fontsize=10)
    shown.tight_layout()
    return shown


# A colour per segmentation class: black background, then distinct hues (cycled past 10 classes).
SEGMENTATION_PALETTE = np.array([[0, 0, 0], [230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200],
                                 [245, 130, 48], [145, 30, 180], [70, 240, 240], [240, 50, 230], [128, 128, 128]],
                                dtype=np.uint8)


def mask_to_rgb(masks):
    """
    Colour a segmentation mask (or a batch of them) with SEGMENTATION_PALETTE, for display.

    Inputs:
    - masks: Integer array (or tensor) of shape (..., H, W), class indices >= 0

    Returns:
    - uint8 array of shape (..., H, W, 3)
    """
    masks = np.asarray(masks)
    if masks.dtype.kind not in "iu" or (masks.size and masks.min() < 0):
        raise ValueError(f"masks must hold non-negative integer classes, got dtype {masks.dtype}")
    return SEGMENTATION_PALETTE[masks % len(SEGMENTATION_PALETTE)]


def draw_boxes(ax, image, boxes, labels=None, scores=None, class_names=None, color="white", title=None):
    """
    Show an image with boxes on it, each captioned with its class (and score).

    Inputs:
    - ax: The matplotlib axes to draw on
    - image: uint8 array of shape (H, W, 3)
    - boxes: Array (or tensor) of shape (D, 4), rows (x1, y1, x2, y2) in pixels
    - labels: Optional integer array of shape (D,), the class of each box
    - scores: Optional array of shape (D,), the score of each box
    - class_names: Optional names of the classes (labels index them)
    - color: Colour of the boxes and captions
    - title: Optional axes title
    """
    boxes = np.asarray(boxes, dtype=float).reshape(-1, 4)
    ax.imshow(image)
    for k, (x1, y1, x2, y2) in enumerate(boxes):
        # A pixel's centre is at (x + 0.5, y + 0.5): a box's edges lie on pixel borders, 0.5 before the centres.
        ax.add_patch(plt.Rectangle((x1 - 0.5, y1 - 0.5), x2 - x1, y2 - y1, fill=False, edgecolor=color, lw=1.2))
        words = []
        if labels is not None:
            label = int(np.asarray(labels)[k])
            words.append(class_names[label] if class_names is not None else str(label))
        if scores is not None:
            words.append(f"{float(np.asarray(scores)[k]):.2f}")
        if words:
            ax.text(x1 - 0.5, y1 - 1.0, " ".join(words), color=color, fontsize=7, va="bottom",
                    bbox=dict(facecolor="black", alpha=0.5, pad=0.5, lw=0))
    ax.set_xlim(-0.5, image.shape[1] - 0.5)
    ax.set_ylim(image.shape[0] - 0.5, -0.5)
    ax.axis("off")
    if title:
        ax.set_title(title)


def plot_precision_recall(recall, precision, class_names, class_ap=None, title=None):
    """
    Plot a precision-recall curve per class (as helpers.detection_solver.mean_average_precision
    returns them).

    Inputs:
    - recall: Array of shape (R,), the recall levels
    - precision: Array of shape (K, R), each class's precision at those levels (-1 where the
      class never reaches that recall; not drawn)
    - class_names: The K class names
    - class_ap: Optional array of shape (K,), each class's average precision, shown in the legend
    - title: Optional title

    Returns:
    - The figure
    """
    precision = np.asarray(precision, dtype=float)
    fig, ax = plt.subplots(figsize=(5, 4))
    for k, name in enumerate(class_names):
        reached = precision[k] >= 0
        if not reached.any():
            continue
        label = name if class_ap is None else f"{name} (AP {class_ap[k]:.3f})"
        ax.plot(np.asarray(recall)[reached], precision[k][reached], label=label)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8, loc="lower left")
    ax.set_title(title or "precision-recall per class")
    return fig


def show_captioned_images(images, captions, titles=None, columns=4, width=3.0, wrap=34):
    """
    Show images in a grid, each with its captions written under it (e.g. the reference
    captions of a data set, or a reference caption and a generated one).

    Inputs:
    - images: Array of shape (B, H, W, 3) (uint8, or floats in [0, 1]), or a list of B such images
    - captions: List of B entries, each a string or a list of strings (one line each, wrapped
      at `wrap` characters)
    - titles: Optional list of B titles, shown above the images
    - columns: Number of images per row
    - width: Width of one image in inches
    - wrap: Characters per line of text

    Returns:
    - The matplotlib figure
    """
    if len(images) != len(captions):
        raise ValueError(f"images and captions must have one entry per image, got {len(images)} images and "
                         f"{len(captions)} captions")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"titles must have one entry per image ({len(images)}), got {len(titles)}")
    if len(images) == 0:
        raise ValueError("images must hold at least one image")
    texts = []
    for caption in captions:
        lines = [caption] if isinstance(caption, str) else list(caption)
        texts.append("\n".join(textwrap.fill(line, wrap) for line in lines))
    text_lines = max(text.count("\n") + 1 for text in texts)
    columns = min(columns, len(images))
    rows = ceil(len(images) / columns)
    # Each image gets a square of `width` inches and, below it, room for the longest text.
    row_height = width + 0.16 * text_lines + (0.3 if titles is not None else 0.0)
    fig, axes = plt.subplots(rows, columns, figsize=(columns * width, rows * row_height), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i, (image, text) in enumerate(zip(images, texts, strict=True)):
        ax = axes.flat[i]
        ax.imshow(np.asarray(image))
        ax.text(0.5, -0.03, text, transform=ax.transAxes, ha="center", va="top", fontsize=8)
        if titles is not None:
            ax.set_title(titles[i], fontsize=9)
    fig.tight_layout()
    return fig


def plot_gradient_over_time(panels, title=None):
    """
    How far back in time the gradient of the last word's loss reaches: the norm of its
    gradient with respect to the hidden state of every time step, on a log scale, one panel
    per model family (e.g. vanilla RNN and LSTM side by side, on the same axis range).

    Inputs:
    - panels: Dict panel title -> dict curve label -> norms, an array of shape (T,) (e.g. from
      CaptioningRNN.hidden_gradient_norms)
    - title: Optional title of the figure

    Returns:
    - The matplotlib figure
    """
    if not panels:
        raise ValueError("panels must hold at least one panel of curves")
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 3.8), sharey=True, squeeze=False)
    for ax, (panel, curves) in zip(axes[0], panels.items(), strict=True):
        for label, norms in curves.items():
            norms = np.asarray(norms, dtype=float)
            ax.semilogy(np.arange(len(norms)), norms, marker="o", markersize=3, label=label)
        ax.set_title(panel)
        ax.set_xlabel("time step t")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    axes[0, 0].set_ylabel("|| d loss_T / d h_t ||")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
