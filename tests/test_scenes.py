"""The generated scenes: determinism, ground truth, the caption grammar and its parser, fact accuracy."""

import itertools

import numpy as np
import pytest

from helpers.data.scenes import (
    COLORS,
    HELD_OUT,
    ITS_WORDS,
    MAX_CAPTION_WORDS,
    PRODUCTIONS,
    RELATION_WORDS,
    RELATIONS,
    SHAPE_WORDS,
    SHAPES,
    SIZE_WORDS,
    Scene,
    SceneConfig,
    SceneObject,
    check_caption,
    fact_accuracy,
    generate_scenes,
    parse_caption,
    production_roles,
    render_scene,
    scene_captions,
    vocabulary_words,
    write_caption,
)


@pytest.fixture(scope="module")
def train_scenes():
    return generate_scenes(60, "train", seed=3)


def test_scenes_are_deterministic_and_a_prefix_of_larger_sets(train_scenes):
    images, instances, scenes = train_scenes
    again = generate_scenes(10, "train", seed=3, start=50)
    np.testing.assert_array_equal(again[0], images[50:])
    np.testing.assert_array_equal(again[1], instances[50:])
    assert again[2] == scenes[50:]
    other = generate_scenes(10, "train", seed=4)
    assert not np.array_equal(other[0], images[:10])
    assert not np.array_equal(generate_scenes(10, "val", seed=3)[0], images[:10])


def test_scene_contents_cover_the_design(train_scenes):
    images, instances, scenes = train_scenes
    assert images.shape == (60, 64, 64, 3) and images.dtype == np.uint8 and instances.dtype == np.uint8
    counts = {len(s.objects) for s in scenes}
    assert counts == {1, 2, 3}
    objects = [o for s in scenes for o in s.objects]
    assert {o.shape for o in objects} == set(SHAPES) and {o.color for o in objects} == set(COLORS)
    assert {o.size for o in objects} == {"small", "large"}
    assert any(o.visible_fraction < 1 for o in objects), "no occlusion in 60 scenes"
    # Backgrounds are textured and noisy, not flat: the pixels outside the objects vary.
    assert all(images[k][instances[k] == 0].std() > 4 for k in range(10))


def test_ground_truth_matches_the_pixels(train_scenes):
    images, instances, scenes = train_scenes
    config = SceneConfig()
    for inst, scene in zip(instances, scenes, strict=True):
        assert inst.max() == len(scene.objects)
        for k, o in enumerate(scene.objects):
            rows, cols = np.nonzero(inst == k + 1)
            x1, y1, x2, y2 = o.box
            # the box surrounds the whole shape, so it contains the visible mask
            assert cols.min() >= x1 and cols.max() < x2 and rows.min() >= y1 and rows.max() < y2
            assert x1 <= o.center[0] <= x2 and y1 <= o.center[1] <= y2
            assert o.visible_fraction >= 1 - config.max_hidden
            side = max(x2 - x1, y2 - y1)
            assert (side <= 14) == (o.size == "small")
        combos = [(o.color, o.shape) for o in scene.objects]
        assert len(set(combos)) == len(combos) and not set(combos) & HELD_OUT


def test_relations_agree_with_positions(train_scenes):
    for scene in train_scenes[2]:
        for i, j in itertools.permutations(range(len(scene.objects)), 2):
            (xi, yi), (xj, yj) = scene.objects[i].center, scene.objects[j].center
            dominant = scene.dominant_relation(i, j)
            assert scene.holds(i, dominant, j)
            assert dominant == {True: "left" if xi < xj else "right",
                                False: "above" if yi < yj else "below"}[abs(xi - xj) > abs(yi - yj)]
            assert scene.holds(i, "left", j) == scene.holds(j, "right", i) == (xj - xi >= 4)
            assert scene.holds(i, "above", j) == (yj - yi >= 4)
            # the relation the references state is never a toss-up
            assert max(abs(xi - xj), abs(yi - yj)) - min(abs(xi - xj), abs(yi - yj)) >= SceneConfig.min_dominance


def test_val_novel_holds_the_held_out_combinations():
    _, _, scenes = generate_scenes(40, "val_novel", seed=0)
    for scene in scenes:
        assert {(o.color, o.shape) for o in scene.objects} & HELD_OUT
    # every colour and every shape is still in training, only not in these pairs
    assert {c for c, _ in HELD_OUT} == set(COLORS) and {s for _, s in HELD_OUT} == set(SHAPES)


def test_impossible_settings_are_rejected():
    with pytest.raises(ValueError, match="max_objects must be at most 3"):
        SceneConfig(max_objects=4)
    with pytest.raises(ValueError, match="more objects than fit"):
        SceneConfig(image_size=28)
    with pytest.raises(ValueError, match="do not fit in a 16x16 image"):
        SceneConfig(image_size=16)
    with pytest.raises(ValueError, match="min_objects must be <= max_objects"):
        SceneConfig(min_objects=3, max_objects=2)
    with pytest.raises(ValueError, match="small and large must not overlap"):
        SceneConfig(small_size=(11, 20))
    # passes the quick bound, but three large objects hiding at most 35% of each other cannot be placed
    config = SceneConfig(image_size=34, min_objects=3, min_separation=7, min_dominance=2, small_size=(17, 18),
                         large_size=(19, 20), max_hidden=0.0)
    with pytest.raises(ValueError, match="could not place 3 objects .* more objects than fit"):
        render_scene(0, "train", 0, config)
    with pytest.raises(ValueError, match="split must be one of"):
        render_scene(0, "test", 0)


def test_references_are_valid_sentences_that_name_every_object(train_scenes):
    for k, scene in enumerate(train_scenes[2]):
        captions = scene_captions(scene, np.random.default_rng(k), num_captions=5)
        assert len(set(captions)) == 5
        for caption in captions:
            assert len(caption.split()) <= MAX_CAPTION_WORDS
            facts = parse_caption(caption)
            assert facts.parsed, caption
            assert len(facts.mentions) == len(scene.objects)
            if len(scene.objects) > 1:
                assert facts.relations, caption
            assert check_caption(caption, scene).correct, (caption, check_caption(caption, scene))


def _two_object_scene():
    red = SceneObject("circle", "red", "small", (12.0, 36.0), (6, 30, 18, 42), 1.0)
    blue = SceneObject("square", "blue", "large", (44.0, 30.0), (34, 20, 54, 40), 1.0)
    green = SceneObject("star", "green", "small", (44.0, 8.0), (38, 2, 50, 14), 1.0)
    return Scene((red, blue), 64), Scene((red, blue, green), 64)


@pytest.mark.parametrize("production", sorted(PRODUCTIONS))
def test_parser_inverts_every_production_with_every_synonym(production):
    n = production_roles(production)
    kinds = [("circle", "red", "small", (10.0, 30.0)), ("square", "blue", "large", (40.0, 20.0)),
             ("star", "green", "small", (30.0, 54.0))]
    objects = [SceneObject(shape, color, size, center, (0, 0, 1, 1), 1.0) for shape, color, size, center in kinds[:n]]
    scene = Scene(tuple(objects), 64)
    seen = set()
    for roles in itertools.permutations(range(n)):
        for with_size in (False, True):
            for seed in range(30):
                caption = write_caption(scene, production, list(roles), with_size, np.random.default_rng(seed))
                seen.update(caption.split())
                facts = parse_caption(caption)
                assert facts.production == production, caption
                for k, mention in enumerate(facts.mentions):
                    o = scene.objects[roles[k]]
                    stated_size = with_size or any(p[0] == "size" for p in PRODUCTIONS[production])
                    assert (mention.color, mention.shape, mention.size) == (o.color, o.shape,
                                                                            o.size if stated_size else None)
                expected = {(k, scene.dominant_relation(roles[k], roles[l]), l)
                            for p in PRODUCTIONS[production] if p[0] in ("rel", "its") for k, l in [p[1:]]}
                assert set(facts.relations) == expected
                assert check_caption(caption, scene).correct


@pytest.mark.parametrize("table,kind", [(RELATION_WORDS, "rel"), (ITS_WORDS, "its"), (SIZE_WORDS, "size"),
                                        (SHAPE_WORDS, "shape"), ({c: (c,) for c in COLORS}, "color")])
def test_every_synonym_parses_to_its_meaning(table, kind):
    for meaning, phrases in table.items():
        for phrase in phrases:
            if kind == "rel":
                facts = parse_caption(f"a red circle {phrase} a blue square")
                assert facts.relations == ((0, meaning, 1),), phrase
            elif kind == "its":
                facts = parse_caption(f"a blue square with a red circle {phrase}")
                assert facts.mentions[0].shape == "circle" and facts.relations == ((0, meaning, 1),), phrase
            elif kind == "shape":
                assert parse_caption(f"a small red {phrase}").mentions[0].shape == meaning, phrase
            elif kind == "color":
                assert parse_caption(f"there is a {phrase} circle").mentions[0].color == meaning
            else:
                assert parse_caption(f"a {phrase} red circle").mentions[0].size == meaning
                assert parse_caption(f"a red circle that is {phrase}").mentions[0].size == meaning


def test_vocabulary_is_closed_under_the_grammar(train_scenes):
    vocab = set(vocabulary_words())
    for k, scene in enumerate(train_scenes[2][:20]):
        for caption in scene_captions(scene, np.random.default_rng(k)):
            assert set(caption.split()) <= vocab


def test_parser_reports_garbage_as_unparseable():
    for garbage in ["", "a red", "a shape", "a red shape left of a blue square", "circle red a",
                    "a red circle left of", "a red circle and", "<START> a red circle a blue square <END>",
                    "a red circle <UNK>", "a blue square with a red circle"]:
        facts = parse_caption(garbage)
        assert not facts.parsed and facts.error, garbage
        assert "unparseable" in facts.error or "empty" in facts.error
    # special tokens as decode_captions writes them are ignored, and nothing after <END> counts
    assert parse_caption("<START> a red circle <END> <NULL> <NULL>").parsed
    assert parse_caption("a red circle <END> left of").parsed


def test_fact_accuracy_on_right_wrong_and_vague_captions():
    two, three = _two_object_scene()
    cases = [
        ("a small red circle left of a large blue square", two, True, ""),
        ("there is a blue box and a red disk to its left", two, True, ""),
        ("a red circle below a blue square", two, True, ""),  # not the dominant relation, but true
        ("a large red circle left of a large blue square", two, False, "is small, not large"),
        ("a red circle right of a blue square", two, False, "is not right of"),
        ("a red circle above a blue square", two, False, "is not above"),
        ("a red star left of a blue square", two, False, "no red star"),
        ("a red circle", two, False, "does not name the blue square"),
        ("a red shape left of a blue square", two, False, "unparseable"),  # vague
        ("a red circle left of a red circle", two, False, "twice"),
        ("a red circle left of a blue square above a green star", three, False, "not above"),
        ("a red circle left of a blue square below a green star", three, True, ""),
        ("a red circle left of a blue square and a green star above it", three, True, ""),
        ("a red circle left of a blue square", three, False, "does not name the green star"),
    ]
    for caption, scene, correct, reason in cases:
        verdict = check_caption(caption, scene)
        assert verdict.correct == correct, (caption, verdict)
        assert reason in verdict.reason, (caption, verdict)
    captions = [c for c, *_ in cases]
    scenes = [s for _, s, *_ in cases]
    assert fact_accuracy(captions, scenes) == pytest.approx(sum(c for *_, c, _ in cases) / len(cases))
    with pytest.raises(ValueError, match="same length"):
        fact_accuracy(captions, scenes[:-1])


def test_relation_names_cover_the_grammar():
    assert set(RELATION_WORDS) == set(ITS_WORDS) == set(RELATIONS)


def test_encoder_targets_place_each_object_in_its_cell():
    from helpers.data.scene_encoder import scene_targets

    _, _, scenes = generate_scenes(20, "train", seed=5)
    targets = scene_targets(scenes)
    for n, scene in enumerate(scenes):
        cells = {(int(o.center[1] // 16), int(o.center[0] // 16)) for o in scene.objects}
        assert {tuple(rc) for rc in np.argwhere(targets["object"][n].numpy() == 1)} == cells
        front = scene.objects[-1]  # drawn last: wins its cell
        r, c = int(front.center[1] // 16), int(front.center[0] // 16)
        assert SHAPES[targets["shape"][n, r, c]] == front.shape and COLORS[targets["color"][n, r, c]] == front.color
        assert targets["presence"][n].sum() == len({o.color for o in scene.objects}) + len({o.shape for o in
                                                                                           scene.objects})
    assert ((targets["shape"] >= 0) == (targets["object"] == 1)).all()
    slots = targets["slots"]
    for n, scene in enumerate(scenes):
        k = len(scene.objects)
        assert slots["present"][n].tolist() == [1] * k + [0] * (3 - k)
        in_order = [scene.objects[i] for i in scene.salience_order()]  # the slots list objects as captions name them
        assert [SHAPES[i] for i in slots["shape"][n, :k]] == [o.shape for o in in_order]
        assert (slots["color"][n, k:] == -100).all()
        np.testing.assert_allclose(slots["position"][n, :k].numpy(), np.array([o.center for o in in_order]) / 64,
                                   rtol=1e-6)


def test_slot_loss_wants_the_objects_in_salience_order():
    import torch

    from helpers.data.scene_encoder import CELL_OUTPUTS, scene_targets, slot_accuracy, slot_loss

    _, _, scenes = generate_scenes(8, "train", seed=6)
    slots = scene_targets(scenes)["slots"]
    perfect = torch.zeros(8, 3, CELL_OUTPUTS)
    perfect[..., 0] = slots["present"] * 40 - 20
    for key, (lo, hi) in {"color": (1, 7), "shape": (7, 13), "size": (13, 15)}.items():
        perfect[..., lo:hi] = torch.nn.functional.one_hot(slots[key].clamp(min=0), hi - lo) * 40.0
    perfect[..., 15:] = torch.logit(slots["position"].clamp(1e-6, 1 - 1e-6))
    assert slot_accuracy(perfect, slots) == pytest.approx(
        {"count": 1, "color": 1, "shape": 1, "size": 1, "position": 0, "scene": 1}, abs=1e-5)
    assert slot_loss(perfect, slots).item() < 1e-3
    wrong = perfect.clone()
    wrong[0, :, 7:13] = wrong[0, :, 7:13].roll(1, dims=-1)  # every shape of scene 0 mistaken
    assert slot_accuracy(wrong, slots)["scene"] == pytest.approx(7 / 8)
    assert slot_loss(wrong, slots).item() > 1
    several = [n for n, scene in enumerate(scenes) if len(scene.objects) > 1]
    swapped = perfect.clone()
    swapped[several] = perfect[several][:, [1, 0, 2]]  # right objects, wrong order: wrong for a captioner
    assert slot_accuracy(swapped, slots)["scene"] < 1 and slot_loss(swapped, slots).item() > 1


def test_salience_order_large_first_then_left_or_top_first():
    scene = Scene(objects=(
        SceneObject("circle", "red", "small", (10.0, 40.0), (4, 34, 16, 46), 1.0),
        SceneObject("square", "blue", "large", (50.0, 40.0), (40, 30, 60, 50), 1.0),
        SceneObject("star", "green", "small", (12.0, 10.0), (6, 4, 18, 16), 1.0)), image_size=64)
    # the large square first; of the two small ones, the star is above the circle (they are apart vertically)
    assert scene.salience_order() == [1, 2, 0]
    rng = np.random.default_rng(0)
    for caption in scene_captions(scene, rng):
        mentions = parse_caption(caption).mentions
        assert [(m.color, m.shape) for m in mentions] == [("blue", "square"), ("green", "star"), ("red", "circle")]


def test_bundled_encoder_is_verified_and_encodes(tmp_path, monkeypatch):
    from helpers.data import bundled
    from helpers.data.scene_encoder import encode_images, load_scene_encoder

    images, _, _ = generate_scenes(5, "val", seed=0)
    features, grid = encode_images(images)
    assert features.shape == (5, 512) and features.dtype == np.float32
    assert grid.shape == (5, 16, 128) and grid.dtype == np.float16
    # eval mode: an image's features do not depend on the rest of its batch
    np.testing.assert_allclose(encode_images(images[:2], batch_size=1)[0], features[:2], rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match=r"images must be uint8 of shape \(N, H, W, 3\), got float64"):
        encode_images(images.astype(float))
    with pytest.raises(ValueError, match="the encoder reads 64x64 images, got 32x32"):
        encode_images(np.zeros((1, 32, 32, 3), np.uint8))
    (tmp_path / "scene_encoder.pt").write_bytes(b"not the checkpoint")
    monkeypatch.setattr(bundled, "CHECKPOINT_DIR", tmp_path)
    with pytest.raises(bundled.BundledCheckpointError, match="rebuild it with `python tools/train_scene_encoder.py`"):
        load_scene_encoder()


def test_every_scene_gets_five_captions_at_least_three_different_all_true():
    _, _, scenes = generate_scenes(600, "train", seed=231)
    rng = np.random.default_rng(0)
    counts = []
    for scene in scenes:
        captions = scene_captions(scene, rng)
        assert len(captions) == 5 and all(check_caption(c, scene).correct for c in captions)
        counts.append(len(set(captions)))
    assert min(counts) >= 3 and np.mean(np.array(counts) == 5) > 0.95
