"""Training and evaluating the models of helpers.classifiers.detection, and the recipes that reach the
DetectionSegmentation notebook's targets on the generated scenes in a few minutes each on 2 CPU cores.

- train_detection_model: one minibatch loop for all three models (AdamW, one-cycle schedule);
  each model's `loss(x, *targets)` says what it minimizes.
- evaluate_segmentation: mean intersection over union of the pixel classes (the PASCAL VOC
  measure, through torchmetrics' MulticlassJaccardIndex).
- evaluate_localization: mean IoU of the predicted and true boxes, and the class accuracy.
- evaluate_detection: mean average precision at IoU 0.5 (torchmetrics' MeanAveragePrecision,
  on pycocotools: COCO's own evaluation) and the precision-recall curve of each class.
- FCN_RECIPE, LOCALIZER_RECIPE, DETECTOR_RECIPE: the model and training settings of each task;
  build_model(recipe, seed) builds the recipe's model.
"""

import time

import numpy as np
import torch
from torchmetrics.classification import MulticlassJaccardIndex
from torchmetrics.detection import MeanAveragePrecision

from helpers._checks import non_negative_number, positive_int, positive_number
from helpers.classifiers.detection import ClassifierBoxRegressor, GridDetector, SegmentationFCN
from helpers.optim import TrainingDivergedError
from helpers.pytorch.open_ended import one_cycle_schedule

MODELS = {"fcn": SegmentationFCN, "localizer": ClassifierBoxRegressor, "detector": GridDetector}

# Each recipe: the model's class and constructor arguments, and train_detection_model's settings.
FCN_RECIPE = dict(model="fcn", model_kwargs=dict(num_classes=7, widths=(16, 32, 64, 128)),
                  training=dict(num_epochs=8, batch_size=32, learning_rate=3e-3, weight_decay=1e-4))
LOCALIZER_RECIPE = dict(model="localizer", model_kwargs=dict(num_classes=6, widths=(16, 32, 64, 128)),
                        training=dict(num_epochs=10, batch_size=64, learning_rate=2e-3, weight_decay=1e-4))
DETECTOR_RECIPE = dict(model="detector", model_kwargs=dict(num_classes=6, widths=(16, 32, 64)),
                       training=dict(num_epochs=10, batch_size=64, learning_rate=3e-3, weight_decay=1e-4))


def build_model(recipe, seed=0):
    """
    A recipe's model, with its weights drawn from `seed`.

    Inputs:
    - recipe: One of FCN_RECIPE, LOCALIZER_RECIPE, DETECTOR_RECIPE (or a dict like them)
    - seed: Seed of the weight initialization

    Returns:
    - The nn.Module, on the CPU
    """
    if not isinstance(recipe, dict) or recipe.get("model") not in MODELS:
        raise ValueError(f"recipe must be a dict whose 'model' is one of {tuple(MODELS)}, got {recipe!r}")
    torch.manual_seed(seed)
    return MODELS[recipe["model"]](**recipe.get("model_kwargs", {}))


def _check_data(inputs, targets):
    if not torch.is_tensor(inputs) or inputs.ndim != 4:
        raise ValueError(f"inputs must be a tensor of shape (N, C, H, W), got "
                         f"{tuple(inputs.shape) if torch.is_tensor(inputs) else type(inputs).__name__}")
    if not isinstance(targets, (tuple, list)) or not targets:
        raise ValueError(f"targets must be a non-empty tuple of tensors, got {type(targets).__name__}")
    for k, t in enumerate(targets):
        if not torch.is_tensor(t) or t.shape[0] != inputs.shape[0]:
            got = tuple(t.shape) if torch.is_tensor(t) else type(t).__name__
            raise ValueError(f"targets[{k}] must be a tensor with one row per image ({inputs.shape[0]}), got {got}")


def train_detection_model(model, inputs, targets, num_epochs=10, batch_size=64, learning_rate=2e-3,
                          weight_decay=1e-4, seed=0, print_every=1, verbose=True):
    """
    Train a model of helpers.classifiers.detection: AdamW on minibatches drawn in a seeded random
    order, with a one-cycle learning-rate schedule (linear warm-up over the first quarter of the
    steps, then linear decay to 0).

    Inputs:
    - model: An nn.Module with `loss(x, *targets) -> (loss, parts)`; trained in place, on the CPU
    - inputs: Tensor of shape (N, C, H, W), the images
    - targets: Tuple of tensors with N rows each, what model.loss takes after x: (masks,) for
      SegmentationFCN, (labels, boxes) for ClassifierBoxRegressor, (boxes, labels) for GridDetector
    - num_epochs, batch_size: Length of the run
    - learning_rate: Peak learning rate
    - weight_decay: AdamW's decoupled weight decay
    - seed: Seed of the minibatch order
    - print_every: Print the mean loss and its parts every this many epochs (if verbose)
    - verbose: Print at all

    Returns a dict with:
    - loss: List of the loss of every minibatch
    - parts: Dict name -> list of that part of the loss, every minibatch
    - epoch_seconds, epoch_cpu_seconds: Wall-clock and CPU time of each epoch
    """
    _check_data(inputs, targets)
    num_epochs, batch_size = positive_int("num_epochs", num_epochs), positive_int("batch_size", batch_size)
    learning_rate = positive_number("learning_rate", learning_rate)
    weight_decay = non_negative_number("weight_decay", weight_decay)
    N = inputs.shape[0]
    steps_per_epoch = -(-N // batch_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=weight_decay)
    scheduler = one_cycle_schedule(optimizer, num_epochs * steps_per_epoch)
    generator = torch.Generator().manual_seed(seed)
    history = {"loss": [], "parts": {}, "epoch_seconds": [], "epoch_cpu_seconds": []}
    model.train()
    for epoch in range(num_epochs):
        start, cpu_start = time.perf_counter(), time.process_time()
        order = torch.randperm(N, generator=generator)
        for step in range(steps_per_epoch):
            batch = order[step * batch_size:(step + 1) * batch_size]
            loss, parts = model.loss(inputs[batch], *(t[batch] for t in targets))
            if not torch.isfinite(loss):
                raise TrainingDivergedError(f"the loss is {loss.item()} at epoch {epoch + 1}, step {step + 1}: "
                                            f"lower the learning rate (now {learning_rate:g})")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            history["loss"].append(loss.item())
            for name, value in parts.items():
                history["parts"].setdefault(name, []).append(value)
        history["epoch_seconds"].append(time.perf_counter() - start)
        history["epoch_cpu_seconds"].append(time.process_time() - cpu_start)
        if verbose and ((epoch + 1) % print_every == 0 or epoch + 1 == num_epochs):
            means = ", ".join(f"{name} {np.mean(values[-steps_per_epoch:]):.4f}"
                              for name, values in history["parts"].items())
            print(f"epoch {epoch + 1}/{num_epochs}: loss {np.mean(history['loss'][-steps_per_epoch:]):.4f} "
                  f"({means}), {history['epoch_seconds'][-1]:.1f} s ({history['epoch_cpu_seconds'][-1]:.1f} s CPU)",
                  flush=True)
    model.eval()
    return history


def _batches(N, batch_size):
    return [slice(start, min(N, start + batch_size)) for start in range(0, N, batch_size)]


@torch.no_grad()
def evaluate_segmentation(model, inputs, masks, batch_size=256):
    """
    Mean intersection over union of a segmentation model's pixel classes, over a whole dataset.

    For each class, IoU = (pixels predicted and truly of the class) / (pixels predicted or truly
    of it), counted over all the images at once; the mean is over the classes (the PASCAL VOC
    measure; torchmetrics' MulticlassJaccardIndex).

    Inputs:
    - model: A SegmentationFCN (or any module mapping (N, C, H, W) to (N, K, H, W) scores)
    - inputs: Tensor of shape (N, C, H, W)
    - masks: Integer tensor of shape (N, H, W), the true class of each pixel
    - batch_size: Images per forward pass

    Returns a dict with:
    - miou: The mean IoU over the K classes, a float
    - class_iou: Array of shape (K,), the IoU of each class
    - pixel_accuracy: Fraction of pixels classified correctly
    """
    if not torch.is_tensor(masks) or masks.shape != (inputs.shape[0], *inputs.shape[2:]):
        got = tuple(masks.shape) if torch.is_tensor(masks) else type(masks).__name__
        raise ValueError(f"masks must be a tensor of shape {(inputs.shape[0], *inputs.shape[2:])} (one class per "
                         f"pixel of inputs {tuple(inputs.shape)}), got {got}")
    model.eval()
    jaccard = None
    correct = 0
    for rows in _batches(inputs.shape[0], batch_size):
        pred = model(inputs[rows]).argmax(dim=1)  # (B, H, W)
        if jaccard is None:
            jaccard = MulticlassJaccardIndex(num_classes=model(inputs[:1]).shape[1], average="none")
        truth = masks[rows].long()
        jaccard.update(pred, truth)
        correct += (pred == truth).sum().item()
    class_iou = jaccard.compute().numpy()
    return {"miou": float(class_iou.mean()), "class_iou": class_iou, "pixel_accuracy": correct / masks.numel()}


def paired_box_iou(boxes1, boxes2):
    """
    IoU of each box with its partner: boxes1[i] with boxes2[i] (the diagonal of box_iou).

    Inputs:
    - boxes1, boxes2: Tensors of shape (N, 4), (x1, y1, x2, y2)

    Returns:
    - iou: Tensor of shape (N,)
    """
    if boxes1.shape != boxes2.shape or boxes1.ndim != 2 or boxes1.shape[1] != 4:
        raise ValueError(f"boxes1 and boxes2 must both have shape (N, 4), got {tuple(boxes1.shape)} and "
                         f"{tuple(boxes2.shape)}")
    top_left = torch.maximum(boxes1[:, :2], boxes2[:, :2])  # (N, 2)
    bottom_right = torch.minimum(boxes1[:, 2:], boxes2[:, 2:])  # (N, 2)
    inter = (bottom_right - top_left).clamp(min=0).prod(dim=1)  # (N,)
    area1 = (boxes1[:, 2:] - boxes1[:, :2]).clamp(min=0).prod(dim=1)
    area2 = (boxes2[:, 2:] - boxes2[:, :2]).clamp(min=0).prod(dim=1)
    union = area1 + area2 - inter
    return torch.where(union > 0, inter / union.clamp(min=1e-12), torch.zeros_like(union))


@torch.no_grad()
def evaluate_localization(model, inputs, labels, boxes, batch_size=256):
    """
    How well a classifier-plus-box-regressor finds the single object of each image.

    Inputs:
    - model: A ClassifierBoxRegressor
    - inputs: Tensor of shape (N, C, H, W)
    - labels: int64 tensor of shape (N,), the true classes
    - boxes: Tensor of shape (N, 4), the true boxes in pixels

    Returns a dict with:
    - mean_iou: Mean IoU of the predicted and the true boxes
    - accuracy: Fraction of images whose class is right
    - hit_rate: Fraction of images whose class is right and whose box has IoU >= 0.5 (the
      classic classification-plus-localization score)
    - iou: Tensor of shape (N,), the IoU of every image
    - pred_labels, pred_boxes: The predictions, (N,) and (N, 4)
    """
    model.eval()
    pred_labels, pred_boxes = [], []
    for rows in _batches(inputs.shape[0], batch_size):
        scores, b = model(inputs[rows])
        pred_labels.append(scores.argmax(dim=1))
        pred_boxes.append(b)
    pred_labels, pred_boxes = torch.cat(pred_labels), torch.cat(pred_boxes)
    iou = paired_box_iou(pred_boxes, boxes.to(pred_boxes.dtype))
    right = pred_labels == labels
    return {"mean_iou": iou.mean().item(), "accuracy": right.float().mean().item(),
            "hit_rate": (right & (iou >= 0.5)).float().mean().item(), "iou": iou,
            "pred_labels": pred_labels, "pred_boxes": pred_boxes}


def mean_average_precision(detections, boxes, labels, num_classes, iou_threshold=0.5):
    """
    Mean average precision of detections at one IoU threshold, with COCO's evaluation
    (torchmetrics' MeanAveragePrecision on pycocotools: 101-point interpolated precision).

    A detection is a true positive when it overlaps a not-yet-matched true box of its class with
    IoU >= iou_threshold (detections are matched in decreasing order of score); the average
    precision of a class is the area under its precision-recall curve; the mean is over the
    classes that occur in the ground truth.

    Inputs:
    - detections: List of N dicts with 'boxes' (D, 4), 'scores' (D,), 'labels' (D,) (as
      decode_detections returns); D may be 0
    - boxes: Tensor of shape (N, M, 4), the true boxes, padded
    - labels: int64 tensor of shape (N, M), their classes, -1 for padding
    - num_classes: K
    - iou_threshold: The IoU a true positive needs, in (0, 1]

    Returns a dict with:
    - map: The mean average precision at iou_threshold, a float
    - class_ap: Array of shape (K,), each class's AP (NaN for a class absent from the ground truth)
    - recall: Array of shape (101,), the recall levels 0, 0.01, ..., 1
    - precision: Array of shape (K, 101), each class's interpolated precision at those recalls
      (-1 where the class's detections never reach that recall)
    """
    if not isinstance(detections, (list, tuple)) or len(detections) != boxes.shape[0]:
        raise ValueError(f"detections must be a list of one dict per image ({boxes.shape[0]}), got "
                         f"{len(detections) if isinstance(detections, (list, tuple)) else type(detections).__name__}")
    if labels.shape != boxes.shape[:2] or boxes.ndim != 3 or boxes.shape[2] != 4:
        raise ValueError(f"boxes must have shape (N, M, 4) and labels (N, M), got {tuple(boxes.shape)} and "
                         f"{tuple(labels.shape)}")
    num_classes = positive_int("num_classes", num_classes)
    for n, d in enumerate(detections):
        if not isinstance(d, dict) or not {"boxes", "scores", "labels"} <= set(d):
            raise ValueError(f"detections[{n}] must be a dict with 'boxes', 'scores' and 'labels', got {d!r}")
    metric = MeanAveragePrecision(box_format="xyxy", iou_type="bbox", iou_thresholds=[float(iou_threshold)],
                                  class_metrics=True, extended_summary=True, backend="pycocotools")
    preds = [{key: d[key].detach().cpu() for key in ("boxes", "scores", "labels")} for d in detections]
    targets = [{"boxes": boxes[n][labels[n] >= 0].float().cpu(), "labels": labels[n][labels[n] >= 0].cpu()}
               for n in range(boxes.shape[0])]
    metric.update(preds, targets)
    result = metric.compute()
    # precision: (T, R, K, A, M) = (thresholds, recall levels, classes present, areas, max detections);
    # area 'all' and the largest max-detections setting.
    precision = result["precision"][0, :, :, 0, -1].numpy().T  # (K_present, 101)
    present = result["classes"].flatten().tolist()
    curves = np.full((num_classes, precision.shape[1]), -1.0)
    class_ap = np.full(num_classes, np.nan)
    per_class = result["map_per_class"].flatten().numpy()
    for k, c in enumerate(present):
        curves[c] = precision[k]
        class_ap[c] = per_class[k]
    return {"map": float(result["map"]), "class_ap": class_ap, "recall": np.linspace(0, 1, precision.shape[1]),
            "precision": curves}


@torch.no_grad()
def evaluate_detection(model, inputs, boxes, labels, batch_size=256, score_threshold=0.05, iou_threshold=0.5):
    """
    mAP@0.5 of a GridDetector on a dataset (see mean_average_precision), and its detections.

    Inputs:
    - model: A GridDetector
    - inputs: Tensor of shape (N, C, H, W)
    - boxes: Tensor of shape (N, M, 4), the true boxes, padded
    - labels: int64 tensor of shape (N, M), their classes, -1 for padding
    - batch_size: Images per forward pass
    - score_threshold, iou_threshold: Of decode_detections

    Returns:
    - The dict of mean_average_precision, with 'detections' (the list of N dicts) added
    """
    model.eval()
    detections = []
    for rows in _batches(inputs.shape[0], batch_size):
        detections += model.detect(inputs[rows], score_threshold=score_threshold, iou_threshold=iou_threshold)
    result = mean_average_precision(detections, boxes, labels, model.num_classes, iou_threshold=0.5)
    result["detections"] = detections
    return result
