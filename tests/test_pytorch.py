"""Tests of helpers.pytorch: the PyTorch notebook's networks, loops, data and augmentation."""

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from helpers.pytorch import barebones, modules, open_ended
from helpers.pytorch import data as torch_data


@pytest.fixture(autouse=True)
def one_thread():
    """These tensors are tiny: intra-op threads only add synchronization, a lot of it on a busy CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _conv_params(channel_1=6, channel_2=4, num_classes=10, size=32):
    torch.manual_seed(0)
    return [barebones.random_weight((channel_1, 3, 5, 5)), barebones.zero_weight(channel_1) + 0.1,
            barebones.random_weight((channel_2, channel_1, 3, 3)), barebones.zero_weight(channel_2) - 0.1,
            barebones.random_weight((channel_2 * size * size, num_classes)), barebones.zero_weight(num_classes) + 0.2]


def _separable_problem(n=256, seed=0):
    """Images whose label is the sign of a fixed projection: a linear model can fit them exactly."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 3, 4, 4, generator=g)
    direction = torch.randn(3 * 4 * 4, generator=g)
    y = (X.reshape(n, -1) @ direction > 0).long()
    return X, y


# ----------------------------------------------------------------------------- Part II

def test_flatten_keeps_the_batch_dimension():
    x = torch.arange(2 * 3 * 4 * 5.0).reshape(2, 3, 4, 5)
    out = barebones.flatten(x)
    assert out.shape == (2, 60)
    assert torch.equal(out[1], x[1].reshape(-1))


def test_two_layer_fc_matches_a_hand_computation():
    x = torch.tensor([[[1.0, -2.0], [0.5, 3.0]]])                     # (1, 2, 2) -> (1, 4)
    w1 = torch.tensor([[1.0, 0.0, -1.0], [0.0, 1.0, 1.0], [2.0, 0.0, 0.0], [0.0, -1.0, 1.0]])
    w2 = torch.tensor([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]])
    # x @ w1 = [1 + 1, -2 - 3, -1 - 2 + 3] = [2, -5, 0]; ReLU -> [2, 0, 0]; @ w2 -> [2, 4]
    scores = barebones.two_layer_fc(x, [w1, w2])
    assert torch.allclose(scores, torch.tensor([[2.0, 4.0]]))


def test_two_layer_fc_shapes_and_bad_input():
    x = torch.randn(64, 50)
    scores = barebones.two_layer_fc(x, [torch.randn(50, 42), torch.randn(42, 10)])
    assert scores.shape == (64, 10)
    with pytest.raises(ValueError, match=r"w1 of shape \(50, H\)"):
        barebones.two_layer_fc(x, [torch.randn(49, 42), torch.randn(42, 10)])


def test_three_layer_convnet_shape_and_agreement_with_the_module():
    params = _conv_params()
    x = torch.randn(64, 3, 32, 32)
    scores = barebones.three_layer_convnet(x, params)
    assert scores.shape == (64, 10)
    model = modules.ThreeLayerConvNet(3, 6, 4, 10)
    with torch.no_grad():
        model.conv1.weight.copy_(params[0])
        model.conv1.bias.copy_(params[1])
        model.conv2.weight.copy_(params[2])
        model.conv2.bias.copy_(params[3])
        model.fc.weight.copy_(params[4].T)                          # nn.Linear stores (C, D)
        model.fc.bias.copy_(params[5])
        assert torch.allclose(model(x), scores, atol=1e-4)


def test_three_layer_convnet_rejects_a_wrong_fc_weight():
    params = _conv_params()
    params[4] = barebones.random_weight((100, 10))
    with pytest.raises(ValueError, match="fc_w has shape"):
        barebones.three_layer_convnet(torch.randn(2, 3, 32, 32), params)


def test_random_weight_is_kaiming_normal():
    torch.manual_seed(0)
    w = barebones.random_weight((800, 600))
    assert w.requires_grad and w.dtype == torch.float32
    assert abs(w.std().item() - np.sqrt(2 / 800)) < 0.02 * np.sqrt(2 / 800)
    conv = barebones.random_weight((64, 32, 3, 3))
    assert abs(conv.std().item() - np.sqrt(2 / (32 * 9))) < 0.05 * np.sqrt(2 / (32 * 9))
    b = barebones.zero_weight(7)
    assert b.requires_grad and torch.count_nonzero(b) == 0
    with pytest.raises(ValueError, match="shape must be"):
        barebones.random_weight((3, 4, 5))


def test_train_part2_lowers_the_loss_and_fits_a_separable_problem():
    X, y = _separable_problem()
    loader = torch_data.make_loader(X, y, batch_size=32, shuffle=True)
    torch.manual_seed(0)
    params = [barebones.random_weight((48, 64)), barebones.random_weight((64, 2))]
    before = barebones.check_accuracy_part2(loader, barebones.two_layer_fc, params)
    losses = []
    for _ in range(10):
        losses += barebones.train_part2(barebones.two_layer_fc, params, 0.1, loader, verbose=False)
    assert np.mean(losses[-8:]) < np.mean(losses[:8])
    assert barebones.check_accuracy_part2(loader, barebones.two_layer_fc, params) > max(before, 0.9)


# ----------------------------------------------------------------------------- Part III / IV

def test_modules_give_the_right_shapes():
    x = torch.randn(64, 3, 32, 32)
    assert modules.TwoLayerFC(3 * 32 * 32, 42, 10)(x).shape == (64, 10)
    assert modules.ThreeLayerConvNet(3, 12, 8, 10)(x).shape == (64, 10)
    assert modules.three_layer_convnet_sequential(3, 12, 8, 10)(x).shape == (64, 10)


def test_module_forward_rejects_wrong_channels():
    with pytest.raises(ValueError, match=r"shape \(N, 3, H, W\)"):
        modules.ThreeLayerConvNet(3, 12, 8, 10)(torch.randn(2, 1, 32, 32))


def test_sequential_net_computes_the_module_net():
    torch.manual_seed(0)
    module = modules.ThreeLayerConvNet(3, 5, 4, 10)
    sequential = modules.three_layer_convnet_sequential(3, 5, 4, 10)
    with torch.no_grad():
        for p, q in zip(sequential.parameters(), module.parameters(), strict=True):
            p.copy_(q)
        x = torch.randn(3, 3, 32, 32)
        assert torch.allclose(sequential(x), module(x), atol=1e-5)


def test_train_part34_reaches_high_accuracy_on_a_separable_problem():
    X, y = _separable_problem()
    loader = torch_data.make_loader(X, y, batch_size=32, shuffle=True)
    torch.manual_seed(0)
    model = modules.TwoLayerFC(48, 64, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    history = modules.train_part34(model, optimizer, loader, loader, epochs=5, verbose=False)
    assert len(history["val_acc"]) == 5 and len(history["epoch_seconds"]) == 5
    assert len(history["loss"]) == 5 * len(loader)
    assert history["val_acc"][-1] > 0.95
    assert modules.check_accuracy_part34(loader, model) == pytest.approx(history["val_acc"][-1])


def test_train_part34_stops_after_num_iters_and_logs_epochs(tmp_path):
    X, y = _separable_problem(64)
    loader = torch_data.make_loader(X, y, batch_size=16)
    model = modules.TwoLayerFC(48, 8, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-2)
    log = tmp_path / "log.txt"
    history = modules.train_part34(model, optimizer, loader, loader, epochs=3, num_iters=6, progress=True,
                              log_file=log, verbose=False)
    assert len(history["loss"]) == 6
    assert len(log.read_text().splitlines()) == 2                     # 4 iterations + 2 iterations


def test_flip_tta_averages_an_image_and_its_mirror():
    # A "model" that scores the left half minus the right half: flip TTA cancels it to zero,
    # so argmax falls to class 0 for every image.
    class Halves(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.ones(1))

        def forward(self, x):
            d = x[..., :2].sum(dim=(1, 2, 3)) - x[..., 2:].sum(dim=(1, 2, 3))
            return torch.stack([torch.zeros_like(d), d], dim=1) * self.w

    X = torch.zeros(4, 3, 4, 4)
    X[..., :2] = 1.0
    y = torch.ones(4, dtype=torch.long)
    loader = torch_data.make_loader(X, y, batch_size=4)
    assert modules.check_accuracy_part34(loader, Halves()) == 1.0
    assert modules.check_accuracy_part34(loader, Halves(), flip_tta=True) == 0.0


# ----------------------------------------------------------------------------- data and augmentation

def test_normalize_images_standardizes_each_channel():
    X = np.zeros((2, 32, 32, 3))
    X[..., 1] = 255.0
    out = torch_data.normalize_images(X)
    assert out.shape == (2, 3, 32, 32) and out.dtype == torch.float32
    expected = [(0 - m) / s if c != 1 else (1 - m) / s
                for c, (m, s) in enumerate(zip(torch_data.CIFAR10_MEAN, torch_data.CIFAR10_STD, strict=True))]
    assert torch.allclose(out[:, :, 5, 7], torch.tensor([expected, expected]))
    with pytest.raises(ValueError, match=r"\(N, 32, 32, 3\)"):
        torch_data.normalize_images(np.zeros((2, 3, 32, 32)))


def test_unnormalize_image_inverts_normalize_images_for_display():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(1, 32, 32, 3)).astype(np.float64)
    image = torch_data.unnormalize_image(torch_data.normalize_images(X)[0])
    assert image.shape == (32, 32, 3)
    np.testing.assert_allclose(image, X[0] / 255.0, atol=1e-6)
    with pytest.raises(ValueError, match=r"image must have shape \(3, H, W\), got \(2, 3, 32, 32\)"):
        torch_data.unnormalize_image(torch.zeros(2, 3, 32, 32))


def test_get_CIFAR10_tensors_on_the_bundled_sample(monkeypatch):
    monkeypatch.setenv("CS231N_SCALE", "quick")
    monkeypatch.setenv("CS231N_DATASETS", "/nonexistent")
    data = torch_data.get_CIFAR10_tensors(100, 20, 30, verbose=False)
    assert data["X_train"].shape == (100, 3, 32, 32) and data["X_train"].dtype == torch.float32
    assert data["y_val"].shape == (20,) and data["y_val"].dtype == torch.int64
    assert data["X_test"].shape == (30, 3, 32, 32)
    # normalized with the CIFAR-10 statistics: roughly zero mean, unit spread
    assert abs(data["X_train"].mean().item()) < 0.3 and 0.7 < data["X_train"].std().item() < 1.3
    with pytest.raises(ValueError, match="exceeds"):
        torch_data.get_CIFAR10_tensors(10 ** 6, 20, 30, verbose=False)


def test_augmentation_preserves_shape_and_dtype():
    x = torch.randn(3, 32, 32)
    out = torch_data.augmentation_transform()(x)
    assert out.shape == x.shape and out.dtype == x.dtype


def test_flip_is_a_flip_and_crop_is_a_window_of_the_reflected_image():
    x = torch.randn(3, 32, 32)
    assert torch.equal(torch_data.augmentation_transform(padding=0, flip_p=1.0)(x), torch.flip(x, dims=(2,)))
    assert torch.equal(torch_data.augmentation_transform(padding=0, flip_p=0.0)(x), x)
    padded = F.pad(x[None], (4, 4, 4, 4), mode="reflect")[0]
    torch.manual_seed(0)
    for _ in range(5):
        out = torch_data.augmentation_transform(padding=4, flip_p=0.0)(x)
        windows = padded.unfold(1, 32, 1).unfold(2, 32, 1)             # (3, 9, 9, 32, 32)
        assert any(torch.equal(windows[:, i, j], out) for i in range(9) for j in range(9))


def test_augmentation_rejects_bad_settings():
    with pytest.raises(ValueError, match="flip_p"):
        torch_data.augmentation_transform(flip_p=2)
    with pytest.raises(ValueError, match="padding"):
        torch_data.augmentation_transform(padding=-1)


def test_augmented_loader_is_seeded_and_batches_have_the_right_shapes():
    X, y = torch.randn(10, 3, 32, 32), torch.arange(10)
    augment = torch_data.augmentation_transform()
    first = next(iter(torch_data.make_loader(X, y, 4, shuffle=True, transform=augment, seed=3)))
    again = next(iter(torch_data.make_loader(X, y, 4, shuffle=True, transform=augment, seed=3)))
    assert first[0].shape == (4, 3, 32, 32) and first[1].shape == (4,)
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])
    with pytest.raises(ValueError, match="same length|shape"):
        torch_data.make_loader(X, y[:5])


# ----------------------------------------------------------------------------- Part V

def _expected_resnet9_parameters(widths, num_classes=10):
    w0, w1, w2, w3 = widths

    def cbr(i, o):
        return 9 * i * o + 2 * o                                        # conv without bias + BN scale/shift

    return (cbr(3, w0) + cbr(w0, w1) + 2 * cbr(w1, w1) + cbr(w1, w2) + cbr(w2, w3) + 2 * cbr(w3, w3)
            + w3 * num_classes + num_classes)


@pytest.mark.parametrize("widths", [(24, 48, 96, 192), (8, 16, 16, 32)])
def test_resnet9_forward_shape_and_parameter_count(widths):
    model = open_ended.ResNet9(widths)
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    assert sum(p.numel() for p in model.parameters()) == _expected_resnet9_parameters(widths)
    with pytest.raises(ValueError, match="four positive integers"):
        open_ended.ResNet9((8, 16, 32))


def test_one_cycle_schedule_rises_to_the_peak_and_falls_to_zero():
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.4)
    scheduler = open_ended.one_cycle_schedule(optimizer, total_steps=20, peak_fraction=0.25)
    rates = []
    for _ in range(20):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert rates[0] == pytest.approx(0.4 / 5)
    assert max(rates) == pytest.approx(0.4) and int(np.argmax(rates)) == 4
    assert all(a <= b for a, b in zip(rates[:5], rates[1:5], strict=False))
    assert all(a >= b for a, b in zip(rates[4:], rates[5:], strict=False))
    assert rates[-1] == pytest.approx(0.4 / 15)
    with pytest.raises(ValueError, match="total_steps"):
        open_ended.one_cycle_schedule(optimizer, 0)


def test_build_open_ended_trains_in_mixed_precision_on_the_cpu():
    device = torch.device("cpu")
    model, optimizer, scheduler = open_ended.build_open_ended(device, widths=(8, 16, 16, 32), epochs=1,
                                                      steps_per_epoch=2)
    first_conv = model.features[0][0].weight
    assert first_conv.is_contiguous(memory_format=torch.channels_last) and not first_conv.is_contiguous()
    decay, no_decay = optimizer.param_groups
    assert all(p.ndim > 1 for p in decay["params"]) and all(p.ndim == 1 for p in no_decay["params"])
    X, y = torch.randn(16, 3, 32, 32), torch.randint(0, 10, (16,))
    loader = torch_data.make_loader(X, y, 8, shuffle=True, transform=torch_data.augmentation_transform())
    history = modules.train_part34(model, optimizer, loader, loader, epochs=1, scheduler=scheduler,
                              label_smoothing=0.2, autocast_dtype=open_ended.default_autocast_dtype(device),
                              flip_tta=True, verbose=False)
    assert len(history["loss"]) == 2 and np.isfinite(history["loss"]).all()
    assert next(model.parameters()).dtype == torch.float32             # autocast leaves weights in float32


def test_default_autocast_dtype_is_bfloat16_or_none():
    assert open_ended.default_autocast_dtype("cpu") in (torch.bfloat16, None)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")
def test_cuda_model_matches_the_cpu_model():
    torch.manual_seed(0)
    model = open_ended.ResNet9((8, 16, 16, 32)).eval()
    x = torch.randn(4, 3, 32, 32)
    expected = model(x)
    got = model.to("cuda")(x.to("cuda")).cpu()
    assert torch.allclose(got, expected, atol=1e-3, rtol=1e-3)
    X, y = torch.randn(8, 3, 32, 32), torch.randint(0, 10, (8,))
    loader = torch_data.make_loader(X, y, 4)
    assert 0.0 <= modules.check_accuracy_part34(loader, model, "cuda", flip_tta=True,
                                           autocast_dtype=open_ended.default_autocast_dtype("cuda")) <= 1.0
