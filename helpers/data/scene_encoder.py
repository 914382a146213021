"""The course's own image encoder for the generated scenes: what VGG-16 is to COCO.

A small CNN reads a 64x64 scene and gives
- a 4x4 grid of 128-channel feature vectors (one per 16x16 region), for attention, and
- a 512-dimensional vector for the whole image, as COCO's PCA-reduced VGG-16 fc7 features are.

It is trained (tools/train_scene_encoder.py) to say, for each cell of the grid, whether an object's
centre lies in it, and that object's colour, shape, size and position within the cell: once from
the grid itself (a 1x1 convolution, so each cell's vector describes its region) and once from the
512-d vector (a linear layer, so the vector describes the whole scene). Colour and shape are
predicted separately, so the encoder can describe combinations it never saw. It never sees
captions. Its weights are committed (helpers/data/checkpoints/scene_encoder.pt) and loaded
through helpers.data.bundled.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from helpers.data.scenes import COLORS, SHAPES, SIZES

CHECKPOINT_NAME = "scene_encoder"
# Per cell: objectness, colour logits, shape logits, size logits, (x, y) offset within the cell.
_SLICES = {"object": slice(0, 1), "color": slice(1, 1 + len(COLORS)),
           "shape": slice(1 + len(COLORS), 1 + len(COLORS) + len(SHAPES)),
           "size": slice(1 + len(COLORS) + len(SHAPES), 1 + len(COLORS) + len(SHAPES) + len(SIZES))}
_SLICES["offset"] = slice(_SLICES["size"].stop, _SLICES["size"].stop + 2)
CELL_OUTPUTS = _SLICES["offset"].stop


def _block(cin, cout, kernel=3, stride=1):
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, padding=1, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


class SceneEncoder(nn.Module):
    """
    image (N, 3, S, S) in [0, 1] -> grid (N, D, G, G) and vector (N, feature_dim).

    Four conv-BN-ReLU blocks of stride 2 (64 -> 32 -> 16 -> 8 -> 4; the first, 4x4, sees every
    pixel), one more block at the grid's resolution, then a linear layer from the flattened grid
    (so the vector knows where things are) to the feature vector, batch-normalized without scale
    or shift (zero mean, unit variance over the training scenes, like PCA features). About 30
    MFLOP per image: a few thousand images are encoded in seconds on a CPU.
    """

    def __init__(self, image_size=64, grid_size=4, grid_channels=128, feature_dim=512):
        super().__init__()
        stages = int(round(np.log2(image_size / grid_size)))
        if grid_size * 2 ** stages != image_size:
            raise ValueError(f"image_size must be grid_size times a power of 2, got {image_size} and {grid_size}")
        self.config = {"image_size": image_size, "grid_size": grid_size, "grid_channels": grid_channels,
                       "feature_dim": feature_dim}
        widths = [int(w) for w in np.linspace(32, grid_channels, stages).round()]  # [32, 64, 96, 128]
        layers = [_block(3, widths[0], kernel=4, stride=2)]
        layers += [_block(cin, cout, stride=2) for cin, cout in zip(widths[:-1], widths[1:], strict=True)]
        self.features = nn.Sequential(*layers, _block(grid_channels, grid_channels))
        self.project = nn.Linear(grid_channels * grid_size * grid_size, feature_dim)
        self.norm = nn.BatchNorm1d(feature_dim, affine=False)
        self.cell_head = nn.Conv2d(grid_channels, CELL_OUTPUTS, 1)
        self.vector_head = nn.Linear(feature_dim, CELL_OUTPUTS * grid_size * grid_size)
        self.presence_head = nn.Linear(grid_channels, len(COLORS) + len(SHAPES))

    def forward(self, images):
        """Returns grid (N, D, G, G) and vector (N, feature_dim)."""
        grid = self.features(images)
        vector = self.norm(self.project(grid.flatten(1)))  # (N, D*G*G) -> (N, feature_dim)
        return grid, vector

    def heads(self, grid, vector):
        """
        The training heads: per-cell predictions from the grid ('grid') and from the vector
        ('vector'), both (N, G, G, CELL_OUTPUTS), and which colours and shapes are anywhere in
        the image ('presence', (N, 12) logits, from the grid max-pooled over positions: the
        easiest signal for learning what a shape looks like, wherever it is).
        """
        G = self.config["grid_size"]
        return {"grid": self.cell_head(grid).permute(0, 2, 3, 1),  # (N, G, G, C)
                "vector": self.vector_head(vector).view(-1, G, G, CELL_OUTPUTS),  # (N, G, G, C)
                "presence": self.presence_head(grid.amax(dim=(2, 3)))}  # (N, D) -> (N, 12)


def images_to_tensor(images) -> torch.Tensor:
    """(N, H, W, 3) uint8 images -> (N, 3, H, W) float32 in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float().div_(255)  # (N, 3, H, W)


def scene_targets(scenes, grid_size=4):
    """
    The training targets of a list of scenes. Each object is assigned to the cell that holds
    its centre; if two share a cell, the one in front wins.

    Returns a dict of tensors:
    - object: (N, G, G) float, 1 where a cell holds an object's centre
    - color, shape, size: (N, G, G) int64 class indices, -100 (ignored) elsewhere
    - offset: (N, G, G, 2) float, the centre's (x, y) position within its cell, in [0, 1)
    - presence: (N, 12) float, 1 for each colour and each shape in the scene
    """
    N = len(scenes)
    presence = torch.zeros(N, len(COLORS) + len(SHAPES))
    for n, scene in enumerate(scenes):
        for o in scene.objects:
            presence[n, COLORS.index(o.color)] = presence[n, len(COLORS) + SHAPES.index(o.shape)] = 1
    obj = torch.zeros(N, grid_size, grid_size)
    labels = {k: torch.full((N, grid_size, grid_size), -100, dtype=torch.long) for k in ("color", "shape", "size")}
    offset = torch.zeros(N, grid_size, grid_size, 2)
    for n, scene in enumerate(scenes):
        cell = scene.image_size / grid_size
        for o in scene.objects:  # drawing order: later objects overwrite earlier ones
            gx, gy = o.center[0] / cell, o.center[1] / cell
            col, row = min(int(gx), grid_size - 1), min(int(gy), grid_size - 1)
            obj[n, row, col] = 1
            labels["color"][n, row, col] = COLORS.index(o.color)
            labels["shape"][n, row, col] = SHAPES.index(o.shape)
            labels["size"][n, row, col] = SIZES.index(o.size)
            offset[n, row, col] = torch.tensor([gx - col, gy - row])
    return {"object": obj, **labels, "offset": offset, "presence": presence}


def encoder_loss(heads, targets):
    """The training loss: both per-cell predictions and the presence of colours and shapes."""
    return (cell_loss(heads["grid"], targets) + cell_loss(heads["vector"], targets) +
            F.binary_cross_entropy_with_logits(heads["presence"], targets["presence"]))


def cell_loss(pred, targets):
    """Loss of per-cell predictions (N, G, G, CELL_OUTPUTS) against scene_targets."""
    loss = F.binary_cross_entropy_with_logits(pred[..., _SLICES["object"]].squeeze(-1), targets["object"])
    for key in ("color", "shape", "size"):
        logits = pred[..., _SLICES[key]]
        loss = loss + F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets[key].reshape(-1))
    positive = targets["object"].bool()
    loss = loss + 4 * F.mse_loss(torch.sigmoid(pred[..., _SLICES["offset"]][positive]), targets["offset"][positive])
    return loss


def cell_accuracy(pred, targets):
    """Accuracy of each per-cell prediction: 'object' over all cells, attributes over the cells
    that hold an object, and 'offset' as the mean absolute error in cells."""
    positive = targets["object"].bool()
    result = {"object": ((pred[..., 0] > 0).float() == targets["object"]).float().mean().item()}
    for key in ("color", "shape", "size"):
        result[key] = (pred[..., _SLICES[key]].argmax(-1)[positive] == targets[key][positive]).float().mean().item()
    result["offset"] = (torch.sigmoid(pred[..., _SLICES["offset"]][positive]) -
                        targets["offset"][positive]).abs().mean().item()
    return result


def load_scene_encoder() -> SceneEncoder:
    """The bundled encoder (checksum verified, loaded with weights_only=True), in eval mode."""
    from helpers.data.bundled import load_bundled_state_dict

    saved = load_bundled_state_dict(CHECKPOINT_NAME)
    encoder = SceneEncoder(**saved["config"])
    encoder.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in saved["state_dict"].items()})
    return encoder.eval()


def encode_images(images, encoder=None, batch_size=500):
    """
    Features of images through the scene encoder.

    Inputs:
    - images: (N, H, W, 3) uint8
    - encoder: A SceneEncoder; None loads the bundled one
    - batch_size: Images per forward pass

    Returns a tuple of:
    - features: (N, feature_dim) float32, the image vectors (512-d, like COCO's PCA features)
    - grid: (N, G*G, D) float16, one D-dim vector per grid position, row by row
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
        raise ValueError(f"images must be uint8 of shape (N, H, W, 3), got {images.dtype} {images.shape}")
    encoder = load_scene_encoder() if encoder is None else encoder.eval()
    size = encoder.config["image_size"]
    if images.shape[1:3] != (size, size):
        raise ValueError(f"the encoder reads {size}x{size} images, got {images.shape[1]}x{images.shape[2]}")
    G, D = encoder.config["grid_size"], encoder.config["grid_channels"]
    features = np.empty((len(images), encoder.config["feature_dim"]), dtype=np.float32)
    grid = np.empty((len(images), G * G, D), dtype=np.float16)
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            g, v = encoder(images_to_tensor(images[start:start + batch_size]))
            features[start:start + len(v)] = v.numpy()
            grid[start:start + len(v)] = g.flatten(2).transpose(1, 2).numpy()  # (B, D, G, G) -> (B, G*G, D)
    return features, grid
