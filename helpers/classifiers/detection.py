"""Three PyTorch models for lecture 11 (detection and segmentation), small enough to train on a CPU:

- SegmentationFCN: semantic segmentation with a fully convolutional network; an encoder that
  downsamples with max pooling, a decoder that upsamples with transpose convolutions, and skip
  connections from encoder to decoder at every scale (the U-Net pattern), so the decoder gets back
  the detail pooling threw away. Scores for every pixel.
- ClassifierBoxRegressor: classification plus localization of a single object; one convolutional
  backbone, two heads (class scores, and a box), trained with a multi-task loss.
- GridDetector: a single-shot detector (YOLO-style): the backbone's output is a grid of cells,
  and every cell predicts an objectness score, class scores and one box, all in one forward pass;
  decode_detections turns the grid into boxes and removes duplicates with non-maximum suppression.

Images are (N, 3, H, W) float tensors (normalized; see helpers.data.scene_detection). Boxes are
(x1, y1, x2, y2) in pixels, as in helpers.box_utils. Each model has `loss(...)`, returning the
total loss and its parts, which is what helpers.detection_solver.train_detection_model minimizes.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.ops import batched_nms, generalized_box_iou_loss

from helpers._checks import non_negative_number, number_in, positive_int


def conv_bn_relu(in_channels, out_channels):
    """3x3 convolution (zero-padding 1) - batch normalization - ReLU: the building block of all three models."""
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
                         nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


def _stage(in_channels, out_channels, depth):
    return nn.Sequential(*[conv_bn_relu(in_channels if k == 0 else out_channels, out_channels) for k in range(depth)])


def _check_images(x, in_channels, multiple=1):
    if not torch.is_tensor(x) or x.ndim != 4 or x.shape[1] != in_channels or not x.is_floating_point():
        got = f"{tuple(x.shape)} {x.dtype}" if torch.is_tensor(x) else type(x).__name__
        raise ValueError(f"x must be a float tensor of shape (N, {in_channels}, H, W), got {got}")
    if x.shape[2] % multiple or x.shape[3] % multiple:
        raise ValueError(f"x must have H and W divisible by {multiple} (the network downsamples {multiple} times), "
                         f"got {tuple(x.shape)}")


def _check_targets(name, boxes, labels, N, num_classes, per_image):
    """boxes (N, 4) and labels (N,) (per_image False), or (N, M, 4) and (N, M) padded with label -1."""
    shape = (N, 4) if not per_image else (N, None, 4)
    if not torch.is_tensor(boxes) or boxes.ndim != len(shape) or boxes.shape[0] != N or boxes.shape[-1] != 4:
        got = tuple(boxes.shape) if torch.is_tensor(boxes) else type(boxes).__name__
        want = "(N, 4)" if not per_image else "(N, M, 4)"
        raise ValueError(f"{name} must be a tensor of shape {want} with N = {N}, got {got}")
    if not torch.is_tensor(labels) or tuple(labels.shape) != tuple(boxes.shape[:-1]) or labels.dtype != torch.int64:
        got = f"{tuple(labels.shape)} {labels.dtype}" if torch.is_tensor(labels) else type(labels).__name__
        raise ValueError(f"labels must be an int64 tensor of shape {tuple(boxes.shape[:-1])}, got {got}")
    low = -1 if per_image else 0
    if labels.numel() and (labels.min() < low or labels.max() >= num_classes):
        raise ValueError(f"labels must be in {low}..{num_classes - 1}"
                         f"{' (-1: no object)' if per_image else ''}, got range "
                         f"{int(labels.min())}..{int(labels.max())}")
    real = boxes[labels >= 0] if per_image else boxes
    if real.numel() and bool(((real[:, 2] < real[:, 0]) | (real[:, 3] < real[:, 1])).any()):
        raise ValueError(f"{name} must hold boxes (x1, y1, x2, y2) with x1 <= x2 and y1 <= y2")


# ----------------------------------------------------------------------------- semantic segmentation

class SegmentationFCN(nn.Module):
    """
    A fully convolutional network for semantic segmentation, U-Net style:

        encoder:  [conv-bn-relu x2] -> maxpool 2 -> [conv-bn-relu x2] -> maxpool 2 -> ... (len(widths) - 1 times)
        decoder:  transpose conv 4x4 stride 2 (doubles H and W) -> concatenate the encoder's
                  features of that scale -> [conv-bn-relu x2], back up to full resolution
        head:     1x1 convolution to num_classes scores per pixel

    Without the skip connections (skips=False) the decoder must recover every boundary from the
    coarsest features alone, and the masks come out blurred.

    Inputs to the constructor:
    - num_classes: K, classes per pixel (background included)
    - in_channels: Channels of the input images
    - widths: Channels at each scale, from full resolution down; the images' H and W must be
      divisible by 2 ** (len(widths) - 1)
    - skips: Concatenate the encoder's features into the decoder (the U-Net skip connections)
    - class_weights: Optional K weights of the classes in the cross-entropy (None: all 1); mean IoU
      counts every class equally however few pixels it has, so the rare ones may deserve more
    forward(x): x of shape (N, in_channels, H, W) -> scores of shape (N, K, H, W)
    """

    def __init__(self, num_classes=7, in_channels=3, widths=(16, 32, 64, 128), skips=True, class_weights=None):
        super().__init__()
        self.num_classes = positive_int("num_classes", num_classes)
        self.in_channels = positive_int("in_channels", in_channels)
        widths = tuple(positive_int("widths", w) for w in widths)
        if len(widths) < 2:
            raise ValueError(f"widths must name at least two scales, got {widths}")
        self.widths, self.skips = widths, bool(skips)
        self.encoder = nn.ModuleList([_stage(in_channels if k == 0 else widths[k - 1], w, 2)
                                      for k, w in enumerate(widths)])
        # Transpose convolution 4x4, stride 2, pad 1: (H - 1) * 2 - 2 + 4 = 2H exactly.
        self.up = nn.ModuleList([nn.ConvTranspose2d(widths[k + 1], widths[k], 4, stride=2, padding=1)
                                 for k in range(len(widths) - 1)])
        self.decoder = nn.ModuleList([_stage(2 * widths[k] if skips else widths[k], widths[k], 2)
                                      for k in range(len(widths) - 1)])
        self.head = nn.Conv2d(widths[0], num_classes, 1)
        if class_weights is not None:
            class_weights = torch.as_tensor(class_weights, dtype=torch.float32)
            if class_weights.shape != (num_classes,) or not bool((class_weights >= 0).all()):
                raise ValueError(f"class_weights must be {num_classes} non-negative numbers, got "
                                 f"{class_weights.tolist()}")
        # A buffer: saved with the model and moved with it, but not trained.
        self.register_buffer("class_weights", class_weights)

    def forward(self, x):
        _check_images(x, self.in_channels, 2 ** (len(self.widths) - 1))
        features = []
        for k, stage in enumerate(self.encoder):
            x = stage(x if k == 0 else F.max_pool2d(x, 2))
            features.append(x)
        for k in reversed(range(len(self.up))):
            x = self.up[k](x)  # (N, widths[k], H_k, W_k)
            if self.skips:
                x = torch.cat([x, features[k]], dim=1)  # (N, 2 * widths[k], H_k, W_k)
            x = self.decoder[k](x)
        return self.head(x)

    def loss(self, x, masks):
        """
        Per-pixel cross-entropy, averaged over all pixels of the batch (a weighted average with
        class_weights).

        Inputs:
        - x: Images of shape (N, C, H, W)
        - masks: Integer tensor of shape (N, H, W), the class of each pixel (0..K-1)

        Returns a tuple of:
        - loss: Scalar tensor
        - parts: Dict {'pixel_ce': float}
        """
        if not torch.is_tensor(masks) or masks.shape != (x.shape[0], *x.shape[2:]) or masks.is_floating_point():
            got = f"{tuple(masks.shape)} {masks.dtype}" if torch.is_tensor(masks) else type(masks).__name__
            raise ValueError(f"masks must be an integer tensor of shape {(x.shape[0], *x.shape[2:])} (one class per "
                             f"pixel of x {tuple(x.shape)}), got {got}")
        loss = F.cross_entropy(self(x), masks.long(), weight=self.class_weights)
        return loss, {"pixel_ce": loss.item()}

    @torch.no_grad()
    def predict(self, x):
        """The most likely class of every pixel: x (N, C, H, W) -> masks (N, H, W) int64."""
        return self(x).argmax(dim=1)


# ----------------------------------------------------------------------------- classification + localization

class ClassifierBoxRegressor(nn.Module):
    """
    Classification plus localization of one object per image: a convolutional backbone
    ([conv-bn-relu] then maxpool 2, len(widths) times), flattened (so the features keep where
    things are: global average pooling would throw the position away), one hidden affine layer,
    then two heads: num_classes class scores, and 4 box numbers.

    The box head predicts the box's centre and size as fractions of the image side (a sigmoid
    keeps them in (0, 1)); forward returns the box as (x1, y1, x2, y2) in pixels.

    Inputs to the constructor:
    - num_classes: K
    - in_channels: Channels of the input images
    - image_size: Side of the square input images (divisible by 2 ** len(widths))
    - widths: Channels of the backbone's stages
    - hidden_dim: Size of the hidden affine layer
    - box_weight: Weight of the box loss against the cross-entropy in the multi-task loss
    forward(x): x of shape (N, in_channels, image_size, image_size) -> (scores (N, K), boxes (N, 4))
    """

    def __init__(self, num_classes=6, in_channels=3, image_size=64, widths=(16, 32, 64, 128), hidden_dim=256,
                 box_weight=1.0):
        super().__init__()
        self.num_classes = positive_int("num_classes", num_classes)
        self.in_channels = positive_int("in_channels", in_channels)
        self.image_size = positive_int("image_size", image_size)
        widths = tuple(positive_int("widths", w) for w in widths)
        if image_size % 2 ** len(widths):
            raise ValueError(f"image_size must be divisible by 2 ** len(widths) = {2 ** len(widths)}, got {image_size}")
        self.box_weight = non_negative_number("box_weight", box_weight)
        layers = []
        for k, w in enumerate(widths):
            layers += [conv_bn_relu(in_channels if k == 0 else widths[k - 1], w), nn.MaxPool2d(2)]
        self.backbone = nn.Sequential(*layers)
        side = image_size // 2 ** len(widths)
        self.hidden = nn.Sequential(nn.Flatten(), nn.Linear(widths[-1] * side * side, hidden_dim),
                                    nn.ReLU(inplace=True))
        self.class_head = nn.Linear(hidden_dim, num_classes)
        self.box_head = nn.Linear(hidden_dim, 4)

    def forward(self, x):
        _check_images(x, self.in_channels)
        if x.shape[2:] != (self.image_size, self.image_size):
            raise ValueError(f"x must have shape (N, {self.in_channels}, {self.image_size}, {self.image_size}), "
                             f"got {tuple(x.shape)}")
        h = self.hidden(self.backbone(x))  # (N, hidden_dim)
        centre_size = torch.sigmoid(self.box_head(h)) * self.image_size  # (N, 4): cx, cy, w, h in pixels
        centre, size = centre_size[:, :2], centre_size[:, 2:]
        return self.class_head(h), torch.cat([centre - size / 2, centre + size / 2], dim=1)

    def loss(self, x, labels, boxes):
        """
        The multi-task loss: cross-entropy of the class scores plus box_weight times the box loss,
        which is the generalized IoU loss (1 - GIoU, scale-free, and non-zero even for boxes that do
        not overlap) plus the L1 distance of the corners in units of the image side.

        Inputs:
        - x: Images of shape (N, C, H, W)
        - labels: int64 tensor of shape (N,), the class of each image's object
        - boxes: Tensor of shape (N, 4), its box (x1, y1, x2, y2) in pixels

        Returns a tuple of:
        - loss: Scalar tensor
        - parts: Dict of floats {'class_ce', 'box'}
        """
        _check_targets("boxes", boxes, labels, x.shape[0], self.num_classes, per_image=False)
        scores, pred = self(x)
        class_loss = F.cross_entropy(scores, labels)
        boxes = boxes.to(pred.dtype)
        box_loss = generalized_box_iou_loss(pred, boxes, reduction="mean") + \
            F.l1_loss(pred, boxes) * 4 / self.image_size
        return class_loss + self.box_weight * box_loss, {"class_ce": class_loss.item(), "box": box_loss.item()}

    @torch.no_grad()
    def predict(self, x):
        """Class and box of each image: x (N, C, H, W) -> (labels (N,) int64, boxes (N, 4) in pixels)."""
        scores, boxes = self(x)
        return scores.argmax(dim=1), boxes


# ----------------------------------------------------------------------------- single-shot detection

OBJECTNESS_PRIOR_LOGIT = -3.5  # sigmoid(-3.5) = 0.03

class GridDetector(nn.Module):
    """
    A single-shot detector on a grid, YOLO-style. A convolutional backbone downsamples the image
    by `stride` (maxpool 2, log2(stride) times), more 3x3 convolutions widen the receptive field
    to the largest object, and a 1x1 convolution predicts, for each of the (H / stride) x
    (W / stride) grid cells, 5 + K numbers:
    - objectness: whether an object's box centre lies in this cell (a logit);
    - (tx, ty): where in the cell the centre lies (sigmoid: fractions of the cell);
    - (tw, th): the box's width and height, log-scale relative to `anchor_size` pixels;
    - K class scores, for the object whose centre is in the cell.

    Each object is assigned to the cell that holds its box centre; an image's objects must have
    their centres in different cells (the generated scenes keep centres at least 13 pixels apart,
    more than a cell). decode_detections turns the grid into scored boxes and applies NMS.

    Inputs to the constructor:
    - num_classes: K
    - in_channels: Channels of the input images
    - widths: Channels of the backbone's stages, one per downsampling (the stride is 2 ** len(widths))
    - head_width, head_depth: Channels and number of the 3x3 convolutions on the grid
    - anchor_size: Typical object size in pixels, the unit of (tw, th)
    - box_weight, class_weight, noobj_weight: Weights of the box and class losses and of the
      objectness loss of the cells that hold no object
    forward(x): x of shape (N, in_channels, H, W) -> raw grid of shape (N, 5 + K, H / stride, W / stride)
    """

    def __init__(self, num_classes=6, in_channels=3, widths=(16, 32, 64), head_width=128, head_depth=2,
                 anchor_size=16.0, box_weight=2.0, class_weight=1.0, noobj_weight=1.0):
        super().__init__()
        self.num_classes = positive_int("num_classes", num_classes)
        self.in_channels = positive_int("in_channels", in_channels)
        widths = tuple(positive_int("widths", w) for w in widths)
        self.stride = 2 ** len(widths)
        self.anchor_size = number_in("anchor_size", anchor_size, 0.0, float("inf"), low_open=True)
        self.box_weight = non_negative_number("box_weight", box_weight)
        self.class_weight = non_negative_number("class_weight", class_weight)
        self.noobj_weight = non_negative_number("noobj_weight", noobj_weight)
        layers = []
        for k, w in enumerate(widths):
            layers += [conv_bn_relu(in_channels if k == 0 else widths[k - 1], w), nn.MaxPool2d(2)]
        head_width = positive_int("head_width", head_width)
        layers.append(_stage(widths[-1], head_width, positive_int("head_depth", head_depth)))
        self.backbone = nn.Sequential(*layers)
        self.head = nn.Conv2d(head_width, 5 + num_classes, 1)
        # Start from the prior that few cells hold an object (about 1 in 30 in the generated scenes):
        # from a logit of 0, the empty cells' objectness loss would swamp everything else at first.
        nn.init.constant_(self.head.bias[0], OBJECTNESS_PRIOR_LOGIT)

    def forward(self, x):
        _check_images(x, self.in_channels, self.stride)
        return self.head(self.backbone(x))

    def grid_boxes(self, raw):
        """
        The box each cell predicts, in pixels.

        Inputs:
        - raw: Output of forward, of shape (N, 5 + K, S_h, S_w)

        Returns:
        - boxes: Tensor of shape (N, S_h, S_w, 4), (x1, y1, x2, y2) in pixels
        """
        S_h, S_w = raw.shape[2:]
        rows = torch.arange(S_h, device=raw.device, dtype=raw.dtype).view(1, S_h, 1)  # (1, S_h, 1)
        cols = torch.arange(S_w, device=raw.device, dtype=raw.dtype).view(1, 1, S_w)  # (1, 1, S_w)
        cx = (cols + torch.sigmoid(raw[:, 1])) * self.stride  # (N, S_h, S_w)
        cy = (rows + torch.sigmoid(raw[:, 2])) * self.stride
        # Clamped: exp of a large early-training logit must not overflow to infinite boxes.
        w = torch.exp(raw[:, 3].clamp(max=4.0)) * self.anchor_size
        h = torch.exp(raw[:, 4].clamp(max=4.0)) * self.anchor_size
        return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=-1)  # (N, S_h, S_w, 4)

    def assign(self, boxes, labels, grid_shape):
        """
        Assign every object to the grid cell that holds its box centre.

        Inputs:
        - boxes: Tensor of shape (N, M, 4), each image's boxes in pixels (rows of padding are ignored)
        - labels: int64 tensor of shape (N, M), their classes; -1 marks padding
        - grid_shape: (S_h, S_w)

        Returns a tuple of:
        - positive: bool tensor of shape (N, S_h, S_w), True at the cells that hold an object
        - cell_boxes: Tensor of shape (N, S_h, S_w, 4), the object's box at each positive cell
        - cell_labels: int64 tensor of shape (N, S_h, S_w), its class (-1 elsewhere)
        """
        N = boxes.shape[0]
        S_h, S_w = grid_shape
        positive = torch.zeros((N, S_h, S_w), dtype=torch.bool, device=boxes.device)
        cell_boxes = torch.zeros((N, S_h, S_w, 4), dtype=boxes.dtype, device=boxes.device)
        cell_labels = torch.full((N, S_h, S_w), -1, dtype=torch.int64, device=boxes.device)
        image, slot = torch.nonzero(labels >= 0, as_tuple=True)
        b = boxes[image, slot]  # (P, 4)
        row = ((b[:, 1] + b[:, 3]) / 2 / self.stride).floor().long().clamp(0, S_h - 1)
        col = ((b[:, 0] + b[:, 2]) / 2 / self.stride).floor().long().clamp(0, S_w - 1)
        positive[image, row, col] = True
        cell_boxes[image, row, col] = b
        cell_labels[image, row, col] = labels[image, slot]
        return positive, cell_boxes, cell_labels

    def loss(self, x, boxes, labels):
        """
        The detector's loss, summed over the cells of an image and averaged over the images:
        - objectness: binary cross-entropy at every cell (noobj_weight at the cells without an object);
        - class: cross-entropy at the cells that hold an object;
        - box: at those cells, the generalized IoU loss (1 - GIoU) of the predicted box.

        Inputs:
        - x: Images of shape (N, C, H, W)
        - boxes: Tensor of shape (N, M, 4), each image's boxes (x1, y1, x2, y2) in pixels, padded
        - labels: int64 tensor of shape (N, M), their classes, -1 for padding

        Returns a tuple of:
        - loss: Scalar tensor
        - parts: Dict of floats {'objectness', 'class_ce', 'box'}
        """
        N = x.shape[0]
        _check_targets("boxes", boxes, labels, N, self.num_classes, per_image=True)
        raw = self(x)
        positive, cell_boxes, cell_labels = self.assign(boxes.to(raw.dtype), labels, raw.shape[2:])
        target = positive.to(raw.dtype)
        weight = torch.where(positive, 1.0, self.noobj_weight)
        obj_loss = F.binary_cross_entropy_with_logits(raw[:, 0], target, weight=weight, reduction="sum") / N
        class_scores = raw[:, 5:].permute(0, 2, 3, 1)[positive]  # (P, K)
        class_loss = F.cross_entropy(class_scores, cell_labels[positive], reduction="sum") / N
        pred = self.grid_boxes(raw)[positive]  # (P, 4)
        box_loss = generalized_box_iou_loss(pred, cell_boxes[positive], reduction="sum") / N
        loss = obj_loss + self.class_weight * class_loss + self.box_weight * box_loss
        return loss, {"objectness": obj_loss.item(), "class_ce": class_loss.item(), "box": box_loss.item()}

    @torch.no_grad()
    def detect(self, x, score_threshold=0.05, iou_threshold=0.5, max_detections=100, apply_nms=True):
        """forward, then decode_detections: see there."""
        return decode_detections(self, self(x), score_threshold, iou_threshold, max_detections, apply_nms)


def decode_detections(model, raw, score_threshold=0.05, iou_threshold=0.5, max_detections=100, apply_nms=True):
    """
    Turn a GridDetector's raw grid into detections: every cell proposes its box with the score
    P(object) * P(class | object) of its most likely class; proposals scoring below the
    threshold are dropped, then non-maximum suppression (per class, torchvision's batched_nms)
    removes the duplicates of each object, and the best max_detections remain.

    Inputs:
    - model: The GridDetector that produced raw
    - raw: Its output, of shape (N, 5 + K, S_h, S_w)
    - score_threshold: Smallest score kept, in [0, 1]
    - iou_threshold: NMS threshold, in [0, 1]
    - max_detections: Largest number of detections per image
    - apply_nms: False to see the proposals before NMS

    Returns:
    - List of N dicts (one per image) with 'boxes' (D, 4) in pixels, 'scores' (D,) and
      'labels' (D,) int64, in decreasing order of score; D may be 0
    """
    score_threshold = number_in("score_threshold", score_threshold, 0.0, 1.0)
    iou_threshold = number_in("iou_threshold", iou_threshold, 0.0, 1.0)
    max_detections = positive_int("max_detections", max_detections)
    boxes = model.grid_boxes(raw).flatten(1, 2)  # (N, S_h * S_w, 4)
    probs = torch.sigmoid(raw[:, :1]) * torch.softmax(raw[:, 5:], dim=1)  # (N, K, S_h, S_w)
    scores, labels = probs.flatten(2).max(dim=1)  # (N, S_h * S_w) each
    detections = []
    for n in range(raw.shape[0]):
        keep = torch.nonzero(scores[n] >= score_threshold).flatten()
        b, s, c = boxes[n, keep], scores[n, keep], labels[n, keep]
        if apply_nms:
            keep = batched_nms(b, s, c, iou_threshold)  # sorted by decreasing score
        else:
            keep = torch.argsort(s, descending=True)
        keep = keep[:max_detections]
        detections.append({"boxes": b[keep], "scores": s[keep], "labels": c[keep]})
    return detections
