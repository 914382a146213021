"""Style transfer: the losses against closed forms and autograd, CS231n's published check values where
they hold for the installed weights, and the optimization loop."""

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn
from PIL import Image

from helpers.data.paths import datasets_dir
from helpers.image_utils import preprocess
from helpers.style_transfer import (
    content_loss,
    extract_features,
    feature_inversion,
    gram_matrix,
    style_loss,
    style_transfer,
    texture_synthesis,
    tv_loss,
)

ROOT = Path(__file__).resolve().parent.parent
MIRROR = ROOT.parent / "shared" / "datasets"
CHECKS = MIRROR / "cs231n_checks" / "style-transfer-checks.npz"
STYLES = MIRROR / "cs231n_style_images" / "styles"
TORCHVISION_WEIGHTS = datasets_dir() / "squeezenet1_1-b8a52dc0.pth"
needs_checks = pytest.mark.skipif(not CHECKS.exists() or not STYLES.is_dir(),
                                  reason="no local dataset mirror with cs231n_checks/ and the style images")
needs_torchvision_weights = pytest.mark.skipif(
    not TORCHVISION_WEIGHTS.exists(),
    reason="cl_out, gm_out and sl_out were computed with torchvision's SqueezeNet weights, which are not installed "
           "here (the ONNX-zoo weights are a different training run; only tv_out holds for them)")


def rel_error(x, y):
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def tiny_cnn():
    torch.manual_seed(0)
    cnn = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 8, 3, padding=1),
                        nn.ReLU())
    for p in cnn.parameters():
        p.requires_grad_(False)
    return cnn


# ---------------------------------------------------------------- the losses

def test_content_loss_closed_form_and_gradient():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(1, 4, 5, 6)), rng.normal(size=(1, 4, 5, 6))
    current = torch.tensor(a, requires_grad=True)
    loss = content_loss(0.3, current, torch.tensor(b))
    assert loss.item() == pytest.approx(0.3 * np.sum((a - b) ** 2))
    loss.backward()
    np.testing.assert_allclose(current.grad.numpy(), 0.6 * (a - b))
    with pytest.raises(ValueError, match="must have the same shape"):
        content_loss(1.0, current, torch.zeros(1, 4, 5, 5))


def test_gram_matrix_closed_form_and_gradcheck():
    rng = np.random.default_rng(1)
    f = rng.normal(size=(2, 3, 4, 5))
    flat = f.reshape(2, 3, 20)
    expected = np.einsum("nci,ndi->ncd", flat, flat)
    np.testing.assert_allclose(gram_matrix(torch.tensor(f), normalize=False).numpy(), expected)
    np.testing.assert_allclose(gram_matrix(torch.tensor(f)).numpy(), expected / (3 * 4 * 5))
    x = torch.tensor(f, requires_grad=True)
    assert torch.autograd.gradcheck(gram_matrix, (x,))
    with pytest.raises(ValueError, match=r"features must have shape \(N, C, H, W\), got \(3, 4\)"):
        gram_matrix(torch.zeros(3, 4))


def test_style_loss_is_the_weighted_sum_of_gram_differences():
    rng = np.random.default_rng(2)
    feats = [torch.tensor(rng.normal(size=(1, c, 6, 6))) for c in (3, 4, 5)]
    layers, weights = [0, 2], [2.0, 0.5]
    targets = [torch.tensor(rng.normal(size=(1, c, c))) for c in (3, 5)]
    expected = sum(w * np.sum((gram_matrix(feats[i]).numpy() - t.numpy()) ** 2)
                   for i, t, w in zip(layers, targets, weights, strict=True))
    assert float(style_loss(feats, layers, targets, weights)) == pytest.approx(expected)
    x = feats[2].clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda z: style_loss([feats[0], feats[1], z], layers, targets, weights), (x,))


def test_style_loss_bad_layers_and_weights_are_named():
    feats = [torch.zeros(1, 3, 4, 4)] * 3
    targets = [torch.zeros(1, 3, 3)] * 2
    with pytest.raises(ValueError, match=r"2 layers \[0, 1\], 2 targets and 3 weights \[1, 2, 3\]"):
        style_loss(feats, [0, 1], targets, [1, 2, 3])
    with pytest.raises(ValueError, match=r"style layer 3 does not exist: layers are 0..2"):
        style_loss(feats, [0, 3], targets, [1, 2])
    with pytest.raises(ValueError, match=r"style target for layer 1 has shape \(1, 3, 3\), expected \(1, 4, 4\)"):
        style_loss([torch.zeros(1, 3, 4, 4), torch.zeros(1, 4, 4, 4)], [0, 1], targets, [1, 2])


def test_tv_loss_closed_form_and_gradcheck():
    rng = np.random.default_rng(3)
    img = rng.normal(size=(1, 3, 5, 7))
    expected = 0.2 * (np.sum(np.diff(img, axis=2) ** 2) + np.sum(np.diff(img, axis=3) ** 2))
    assert float(tv_loss(torch.tensor(img), 0.2)) == pytest.approx(expected)
    assert float(tv_loss(torch.ones(1, 3, 4, 4), 5.0)) == 0.0
    assert torch.autograd.gradcheck(lambda z: tv_loss(z, 0.2), (torch.tensor(img, requires_grad=True),))


def test_extract_features_keeps_every_module_output():
    cnn = tiny_cnn()
    x = torch.randn(2, 3, 8, 8)
    feats = extract_features(x, cnn)
    assert len(feats) == 5 and feats[2].shape == (2, 8, 4, 4)
    torch.testing.assert_close(feats[-1], cnn(x))
    with pytest.raises(ValueError, match=r"x must be a float tensor of shape \(N, C, H, W\)"):
        extract_features(torch.zeros(3, 8, 8), cnn)


# ---------------------------------------------------------------- CS231n's published values

@needs_checks
def test_cs231n_tv_loss_check_value():
    """tv_out depends only on the image and its preprocessing, not on the network's weights."""
    checks = np.load(CHECKS)
    content_img = preprocess(Image.open(STYLES / "tubingen.jpg"), size=192)
    assert rel_error(checks["tv_out"], tv_loss(content_img, 2e-2).numpy()) < 1e-6


@needs_checks
@needs_torchvision_weights
def test_cs231n_feature_check_values_with_torchvision_weights():
    from helpers.data.squeezenet import load_squeezenet

    checks = np.load(CHECKS)
    cnn = load_squeezenet("torchvision", path=TORCHVISION_WEIGHTS)[0].features

    def features_from_img(name, size):
        return extract_features(preprocess(Image.open(STYLES / name), size=size), cnn)

    content_img = preprocess(Image.open(STYLES / "tubingen.jpg"), size=192)
    c_feats = extract_features(content_img, cnn)
    bad_feats = extract_features(torch.zeros_like(content_img), cnn)
    assert rel_error(checks["cl_out"], content_loss(6e-2, c_feats[3], bad_feats[3]).numpy()) < 1e-3
    assert rel_error(checks["gm_out"], gram_matrix(features_from_img("starry_night.jpg", 192)[5]).numpy()) < 1e-3
    style_feats = features_from_img("starry_night.jpg", 192)
    layers = [1, 4, 6, 7]
    targets = [gram_matrix(style_feats[i]) for i in layers]
    got = style_loss(c_feats, layers, targets, [300000, 1000, 15, 3]).numpy()
    assert rel_error(checks["sl_out"], got) < 1e-3


# ---------------------------------------------------------------- the loop

def test_style_transfer_lowers_the_style_loss_and_records_every_iteration():
    rng = np.random.default_rng(4)
    content = rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)
    style = np.tile(np.array([[[255, 0, 0]], [[0, 0, 255]]], np.uint8), (12, 24, 1))  # stripes
    # clamp=10: no pixel is clamped, so iteration 0 sees the content image itself
    result = style_transfer(content, style, 24, 24, 3, 1e-2, [1, 4], [100.0, 100.0], 1e-3, cnn=tiny_cnn(),
                            num_iterations=30, initial_lr=0.1, decay_lr_at=25, clamp=10.0, verbose=False)
    assert result["image"].shape == (1, 3, 24, 24)
    assert all(len(result[k]) == 31 for k in ("content_loss", "style_loss", "tv_loss", "loss"))
    assert result["style_loss"][0] == pytest.approx(result["content_image_style_loss"])
    assert result["style_loss_reduction"] > 0.5
    assert result["content_loss"][0] == 0.0


def test_style_transfer_uses_the_given_losses():
    calls = []

    def my_tv_loss(img, tv_weight):
        calls.append(1)
        return tv_loss(img, tv_weight)

    img = np.zeros((8, 8, 3), np.uint8)
    style_transfer(img, img, 8, 8, 1, 1.0, [1], [1.0], 1e-3, cnn=tiny_cnn(), num_iterations=3, tv_loss_fn=my_tv_loss,
                   verbose=False)
    assert len(calls) == 4


def test_inversion_and_texture_synthesis_use_one_half_of_the_loss():
    img = np.random.default_rng(5).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    inverted = feature_inversion(img, 16, 3, 1.0, 1e-4, cnn=tiny_cnn(), num_iterations=20, initial_lr=0.1,
                                 verbose=False)
    assert inverted["content_loss"][-1] < inverted["content_loss"][0] and max(inverted["style_loss"]) == 0
    texture = texture_synthesis(img, 16, 16, [1, 4], [100.0, 100.0], 1e-4, cnn=tiny_cnn(), num_iterations=20,
                                initial_lr=0.1, verbose=False)
    assert texture["style_loss"][-1] < texture["style_loss"][0] and max(texture["content_loss"]) == 0


def test_style_transfer_bad_settings_are_named():
    img = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match=r"one weight per style layer: 2 layers \[1, 4\], got 3 weights"):
        style_transfer(img, img, 8, 8, 1, 1.0, [1, 4], [1.0, 2.0, 3.0], 0.0, cnn=tiny_cnn())
    with pytest.raises(ValueError, match=r"content_layer: layer 5 does not exist; the network has layers 0..4"):
        style_transfer(img, img, 8, 8, 5, 1.0, [1], [1.0], 0.0, cnn=tiny_cnn())
    with pytest.raises(ValueError, match=r"style_layers: layer 7 does not exist"):
        style_transfer(img, img, 8, 8, 1, 1.0, [1, 7], [1.0, 1.0], 0.0, cnn=tiny_cnn())
    with pytest.raises(ValueError, match="img must be a PIL image or a uint8 array"):
        style_transfer(img.astype(np.float32), img, 8, 8, 1, 1.0, [1], [1.0], 0.0, cnn=tiny_cnn())
