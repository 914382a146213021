"""Scoring generated captions: BLEU-1..4 and CIDEr-D (the COCO caption evaluation code,
pycocoevalcap) against the reference captions, and on the generated scenes also fact accuracy.

pycocoevalcap's own tokenizer needs Java; it is not needed here, because the captions of both
sets are already lower-case words separated by spaces (COCO's were tokenized that way when the
CS231n files were made). Special tokens (<START>, <END>, <NULL>) are removed before scoring.

A table of several captioners (RNN vs LSTM, greedy vs beam search) is one caption_scores call
per row; format_scores_table prints them side by side.
"""

import numpy as np
from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.cider.cider import Cider

from helpers.coco_utils import decode_captions, load_scene_ground_truth
from helpers.data.scenes import caption_words, check_caption

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
