"""The generated scene-captioning set, written in the files of CS231n's COCO captioning set.

COCO cannot be had offline, so the course generates its own captioning set on first use and
caches it under datasets/scenes_captioning/<scale>/, in the same files and keys as CS231n's
coco_captioning folder, so one loader (helpers.coco_utils.load_coco_data) serves both:

    coco2014_captions.h5          train_captions (N, 17) int32, train_image_idxs (N,) int32, val_*,
                                  and val_novel_* (colour-shape combinations never seen in train)
    coco2014_vocab.json           idx_to_word (list), word_to_idx (dict); <NULL>=0 <START>=1 <END>=2 <UNK>=3
    {split}2014_scene_cnn_512.h5  "features" (N_images, 512) float32: the scene encoder's vector, used
                                  where COCO's loader reads train2014_vgg16_fc7_pca.h5
    {split}2014_scene_cnn_grid.h5 "features" (N_images, 16, 128) float16: the encoder's 4x4 grid, row by row
    {split}2014_urls.txt          one "scene://..." address per image (coco_utils.image_from_scene_url)
    {split}2014_scenes.h5         what COCO lacks: the images, visible-instance maps, objects (shape, colour,
                                  size, centre, box, visible fraction) and their relations
    manifest.json                 what was built, from what (generator version, seed, sizes, encoder
                                  checksum) under a content key; written last

A folder is used only if its manifest's key matches what the current code would build; otherwise
it is rebuilt. A build goes to a temporary folder that is renamed into place when complete, so
an interrupted build never leaves a folder that is later trusted.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from helpers.course.scale import current_scale
from helpers.data.catalog import BUNDLED_CHECKPOINTS
from helpers.data.paths import datasets_dir
from helpers.data.scenes import (
    COLORS,
    DEFAULT_CONFIG,
    GENERATOR_VERSION,
    MAX_CAPTION_WORDS,
    MAX_OBJECTS,
    RELATIONS,
    SHAPES,
    SIZES,
    SPLITS,
    Scene,
    SceneConfig,
    SceneObject,
    _rng,
    render_scene,
    scene_captions,
    vocabulary_words,
)

FOLDER = "scenes_captioning"
FORMAT_VERSION = 1
SEED = 231
CAPTIONS_PER_IMAGE = 5
SCALE_SIZES = {"quick": {"train": 2000, "val": 500, "val_novel": 500},
               "full": {"train": 20000, "val": 2000, "val_novel": 2000}}
SPECIAL_TOKENS = ("<NULL>", "<START>", "<END>", "<UNK>")  # COCO's first four words, in COCO's order
CAPTION_LENGTH = MAX_CAPTION_WORDS + 2
PREFIX = {"train": "train2014", "val": "val2014", "val_novel": "val_novel2014"}
MANIFEST = "manifest.json"
CAPTIONS_FILE = "coco2014_captions.h5"
VOCAB_FILE = "coco2014_vocab.json"


def split_files(split: str) -> dict[str, str]:
    """File names of one split of the generated set."""
    p = PREFIX[split]
    return {"features": f"{p}_scene_cnn_512.h5", "grid": f"{p}_scene_cnn_grid.h5", "urls": f"{p}_urls.txt",
            "scenes": f"{p}_scenes.h5"}


def _encoder_sha256() -> str:
    entry = BUNDLED_CHECKPOINTS.get("scene_encoder")
    if entry is None:
        raise RuntimeError("no scene encoder is registered in helpers/data/catalog.py BUNDLED_CHECKPOINTS; "
                           "train one with `python tools/train_scene_encoder.py`")
    return entry.sha256


def content_key(sizes: dict, seed: int = SEED, config: SceneConfig = DEFAULT_CONFIG) -> str:
    """The key of a build: it changes whenever anything that shapes the files changes."""
    spec = {"format": FORMAT_VERSION, "generator": GENERATOR_VERSION, "seed": seed, "sizes": sizes,
            "captions_per_image": CAPTIONS_PER_IMAGE, "config": asdict(config), "encoder": _encoder_sha256()}
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def read_manifest(folder) -> dict | None:
    """The manifest of a generated set, or None when the folder holds none (e.g. the COCO set)."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"{path} is not readable JSON ({error}); delete {folder} and it is rebuilt") from error


def scene_captioning_dir(scale: str | None = None, verbose: bool = True) -> Path:
    """
    The folder of the generated set at a scale, built on first use (and rebuilt when stale).

    Inputs:
    - scale: 'quick' or 'full'; None reads CS231N_SCALE
    - verbose: Announce a build in one line

    Returns:
    - Path of the folder
    """
    scale = current_scale() if scale is None else scale
    if scale not in SCALE_SIZES:
        raise ValueError(f"scale must be one of {tuple(SCALE_SIZES)}, got {scale!r}")
    folder = datasets_dir() / FOLDER / scale
    sizes = SCALE_SIZES[scale]
    manifest = read_manifest(folder) if folder.is_dir() else None
    if manifest is None or manifest.get("key") != content_key(sizes):
        build_scene_captioning(folder, sizes, verbose=verbose,
                               what=f"{scale} scale, {'first use' if manifest is None else 'the cached one is stale'}")
    return folder


def build_scene_captioning(folder, sizes: dict, seed: int = SEED, config: SceneConfig = DEFAULT_CONFIG,
                           verbose: bool = True, what: str = "") -> Path:
    """
    Generate, caption and encode the scenes of every split and write the set into `folder`,
    replacing what is there only once the new set is complete.

    Inputs:
    - folder: Where the set goes
    - sizes: Number of images per split, e.g. {"train": 2000, "val": 500, "val_novel": 500}
    - seed: Seed of the scenes
    - config: SceneConfig of the scenes
    - verbose: Announce the build in one line (with a progress bar for large sets)
    - what: Said in the announcement

    Returns:
    - Path of the folder
    """
    from helpers.data.scene_encoder import encode_images, load_scene_encoder

    folder = Path(folder)
    if set(sizes) != set(SPLITS) or any(int(v) != v or v < 1 for v in sizes.values()):
        raise ValueError(f"sizes must give a positive number of images for each of {SPLITS}, got {sizes}")
    key = content_key(sizes, seed, config)
    total = sum(sizes.values())
    start = time.time()
    if verbose:
        print(f"Generating the scene captioning set ({what or 'custom'}: "
              f"{', '.join(f'{v} {k}' for k, v in sizes.items())} images) in {folder} ...", end="", flush=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / f".{folder.name}.building-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        encoder = load_scene_encoder()
        words = list(SPECIAL_TOKENS) + vocabulary_words()
        word_to_idx = {w: i for i, w in enumerate(words)}
        (tmp / VOCAB_FILE).write_text(json.dumps({"idx_to_word": words, "word_to_idx": word_to_idx}))
        progress = _progress(total, verbose and total > 10000)
        caption_arrays = {}
        for split in SPLITS:
            n = int(sizes[split])
            images, instances, scenes, captions = _generate(split, n, seed, config, progress)
            caption_arrays[f"{split}_captions"] = _encode_captions(captions, word_to_idx)
            caption_arrays[f"{split}_image_idxs"] = np.repeat(np.arange(n, dtype=np.int32), CAPTIONS_PER_IMAGE)
            features, grid = encode_images(images, encoder)
            names = split_files(split)
            _write_h5(tmp / names["features"], {"features": features})
            _write_h5(tmp / names["grid"], {"features": grid}, attrs={"grid_size": encoder.config["grid_size"]})
            _write_h5(tmp / names["scenes"], scenes_to_arrays(images, instances, scenes),
                      attrs=_scene_attrs(config))
            rel = _url_folder(folder)
            (tmp / names["urls"]).write_text("".join(f"scene://{rel}/{split}/{i}\n" for i in range(n)))
        progress.close()
        _write_h5(tmp / CAPTIONS_FILE, caption_arrays)
        manifest = {"key": key, "format": FORMAT_VERSION, "generator_version": GENERATOR_VERSION, "seed": seed,
                    "sizes": sizes, "captions_per_image": CAPTIONS_PER_IMAGE, "config": asdict(config),
                    "encoder_sha256": _encoder_sha256(), "feature_dim": encoder.config["feature_dim"],
                    "grid": [encoder.config["grid_size"] ** 2, encoder.config["grid_channels"]],
                    "files": {split: split_files(split) for split in SPLITS},
                    "build_seconds": round(time.time() - start, 1)}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1))
        _replace(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if verbose:
        print(f" done in {time.time() - start:.1f} s")
    return folder


def _progress(total, show):
    from tqdm import tqdm

    return tqdm(total=total, unit="scene", disable=not show, leave=False, mininterval=2)


def _generate(split, n, seed, config, progress):
    W = config.image_size
    images = np.empty((n, W, W, 3), dtype=np.uint8)
    instances = np.empty((n, W, W), dtype=np.uint8)
    scenes, captions = [], []
    for i in range(n):
        images[i], instances[i], scene = render_scene(seed, split, i, config)
        scenes.append(scene)
        captions += scene_captions(scene, _rng(seed, split, i, 2), CAPTIONS_PER_IMAGE)
        progress.update()
    return images, instances, scenes, captions


def _encode_captions(captions, word_to_idx):
    out = np.zeros((len(captions), CAPTION_LENGTH), dtype=np.int32)  # <NULL> = 0 pads
    for row, caption in enumerate(captions):
        ids = [word_to_idx["<START>"]] + [word_to_idx[w] for w in caption.split()] + [word_to_idx["<END>"]]
        out[row, :len(ids)] = ids
    return out


def _url_folder(folder: Path) -> str:
    """The folder as a scene:// address: relative to the datasets folder when inside it."""
    try:
        return folder.resolve().relative_to(datasets_dir().resolve()).as_posix()
    except ValueError:
        return folder.resolve().as_posix()


def _write_h5(path, arrays, attrs=None):
    import h5py

    with h5py.File(path, "w") as f:
        for name, array in arrays.items():
            big = array.ndim >= 3
            # lzf: fast to write and read; the images (noise) hardly compress anyway, the masks do
            f.create_dataset(name, data=array, compression="lzf" if big else None,
                             chunks=(min(len(array), 256),) + array.shape[1:] if big else None)
        for name, value in (attrs or {}).items():
            f.attrs[name] = value


def _replace(tmp: Path, folder: Path):
    """Move the complete build into place; a concurrent build that got there first wins."""
    old = None
    if folder.exists():
        old = folder.parent / f".{folder.name}.old-{os.getpid()}"
        os.rename(folder, old)
    try:
        os.rename(tmp, folder)
    except OSError:
        if read_manifest(folder) is None:  # not someone else's finished build
            raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# ----------------------------------------------------------------------------- ground truth as arrays

def _scene_attrs(config: SceneConfig):
    return {"shapes": json.dumps(SHAPES), "colors": json.dumps(COLORS), "sizes": json.dumps(SIZES),
            "relations": json.dumps(RELATIONS), "image_size": config.image_size,
            "relation_tolerance": config.relation_tolerance}


def scenes_to_arrays(images, instances, scenes) -> dict:
    """
    The ground truth of N scenes as arrays (what {split}2014_scenes.h5 holds). Objects are padded
    to MAX_OBJECTS with -1 (or NaN for centres); object k of a scene is pixel value k + 1 of its
    instance map and is drawn after objects 0..k-1.

    Returns a dict of:
    - images (N, H, W, 3) uint8; instance_masks (N, H, W) uint8
    - num_objects (N,) uint8
    - shapes, colors, sizes (N, 3) int8: indices into SHAPES, COLORS, SIZES
    - centers (N, 3, 2) float64 (x, y); boxes (N, 3, 4) int16 (x1, y1, x2, y2), x2 and y2 exclusive
    - visible_fraction (N, 3) float64
    - relations (N, 3, 3, 4) bool: [n, i, j, r] is True when object i is RELATIONS[r] of object j
    """
    N, M = len(scenes), MAX_OBJECTS
    out = {"images": np.asarray(images, dtype=np.uint8), "instance_masks": np.asarray(instances, dtype=np.uint8),
           "num_objects": np.array([len(s.objects) for s in scenes], dtype=np.uint8),
           "shapes": np.full((N, M), -1, np.int8), "colors": np.full((N, M), -1, np.int8),
           "sizes": np.full((N, M), -1, np.int8), "centers": np.full((N, M, 2), np.nan),
           "boxes": np.full((N, M, 4), -1, np.int16), "visible_fraction": np.full((N, M), np.nan),
           "relations": np.zeros((N, M, M, len(RELATIONS)), bool)}
    for n, scene in enumerate(scenes):
        for k, o in enumerate(scene.objects):
            out["shapes"][n, k], out["colors"][n, k] = SHAPES.index(o.shape), COLORS.index(o.color)
            out["sizes"][n, k] = SIZES.index(o.size)
            out["centers"][n, k], out["boxes"][n, k] = o.center, o.box
            out["visible_fraction"][n, k] = o.visible_fraction
        for i, r, j in scene.relations():
            out["relations"][n, i, j, RELATIONS.index(r)] = True
    return out


def arrays_to_scenes(arrays, image_size: int, relation_tolerance: float) -> list[Scene]:
    """The Scene objects back from the arrays of scenes_to_arrays (any subset of rows)."""
    scenes = []
    for n in range(len(arrays["num_objects"])):
        objects = tuple(SceneObject(SHAPES[arrays["shapes"][n, k]], COLORS[arrays["colors"][n, k]],
                                    SIZES[arrays["sizes"][n, k]], tuple(float(v) for v in arrays["centers"][n, k]),
                                    tuple(int(v) for v in arrays["boxes"][n, k]),
                                    float(arrays["visible_fraction"][n, k]))
                        for k in range(int(arrays["num_objects"][n])))
        scenes.append(Scene(objects, image_size, relation_tolerance))
    return scenes


@contextlib.contextmanager
def open_h5(path, keys, remedy: str):
    """
    An HDF5 file opened for reading, or a clear error that ends with `remedy` (what to do about it).

    Raises FileNotFoundError when the file is missing, and ValueError when it is not a readable
    HDF5 file (truncated or corrupt), lacks one of `keys`, or fails while the block reads it.
    """
    import h5py  # loaded only by the captioning notebooks

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; {remedy}")
    try:
        f = h5py.File(path, "r")
    except OSError as error:
        raise ValueError(f"{path} is not a readable HDF5 file ({error}): it may be truncated or corrupt; "
                         f"{remedy}") from error
    with f:
        missing = [k for k in keys if k not in f]
        if missing:
            raise ValueError(f"{path} lacks {missing}: expected the keys {list(keys)}, found {sorted(f.keys())}")
        try:
            yield f
        except OSError as error:
            raise ValueError(f"{path}: cannot read its data ({error}): the file may be truncated; {remedy}") from error


def read_scene_arrays(folder, split: str, keys=None, image_idxs=None) -> dict:
    """
    Read (some of) the ground-truth arrays of a split of a generated set.

    Inputs:
    - folder: The set's folder
    - split: 'train', 'val' or 'val_novel'
    - keys: Which arrays (default: all of scenes_to_arrays' keys)
    - image_idxs: Which images (default: all), any order, repeats allowed

    Returns:
    - Dict of arrays, rows in the order of image_idxs; plus 'image_size' and 'relation_tolerance'
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    path = Path(folder) / split_files(split)["scenes"]
    with open_h5(path, keys or (), f"delete {folder} and it is rebuilt on next use") as f:
        keys = list(f.keys()) if keys is None else list(keys)
        out = {"image_size": int(f.attrs["image_size"]), "relation_tolerance": float(f.attrs["relation_tolerance"])}
        n = f["num_objects"].shape[0]
        if image_idxs is None:
            out.update({k: f[k][()] for k in keys})
            return out
        idxs = np.asarray(image_idxs, dtype=np.int64).reshape(-1)
        if idxs.size and (idxs.min() < 0 or idxs.max() >= n):
            raise ValueError(f"image_idxs must be in 0..{n - 1} for the {n} {split} images, got values in "
                             f"{idxs.min()}..{idxs.max()}")
        unique, inverse = np.unique(idxs, return_inverse=True)  # h5py reads increasing indices only
        for k in keys:
            out[k] = f[k][unique][inverse] if unique.size else f[k][:0]
    return out


def read_scenes(folder, split: str, image_idxs=None) -> list[Scene]:
    """The Scene ground truth of (some) images of a split of a generated set."""
    keys = ("num_objects", "shapes", "colors", "sizes", "centers", "boxes", "visible_fraction")
    arrays = read_scene_arrays(folder, split, keys, image_idxs)
    return arrays_to_scenes(arrays, arrays["image_size"], arrays["relation_tolerance"])
