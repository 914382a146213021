"""Loading the captioning data: CS231n's COCO set when installed, else the generated scenes.

Both come in the same files (see helpers.data.scene_captioning), so the same dict comes back:

    train_captions (N, 17) int32      <START> w1 ... <END> <NULL> ...; rows are captions
    train_image_idxs (N,) int32       which image each caption describes
    train_features (N_img, D) float32 one vector per image (512-d PCA features / scene encoder vector)
    val_*                             the same for the validation images
    idx_to_word (list), word_to_idx (dict)
    train_urls, val_urls (N_img,)     where to get each image: http(s) for COCO, scene:// for the scenes

The generated set adds val_novel_* (colour-shape combinations never seen in training),
{split}_grid_features (N_img, 16, 128) float16 (the encoder's 4x4 grid, for attention), and
'source' / 'base_dir'; load_scene_images, load_scene_ground_truth and image_from_scene_url give
its images and ground truth.
"""

import json
from pathlib import Path

import numpy as np

from helpers._checks import positive_int
from helpers.data.paths import datasets_dir, fetch_command
from helpers.data.scene_captioning import (
    open_h5,
    read_manifest,
    read_scene_arrays,
    read_scenes,
    scene_captioning_dir,
    split_files,
)

COCO_FOLDER = "coco_captioning"
REQUIRED_TOKENS = ("<NULL>", "<START>", "<END>")
COCO_FEATURE_DIMS = {True: 512, False: 4096}  # PCA-reduced fc7, and fc7 itself


def coco_available() -> bool:
    """True when `./setup_datasets.sh coco` has installed CS231n's COCO captioning set."""
    return (datasets_dir() / COCO_FOLDER / "coco2014_captions.h5").is_file()


def load_coco_data(base_dir=None, max_train=None, pca_features=True):
    """
    Load the captioning data: captions, image features, vocabulary and image addresses.

    Inputs:
    - base_dir: Folder with the files; None uses CS231n's COCO set when `./setup_datasets.sh coco`
      has installed it, else the generated scene set at the current scale (built on first use).
      Which one is used is printed in one line.
    - max_train: Keep only this many training captions, drawn at random without replacement
      with NumPy's global random state (np.random.seed makes it repeatable); None keeps all
    - pca_features: COCO: the 512-d PCA-reduced VGG-16 fc7 features (True) or fc7 itself
      (4096-d). Generated set: the encoder's 512-d vector (True) or its flattened 4x4 grid
      (2048-d)

    Returns a dict with:
    - train_captions (N_train, T) int32, train_image_idxs (N_train,) int32
    - val_captions (N_val, T) int32, val_image_idxs (N_val,) int32
    - train_features (N_train_images, D) float32, val_features (N_val_images, D) float32
    - idx_to_word: list of V words; word_to_idx: dict word -> index
    - train_urls (N_train_images,), val_urls (N_val_images,): arrays of strings
    - source: 'coco' or 'scenes'; base_dir: the folder as a string
    - generated set only: val_novel_captions, val_novel_image_idxs, val_novel_features,
      val_novel_urls, and {train,val,val_novel}_grid_features (N_images, 16, 128) float16
    """
    if base_dir is None:
        if coco_available():
            base_dir = datasets_dir() / COCO_FOLDER
            print(f"Captioning data: CS231n's COCO set (VGG-16 fc7 features) from {base_dir}")
        else:
            base_dir = scene_captioning_dir()
            manifest = read_manifest(base_dir)
            sizes = ", ".join(f"{v} {k}" for k, v in manifest["sizes"].items())
            print(f"Captioning data: generated scenes from {base_dir} ({sizes} images, "
                  f"{manifest['captions_per_image']} captions each); `{fetch_command('coco')}` fetches "
                  f"CS231n's COCO set")
    base_dir = Path(base_dir)
    manifest = read_manifest(base_dir)
    scenes = manifest is not None
    splits = ("train", "val", "val_novel") if scenes else ("train", "val")
    remedy = (f"delete {base_dir} and it is rebuilt on next use" if scenes
              else f"re-fetch it with `{fetch_command('coco')}`")

    data = _read_h5(base_dir / "coco2014_captions.h5",
                    [f"{s}_{k}" for s in splits for k in ("captions", "image_idxs")], remedy)
    vocab = _read_vocab(base_dir / "coco2014_vocab.json", remedy)
    data.update(vocab)
    for split in splits:
        if scenes:
            names = split_files(split)
            grid = _read_h5(base_dir / names["grid"], ["features"], remedy)["features"]
            _check_features(base_dir / names["grid"], grid, (None, *manifest["grid"]), remedy)
            data[f"{split}_grid_features"] = grid
            if pca_features:
                features_path = base_dir / names["features"]
                features = _read_h5(features_path, ["features"], remedy)["features"]
                _check_features(features_path, features, (None, manifest["feature_dim"]), remedy)
            else:
                features_path = base_dir / names["grid"]
                features = grid.reshape(len(grid), -1).astype(np.float32)  # (N, 16, 128) -> (N, 2048)
            urls_path = base_dir / names["urls"]
        else:
            prefix = f"{split}2014"
            features_path = base_dir / f"{prefix}_vgg16_fc7{'_pca' if pca_features else ''}.h5"
            features = _read_h5(features_path, ["features"], remedy)["features"]
            _check_features(features_path, features, (None, COCO_FEATURE_DIMS[bool(pca_features)]), remedy)
            urls_path = base_dir / f"{prefix}_urls.txt"
        data[f"{split}_features"] = features
        data[f"{split}_urls"] = _read_urls(urls_path, len(features), remedy)
        _check_split(data, split, len(vocab["idx_to_word"]), base_dir / "coco2014_captions.h5")
    data["source"] = "scenes" if scenes else "coco"
    data["base_dir"] = str(base_dir)

    if max_train is not None:
        num_train = data["train_captions"].shape[0]
        if isinstance(max_train, bool) or int(max_train) != max_train or not 1 <= max_train <= num_train:
            raise ValueError(f"max_train must be an integer in 1..{num_train} (the training captions), "
                             f"got {max_train!r}")
        mask = np.random.choice(num_train, int(max_train), replace=False)
        data["train_captions"] = data["train_captions"][mask]
        data["train_image_idxs"] = data["train_image_idxs"][mask]
    return data


def _read_h5(path: Path, keys, remedy):
    """Every array of an HDF5 file that must hold `keys` (see open_h5 for the errors)."""
    with open_h5(path, keys, remedy) as f:
        return {k: np.asarray(f[k]) for k in f.keys()}


def _read_vocab(path: Path, remedy):
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; {remedy}")
    try:
        vocab = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path} is not readable JSON ({error}); {remedy}") from error
    if not isinstance(vocab, dict) or not isinstance(vocab.get("idx_to_word"), list) or \
            not isinstance(vocab.get("word_to_idx"), dict):
        raise ValueError(f"{path} must hold 'idx_to_word' (a list of words) and 'word_to_idx' (a dict)")
    idx_to_word, word_to_idx = vocab["idx_to_word"], vocab["word_to_idx"]
    missing = [t for t in REQUIRED_TOKENS if t not in word_to_idx or t not in idx_to_word]
    if missing:
        raise ValueError(f"{path}: the vocabulary must contain the special tokens {list(REQUIRED_TOKENS)}, "
                         f"missing {missing}")
    wrong = [w for i, w in enumerate(idx_to_word) if word_to_idx.get(w) != i]
    if wrong or len(word_to_idx) != len(idx_to_word):
        raise ValueError(f"{path}: word_to_idx must be the inverse of idx_to_word; it disagrees on {wrong[:5]} "
                         f"({len(idx_to_word)} words in idx_to_word, {len(word_to_idx)} in word_to_idx)")
    return {"idx_to_word": idx_to_word, "word_to_idx": word_to_idx}


def _check_features(path, features, expected, remedy):
    shape = features.shape
    if len(shape) != len(expected) or any(e is not None and s != e for s, e in zip(shape, expected, strict=False)):
        shown = "(" + ", ".join("N" if e is None else str(e) for e in expected) + ")"
        raise ValueError(f"{path}: features must have shape {shown}, got {shape}; {remedy}")


def _read_urls(path: Path, n: int, remedy):
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; {remedy}")
    urls = np.asarray([line.strip() for line in path.read_text().splitlines() if line.strip()])
    if len(urls) != n:
        raise ValueError(f"{path} must list one address per image ({n}, as its features), got {len(urls)}; {remedy}")
    return urls


def _check_split(data, split, vocab_size, path):
    captions, idxs = data[f"{split}_captions"], data[f"{split}_image_idxs"]
    if captions.ndim != 2 or captions.dtype.kind not in "iu":
        raise ValueError(f"{path}: {split}_captions must be an integer array of shape (N, T), "
                         f"got {captions.dtype} {captions.shape}")
    if idxs.shape != (captions.shape[0],) or idxs.dtype.kind not in "iu":
        raise ValueError(f"{path}: {split}_image_idxs must be integers of shape ({captions.shape[0]},), one per "
                         f"caption, got {idxs.dtype} {idxs.shape}")
    check_captions(f"{split}_captions", captions, vocab_size)
    num_images = len(data[f"{split}_features"])
    if idxs.size and (idxs.min() < 0 or idxs.max() >= num_images):
        raise ValueError(f"{path}: {split}_image_idxs must index the {num_images} {split} images (0.."
                         f"{num_images - 1}), got values in {idxs.min()}..{idxs.max()}")


def check_captions(name, captions, vocab_size):
    """Raise a ValueError unless every entry of `captions` is a word index in 0..vocab_size-1."""
    captions = np.asarray(captions)
    if captions.dtype.kind not in "iu":
        raise ValueError(f"{name} must hold integer word indices, got dtype {captions.dtype}")
    if captions.size and (captions.min() < 0 or captions.max() >= vocab_size):
        raise ValueError(f"{name} must hold word indices in 0..{vocab_size - 1} (a vocabulary of {vocab_size} "
                         f"words), got values in {captions.min()}..{captions.max()}")


def decode_captions(captions, idx_to_word):
    """
    Turn captions of word indices into strings, skipping <NULL> and stopping after <END>.

    Inputs:
    - captions: (N, T) or (T,) integer array of word indices
    - idx_to_word: List of the vocabulary's words

    Returns:
    - List of N strings, or one string for a (T,) input
    """
    captions = np.asarray(captions)
    singleton = captions.ndim == 1
    if singleton:
        captions = captions[None]  # (1, T)
    if captions.ndim != 2:
        raise ValueError(f"captions must have shape (N, T) or (T,), got {captions.shape}")
    check_captions("captions", captions, len(idx_to_word))
    decoded = []
    for row in captions:
        words = []
        for index in row:
            word = idx_to_word[index]
            if word != "<NULL>":
                words.append(word)
            if word == "<END>":
                break
        decoded.append(" ".join(words))
    return decoded[0] if singleton else decoded


def sample_coco_minibatch(data, batch_size=100, split="train", seed=None):
    """
    Draw a minibatch of captions (with replacement) with their image features and addresses.

    Inputs:
    - data: The dict of load_coco_data
    - batch_size: Number of captions
    - split: 'train', 'val' (or 'val_novel' on the generated set)
    - seed: Seed of the draw; None uses NumPy's global random state, as CS231n does

    Returns a tuple of:
    - captions: (batch_size, T) int32
    - image_features: (batch_size, D) float32
    - urls: (batch_size,) strings
    """
    if f"{split}_captions" not in data:
        available = tuple(k[:-len("_captions")] for k in data if k.endswith("_captions"))
        raise ValueError(f"split must be one of {available}, got {split!r}")
    batch_size = positive_int("batch_size", batch_size)
    split_size = data[f"{split}_captions"].shape[0]
    rng = np.random if seed is None else np.random.default_rng(seed)
    mask = rng.choice(split_size, int(batch_size))
    captions = data[f"{split}_captions"][mask]
    image_idxs = data[f"{split}_image_idxs"][mask]
    return captions, data[f"{split}_features"][image_idxs], data[f"{split}_urls"][image_idxs]


# ----------------------------------------------------------------------------- the generated set's extras

def _scene_folder(data):
    if data.get("source") != "scenes":
        raise ValueError("this data has no generated scenes (it is CS231n's COCO set: show its images with "
                         "image_utils.image_from_url, which needs internet access)")
    return Path(data["base_dir"])


def load_scene_images(data, split, image_idxs):
    """
    Images of the generated set.

    Inputs:
    - data: The dict of load_coco_data (generated set)
    - split: 'train', 'val' or 'val_novel'
    - image_idxs: (B,) image indices, e.g. from {split}_image_idxs

    Returns:
    - images: (B, 64, 64, 3) uint8
    """
    return read_scene_arrays(_scene_folder(data), split, ["images"], image_idxs)["images"]


def load_scene_ground_truth(data, split, image_idxs=None):
    """
    The ground truth (helpers.data.scenes.Scene: objects with attributes, centres, boxes, and
    their relations) of images of the generated set; it is never an input to a captioner.

    Inputs:
    - data: The dict of load_coco_data (generated set)
    - split: 'train', 'val' or 'val_novel'
    - image_idxs: Image indices (default: every image of the split)

    Returns:
    - List of Scene, one per index
    """
    return read_scenes(_scene_folder(data), split, image_idxs)


def load_caption_images(data, split, image_idxs):
    """
    The images of some captioned images, to show them: the generated scenes from their files,
    COCO's from their URLs (which needs internet access: an image that cannot be fetched is
    replaced by a grey square, and the reason is printed once).

    Inputs:
    - data: The dict of load_coco_data
    - split: 'train', 'val' (or 'val_novel' on the generated set)
    - image_idxs: (B,) image indices, e.g. from {split}_image_idxs

    Returns:
    - images: List of B uint8 arrays of shape (H, W, 3)
    """
    if f"{split}_urls" not in data:
        available = tuple(k[:-len("_urls")] for k in data if k.endswith("_urls"))
        raise ValueError(f"split must be one of {available}, got {split!r}")
    image_idxs = np.asarray(image_idxs).reshape(-1)
    if data.get("source") == "scenes":
        return list(load_scene_images(data, split, image_idxs))
    from helpers.image_utils import ImageDownloadError, image_from_url  # imports torch: only when needed

    images, failure = [], None
    for url in data[f"{split}_urls"][image_idxs]:
        try:
            images.append(image_from_url(str(url)))
        except ImageDownloadError as error:
            failure = failure or str(error)
            images.append(np.full((64, 64, 3), 128, dtype=np.uint8))
    if failure:
        print(f"Some images could not be shown (grey squares instead): {failure}")
    return images


def image_from_scene_url(url):
    """
    The image behind a scene:// address of the generated set (what {split}_urls hold).

    Inputs:
    - url: 'scene://<folder>/<split>/<index>', the folder relative to the datasets folder or absolute

    Returns:
    - image: (H, W, 3) uint8
    """
    if not isinstance(url, str) or not url.startswith("scene://"):
        raise ValueError(f"url must be a scene://<folder>/<split>/<index> address, got {url!r}")
    try:
        folder, split, index = url[len("scene://"):].rsplit("/", 2)
        index = int(index)
    except ValueError as error:
        raise ValueError(f"url must be a scene://<folder>/<split>/<index> address, got {url!r}") from error
    path = Path(folder) if folder.startswith("/") else datasets_dir() / folder
    if read_manifest(path) is None:
        raise FileNotFoundError(f"{url}: no generated scene set in {path}; load_coco_data() builds it")
    return read_scene_arrays(path, split, ["images"], [index])["images"][0]

