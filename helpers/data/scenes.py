"""Generated scenes for captioning (and later detection and segmentation), with their captions.

A scene is a small image of one to three flat objects (6 shapes, 6 colours, 2 sizes) at free
positions on a textured, noisy background; later objects may hide part of earlier ones, but
never more than `SceneConfig.max_hidden` of any object. Every scene keeps its ground truth:
the objects with their attributes, centres, boxes, a visible-instance map, and the spatial
relations between them, so a caption can be checked fact by fact.

Captions come from a small grammar (`PRODUCTIONS`) with synonyms and varied word order, e.g.
"a small red circle left of a large blue square" or "there is a blue square and a red circle
to its left". Its roles go to the objects in the order people tend to notice them
(`Scene.salience_order`: large before small, then left to right or top to bottom), so what a caption says next
is a fact about the image, never about a choice the caption made earlier: a captioner has to
read the image, not remember which of three objects it happened to start with.
`parse_caption` is its exact inverse: it reads a caption back into facts, and
`fact_accuracy` counts the captions that are fully right about their scene.

Everything is deterministic: scene `i` of a split depends only on (seed, split, i), so a small
set is a prefix of a larger one made with the same seed.

The split `val_novel` holds scenes with colour-shape combinations (`HELD_OUT`) that never occur
in `train` or `val`: a captioner that names them has composed words it never saw together.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from helpers._checks import positive_int

GENERATOR_VERSION = 2  # 2: caption roles in salience order

SHAPES = ("circle", "square", "triangle", "diamond", "star", "cross")
COLORS = ("red", "yellow", "green", "cyan", "blue", "purple")
SIZES = ("small", "large")
RELATIONS = ("left", "right", "above", "below")  # relation r of (i, j): object i is r of object j
INVERSE_RELATION = {"left": "right", "right": "left", "above": "below", "below": "above"}

# One shape per colour and one colour per shape is held out, so every colour and every shape is
# seen in training, only never in these combinations.
HELD_OUT = frozenset({("red", "triangle"), ("yellow", "square"), ("green", "star"), ("cyan", "cross"),
                      ("blue", "circle"), ("purple", "diamond")})
SPLITS = ("train", "val", "val_novel")
# The scene encoder is trained on scenes of its own stream with every combination, as VGG-16 saw all of
# ImageNet before it gave COCO its features: it is a fixed feature extractor, and what val_novel tests is
# whether a captioner trained without those combinations can name them.
_SPLIT_CODES = {"train": 0, "val": 1, "val_novel": 2, "encoder": 3}

_RGB = {"red": (215, 40, 35), "yellow": (235, 205, 40), "green": (40, 165, 60), "cyan": (40, 195, 210),
        "blue": (40, 70, 215), "purple": (145, 55, 190)}

# Outlines in a unit box centred on the origin (y down); scaled by the object's side in pixels.
_STAR = tuple((0.5 * r * np.sin(a), -0.5 * r * np.cos(a))
              for k in range(10) for r, a in [((1.0, 0.45)[k % 2], k * np.pi / 5)])
_OUTLINES = {
    "circle": tuple((0.48 * np.cos(a), 0.48 * np.sin(a)) for a in np.linspace(0, 2 * np.pi, 28, endpoint=False)),
    "square": ((-0.44, -0.44), (0.44, -0.44), (0.44, 0.44), (-0.44, 0.44)),
    "triangle": ((0.0, -0.5), (0.5, 0.43), (-0.5, 0.43)),
    "diamond": ((0.0, -0.5), (0.4, 0.0), (0.0, 0.5), (-0.4, 0.0)),
    "star": _STAR,
    "cross": ((-0.17, -0.5), (0.17, -0.5), (0.17, -0.17), (0.5, -0.17), (0.5, 0.17), (0.17, 0.17),
              (0.17, 0.5), (-0.17, 0.5), (-0.17, 0.17), (-0.5, 0.17), (-0.5, -0.17), (-0.17, -0.17)),
}

MIN_DISTINCT_CAPTIONS = 3  # reference captions of an image that differ, at least
MAX_CAPTION_WORDS = 15  # COCO's captions are (N, 17): <START>, at most 15 words, <END>
MAX_OBJECTS = 3  # the grammar describes up to three objects within that length


@dataclass(frozen=True)
class SceneConfig:
    """
    How scenes are drawn. Sizes and distances are in pixels.

    - image_size: Side of the square image
    - min_objects, max_objects: Range of the number of objects (1..3)
    - object_count_weights: Relative frequency of 1, 2 and 3 objects
    - small_size, large_size: Range of the side of a small and of a large object
    - min_separation: Centres of two objects are at least this far apart along the axis where
      they differ most...
    - min_dominance: ...and differ along that axis by this much more than along the other, so
      the relation the reference captions state ("left of", "above") is never a toss-up
    - max_hidden: No object loses more than this fraction of its pixels to objects in front
    - relation_tolerance: "i left of j" is true when j's centre is at least this far right of i's
    """
    image_size: int = 64
    min_objects: int = 1
    max_objects: int = 3
    object_count_weights: tuple[float, float, float] = (1.0, 2.0, 2.0)
    small_size: tuple[float, float] = (11.0, 13.0)
    large_size: tuple[float, float] = (19.0, 23.0)
    min_separation: float = 13.0
    min_dominance: float = 6.0
    max_hidden: float = 0.35
    relation_tolerance: float = 4.0

    def __post_init__(self):
        positive_int("image_size", self.image_size)
        positive_int("min_objects", self.min_objects)
        positive_int("max_objects", self.max_objects)
        if self.max_objects > MAX_OBJECTS:
            raise ValueError(f"max_objects must be at most {MAX_OBJECTS}: captions of at most {MAX_CAPTION_WORDS} "
                             f"words describe up to {MAX_OBJECTS} objects, got {self.max_objects}")
        if self.min_objects > self.max_objects:
            raise ValueError(f"min_objects must be <= max_objects, got {self.min_objects} > {self.max_objects}")
        if len(self.object_count_weights) != MAX_OBJECTS or min(self.object_count_weights) < 0 or \
                sum(self.object_count_weights[self.min_objects - 1:self.max_objects]) <= 0:
            raise ValueError(f"object_count_weights must be {MAX_OBJECTS} non-negative weights, positive somewhere "
                             f"in {self.min_objects}..{self.max_objects} objects, got {self.object_count_weights}")
        (s0, s1), (l0, l1) = self.small_size, self.large_size
        if not 3 <= s0 <= s1 < l0 <= l1:
            raise ValueError(f"sizes must satisfy 3 <= small_size[0] <= small_size[1] < large_size[0] <= "
                             f"large_size[1] (small and large must not overlap), got {self.small_size} and "
                             f"{self.large_size}")
        if l1 > self.image_size:
            raise ValueError(f"large objects of up to {l1:g} px do not fit in a {self.image_size}x{self.image_size} "
                             f"image: use a larger image_size or a smaller large_size")
        if not 0 <= self.max_hidden < 1:
            raise ValueError(f"max_hidden must be in [0, 1), got {self.max_hidden}")
        if not 0 < self.relation_tolerance <= self.min_separation - self.min_dominance:
            raise ValueError(f"relation_tolerance must be in (0, min_separation - min_dominance], got "
                             f"{self.relation_tolerance}")
        # Centres of n objects pairwise min_separation apart (in the larger coordinate difference)
        # within the square where a large object's centre can lie: at most a grid's worth fit.
        span = self.image_size - l1
        fit = (int(span // self.min_separation) + 1) ** 2
        if fit < self.max_objects:
            raise ValueError(f"more objects than fit: max_objects={self.max_objects} large objects (up to {l1:g} px) "
                             f"{self.min_separation:g} px apart fit at most {fit} to a "
                             f"{self.image_size}x{self.image_size} image; use a larger image_size, fewer objects "
                             f"or a smaller min_separation")


DEFAULT_CONFIG = SceneConfig()


@dataclass(frozen=True)
class SceneObject:
    """One object: its attributes, its centre (x, y), its box (x1, y1, x2, y2; x2 and y2
    exclusive) around the whole shape, and the fraction of its pixels that is visible."""
    shape: str
    color: str
    size: str
    center: tuple[float, float]
    box: tuple[int, int, int, int]
    visible_fraction: float

    @property
    def name(self) -> str:
        return f"{self.size} {self.color} {self.shape}"


@dataclass(frozen=True)
class Scene:
    """The ground truth of one image. `objects` are in drawing order: a later object may hide
    part of an earlier one. Pixel k+1 of the instance map belongs to objects[k]."""
    objects: tuple[SceneObject, ...]
    image_size: int
    relation_tolerance: float = SceneConfig.relation_tolerance

    def holds(self, i: int, relation: str, j: int) -> bool:
        """True when objects[i] is `relation` (left, right, above, below) of objects[j]."""
        (xi, yi), (xj, yj) = self.objects[i].center, self.objects[j].center
        t = self.relation_tolerance
        return {"left": xj - xi >= t, "right": xi - xj >= t, "above": yj - yi >= t, "below": yi - yj >= t}[relation]

    def dominant_relation(self, i: int, j: int) -> str:
        """The relation of objects[i] to objects[j] along the axis where their centres differ most
        (the one the reference captions state)."""
        (xi, yi), (xj, yj) = self.objects[i].center, self.objects[j].center
        if abs(xi - xj) >= abs(yi - yj):
            return "left" if xi < xj else "right"
        return "above" if yi < yj else "below"

    def salience_order(self) -> list[int]:
        """Indices of the objects in the order captions give them roles: large before small, and
        between two of a size, the one left of or above the other along the axis where they are
        apart most (never a toss-up: SceneConfig.min_dominance)."""
        def first(i, j):
            if self.objects[i].size != self.objects[j].size:
                return -1 if self.objects[i].size == "large" else 1
            return -1 if self.dominant_relation(i, j) in ("left", "above") else 1

        return sorted(range(len(self.objects)), key=functools.cmp_to_key(first))

    def relations(self) -> list[tuple[int, str, int]]:
        """Every true relation (i, relation, j) between two different objects."""
        n = len(self.objects)
        return [(i, r, j) for i in range(n) for j in range(n) if i != j for r in RELATIONS if self.holds(i, r, j)]


# ----------------------------------------------------------------------------- drawing


def _rng(seed: int, split: str, index: int, stream: int) -> np.random.Generator:
    # Independent streams for the layout, the appearance and the captions of each scene, so that
    # changing how captions are written does not move a single pixel.
    return np.random.default_rng([seed, _SPLIT_CODES[split], index, stream])


def _combinations(split: str) -> list[tuple[str, str]]:
    every = [(c, s) for c in COLORS for s in SHAPES]
    return every if split in ("val_novel", "encoder") else [cs for cs in every if cs not in HELD_OUT]


def _outline(shape: str, center, side: float, angle: float):
    c, s = np.cos(angle), np.sin(angle)
    pts = np.asarray(_OUTLINES[shape]) * side  # (P, 2)
    rotated = pts @ np.array([[c, s], [-s, c]])  # (P, 2)
    return [tuple(p) for p in rotated + np.asarray(center)]


def _raster(outline, image_size: int) -> np.ndarray:
    canvas = Image.new("L", (image_size, image_size), 0)
    ImageDraw.Draw(canvas).polygon(outline, fill=1)
    return np.asarray(canvas, dtype=bool)


def _layout(rng: np.random.Generator, config: SceneConfig, split: str, attempts: int = 2000):
    """Attributes, sizes, positions and full masks of the objects of one scene."""
    counts = np.arange(config.min_objects, config.max_objects + 1)
    weights = np.asarray(config.object_count_weights[config.min_objects - 1:config.max_objects], dtype=float)
    n = int(rng.choice(counts, p=weights / weights.sum()))
    pool = _combinations(split)
    if split == "val_novel":  # at least one held-out combination per scene
        held = sorted(HELD_OUT)
        first = held[rng.integers(len(held))]
        rest = [cs for cs in pool if cs != first]
        combos = [first] + [rest[k] for k in rng.choice(len(rest), n - 1, replace=False)]
        combos = [combos[k] for k in rng.permutation(n)]  # the held-out object need not be drawn first
    else:
        combos = [pool[k] for k in rng.choice(len(pool), n, replace=False)]
    sizes = [SIZES[k] for k in rng.integers(2, size=n)]
    sides = [rng.uniform(*(config.small_size if z == "small" else config.large_size)) for z in sizes]
    angles = [0.0 if shape == "circle" else rng.uniform(-0.2, 0.2) for _, shape in combos]
    W = config.image_size
    for _ in range(attempts):
        centers = [(rng.uniform(side / 2, W - side / 2), rng.uniform(side / 2, W - side / 2)) for side in sides]
        if not all(_well_apart(a, b, config) for a, b in itertools.combinations(centers, 2)):
            continue
        masks = [_raster(_outline(shape, ctr, side, ang), W)
                 for (_, shape), ctr, side, ang in zip(combos, centers, sides, angles, strict=True)]
        instance = np.zeros((W, W), dtype=np.uint8)
        for k, mask in enumerate(masks):
            instance[mask] = k + 1
        visible = [np.count_nonzero(instance == k + 1) / max(np.count_nonzero(m), 1) for k, m in enumerate(masks)]
        if min(visible) >= 1 - config.max_hidden:
            return combos, sizes, centers, masks, instance, visible
    raise ValueError(f"could not place {n} objects ({', '.join(sizes)}) in a {W}x{W} image in {attempts} tries "
                     f"with min_separation={config.min_separation:g} and max_hidden={config.max_hidden:g}: more "
                     f"objects than fit; use a larger image_size, fewer objects or smaller sizes")


def _well_apart(a, b, config: SceneConfig) -> bool:
    dx, dy = abs(a[0] - b[0]), abs(a[1] - b[1])
    major, minor = max(dx, dy), min(dx, dy)
    return major >= config.min_separation and major - minor >= config.min_dominance


@functools.lru_cache(maxsize=4)
def _coordinates(W: int):
    """x and y of every pixel, as fractions of the image side: (W, W) each."""
    y, x = np.mgrid[0:W, 0:W] / W
    return x, y


def _background(rng: np.random.Generator, W: int) -> np.ndarray:
    """A low-saturation textured background (smooth noise, stripes, checks or a gradient)."""
    base = rng.uniform(70, 185) + rng.uniform(-15, 15, size=3)
    amplitude = rng.uniform(10, 30)
    x, y = _coordinates(W)
    kind = rng.integers(4)
    if kind == 0:  # smooth noise: a coarse random grid, bilinearly upsampled
        k = int(rng.integers(3, 8))
        grid = rng.normal(size=(k, k))
        up = np.stack([np.interp(np.linspace(0, k - 1, W), np.arange(k), np.eye(k)[i]) for i in range(k)])  # (k, W)
        texture = up.T @ grid @ up  # (W, W)
        texture /= np.abs(texture).max() + 1e-9
    elif kind == 1:  # stripes at a random angle and frequency
        theta, freq = rng.uniform(0, np.pi), rng.uniform(2, 7)
        texture = np.sin(2 * np.pi * freq * (x * np.cos(theta) + y * np.sin(theta)) + rng.uniform(0, 2 * np.pi))
    elif kind == 2:  # checks
        cell = rng.uniform(4, 11) / W
        texture = ((np.floor(x / cell) + np.floor(y / cell)) % 2) * 2 - 1
    else:  # a linear gradient
        theta = rng.uniform(0, 2 * np.pi)
        texture = 2 * ((x - 0.5) * np.cos(theta) + (y - 0.5) * np.sin(theta))
    return base + amplitude * texture[..., None]  # (W, W, 3)


def render_scene(seed: int, split: str, index: int, config: SceneConfig = DEFAULT_CONFIG):
    """
    Draw scene `index` of a split: the same (seed, split, index, config) always give the same scene.

    Inputs:
    - seed: Seed of the whole set
    - split: 'train', 'val' or 'val_novel' ('encoder': the stream the scene encoder is trained on)
    - index: Index of the scene in its split
    - config: A SceneConfig

    Returns a tuple of:
    - image: (H, W, 3) uint8
    - instances: (H, W) uint8 visible-instance map: 0 background, k + 1 where objects[k] is seen
    - scene: The Scene (ground truth)
    """
    if split not in _SPLIT_CODES:
        raise ValueError(f"split must be one of {tuple(_SPLIT_CODES)}, got {split!r}")
    W = config.image_size
    combos, sizes, centers, masks, instances, visible = _layout(_rng(seed, split, index, 0), config, split)
    rng = _rng(seed, split, index, 1)
    image = _background(rng, W)
    x, y = _coordinates(W)
    for (color, _), mask in zip(combos, masks, strict=True):
        rgb = np.asarray(_RGB[color], dtype=float) * rng.uniform(0.85, 1.1) + rng.uniform(-12, 12, size=3)
        theta = rng.uniform(0, 2 * np.pi)
        shade = 1 + rng.uniform(0, 0.15) * ((x - 0.5) * np.cos(theta) + (y - 0.5) * np.sin(theta))  # (W, W)
        image[mask] = rgb * shade[mask][:, None]
    image += rng.normal(0, rng.uniform(3, 10), size=image.shape)
    image = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    objects = []
    for (color, shape), size, ctr, mask, vis in zip(combos, sizes, centers, masks, visible, strict=True):
        rows, cols = np.nonzero(mask)
        box = (int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1)
        objects.append(SceneObject(shape, color, size, (float(ctr[0]), float(ctr[1])), box, float(vis)))
    return image, instances, Scene(tuple(objects), W, config.relation_tolerance)


def generate_scenes(num_scenes: int, split: str = "train", seed: int = 0, config: SceneConfig = DEFAULT_CONFIG,
                    start: int = 0):
    """
    Draw scenes start, ..., start + num_scenes - 1 of a split.

    Returns a tuple of:
    - images: (num_scenes, H, W, 3) uint8
    - instances: (num_scenes, H, W) uint8 visible-instance maps
    - scenes: List of num_scenes Scene
    """
    num_scenes = positive_int("num_scenes", num_scenes)
    W = config.image_size
    images = np.empty((num_scenes, W, W, 3), dtype=np.uint8)
    instances = np.empty((num_scenes, W, W), dtype=np.uint8)
    scenes = []
    for k in range(num_scenes):
        images[k], instances[k], scene = render_scene(seed, split, start + k, config)
        scenes.append(scene)
    return images, instances, scenes


# ----------------------------------------------------------------------------- the grammar

SIZE_WORDS = {"small": ("small", "little"), "large": ("large", "big")}
COLOR_WORDS = {c: (c,) for c in COLORS}
SHAPE_WORDS = {"circle": ("circle", "disk"), "square": ("square", "box"), "triangle": ("triangle",),
               "diamond": ("diamond", "rhombus"), "star": ("star",), "cross": ("cross",)}
# Relation of the object before the phrase to the object after it: "a circle left of a square".
RELATION_WORDS = {"left": ("left of", "to the left of"), "right": ("right of", "to the right of"),
                  "above": ("above", "over"), "below": ("below", "under", "beneath")}
# Relation of the object before the phrase to an object named earlier: "... and a circle to its left".
ITS_WORDS = {"left": ("to its left", "on its left"), "right": ("to its right", "on its right"),
             "above": ("above it",), "below": ("below it", "under it")}

# Each production is a sequence of parts; roles 0, 1, 2 are the objects it describes:
#   ("words", "there is")   literal words
#   ("np", k)               "a [size] colour shape" for role k (the size when the caption states sizes)
#   ("bare", k)             "a colour shape" for role k, never with a size...
#   ("size", k)             ...whose size follows later ("a red circle that is small")
#   ("rel", k, l)           role k's relation to role l, said between them ("left of")
#   ("its", k, l)           role k's relation to role l, said after k ("to its left", "above it")
PRODUCTIONS = {
    "one": (("np", 0),),
    "one_there_is": (("words", "there is"), ("np", 0)),
    "one_picture": (("words", "a picture of"), ("np", 0)),
    "one_size_after": (("bare", 0), ("words", "that is"), ("size", 0)),
    "two": (("np", 0), ("rel", 0, 1), ("np", 1)),
    "two_is": (("np", 0), ("words", "is"), ("rel", 0, 1), ("np", 1)),
    "two_there_is": (("words", "there is"), ("np", 1), ("words", "and"), ("np", 0), ("its", 0, 1)),
    "two_with": (("np", 1), ("words", "with"), ("np", 0), ("its", 0, 1)),
    "three_chain": (("np", 0), ("rel", 0, 1), ("np", 1), ("rel", 1, 2), ("np", 2)),
    "three_and_it": (("np", 0), ("rel", 0, 1), ("np", 1), ("words", "and"), ("np", 2), ("rel", 2, 1),
                     ("words", "it")),
}
SIZE_PROBABILITY = 0.7  # share of captions that state the objects' sizes (when they fit in 15 words)


def production_roles(production: str) -> int:
    """Number of objects a production describes."""
    parts = PRODUCTIONS[production]
    return 1 + max(k for part in parts if part[0] != "words" for k in part[1:])


def vocabulary_words() -> list[str]:
    """Every word the grammar can write, sorted."""
    phrases = [p[1] for parts in PRODUCTIONS.values() for p in parts if p[0] == "words"] + ["a"]
    for table in (SIZE_WORDS, COLOR_WORDS, SHAPE_WORDS, RELATION_WORDS, ITS_WORDS):
        phrases += [w for words in table.values() for w in words]
    return sorted({word for phrase in phrases for word in phrase.split()})


@dataclass(frozen=True)
class Mention:
    """An object as a caption names it; size is None when the caption does not say."""
    color: str
    shape: str
    size: str | None = None

    def __str__(self):
        return " ".join(w for w in (self.size, self.color, self.shape) if w)


@dataclass(frozen=True)
class CaptionFacts:
    """
    What a caption states: the objects it names (by role) and the relations (k, relation, l)
    between them (mention k is `relation` of mention l). `production` is the grammar rule that
    wrote it, None with an `error` when the caption is not a sentence of the grammar.
    """
    mentions: tuple[Mention, ...] = ()
    relations: tuple[tuple[int, str, int], ...] = ()
    production: str | None = None
    error: str | None = None

    @property
    def parsed(self) -> bool:
        return self.production is not None


def _pick(rng, options):
    return options[rng.integers(len(options))] if len(options) > 1 else options[0]


def _phrase(part, roles, scene, with_size, rng):
    kind = part[0]
    if kind == "words":
        return part[1]
    if kind in ("np", "bare"):
        obj = scene.objects[roles[part[1]]]
        size = [_pick(rng, SIZE_WORDS[obj.size])] if kind == "np" and with_size else []
        return " ".join(["a", *size, _pick(rng, COLOR_WORDS[obj.color]), _pick(rng, SHAPE_WORDS[obj.shape])])
    if kind == "size":
        return _pick(rng, SIZE_WORDS[scene.objects[roles[part[1]]].size])
    relation = scene.dominant_relation(roles[part[1]], roles[part[2]])
    return _pick(rng, (RELATION_WORDS if kind == "rel" else ITS_WORDS)[relation])


def write_caption(scene: Scene, production: str, roles, with_size: bool, rng: np.random.Generator) -> str:
    """
    One caption of a scene by one production of the grammar.

    Inputs:
    - scene: The Scene
    - production: A key of PRODUCTIONS describing len(scene.objects) objects
    - roles: Index of the scene object that plays each role of the production (a permutation)
    - with_size: State the objects' sizes (productions with a "size" part always do)
    - rng: Picks the synonyms

    Returns:
    - The caption: lower-case words separated by single spaces
    """
    return " ".join(_phrase(part, roles, scene, with_size, rng) for part in PRODUCTIONS[production])


def scene_captions(scene: Scene, rng: np.random.Generator, num_captions: int = 5) -> list[str]:
    """
    `num_captions` reference captions of a scene, each naming every object with its colour and
    shape, in at most MAX_CAPTION_WORDS words; multi-object captions state relations. They are
    all different where the grammar can say the scene that many ways; otherwise (a few 3-object
    scenes, whose roles are fixed and whose sizes do not fit) the distinct ones repeat, as COCO's
    five captions of an image sometimes do.

    Inputs:
    - scene: The Scene
    - rng: Picks productions, whether sizes are stated, and synonyms; the roles go to the objects
      in Scene.salience_order
    - num_captions: How many (at least 3)

    Returns:
    - List of num_captions captions, at least MIN_DISTINCT_CAPTIONS of them distinct
    """
    n = len(scene.objects)
    productions = [p for p in PRODUCTIONS if production_roles(p) == n]
    roles = scene.salience_order()
    captions: list[str] = []
    for _ in range(50 * num_captions):
        production = productions[rng.integers(len(productions))]
        with_size = bool(rng.random() < SIZE_PROBABILITY)
        caption = write_caption(scene, production, roles, with_size, rng)
        if len(caption.split()) > MAX_CAPTION_WORDS and with_size:
            caption = write_caption(scene, production, roles, False, rng)
        if len(caption.split()) <= MAX_CAPTION_WORDS and caption not in captions:
            captions.append(caption)
            if len(captions) == num_captions:
                return captions
    if len(captions) < min(MIN_DISTINCT_CAPTIONS, num_captions):
        raise RuntimeError(f"found only {len(captions)} distinct captions of a {n}-object scene")
    return [captions[k % len(captions)] for k in range(num_captions)]


# ----------------------------------------------------------------------------- the parser

def _lexicon(table):
    return [(tuple(phrase.split()), key) for key, phrases in table.items() for phrase in phrases]


_LEXICON = {"size": _lexicon(SIZE_WORDS), "color": _lexicon(COLOR_WORDS), "shape": _lexicon(SHAPE_WORDS),
            "rel": _lexicon(RELATION_WORDS), "its": _lexicon(ITS_WORDS)}


def _match(table, words, pos):
    """(value, next position) for every phrase of the table that the words continue with at pos."""
    return [(key, pos + len(phrase)) for phrase, key in _LEXICON[table]
            if tuple(words[pos:pos + len(phrase)]) == phrase]


def _parse_parts(parts, words, pos, facts):
    """All ways the parts match words[pos:] to the end; facts accumulates role -> attributes."""
    if not parts:
        return [facts] if pos == len(words) else []
    part, rest = parts[0], parts[1:]
    kind = part[0]
    results = []
    if kind == "words":
        phrase = part[1].split()
        if words[pos:pos + len(phrase)] == phrase:
            results += _parse_parts(rest, words, pos + len(phrase), facts)
    elif kind in ("np", "bare"):
        if words[pos:pos + 1] == ["a"]:
            starts = [(None, pos + 1)] + (_match("size", words, pos + 1) if kind == "np" else [])
            for size, p1 in starts:
                for color, p2 in _match("color", words, p1):
                    for shape, p3 in _match("shape", words, p2):
                        role = {"color": color, "shape": shape, "size": size}
                        results += _parse_parts(rest, words, p3, {**facts, part[1]: role})
    elif kind == "size":
        for size, p1 in _match("size", words, pos):
            role = {**facts[part[1]], "size": size}
            results += _parse_parts(rest, words, p1, {**facts, part[1]: role})
    else:
        for relation, p1 in _match(kind, words, pos):
            results += _parse_parts(rest, words, p1, {**facts, ("rel", part[1], part[2]): relation})
    return results


def caption_words(caption: str) -> list[str]:
    """The words of a caption, without <START>, <NULL>, and anything from <END> on."""
    words = [w for w in str(caption).split() if w not in ("<START>", "<NULL>")]
    return words[:words.index("<END>")] if "<END>" in words else words


def parse_caption(caption: str) -> CaptionFacts:
    """
    Read a caption back into the facts it states: the exact inverse of the grammar.

    Inputs:
    - caption: A string of words (special tokens <START>, <END>, <NULL> are allowed, as
      decode_captions writes them)

    Returns:
    - CaptionFacts: mentions (one per role), relations between them, and the production; for a
      caption the grammar cannot write, production is None and error says why
    """
    words = caption_words(caption)
    if not words:
        return CaptionFacts(error="the caption is empty")
    for name, parts in PRODUCTIONS.items():
        parses = _parse_parts(parts, words, 0, {})
        if len(parses) > 1:
            raise AssertionError(f"the grammar is ambiguous: {' '.join(words)!r} has {len(parses)} parses by {name}")
        if parses:
            facts = parses[0]
            n = production_roles(name)
            mentions = tuple(Mention(facts[k]["color"], facts[k]["shape"], facts[k]["size"]) for k in range(n))
            relations = tuple((key[1], value, key[2]) for key, value in facts.items() if isinstance(key, tuple))
            return CaptionFacts(mentions, relations, name)
    return CaptionFacts(error=f"unparseable: {' '.join(words)!r} is not a sentence of the scene grammar")


# ----------------------------------------------------------------------------- checking facts

@dataclass(frozen=True)
class FactCheck:
    """The verdict on one caption: correct when every stated fact is true and every object of the
    scene is named; otherwise `reason` names the first problem found."""
    correct: bool
    reason: str


def check_caption(caption: str, scene: Scene) -> FactCheck:
    """
    Whether a caption is fully right about its scene: it parses, every object, attribute and
    relation it states is true, and it names every object of the scene (the reference captions
    name them all) with its colour and shape.

    Inputs:
    - caption: A caption (string)
    - scene: The Scene it describes

    Returns:
    - FactCheck(correct, reason)
    """
    facts = parse_caption(caption)
    if not facts.parsed:
        return FactCheck(False, facts.error)
    # Colour and shape identify an object: a scene never holds two of the same combination.
    index = {(o.color, o.shape): k for k, o in enumerate(scene.objects)}
    assigned = []
    for mention in facts.mentions:
        k = index.get((mention.color, mention.shape))
        if k is None:
            return FactCheck(False, f"there is no {mention.color} {mention.shape} in the scene")
        if k in assigned:
            return FactCheck(False, f"names the {mention.color} {mention.shape} twice")
        if mention.size is not None and mention.size != scene.objects[k].size:
            return FactCheck(False, f"the {mention.color} {mention.shape} is {scene.objects[k].size}, "
                                    f"not {mention.size}")
        assigned.append(k)
    for a, relation, b in facts.relations:
        if not scene.holds(assigned[a], relation, assigned[b]):
            what = {"left": "left of", "right": "right of"}.get(relation, relation)
            return FactCheck(False, f"the {facts.mentions[a].color} {facts.mentions[a].shape} is not {what} the "
                                    f"{facts.mentions[b].color} {facts.mentions[b].shape}")
    missing = [o for k, o in enumerate(scene.objects) if k not in assigned]
    if missing:
        return FactCheck(False, "does not name the " + " and the ".join(f"{o.color} {o.shape}" for o in missing))
    return FactCheck(True, "every stated fact is true and every object is named")


def fact_accuracy(captions, scenes) -> float:
    """
    The share of captions that are fully right about their scenes (see check_caption).

    Inputs:
    - captions: Sequence of N captions (strings)
    - scenes: Sequence of N Scene, scenes[i] the one captions[i] describes

    Returns:
    - The fraction of correct captions, a float in [0, 1]
    """
    captions, scenes = list(captions), list(scenes)
    if len(captions) != len(scenes):
        raise ValueError(f"captions and scenes must have the same length, got {len(captions)} and {len(scenes)}")
    if not captions:
        raise ValueError("captions must not be empty")
    return sum(check_caption(c, s).correct for c, s in zip(captions, scenes, strict=True)) / len(captions)
