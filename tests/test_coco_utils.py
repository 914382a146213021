"""Captioning data: the loader on small files of CS231n's COCO schema and on a tiny generated scene set,
the cache of the generated set, and every bad input."""

import json
import os

import h5py
import numpy as np
import pytest

from helpers.coco_utils import (
    decode_captions,
    image_from_scene_url,
    load_caption_images,
    load_coco_data,
    load_scene_ground_truth,
    load_scene_images,
    sample_coco_minibatch,
)
from helpers.data import scene_captioning
from helpers.data.scene_captioning import SEED, build_scene_captioning, content_key, read_manifest
from helpers.data.scenes import HELD_OUT, check_caption, generate_scenes

TINY = {"train": 12, "val": 6, "val_novel": 6}
COCO_WORDS = ["<NULL>", "<START>", "<END>", "<UNK>", "a", "man", "riding", "horse", "dog"]


def write_fake_coco(folder, num_train_images=5, num_val_images=3, vocab=None, pca_dim=512, fc7_dim=4096):
    """A tiny COCO captioning folder in the real schema (CS231n's coco_captioning)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    words = vocab if vocab is not None else COCO_WORDS
    with h5py.File(folder / "coco2014_captions.h5", "w") as f:
        for split, n in (("train", num_train_images), ("val", num_val_images)):
            m = 2 * n
            captions = np.zeros((m, 17), np.int32)
            captions[:, 0], captions[:, 1:4], captions[:, 4] = 1, rng.integers(4, len(COCO_WORDS), (m, 3)), 2
            f[f"{split}_captions"] = captions
            f[f"{split}_image_idxs"] = np.repeat(np.arange(n, dtype=np.int32), 2)
    for split, n in (("train", num_train_images), ("val", num_val_images)):
        for suffix, dim in (("vgg16_fc7", fc7_dim), ("vgg16_fc7_pca", pca_dim)):
            with h5py.File(folder / f"{split}2014_{suffix}.h5", "w") as f:
                f["features"] = rng.normal(size=(n, dim)).astype(np.float32)
        (folder / f"{split}2014_urls.txt").write_text(
            "".join(f"http://images.cocodataset.org/{split}2014/COCO_{split}2014_{i:012d}.jpg\n" for i in range(n)))
        (folder / f"{split}2014_images.txt").write_text("".join(f"COCO_{split}2014_{i:012d}.jpg\n" for i in range(n)))
    (folder / "coco2014_vocab.json").write_text(json.dumps(
        {"idx_to_word": words, "word_to_idx": {w: i for i, w in enumerate(words)}}))
    return folder


@pytest.fixture
def coco_dir(tmp_path):
    return write_fake_coco(tmp_path / "coco_captioning")


@pytest.fixture(scope="module")
def scenes_dir(tmp_path_factory):
    return build_scene_captioning(tmp_path_factory.mktemp("scenes") / "tiny", TINY, verbose=False)


# ----------------------------------------------------------------------------- the COCO schema

def test_coco_files_load_as_cs231n_does(coco_dir):
    data = load_coco_data(base_dir=coco_dir)
    assert data["train_captions"].shape == (10, 17) and data["train_captions"].dtype == np.int32
    assert data["train_image_idxs"].shape == (10,) and data["val_captions"].shape == (6, 17)
    assert data["train_features"].shape == (5, 512) and data["val_features"].shape == (3, 512)
    assert data["train_urls"].shape == (5,) and data["val_urls"][0].startswith("http://images.cocodataset.org/")
    assert data["idx_to_word"] == COCO_WORDS and data["word_to_idx"]["<END>"] == 2
    assert data["source"] == "coco" and "val_novel_captions" not in data
    assert load_coco_data(base_dir=coco_dir, pca_features=False)["val_features"].shape == (3, 4096)


def test_max_train_subsamples_captions_repeatably(coco_dir):
    np.random.seed(231)
    a = load_coco_data(base_dir=coco_dir, max_train=4)
    np.random.seed(231)
    b = load_coco_data(base_dir=coco_dir, max_train=4)
    assert a["train_captions"].shape == (4, 17)
    np.testing.assert_array_equal(a["train_captions"], b["train_captions"])
    full = load_coco_data(base_dir=coco_dir)
    rows = [np.flatnonzero((full["train_captions"] == c).all(1)) for c in a["train_captions"]]
    assert all(full["train_image_idxs"][r[0]] == i for r, i in zip(rows, a["train_image_idxs"], strict=True))
    assert a["train_features"].shape == (5, 512)  # like CS231n: only the captions are subsampled
    with pytest.raises(ValueError, match=r"max_train must be an integer in 1..10"):
        load_coco_data(base_dir=coco_dir, max_train=11)


def test_installed_coco_set_is_preferred(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CS231N_DATASETS", str(tmp_path))
    write_fake_coco(tmp_path / "coco_captioning")
    data = load_coco_data()
    assert data["source"] == "coco"
    assert "Captioning data: CS231n's COCO set" in capsys.readouterr().out


def test_decode_captions(coco_dir):
    data = load_coco_data(base_dir=coco_dir)
    words = data["idx_to_word"]
    caption = np.array([1, 4, 5, 6, 4, 7, 2, 0, 0])
    assert decode_captions(caption, words) == "<START> a man riding a horse <END>"
    assert decode_captions(np.array([[4, 8, 2, 5], [4, 0, 5, 0]]), words) == ["a dog <END>", "a man"]
    with pytest.raises(ValueError, match=r"word indices in 0..8 \(a vocabulary of 9 words\), got values in 4..9"):
        decode_captions(np.array([4, 9]), words)
    with pytest.raises(ValueError, match=r"captions must have shape \(N, T\) or \(T,\)"):
        decode_captions(np.zeros((2, 2, 2), int), words)


def test_sample_coco_minibatch(coco_dir):
    data = load_coco_data(base_dir=coco_dir)
    captions, features, urls = sample_coco_minibatch(data, batch_size=7, split="val", seed=0)
    assert captions.shape == (7, 17) and features.shape == (7, 512) and urls.shape == (7,)
    again = sample_coco_minibatch(data, batch_size=7, split="val", seed=0)
    np.testing.assert_array_equal(captions, again[0])
    # each caption comes with its own image's features and address
    rows = [np.flatnonzero((data["val_captions"] == c).all(1)) for c in captions]
    assert all(any(np.array_equal(data["val_features"][data["val_image_idxs"][r]], f) for r in rr)
               for rr, f in zip(rows, features, strict=True))
    with pytest.raises(ValueError, match=r"split must be one of \('train', 'val'\), got 'test'"):
        sample_coco_minibatch(data, split="test")
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        sample_coco_minibatch(data, batch_size=0)


# ----------------------------------------------------------------------------- bad input

def _rewrite_h5(path, **changes):
    with h5py.File(path, "a") as f:
        for key, value in changes.items():
            del f[key]
            if value is not None:
                f[key] = value


def test_captions_outside_the_vocabulary_are_rejected(coco_dir):
    captions = load_coco_data(base_dir=coco_dir)["val_captions"].copy()
    captions[0, 3] = 42
    _rewrite_h5(coco_dir / "coco2014_captions.h5", val_captions=captions)
    with pytest.raises(ValueError, match=r"val_captions must hold word indices in 0..8 .* got values in 0..42"):
        load_coco_data(base_dir=coco_dir)


def test_vocabulary_without_special_tokens_is_rejected(tmp_path):
    words = ["<NULL>", "<START>", "<UNK>", "a", "man", "riding", "horse", "dog", "cat"]
    folder = write_fake_coco(tmp_path / "c", vocab=words)
    with pytest.raises(ValueError, match=r"special tokens \['<NULL>', '<START>', '<END>'\], missing \['<END>'\]"):
        load_coco_data(base_dir=folder)
    (folder / "coco2014_vocab.json").write_text(json.dumps({"idx_to_word": COCO_WORDS,
                                                            "word_to_idx": {w: 0 for w in COCO_WORDS}}))
    with pytest.raises(ValueError, match="word_to_idx must be the inverse of idx_to_word"):
        load_coco_data(base_dir=folder)
    (folder / "coco2014_vocab.json").write_text(json.dumps({"words": COCO_WORDS}))
    with pytest.raises(ValueError, match="must hold 'idx_to_word'"):
        load_coco_data(base_dir=folder)


def test_truncated_h5_is_rejected(coco_dir):
    path = coco_dir / "train2014_vgg16_fc7_pca.h5"
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(ValueError, match=r"train2014_vgg16_fc7_pca.h5 .*truncated.*setup_datasets.sh coco"):
        load_coco_data(base_dir=coco_dir)


def test_misshaped_h5_is_rejected(coco_dir, tmp_path):
    with h5py.File(coco_dir / "val2014_vgg16_fc7_pca.h5", "w") as f:
        f["features"] = np.zeros((3, 100), np.float32)
    with pytest.raises(ValueError, match=r"val2014_vgg16_fc7_pca.h5: features must have shape \(N, 512\), "
                                         r"got \(3, 100\)"):
        load_coco_data(base_dir=coco_dir)
    other = write_fake_coco(tmp_path / "b")
    _rewrite_h5(other / "coco2014_captions.h5", train_image_idxs=np.zeros(3, np.int32))
    with pytest.raises(ValueError, match=r"train_image_idxs must be integers of shape \(10,\), one per caption"):
        load_coco_data(base_dir=other)
    _rewrite_h5(other / "coco2014_captions.h5", train_image_idxs=np.full(10, 5, np.int32))
    with pytest.raises(ValueError, match=r"train_image_idxs must index the 5 train images \(0..4\), "
                                         r"got values in 5..5"):
        load_coco_data(base_dir=other)
    _rewrite_h5(other / "coco2014_captions.h5", train_image_idxs=None)
    with pytest.raises(ValueError, match=r"lacks \['train_image_idxs'\]"):
        load_coco_data(base_dir=other)
    third = write_fake_coco(tmp_path / "c")
    _rewrite_h5(third / "coco2014_captions.h5", val_captions=np.ones(6, np.int32))
    with pytest.raises(ValueError, match=r"val_captions must be an integer array of shape \(N, T\), got int32 \(6,\)"):
        load_coco_data(base_dir=third)
    fourth = write_fake_coco(tmp_path / "d")
    (fourth / "val2014_urls.txt").write_text("http://x\n")
    with pytest.raises(ValueError, match=r"val2014_urls.txt must list one address per image \(3, as its features\), "
                                         r"got 1"):
        load_coco_data(base_dir=fourth)
    os.remove(fourth / "train2014_vgg16_fc7.h5")
    with pytest.raises(FileNotFoundError, match="train2014_vgg16_fc7.h5 is missing; re-fetch it"):
        load_coco_data(base_dir=fourth, pca_features=False)


# ----------------------------------------------------------------------------- the generated set

def test_generated_set_in_the_coco_schema(scenes_dir):
    data = load_coco_data(base_dir=scenes_dir)
    assert data["source"] == "scenes"
    for split, n in TINY.items():
        assert data[f"{split}_captions"].shape == (5 * n, 17) and data[f"{split}_captions"].dtype == np.int32
        np.testing.assert_array_equal(data[f"{split}_image_idxs"], np.repeat(np.arange(n), 5))
        assert data[f"{split}_features"].shape == (n, 512) and data[f"{split}_features"].dtype == np.float32
        assert data[f"{split}_grid_features"].shape == (n, 16, 128)
        assert data[f"{split}_urls"].shape == (n,)
    assert data["idx_to_word"][:4] == ["<NULL>", "<START>", "<END>", "<UNK>"]
    assert (data["train_captions"][:, 0] == 1).all()
    assert load_coco_data(base_dir=scenes_dir, pca_features=False)["val_features"].shape == (6, 2048)
    # captions decode to sentences that are true of their scenes
    scenes = load_scene_ground_truth(data, "val_novel")
    for caption, idx in zip(decode_captions(data["val_novel_captions"], data["idx_to_word"]),
                            data["val_novel_image_idxs"], strict=True):
        assert caption.startswith("<START> ") and caption.endswith(" <END>")
        assert check_caption(caption, scenes[idx]).correct, caption
    assert all({(o.color, o.shape) for o in s.objects} & HELD_OUT for s in scenes)


def test_generated_images_and_ground_truth_are_the_generators(scenes_dir, monkeypatch):
    data = load_coco_data(base_dir=scenes_dir)
    images, instances, scenes = generate_scenes(TINY["val"], "val", seed=SEED)
    np.testing.assert_array_equal(load_scene_images(data, "val", [4, 1, 4]), images[[4, 1, 4]])
    assert load_scene_ground_truth(data, "val", [2, 0]) == [scenes[2], scenes[0]]
    monkeypatch.setenv("CS231N_DATASETS", str(scenes_dir.parent))
    np.testing.assert_array_equal(image_from_scene_url(data["val_urls"][3]), images[3])
    with pytest.raises(ValueError, match="image_idxs must be in 0..5"):
        load_scene_images(data, "val", [6])
    with pytest.raises(ValueError, match="scene://<folder>/<split>/<index>"):
        image_from_scene_url("http://example.com/a.jpg")


def test_generated_features_come_from_the_encoder(scenes_dir):
    from helpers.data.scene_encoder import encode_images

    data = load_coco_data(base_dir=scenes_dir)
    images = load_scene_images(data, "train", np.arange(TINY["train"]))
    features, grid = encode_images(images)
    np.testing.assert_allclose(data["train_features"], features, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(data["train_grid_features"], grid)


def test_caption_images_come_from_the_scene_files_or_the_urls(scenes_dir, coco_dir, monkeypatch, capsys):
    from helpers import image_utils

    scenes = load_coco_data(base_dir=scenes_dir)
    shown = load_caption_images(scenes, "val", [4, 1])
    np.testing.assert_array_equal(np.stack(shown), load_scene_images(scenes, "val", [4, 1]))

    coco = load_coco_data(base_dir=coco_dir)
    fetched = []

    def fake_image_from_url(url):
        fetched.append(url)
        if len(fetched) == 2:
            raise image_utils.ImageDownloadError(f"could not download {url}: offline")
        return np.zeros((5, 7, 3), dtype=np.uint8)

    monkeypatch.setattr(image_utils, "image_from_url", fake_image_from_url)
    images = load_caption_images(coco, "val", [2, 0])
    assert fetched == list(coco["val_urls"][[2, 0]])
    assert images[0].shape == (5, 7, 3) and (images[1] == 128).all()
    assert "could not be shown (grey squares instead): could not download" in capsys.readouterr().out
    with pytest.raises(ValueError, match="split must be one of"):
        load_caption_images(coco, "test", [0])


def test_scene_data_without_ground_truth_is_explained(coco_dir):
    data = load_coco_data(base_dir=coco_dir)
    with pytest.raises(ValueError, match="no generated scenes"):
        load_scene_images(data, "val", [0])


def test_default_is_the_generated_set_built_once_and_cached(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CS231N_DATASETS", str(tmp_path))
    monkeypatch.setitem(scene_captioning.SCALE_SIZES, "quick", TINY)
    data = load_coco_data()
    out = capsys.readouterr().out
    assert "Generating the scene captioning set (quick scale, first use" in out
    assert "Captioning data: generated scenes" in out and "setup_datasets.sh coco" in out
    folder = tmp_path / "scenes_captioning" / "quick"
    assert data["base_dir"] == str(folder) and read_manifest(folder)["key"] == content_key(TINY)
    assert sorted(p.name for p in (tmp_path / "scenes_captioning").iterdir()) == ["quick"]  # no temporary left
    load_coco_data()
    assert "Generating" not in capsys.readouterr().out
    # a cache built by other code (here: another key) is stale and rebuilt
    manifest = read_manifest(folder)
    (folder / "manifest.json").write_text(json.dumps({**manifest, "key": "0" * 16}))
    load_coco_data()
    assert "the cached one is stale" in capsys.readouterr().out
    assert read_manifest(folder)["key"] == content_key(TINY)


def test_interrupted_build_leaves_nothing_that_is_trusted(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CS231N_DATASETS", str(tmp_path))
    monkeypatch.setitem(scene_captioning.SCALE_SIZES, "quick", TINY)
    import helpers.data.scene_encoder as scene_encoder

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(scene_encoder, "encode_images", interrupted)
    with pytest.raises(KeyboardInterrupt):
        load_coco_data()
    assert not list((tmp_path / "scenes_captioning").iterdir())
    monkeypatch.undo()
    monkeypatch.setenv("CS231N_DATASETS", str(tmp_path))
    monkeypatch.setitem(scene_captioning.SCALE_SIZES, "quick", TINY)
    assert load_coco_data()["source"] == "scenes"


def test_corrupt_generated_files_are_rejected(tmp_path, scenes_dir):
    import shutil

    folder = tmp_path / "copy"
    shutil.copytree(scenes_dir, folder)
    with h5py.File(folder / "val2014_scene_cnn_512.h5", "w") as f:
        f["features"] = np.zeros((6, 100), np.float32)
    with pytest.raises(ValueError, match=r"features must have shape \(N, 512\), got \(6, 100\); delete .* rebuilt"):
        load_coco_data(base_dir=folder)
    (folder / "train2014_scenes.h5").write_bytes(b"not hdf5")
    data = load_coco_data(base_dir=scenes_dir)
    data["base_dir"] = str(folder)
    with pytest.raises(ValueError, match="train2014_scenes.h5 is not a readable HDF5 file"):
        load_scene_images(data, "train", [0])


def test_sizes_are_checked():
    with pytest.raises(ValueError, match="sizes must give a positive number of images for each of"):
        build_scene_captioning("/nonexistent", {"train": 3, "val": 2}, verbose=False)
    with pytest.raises(ValueError, match="scale must be one of"):
        scene_captioning.scene_captioning_dir("huge")
