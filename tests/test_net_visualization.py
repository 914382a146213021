"""Network visualization: saliency, fooling images, class visualization, occlusion, receptive fields and
patches, feature-space neighbours, feature inversion, DeepDream, and the image helpers."""

import http.server
import threading
from functools import partial
from pathlib import Path

import matplotlib
import numpy as np
import pytest
import torch
import torch.nn as nn
import torchvision
from PIL import Image
from scipy.ndimage import gaussian_filter1d

from helpers import net_visualization as nv
from helpers.image_utils import (
    ImageDownloadError,
    blur_image,
    deprocess,
    image_from_url,
    jitter,
    load_image,
    preprocess,
    preprocess_batch,
)
from helpers.pytorch.open_ended import ResNet9

matplotlib.use("agg")
ROOT = Path(__file__).resolve().parent.parent
MIRROR = ROOT.parent / "shared" / "datasets"


class TinyNet(nn.Module):
    """A small frozen classifier with CS231n's layout: model.features, then a classifier."""

    def __init__(self, num_classes=10, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(8, 16, 3, padding=1), nn.ReLU())
        self.classifier = nn.Linear(16, num_classes)
        self.eval()
        for p in self.parameters():
            p.requires_grad_(False)

    def forward(self, x):
        return self.classifier(self.features(x).mean(dim=(2, 3)))


@pytest.fixture
def net():
    return TinyNet()


def images(n=4, size=16, seed=0):
    return torch.randn(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


# ---------------------------------------------------------------- saliency

def test_saliency_matches_autograd_image_by_image(net):
    X, y = images(), torch.tensor([0, 3, 7, 9])
    saliency = nv.compute_saliency_maps(X, y, net)
    assert saliency.shape == (4, 16, 16)
    for i in range(4):
        x = X[i:i + 1].clone().requires_grad_()
        (grad,) = torch.autograd.grad(net(x)[0, y[i]], x)
        torch.testing.assert_close(saliency[i], grad[0].abs().max(dim=0).values)
    assert not X.requires_grad  # the caller's images are untouched


def test_saliency_on_resnet9_matches_autograd():
    model = ResNet9(widths=(4, 8, 8, 8)).eval()
    X, y = images(2, 32), torch.tensor([1, 8])
    saliency = nv.compute_saliency_maps(X, y, model)
    x = X.clone().requires_grad_()
    (grad,) = torch.autograd.grad(model(x).gather(1, y.view(-1, 1)).sum(), x)
    torch.testing.assert_close(saliency, grad.abs().amax(dim=1))


def test_saliency_bad_inputs_are_named(net):
    X = images(2)
    with pytest.raises(ValueError, match=r"y must hold class indices in 0..9, got values in 3..10"):
        nv.compute_saliency_maps(X, torch.tensor([3, 10]), net)
    with pytest.raises(ValueError, match=r"y must have shape \(2,\)"):
        nv.compute_saliency_maps(X, torch.tensor([3]), net)
    with pytest.raises(ValueError, match="X must be a float tensor of normalized images, got dtype torch.uint8"):
        nv.compute_saliency_maps(X.to(torch.uint8), torch.tensor([3, 4]), net)
    with pytest.raises(ValueError, match="X must be a torch tensor"):
        nv.compute_saliency_maps(np.zeros((2, 16, 16, 3), np.uint8), torch.tensor([3, 4]), net)
    with pytest.raises(ValueError, match=r"X must have shape \(N, 3, H, W\), got \(2, 16, 16, 3\)"):
        nv.compute_saliency_maps(torch.zeros(2, 16, 16, 3), torch.tensor([3, 4]), net)


# ---------------------------------------------------------------- fooling images

def test_fooling_images_reach_their_targets(net):
    X = images(3)
    predicted = net(X).argmax(1)
    targets = [int((p + 1) % 10) for p in predicted]
    result = nv.fooling_experiment(X, targets, net, mean=(0, 0, 0), std=(1, 1, 1))
    assert result["success_rate"] == 1.0 and list(result["predictions"]) == targets
    assert np.all((result["steps"] >= 1) & (result["steps"] < 100))
    # each step has L2 norm 1 (normalized units = pixel units / 255 here)
    total = (result["X_fooling"] - X).flatten(1).norm(dim=1).numpy()
    assert np.all(total <= result["steps"] + 1e-4)
    assert result["mean_abs_change"] > 0


def test_fooling_stops_at_once_when_already_fooled(net):
    X = images(1)
    target = int(net(X).argmax(1))
    torch.testing.assert_close(nv.make_fooling_image(X, target, net), X)


def test_fooling_target_outside_the_classes(net):
    with pytest.raises(ValueError, match=r"target_y must be a class index in 0..9, got 10"):
        nv.make_fooling_image(images(1), 10, net)
    with pytest.raises(ValueError, match=r"X must have shape \(1, 3, H, W\)"):
        nv.make_fooling_image(images(2), 1, net)
    squeezenet = torchvision.models.squeezenet1_1()
    with pytest.raises(ValueError, match=r"target_y must be a class index in 0..999, got 1000"):
        nv.make_fooling_image(images(1, 64), 1000, squeezenet)


# ---------------------------------------------------------------- class visualization

def test_update_step_is_a_normalized_ascent_step(net):
    img = images(1).requires_grad_()
    before = img.detach().clone()
    x = before.clone().requires_grad_()
    (g,) = torch.autograd.grad(net(x)[0, 4] - 1e-2 * (x * x).sum(), x)
    nv.class_visualization_update_step(img, net, 4, 1e-2, 2.0)
    torch.testing.assert_close(img.detach(), before + 2.0 * g / g.norm())
    assert torch.all(img.grad == 0)


def test_class_visualization_raises_the_target_probability(net):
    net.classifier.weight.data *= 30  # confident enough that an image in the valid range can win class 2
    start = torch.randn(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    assert nv.class_probability(start, net, 2) < 0.01
    img = nv.create_class_visualization(2, net, image_size=16, learning_rate=2.0, num_iterations=30, max_jitter=2,
                                        mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    assert img.shape == (1, 3, 16, 16)
    assert nv.class_probability(img, net, 2) > 0.9
    assert img.min() >= -2 - 1e-6 and img.max() <= 2 + 1e-6  # the valid range of (p - 0.5) / 0.25


def test_class_visualization_target_outside_the_classes(net):
    with pytest.raises(ValueError, match=r"target_y must be a class index in 0..9, got -1"):
        nv.create_class_visualization(-1, net, image_size=16)
    with pytest.raises(ValueError, match=r"target_y must be a class index in 0..999, got 1000"):
        nv.create_class_visualization(1000, torchvision.models.squeezenet1_1())


def test_jitter_is_cs231n_shift_and_undoes_itself():
    X = torch.arange(2 * 3 * 5 * 7, dtype=torch.float32).reshape(2, 3, 5, 7)
    ox, oy = 3, 2
    expected = torch.cat([X[:, :, :, -ox:], X[:, :, :, :-ox]], dim=3)
    expected = torch.cat([expected[:, :, -oy:], expected[:, :, :-oy]], dim=2)
    torch.testing.assert_close(jitter(X, ox, oy), expected)
    torch.testing.assert_close(jitter(jitter(X, ox, oy), -ox, -oy), X)


def test_blur_image_is_a_separable_gaussian_in_place():
    X = images(2)
    expected = gaussian_filter1d(gaussian_filter1d(X.numpy(), 0.7, axis=2), 0.7, axis=3)
    out = blur_image(X, sigma=0.7)
    assert out is X
    np.testing.assert_allclose(X.numpy(), expected, rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------- occlusion

class RegionScore(nn.Module):
    """Two classes: score 0 for class 0, c * (sum of the pixels in rows/cols 4..7) for class 1."""
    num_classes = 2

    def forward(self, x):
        s = 0.1 * x[:, :, 4:8, 4:8].sum(dim=(1, 2, 3))
        return torch.stack([torch.zeros_like(s), s], dim=1)


def test_occlusion_has_the_closed_form_answer():
    X = torch.ones(1, 3, 12, 12)
    probs = nv.occlusion_sensitivity(X, [1], RegionScore(), patch_size=4, stride=2, batch_size=7)
    assert probs.shape == (1, 5, 5)
    for i, r in enumerate(range(0, 9, 2)):
        for j, c in enumerate(range(0, 9, 2)):
            overlap = max(0, min(r + 4, 8) - max(r, 4)) * max(0, min(c + 4, 8) - max(c, 4))
            expected = 1 / (1 + np.exp(-0.1 * 3 * (16 - overlap)))
            assert probs[0, i, j] == pytest.approx(expected, rel=1e-5)


def test_occlusion_bad_inputs(net):
    with pytest.raises(ValueError, match="patch_size must be at most the image size 16, got 20"):
        nv.occlusion_sensitivity(images(1), [0], net, patch_size=20)
    with pytest.raises(ValueError, match=r"y must hold class indices in 0..9"):
        nv.occlusion_sensitivity(images(1), [12], net, patch_size=4)


# ---------------------------------------------------------------- receptive fields and patches

def test_receptive_fields_of_squeezenet_and_resnet9():
    squeezenet = torchvision.models.squeezenet1_1()
    assert nv.receptive_field(squeezenet, 0) == (3, 2, 1.0)
    assert nv.receptive_field(squeezenet, 2) == (7, 4, 3.0)
    assert nv.receptive_field(squeezenet, 6) == (47, 8, 7.0)
    resnet = ResNet9()
    assert nv.receptive_field(resnet, 3) == (14, 2, 0.5)
    with pytest.raises(ValueError, match="AdaptiveMaxPool2d has no receptive field"):
        nv.receptive_field(resnet, 9)
    with pytest.raises(ValueError, match=r"layer must be an index of model.features in 0..10, got 11"):
        nv.receptive_field(resnet, 11)


def test_receptive_field_is_the_support_of_the_gradient():
    """In a linear network with positive weights every pixel of the field moves the unit."""
    class Linear(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.AvgPool2d(2),
                                          nn.Conv2d(2, 2, 3, stride=2, padding=1), nn.Conv2d(2, 1, 3, dilation=2))
            for p in self.parameters():
                p.data = p.data.abs() + 0.1

    model = Linear()
    x = torch.ones(1, 1, 40, 40, requires_grad=True)
    out = model.features(x)
    size, stride, start = nv.receptive_field(model, 3)
    i, j = 2, 3
    (grad,) = torch.autograd.grad(out[0, 0, i, j], x)
    rows, cols = np.nonzero(grad[0, 0].numpy())
    top, left = start + i * stride - (size - 1) / 2, start + j * stride - (size - 1) / 2
    assert (rows.min(), rows.max() + 1, cols.min(), cols.max() + 1) == (top, top + size, left, left + size)


def test_max_activating_patches_crop_the_receptive_field():
    class SpotDetector(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(3, 1, 3, padding=1, bias=False))
            self.features[0].weight.data.zero_()
            self.features[0].weight.data[0, :, 1, 1] = 1.0  # sum of the channels at the centre pixel

    X = torch.zeros(3, 3, 12, 12)
    X[2, :, 5, 6] = 3.0   # strongest spot
    X[1, :, 0, 0] = 2.0   # in the corner: its field sticks out of the image
    X[0, :, 9, 3] = 1.0
    X[2] += 0.01 * torch.arange(144.0).reshape(12, 12)  # something to crop
    result = nv.max_activating_patches(X, SpotDetector(), 0, channels=[0], k=3, inside=False)
    assert result["patches"].shape == (1, 3, 3, 3, 3)
    assert list(result["image_index"][0]) == [2, 1, 0]
    torch.testing.assert_close(result["patches"][0, 0], X[2, :, 4:7, 5:8])
    corner = torch.zeros(3, 3, 3)
    corner[:, 1:, 1:] = X[1, :, :2, :2]
    torch.testing.assert_close(result["patches"][0, 1], corner)
    # by default units whose field sticks out of the image do not count: image 1's spot is ignored
    assert list(nv.max_activating_patches(X, SpotDetector(), 0, channels=[0], k=3)["image_index"][0]) == [2, 0, 1]
    with pytest.raises(ValueError, match=r"channel 5 does not exist: layer 0 has channels 0..0"):
        nv.max_activating_patches(X, SpotDetector(), 0, channels=[5], k=1)
    with pytest.raises(ValueError, match="k must be at most the number of images, 3, got 4"):
        nv.max_activating_patches(X, SpotDetector(), 0, channels=[0], k=4)


def test_patches_pick_the_most_active_channels(net):
    result = nv.max_activating_patches(images(6), net, 3, channels=4, k=2)
    assert len(result["channels"]) == 4 and result["patches"].shape == (4, 2, 3, 8, 8)
    assert np.all(np.diff(result["activations"], axis=1) <= 0)


# ---------------------------------------------------------------- features, neighbours, t-SNE

def test_penultimate_features_and_nearest_neighbors(net):
    X = images(6)
    features = nv.penultimate_features(X, net, batch_size=4)
    np.testing.assert_allclose(features, net.features(X).mean(dim=(2, 3)).numpy(), rtol=1e-5, atol=1e-6)
    assert nv.penultimate_features(X, net, input_size=24).shape == (6, 16)
    database = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [-1.0, 0.0]])
    np.testing.assert_array_equal(nv.nearest_neighbors(database[:1], database, k=2, exclude_self=True), [[1, 2]])
    np.testing.assert_array_equal(nv.nearest_neighbors(database[3:], database, k=1), [[3]])
    with pytest.raises(ValueError, match="k must be at most 3, got 4"):
        nv.nearest_neighbors(database[:1], database, k=4, exclude_self=True)


def test_tsne_separates_two_clusters_and_is_seeded():
    rng = np.random.default_rng(0)
    features = np.concatenate([rng.normal(0, 1, (20, 10)), rng.normal(8, 1, (20, 10))])
    embedding = nv.tsne_embedding(features, perplexity=10)
    assert embedding.shape == (40, 2)
    np.testing.assert_allclose(embedding, nv.tsne_embedding(features, perplexity=10))
    a, b = embedding[:20].mean(0), embedding[20:].mean(0)
    spread = max(embedding[:20].std(0).max(), embedding[20:].std(0).max())
    assert np.linalg.norm(a - b) > 3 * spread


def test_top_k_accuracy():
    scores = np.array([[0.1, 0.5, 0.4], [0.8, 0.1, 0.1]])
    assert nv.topk_accuracy(scores, [2, 0], k=1) == 0.5
    assert nv.topk_accuracy(scores, [2, 0], k=2) == 1.0


# ---------------------------------------------------------------- inversion and DeepDream

def test_inverting_an_invertible_layer_recovers_the_image():
    class Identity(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(3, 3, 1, bias=False))
            self.features[0].weight.data = torch.eye(3).view(3, 3, 1, 1)

    X = preprocess_batch(np.random.default_rng(0).integers(0, 256, (1, 16, 16, 3), dtype=np.uint8))
    result = nv.invert_features(X, Identity(), 0, num_iterations=150, learning_rate=0.1, tv_weight=0.0)
    assert result["feature_error"] < 0.05 and result["pixel_correlation"] > 0.99


def test_inversion_and_dream_move_the_features(net):
    X = preprocess_batch(np.random.default_rng(0).integers(0, 256, (1, 16, 16, 3), dtype=np.uint8))
    result = nv.invert_features(X, net, 3, num_iterations=40)
    assert result["image"].shape == X.shape and result["feature_error"] < 1.0
    dream = nv.deep_dream(X, net, 3, num_iterations=5, max_jitter=2, num_octaves=2)
    assert dream.shape == X.shape
    with torch.no_grad():
        assert net.features(dream).pow(2).sum() > net.features(X).pow(2).sum()
    with pytest.raises(ValueError, match=r"layer must be an index of model.features in 0..4, got 5"):
        nv.deep_dream(X, net, 5)
    with pytest.raises(ValueError, match=r"layer must be an index of model.features in 0..4, got -1"):
        nv.invert_features(X, net, -1)


# ---------------------------------------------------------------- pictures

def test_pictures_have_one_panel_per_image(net):
    X = images(3)
    uint8 = np.zeros((3, 16, 16, 3), np.uint8)
    assert len(nv.show_saliency_maps(uint8, torch.rand(3, 16, 16), ["a", "b", "c"]).axes) == 6
    assert len(nv.show_fooling_image(X[:1], X[1:2]).axes) == 3
    assert len(nv.show_occlusion(X, np.random.rand(3, 4, 4)).axes) == 7  # six images and a colour bar
    assert len(nv.show_images([X[0], uint8[0]], ["a", "b"]).axes) == 2
    assert len(nv.show_filters(net).axes) == 1
    assert len(nv.show_neighbors(uint8, np.array([[1, 2]]), labels=[0, 1, 2], class_names="abc").axes) == 3
    assert len(nv.show_tsne(np.random.rand(6, 2), [0, 1, 0, 1, 2, 2], ["x", "y", "z"]).axes) == 1
    patches = nv.max_activating_patches(X, net, 3, channels=2, k=3)
    assert len(nv.show_patches(patches).axes) == 6
    matplotlib.pyplot.close("all")


# ---------------------------------------------------------------- image helpers

def test_preprocess_resizes_the_shorter_side_and_deprocess_inverts_it():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)
    x = preprocess(img, size=20)
    assert x.shape == (1, 3, 20, 30) and x.dtype == torch.float32
    torch.testing.assert_close(preprocess(Image.fromarray(img), size=None), preprocess(img, size=None))
    back = np.asarray(deprocess(preprocess(img, size=None), should_rescale=False))
    assert np.abs(back.astype(int) - img).max() <= 1
    batch = preprocess_batch(img[None, :, :40])
    torch.testing.assert_close(batch, preprocess(img[:, :40], size=None))


def test_images_of_the_wrong_size_or_dtype_are_named():
    with pytest.raises(ValueError, match="img must be a PIL image or a uint8 array .* got dtype float64"):
        preprocess(np.zeros((8, 8, 3)))
    with pytest.raises(ValueError, match=r"img must have shape \(H, W, 3\), got \(8, 8, 4\)"):
        preprocess(np.zeros((8, 8, 4), np.uint8))
    with pytest.raises(ValueError, match=r"X must have shape \(N, 224, 224, 3\), got \(2, 32, 32, 3\)"):
        preprocess_batch(np.zeros((2, 32, 32, 3), np.uint8), image_size=224)
    with pytest.raises(ValueError, match="X must be uint8 images with pixel values 0..255, got dtype float32"):
        preprocess_batch(np.zeros((2, 32, 32, 3), np.float32))


def test_load_image(tmp_path):
    Image.fromarray(np.full((30, 50, 3), 200, np.uint8)).save(tmp_path / "a.png")
    assert load_image(tmp_path / "a.png").shape == (30, 50, 3)
    assert load_image(tmp_path / "a.png", size=15).shape == (15, 25, 3)
    with pytest.raises(FileNotFoundError, match="nope.png does not exist"):
        load_image(tmp_path / "nope.png")


@pytest.fixture
def server(tmp_path):
    www = tmp_path / "www"
    www.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(www))
    handler.log_message = lambda *a, **k: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield www, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


def test_image_from_url(server):
    www, url = server
    img = np.random.default_rng(0).integers(0, 256, (8, 9, 3), dtype=np.uint8)
    Image.fromarray(img).save(www / "a.png")
    np.testing.assert_array_equal(image_from_url(url + "a.png"), img)
    (www / "a.txt").write_text("hello")
    with pytest.raises(ImageDownloadError, match="did not return an image"):
        image_from_url(url + "a.txt")
    with pytest.raises(ImageDownloadError, match="the server answered 404"):
        image_from_url(url + "missing.png")


def test_image_from_url_fails_fast_offline():
    with pytest.raises(ImageDownloadError, match="seems to be offline or the server is unreachable"):
        image_from_url("http://127.0.0.1:9/photo.jpg")


# ---------------------------------------------------------------- SqueezeNet from the mirror

@pytest.mark.skipif(not (MIRROR / "squeezenet1.1_nchw").is_dir(), reason="no local dataset mirror beside the repo")
def test_squeezenet_saliency_and_fooling_on_a_real_image():
    from helpers.data.imagenet import load_imagenet_val
    from helpers.data.squeezenet import load_squeezenet

    model, _ = load_squeezenet("onnx-zoo", path=MIRROR / "squeezenet1.1_nchw")
    X, y, _ = load_imagenet_val(num=1, path=MIRROR / "imagenet_val_25.npz")
    x = preprocess_batch(X, image_size=224)
    saliency = nv.compute_saliency_maps(x, torch.from_numpy(y), model)
    assert saliency.shape == (1, 224, 224) and saliency.max() > 0
    result = nv.fooling_experiment(x, [6], model)
    assert result["success_rate"] == 1.0 and result["steps"][0] < 100
