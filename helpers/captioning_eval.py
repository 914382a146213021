"""Scoring generated captions: BLEU-1..4 and CIDEr-D (the COCO caption evaluation code,
pycocoevalcap) against the reference captions, and on the generated scenes also fact accuracy.

pycocoevalcap's own tokenizer needs Java; it is not needed here, because the captions of both
sets are already lower-case words separated by spaces (COCO's were tokenized that way when the
CS231n files were made). Special tokens (<START>, <END>, <NULL>) are removed before scoring.

A table of several captioners (RNN vs LSTM, greedy vs beam search) is one caption_scores call
per row; format_scores_table prints them side by side. attention_on_named_objects measures where
a captioner with attention looks when it names an object (the generated set only).
"""

import numpy as np
from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.cider.cider import Cider

from helpers.coco_utils import decode_captions, load_scene_ground_truth
from helpers.data.scenes import COLOR_WORDS, SHAPE_WORDS, caption_words, check_caption

METRICS = ("BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "CIDEr-D")


def _clean(caption):
    return " ".join(caption_words(caption))


def bleu_cider(references, candidates):
    """
    Corpus BLEU-1..4 and CIDEr-D of candidate captions against their references, by pycocoevalcap.

    Inputs:
    - references: List of N lists of reference captions (strings), one list per image
    - candidates: List of N candidate captions (strings), one per image

    Returns:
    - Dict with 'BLEU-1' .. 'BLEU-4' and 'CIDEr-D' (floats; CIDEr-D on COCO's scale, 0..10)
    """
    if len(references) != len(candidates):
        raise ValueError(f"references and candidates must have one entry per image, got {len(references)} "
                         f"and {len(candidates)}")
    if len(candidates) < 2:
        # CIDEr-D weighs n-grams by their rarity across the images; with one image every weight is 0.
        raise ValueError(f"candidates must describe at least 2 images, got {len(candidates)}")
    gts, res = {}, {}
    for i, (refs, cand) in enumerate(zip(references, candidates, strict=True)):
        refs = [_clean(r) for r in refs]
        if not refs or not all(refs):
            raise ValueError(f"references[{i}] must be a non-empty list of non-empty captions, got {references[i]!r}")
        gts[i], res[i] = refs, [_clean(cand)]
    bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    cider, _ = Cider().compute_score(gts, res)
    return {**{f"BLEU-{n + 1}": float(b) for n, b in enumerate(bleu)}, "CIDEr-D": float(cider)}


def reference_captions(data, split, image_idxs):
    """
    The reference captions of some images, as strings.

    Inputs:
    - data: The dict of load_coco_data
    - split: 'train', 'val' (or 'val_novel' on the generated set)
    - image_idxs: (B,) image indices

    Returns:
    - List of B lists of captions
    """
    captions, owners = data[f"{split}_captions"], data[f"{split}_image_idxs"]
    order = np.argsort(owners, kind="stable")
    starts = np.searchsorted(owners[order], image_idxs, side="left")
    ends = np.searchsorted(owners[order], image_idxs, side="right")
    return [[_clean(c) for c in decode_captions(captions[order[s:e]], data["idx_to_word"])]
            for s, e in zip(starts, ends, strict=True)]


def caption_scores(data, split, image_idxs, sampled_captions):
    """
    Score sampled captions of some images: BLEU-1..4 and CIDEr-D against the references, and on
    the generated set fact accuracy (the share of captions fully right about their scene:
    every stated object, attribute and relation true, and every object of the scene named).

    Inputs:
    - data: The dict of load_coco_data
    - split: 'train', 'val' (or 'val_novel' on the generated set)
    - image_idxs: (B,) indices of the images, B >= 2
    - sampled_captions: (B, T) word indices (e.g. from a captioner's sample) or B strings

    Returns:
    - Dict of metric -> float: METRICS, plus 'fact accuracy' on the generated set
    """
    image_idxs = np.asarray(image_idxs).reshape(-1)
    if not isinstance(sampled_captions, (list, tuple)):
        sampled_captions = decode_captions(np.asarray(sampled_captions), data["idx_to_word"])
        if isinstance(sampled_captions, str):
            sampled_captions = [sampled_captions]
    candidates = [_clean(c) for c in sampled_captions]
    if len(candidates) != len(image_idxs):
        raise ValueError(f"sampled_captions must have one caption per image ({len(image_idxs)}), got "
                         f"{len(candidates)}")
    scores = bleu_cider(reference_captions(data, split, image_idxs), candidates)
    if data.get("source") == "scenes":
        scenes = load_scene_ground_truth(data, split, image_idxs)
        scores["fact accuracy"] = float(np.mean([check_caption(c, s).correct
                                                 for c, s in zip(candidates, scenes, strict=True)]))
    return scores


def caption_comparison(data, split, image_idxs, sampled_captions):
    """
    Lines to show under sampled images: a reference caption, the generated caption and, on
    the generated set, the fact checker's verdict (what is wrong, when something is).

    Inputs:
    - data: The dict of load_coco_data
    - split: 'train', 'val' (or 'val_novel' on the generated set)
    - image_idxs: (B,) indices of the images
    - sampled_captions: (B, T) word indices (e.g. from a captioner's sample) or B strings

    Returns:
    - List of B lists of strings
    """
    image_idxs = np.asarray(image_idxs).reshape(-1)
    if not isinstance(sampled_captions, (list, tuple)):
        sampled_captions = decode_captions(np.atleast_2d(np.asarray(sampled_captions)), data["idx_to_word"])
    if len(sampled_captions) != len(image_idxs):
        raise ValueError(f"sampled_captions must have one caption per image ({len(image_idxs)}), got "
                         f"{len(sampled_captions)}")
    candidates = [_clean(c) for c in sampled_captions]
    lines = [[f"reference: {refs[0]}", f"generated: {candidate}"]
             for refs, candidate in zip(reference_captions(data, split, image_idxs), candidates, strict=True)]
    if data.get("source") == "scenes":
        for line, candidate, scene in zip(lines, candidates, load_scene_ground_truth(data, split, image_idxs),
                                          strict=True):
            verdict = check_caption(candidate, scene)
            line.append("facts: right" if verdict.correct else f"facts: wrong ({verdict.reason})")
    return lines


def format_scores_table(rows):
    """
    A text table of scores, one row per captioner.

    Inputs:
    - rows: Dict of name -> the dict of caption_scores

    Returns:
    - The table as a string (print it)
    """
    metrics = [m for m in (*METRICS, "fact accuracy") if any(m in r for r in rows.values())]
    width = max([len(name) for name in rows] + [9])
    lines = [f"{'':{width}s} " + " ".join(f"{m:>13s}" for m in metrics)]
    for name, scores in rows.items():
        lines.append(f"{name:{width}s} " + " ".join(f"{scores[m]:13.3f}" if m in scores else f"{'-':>13s}"
                                                      for m in metrics))
    return "\n".join(lines)


def attention_on_named_objects(sampled_captions, attention, scenes, idx_to_word, grid_shape=(4, 4)):
    """
    Whether a captioner looks at the objects it names: for every colour-shape pair of a generated
    caption ("... a green square ...") that names an object of the scene, the attention weights of
    the shape word summed over the grid cells that overlap the object's box; beside it, the share
    of the grid those cells are (what attention spread evenly over the image would put there).

    Inputs:
    - sampled_captions: Integer array of shape (N, L): the generated word indices, step by step
      (word t was produced with attention[i, t]), as CaptioningTransformer.sample returns them
    - attention: Array of shape (N, L, P), P = h * w: each step's weights over the grid cells,
      row by row
    - scenes: List of N Scene (helpers.coco_utils.load_scene_ground_truth)
    - idx_to_word: List of the vocabulary's words
    - grid_shape: (h, w), the grid laid evenly over the image

    Returns:
    - Dict with 'on_object' (mean attention of the shape words on their object's cells),
      'uniform' (mean share of the grid those cells are) and 'count' (number of words measured)
    """
    sampled_captions, attention = np.asarray(sampled_captions), np.asarray(attention, dtype=np.float64)
    h, w = grid_shape
    N, L = sampled_captions.shape if sampled_captions.ndim == 2 else (None, None)
    if N is None or attention.shape != (N, L, h * w) or len(scenes) != N:
        raise ValueError(f"sampled_captions must have shape (N, L), attention (N, L, {h * w}) for the {h}x{w} grid, "
                         f"and scenes N entries; got {sampled_captions.shape}, {attention.shape} and {len(scenes)}")
    colors = {word: color for color, words in COLOR_WORDS.items() for word in words}
    shapes = {word: shape for shape, words in SHAPE_WORDS.items() for word in words}
    on_object, uniform = [], []
    for row, weights, scene in zip(sampled_captions, attention, scenes, strict=True):
        words = [idx_to_word[i] for i in row]
        objects = {(o.color, o.shape): o for o in scene.objects}
        cell_h, cell_w = scene.image_size / h, scene.image_size / w
        for t in range(1, len(words)):
            if words[t] == "<END>" or words[t - 1] == "<END>":
                break
            named = objects.get((colors.get(words[t - 1]), shapes.get(words[t])))
            if named is None:
                continue
            x1, y1, x2, y2 = named.box
            rows = (np.arange(h) * cell_h < y2) & ((np.arange(h) + 1) * cell_h > y1)        # (h,)
            cols = (np.arange(w) * cell_w < x2) & ((np.arange(w) + 1) * cell_w > x1)        # (w,)
            cells = (rows[:, None] & cols[None, :]).reshape(-1)                           # (h * w,)
            on_object.append(weights[t, cells].sum())
            uniform.append(cells.mean())
    count = len(on_object)
    return {"on_object": float(np.mean(on_object)) if count else float("nan"),
            "uniform": float(np.mean(uniform)) if count else float("nan"), "count": count}
