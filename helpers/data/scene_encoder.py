"""The course's own image encoder for the generated scenes: what VGG-16 is to COCO.

A small CNN reads a 64x64 scene and gives
- a 4x4 grid of 128-channel feature vectors (one per 16x16 region), for attention, and
- a 512-dimensional vector for the whole image, as COCO's PCA-reduced VGG-16 fc7 features are.

It is trained (tools/train_scene_encoder.py) with three heads, used only for training:
- from each cell of the grid (a 1x1 convolution, so each cell's vector describes its region):
  whether an object's centre lies in the cell, and that object's colour, shape, size and
  position within the cell;
- from the 512-d vector (a linear layer): the scene's objects in three slots (present, colour,
  shape, size, position), in the order captions name them (Scene.salience_order: large before
  small, then left to right or top to bottom), so the vector holds each object's attributes
  together, where a captioner expects them;
- from the grid max-pooled over positions: which colours and shapes are anywhere in the image
  (the easiest signal for learning what a shape looks like).
It is trained on scenes of its own, with every colour-shape combination (as VGG-16 saw all of
ImageNet), never on a scene of the captioning set, and never sees a caption. Its weights are
committed (helpers/data/checkpoints/scene_encoder.pt) and loaded through helpers.data.bundled.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from helpers.data.scenes import COLORS, MAX_OBJECTS, SHAPES, SIZES

CHECKPOINT_NAME = "scene_encoder"
# Per cell (and per slot): objectness, colour logits, shape logits, size logits, (x, y) position
# (within the cell; within the image for a slot).
_SLICES = {"object": slice(0, 1), "color": slice(1, 1 + len(COLORS)),
           "shape": slice(1 + len(COLORS), 1 + len(COLORS) + len(SHAPES)),
           "size": slice(1 + len(COLORS) + len(SHAPES), 1 + len(COLORS) + len(SHAPES) + len(SIZES))}
_SLICES["offset"] = slice(_SLICES["size"].stop, _SLICES["size"].stop + 2)
CELL_OUTPUTS = _SLICES["offset"].stop
SLOTS = MAX_OBJECTS


def _block(cin, cout, kernel=3, stride=1):
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, padding=kernel // 2 if kernel % 2 else 1, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class SceneEncoder(nn.Module):
    """
    image (N, 3, S, S) in [0, 1] -> grid (N, D, G, G) and vector (N, feature_dim).

    Four conv-BN-ReLU blocks of stride 2 (64 -> 32 -> 16 -> 8 -> 4; the first, 4x4, sees every
    pixel) and one more block at the grid's resolution give the grid. The vector comes from the
    grid through one self-attention layer over its G*G cells (with a learned embedding of each
    cell's position), so that each cell can compare its object with the others (is another one
    larger, or further left?), then two fully connected layers from the flattened cells (so the
    vector knows where things are), batch-normalized without scale or shift (zero mean, unit
    variance over the training scenes, like PCA features). About 30 MFLOP per image: a few
    thousand images are encoded in seconds on a CPU.

    The attention layer is there for the slots: listing the objects in salience order means
    ranking them against each other, which a fully connected layer on the flattened grid learns
    slowly: after 20 epochs, 0.87 of held-out scenes had every slot right without it, 0.98 with
    it (tools/train_scene_encoder.py prints this 'scene' accuracy after every epoch).
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
        self.cell_position = nn.Parameter(0.02 * torch.randn(1, grid_size * grid_size, grid_channels))
        self.relate = nn.TransformerEncoderLayer(grid_channels, nhead=4, dim_feedforward=2 * grid_channels,
                                                 dropout=0.0, batch_first=True, norm_first=True)
        # Two layers, not one: sorting the objects of a scene into slots is not a linear function of
        # the grid.
        self.project = nn.Sequential(nn.Linear(grid_channels * grid_size * grid_size, feature_dim),
                                     nn.ReLU(inplace=True), nn.Linear(feature_dim, feature_dim))
        self.norm = nn.BatchNorm1d(feature_dim, affine=False)
        self.cell_head = nn.Conv2d(grid_channels, CELL_OUTPUTS, 1)
        self.slot_head = nn.Linear(feature_dim, SLOTS * CELL_OUTPUTS)
        self.presence_head = nn.Linear(grid_channels, len(COLORS) + len(SHAPES))

    def forward(self, images):
        """Returns grid (N, D, G, G) and vector (N, feature_dim)."""
        grid = self.features(images)
        cells = self.relate(grid.flatten(2).transpose(1, 2) + self.cell_position)  # (N, D, G, G) -> (N, G*G, D)
        vector = self.norm(self.project(cells.flatten(1)))  # (N, G*G*D) -> (N, feature_dim)
        return grid, vector

    def heads(self, grid, vector):
        """
        The training heads: 'grid' (N, G, G, CELL_OUTPUTS) per-cell predictions from the grid,
        'slots' (N, SLOTS, CELL_OUTPUTS) the objects from the vector, and 'presence' (N, 12)
        logits of the colours and shapes in the image.
        """
        return {"grid": self.cell_head(grid).permute(0, 2, 3, 1),  # (N, D, G, G) -> (N, G, G, C)
                "slots": self.slot_head(vector).view(-1, SLOTS, CELL_OUTPUTS),  # (N, SLOTS, C)
                "presence": self.presence_head(grid.amax(dim=(2, 3)))}  # (N, D) -> (N, 12)


def images_to_tensor(images) -> torch.Tensor:
    """(N, H, W, 3) uint8 images -> (N, 3, H, W) float32 in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float().div_(255)  # (N, 3, H, W)


def scene_targets(scenes, grid_size=4):
    """
    The training targets of a list of scenes. For the grid, each object is assigned to the cell
    that holds its centre (if two share a cell, the one in front wins); for the slots, objects
    are listed in Scene.salience_order, padded to SLOTS.

    Returns a dict of tensors:
    - object: (N, G, G) float, 1 where a cell holds an object's centre
    - color, shape, size: (N, G, G) int64 class indices, -100 (ignored) elsewhere
    - offset: (N, G, G, 2) float, the centre's (x, y) position within its cell, in [0, 1)
    - presence: (N, 12) float, 1 for each colour and each shape in the scene
    - slots: dict of present (N, SLOTS) float; color, shape, size (N, SLOTS) int64 (-100 when
      absent); position (N, SLOTS, 2) float, the centre as a fraction of the image side
    """
    N = len(scenes)
    presence = torch.zeros(N, len(COLORS) + len(SHAPES))
    obj = torch.zeros(N, grid_size, grid_size)
    labels = {k: torch.full((N, grid_size, grid_size), -100, dtype=torch.long) for k in ("color", "shape", "size")}
    offset = torch.zeros(N, grid_size, grid_size, 2)
    slots = {"present": torch.zeros(N, SLOTS), "position": torch.zeros(N, SLOTS, 2),
             **{k: torch.full((N, SLOTS), -100, dtype=torch.long) for k in ("color", "shape", "size")}}
    for n, scene in enumerate(scenes):
        cell = scene.image_size / grid_size
        slot_of = {i: k for k, i in enumerate(scene.salience_order())}  # object index -> slot
        for i, o in enumerate(scene.objects):  # drawing order: later objects overwrite earlier ones
            k = slot_of[i]
            classes = {"color": COLORS.index(o.color), "shape": SHAPES.index(o.shape), "size": SIZES.index(o.size)}
            presence[n, classes["color"]] = presence[n, len(COLORS) + classes["shape"]] = 1
            gx, gy = o.center[0] / cell, o.center[1] / cell
            col, row = min(int(gx), grid_size - 1), min(int(gy), grid_size - 1)
            obj[n, row, col] = 1
            offset[n, row, col] = torch.tensor([gx - col, gy - row])
            slots["present"][n, k] = 1
            slots["position"][n, k] = torch.tensor(o.center) / scene.image_size
            for key, value in classes.items():
                labels[key][n, row, col] = slots[key][n, k] = value
    return {"object": obj, **labels, "offset": offset, "presence": presence, "slots": slots}


def take(targets, idx):
    """The targets of some scenes (rows idx) of scene_targets."""
    return {k: take(v, idx) if isinstance(v, dict) else v[idx] for k, v in targets.items()}


def encoder_loss(heads, targets):
    """The training loss: per-cell predictions, slots, and the presence of colours and shapes."""
    return (cell_loss(heads["grid"], targets) + slot_loss(heads["slots"], targets["slots"]) +
            F.binary_cross_entropy_with_logits(heads["presence"], targets["presence"]))


def slot_loss(pred, slots):
    """Mean loss of the slots (N, SLOTS, CELL_OUTPUTS) against the objects, slot k against the
    k-th object in salience order."""
    N = pred.shape[0]
    present = slots["present"]  # (N, SLOTS)
    loss = F.binary_cross_entropy_with_logits(pred[..., 0], present, reduction="none").sum(1)
    for key in ("color", "shape", "size"):
        logits = pred[..., _SLICES[key]]
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), slots[key].reshape(-1), reduction="none")
        loss = loss + ce.view(N, SLOTS).sum(1)  # ignored (absent) entries are 0
    error = (torch.sigmoid(pred[..., _SLICES["offset"]]) - slots["position"]).pow(2).sum(-1)  # (N, SLOTS)
    return (loss + 20 * (error * present).sum(1)).mean()


def slot_accuracy(pred, slots):
    """
    How well the slots describe the scenes, slot k against the k-th object in salience order:
    'count' (slots present = objects), 'color', 'shape', 'size' (per object), 'position' (mean
    error, as a fraction of the image side), and 'scene' (count, and every colour and shape right).
    """
    present = slots["present"].bool()
    count = ((pred[..., 0] > 0) == present).all(1)
    right = {k: pred[..., _SLICES[k]].argmax(-1) == slots[k] for k in ("color", "shape", "size")}
    both = ((right["color"] & right["shape"]) | ~present).all(1)
    result = {"count": count.float().mean().item()}
    result.update({k: v[present].float().mean().item() for k, v in right.items()})
    result["position"] = (torch.sigmoid(pred[..., _SLICES["offset"]]) - slots["position"]).abs()[present].mean().item()
    result["scene"] = (count & both).float().mean().item()
    return result


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
