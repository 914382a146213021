"""BLEU and CIDEr-D through pycocoevalcap on examples checked by hand, and fact accuracy of sampled captions."""

import numpy as np
import pytest

from helpers.captioning_eval import (
    attention_on_named_objects,
    bleu_cider,
    caption_comparison,
    caption_scores,
    format_scores_table,
    reference_captions,
)
from helpers.coco_utils import load_coco_data
from helpers.data.scene_captioning import build_scene_captioning
from helpers.data.scenes import Scene, SceneObject

TINY = {"train": 4, "val": 6, "val_novel": 4}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return load_coco_data(base_dir=build_scene_captioning(tmp_path_factory.mktemp("eval") / "tiny", TINY,
                                                          verbose=False))


def test_bleu_by_hand():
    # image 0: 2 of 3 unigrams and 1 of 2 bigrams match; image 1 matches fully. Corpus BLEU pools the counts:
    # p1 = 5/6, p2 = 3/4, p3 = 1/2 (0 of 1 and 1 of 1); equal lengths, so no brevity penalty.
    scores = bleu_cider([["a red circle"], ["a blue star"]], ["a red square", "a blue star"])
    assert scores["BLEU-1"] == pytest.approx(5 / 6, rel=1e-6)
    assert scores["BLEU-2"] == pytest.approx((5 / 6 * 3 / 4) ** 0.5, rel=1e-6)
    assert scores["BLEU-3"] == pytest.approx((5 / 6 * 3 / 4 * 1 / 2) ** (1 / 3), rel=1e-6)
    # no 4-grams at all: pycocoevalcap's smoothing makes that precision (0 + 1e-15) / (0 + 1e-9)
    assert scores["BLEU-4"] == pytest.approx((5 / 6 * 3 / 4 * 1 / 2 * 1e-6) ** (1 / 4), rel=1e-6)
    # a candidate half the reference's length pays the brevity penalty exp(1 - 6/3)
    short = bleu_cider([["a big red circle left of"], ["a blue star above it now"]], ["a big red", "a blue star"])
    assert short["BLEU-1"] == pytest.approx(np.exp(1 - 12 / 6), rel=1e-6)


def test_cider_d_by_hand():
    refs = [["a big red circle"], ["two small blue stars"]]
    # CIDEr-D: 10 x the mean over n = 1..4 of the cosine of tf-idf n-gram vectors; captions equal to their
    # references, with no n-gram shared between images (every idf = log 2 > 0), score exactly 10
    assert bleu_cider(refs, ["a big red circle", "two small blue stars"])["CIDEr-D"] == pytest.approx(10.0)
    # one extra word in image 0: with equal idf weights the clipped cosines are sqrt(4/5), sqrt(3/4),
    # sqrt(2/3), sqrt(1/2) for n = 1..4, times the Gaussian length penalty exp(-1 / (2 * 6^2))
    got = bleu_cider(refs, ["a big red circle now", "two small blue stars"])["CIDEr-D"]
    first = 10 * np.mean(np.sqrt([4 / 5, 3 / 4, 2 / 3, 1 / 2])) * np.exp(-1 / 72)
    assert got == pytest.approx((first + 10) / 2, rel=1e-9)
    # n-grams that every image's references share carry no weight: idf = log(2 / 2) = 0
    assert bleu_cider([["a red circle"], ["a red circle"]], ["a red circle", "a red circle"])["CIDEr-D"] == 0


def test_special_tokens_are_not_scored():
    plain = bleu_cider([["a red circle"], ["two blue stars"]], ["a red circle", "two blue stars"])
    marked = bleu_cider([["<START> a red circle <END>"], ["two blue stars"]],
                        ["a red circle <END> <NULL>", "<START> two blue stars"])
    assert plain == marked


def test_bad_inputs():
    with pytest.raises(ValueError, match="one entry per image, got 2 and 1"):
        bleu_cider([["a"], ["b"]], ["a"])
    with pytest.raises(ValueError, match="at least 2 images"):
        bleu_cider([["a red circle"]], ["a red circle"])
    with pytest.raises(ValueError, match=r"references\[1\] must be a non-empty list"):
        bleu_cider([["a"], []], ["a", "b"])


def test_scores_on_the_generated_set(data):
    idxs = np.arange(TINY["val"])
    refs = reference_captions(data, "val", idxs)
    assert [len(r) for r in refs] == [5] * TINY["val"]
    assert all(not c.startswith("<START>") for r in refs for c in r)
    # a reference caption is right about its scene; as word indices (what a captioner samples) too
    first = np.stack([data["val_captions"][data["val_image_idxs"] == i][0][1:] for i in idxs])
    perfect = caption_scores(data, "val", idxs, first)
    assert perfect["fact accuracy"] == 1.0 and perfect["BLEU-1"] == pytest.approx(1.0)
    wrong = caption_scores(data, "val", idxs, ["a red shape"] * len(idxs))
    assert wrong["fact accuracy"] == 0.0
    # the captions of another image are mostly wrong about this one
    shifted = caption_scores(data, "val_novel", np.arange(4), [r[0] for r in reference_captions(
        data, "val_novel", np.roll(np.arange(4), 1))])
    assert shifted["fact accuracy"] < 0.5
    table = format_scores_table({"LSTM greedy": perfect, "RNN greedy": wrong})
    lines = table.splitlines()
    assert len(lines) == 3 and "fact accuracy" in lines[0] and "CIDEr-D" in lines[0]
    assert lines[1].split()[-1] == "1.000" and lines[2].split()[-1] == "0.000"
    with pytest.raises(ValueError, match="one caption per image"):
        caption_scores(data, "val", idxs, ["a red circle"])


def test_attention_on_named_objects_sums_the_shape_words_weights_over_the_objects_cells():
    # A 64 x 64 scene on a 4 x 4 grid (16-pixel cells): the green square covers cells (1, 1), (1, 2), (2, 1),
    # (2, 2); the red circle lies inside cell (0, 3).
    square = SceneObject("square", "green", "large", (24.0, 24.0), (20, 20, 40, 40), 1.0)
    circle = SceneObject("circle", "red", "small", (56.0, 8.0), (50, 2, 62, 14), 1.0)
    scene = Scene((square, circle), image_size=64)
    words = ["<NULL>", "<START>", "<END>", "a", "green", "box", "left", "of", "red", "circle", "blue", "star"]
    sampled = np.array([[3, 4, 5, 6, 7, 3, 8, 9, 2, 0],          # a green box left of a red circle <END>
                        [3, 10, 11, 2, 0, 0, 0, 0, 0, 0]])       # a blue star: no such object, not measured
    attention = np.full((2, 10, 16), 1 / 16)
    attention[0, 2] = 0.0
    attention[0, 2, [5, 6, 9]] = 0.3                              # "box": 0.9 on the square's cells, 0.1 elsewhere
    attention[0, 2, 0] = 0.1
    scores = attention_on_named_objects(sampled, attention, [scene, scene], words)
    # "circle" looks evenly: 1/16 on its one cell, which is 1/16 of the grid.
    assert scores["count"] == 2
    assert scores["on_object"] == pytest.approx((0.9 + 1 / 16) / 2)
    assert scores["uniform"] == pytest.approx((4 / 16 + 1 / 16) / 2)

    with pytest.raises(ValueError, match=r"attention \(N, L, 16\) for the 4x4 grid"):
        attention_on_named_objects(sampled, attention[:, :, :9], [scene, scene], words)


def test_caption_comparison_shows_reference_generated_and_verdict(data):
    refs = reference_captions(data, "val", [3, 1])
    lines = caption_comparison(data, "val", [3, 1], [refs[0][2], "a shape"])
    assert lines[0] == [f"reference: {refs[0][0]}", f"generated: {refs[0][2]}", "facts: right"]
    assert lines[1][:2] == [f"reference: {refs[1][0]}", "generated: a shape"]
    assert lines[1][2].startswith("facts: wrong (")
    encoded = data["val_captions"][data["val_image_idxs"] == 3][:1, 1:]  # (1, 16) word indices, <START> dropped
    assert caption_comparison(data, "val", [3], encoded)[0][1] == f"generated: {refs[0][0]}"
    with pytest.raises(ValueError, match="one caption per image"):
        caption_comparison(data, "val", [3, 1], ["a red circle"])
