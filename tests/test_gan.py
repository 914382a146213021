"""GANs: CS231n's architectures (parameter counts), noise, the four losses against closed forms
and CS231n's published check values, the training loop, and the quality scores (FID through
torchmetrics with the course's MNIST classifier, mode coverage)."""

import warnings
from pathlib import Path

import matplotlib
import numpy as np
import pytest
import scipy.linalg
import torch
import torch.nn as nn

from helpers.data.bundled import BundledCheckpointError
from helpers.gan import (
    NOISE_DIM,
    TRAINING_RECIPES,
    bce_loss,
    build_dc_classifier,
    build_dc_generator,
    count_params,
    discriminator,
    discriminator_loss,
    generate,
    generator,
    generator_loss,
    get_optimizer,
    initialize_weights,
    interpolate_noise,
    ls_discriminator_loss,
    ls_generator_loss,
    plot_gan_losses,
    run_a_gan,
    sample_generator,
    sample_noise,
    show_images,
    show_training_grids,
)
from helpers.gan_metrics import (
    MNISTClassifier,
    classifier_accuracy,
    frechet_distance,
    load_mnist_classifier,
    mode_coverage,
    predict_digits,
    real_frechet_baseline,
)
from helpers.gradient_check import rel_error

matplotlib.use("agg")
ROOT = Path(__file__).resolve().parent.parent
GAN_CHECKS = ROOT.parent / "shared" / "datasets" / "cs231n_checks" / "gan-checks.npz"
needs_checks = pytest.mark.skipif(not GAN_CHECKS.exists(), reason=f"CS231n's check values are not at {GAN_CHECKS} "
                                                                  "(the local dataset mirror)")


def softplus(x):
    return np.logaddexp(0, x)


# ----------------------------------------------------------------------------- architectures

@pytest.mark.parametrize("build, count", [
    (lambda: discriminator(), 267009),  # CS231n's test_discriminator
    (lambda: generator(4), 1858320),  # test_generator
    (lambda: build_dc_classifier(128), 1102721),  # test_dc_classifer
    (lambda: build_dc_generator(4), 6580801),  # test_dc_generator
])
def test_parameter_counts_match_cs231n(build, count):
    assert count_params(build()) == count


def test_output_shapes_and_ranges():
    x = torch.rand(6, 1, 28, 28) * 2 - 1
    assert discriminator()(x).shape == (6, 1)
    assert discriminator()(x.reshape(6, 784)).shape == (6, 1)
    assert build_dc_classifier(6)(x).shape == (6, 1)
    assert build_dc_classifier(-1)(x.reshape(6, 784)).shape == (6, 1)
    for G in (generator(), build_dc_generator()):
        images = G(sample_noise(6, NOISE_DIM))
        assert images.shape == (6, 784) and images.abs().max() <= 1


@pytest.mark.parametrize("shape", [(4, 3, 32, 32), (4, 28, 28), (4, 783), (4, 1, 28, 27), (0, 784)])
def test_discriminators_reject_a_batch_of_the_wrong_shape(shape):
    x = torch.zeros(shape)
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\) or \(N, 784\), got " + str(tuple(shape)).replace("(", r"\(")
                       .replace(")", r"\)")):
        discriminator()(x)
    if shape[0]:
        with pytest.raises(ValueError, match=r"must have shape \(N, 784\) or \(N, 1, 28, 28\)"):
            build_dc_classifier()(x)


def test_dc_classifier_with_a_fixed_batch_size_says_so():
    with pytest.raises(ValueError, match=r"must have shape \(128, 784\) or \(128, 1, 28, 28\), got \(64, 1, 28, 28\)"):
        build_dc_classifier(128)(torch.zeros(64, 1, 28, 28))
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        build_dc_classifier(0)


@pytest.mark.parametrize("noise_dim", [0, -5, 2.5, True, "96"])
def test_noise_dimension_must_be_positive(noise_dim):
    for build in (generator, build_dc_generator):
        with pytest.raises(ValueError, match=f"noise_dim must be a positive integer, got {noise_dim!r}"):
            build(noise_dim)
    with pytest.raises(ValueError, match=f"dim must be a positive integer, got {noise_dim!r}"):
        sample_noise(3, noise_dim)


def test_seeded_models_are_reproducible_and_leave_the_global_state_alone():
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    a, b = discriminator(seed=1), discriminator(seed=1)
    assert torch.equal(torch.rand(3), expected)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert not torch.equal(generator(seed=1)[0].weight, generator(seed=2)[0].weight)
    for build in (build_dc_classifier, build_dc_generator):
        first, second = build(seed=3), build(seed=3)
        assert all(torch.equal(p, q) for p, q in zip(first.state_dict().values(), second.state_dict().values(),
                                                     strict=True))
        assert not all(torch.equal(p, q) for p, q in zip(first.parameters(), build(seed=4).parameters(), strict=True))
    state = torch.get_rng_state()
    build_dc_classifier(seed=3), build_dc_generator(seed=3)
    assert torch.equal(torch.get_rng_state(), state)


def test_initialize_weights_is_xavier_uniform_on_linear_and_transposed_conv():
    G = build_dc_generator()
    G.apply(initialize_weights)
    linear, deconv = G[3], G[7]
    bound = np.sqrt(6 / (linear.in_features + linear.out_features))
    assert linear.weight.abs().max() <= bound and linear.weight.abs().max() > 0.9 * bound
    fan_in, fan_out = 64 * 16, 128 * 16  # ConvTranspose2d weight (128, 64, 4, 4)
    assert deconv.weight.abs().max() <= np.sqrt(6 / (fan_in + fan_out))


# ----------------------------------------------------------------------------- noise

def test_sample_noise_shape_range_and_seed():
    torch.manual_seed(0)
    noise = sample_noise(2000, 16)
    assert noise.shape == (2000, 16) and noise.dtype == torch.float32
    assert noise.min() >= -1 and noise.max() < 1
    assert noise.min() < -0.99 and noise.max() > 0.99  # fills the range
    assert abs(noise.mean().item()) < 0.02 and abs(noise.var().item() - 1 / 3) < 0.01  # uniform on [-1, 1]
    assert torch.equal(sample_noise(5, 3, seed=7), sample_noise(5, 3, seed=7))
    assert not torch.equal(sample_noise(5, 3, seed=7), sample_noise(5, 3, seed=8))
    assert not torch.equal(sample_noise(5, 3), sample_noise(5, 3))
    state = torch.get_rng_state()
    sample_noise(5, 3, seed=7)
    assert torch.equal(torch.get_rng_state(), state)


def test_sample_noise_batch_size_must_be_positive():
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        sample_noise(0, 96)


# ----------------------------------------------------------------------------- losses

def test_bce_loss_matches_the_closed_form_and_is_stable():
    s = torch.tensor([-200.0, -3.0, 0.0, 0.5, 200.0], dtype=torch.float64)
    t = torch.tensor([1.0, 0.0, 1.0, 1.0, 0.0], dtype=torch.float64)
    expected = np.mean(t.numpy() * softplus(-s.numpy()) + (1 - t.numpy()) * softplus(s.numpy()))
    got = bce_loss(s, t)
    assert got.dtype == torch.float64 and rel_error(got.item(), expected) < 1e-12
    assert np.isfinite(got.item())


def test_losses_match_their_closed_forms():
    rng = np.random.default_rng(0)
    r, f = rng.normal(size=(7, 1)), rng.normal(size=(7, 1))
    R, Fk = torch.tensor(r), torch.tensor(f)
    assert rel_error(discriminator_loss(R, Fk).item(), softplus(-r).mean() + softplus(f).mean()) < 1e-12
    assert rel_error(generator_loss(Fk).item(), softplus(-f).mean()) < 1e-12
    assert rel_error(ls_discriminator_loss(R, Fk).item(), 0.5 * ((r - 1) ** 2).mean() + 0.5 * (f ** 2).mean()) < 1e-12
    assert rel_error(ls_generator_loss(Fk).item(), 0.5 * ((f - 1) ** 2).mean()) < 1e-12
    # (N,) and (N, 1) scores give the same losses
    assert rel_error(discriminator_loss(R.flatten(), Fk.flatten()).item(), discriminator_loss(R, Fk).item()) < 1e-15


def test_losses_give_gradients_to_the_scores():
    scores = torch.zeros(4, 1, requires_grad=True)
    generator_loss(scores).backward()
    # d/ds softplus(-s) / N at s = 0 is -1/2 / N
    assert torch.allclose(scores.grad, torch.full((4, 1), -0.125))


@needs_checks
def test_losses_match_cs231n_check_values():
    checks = np.load(GAN_CHECKS)
    real, fake = torch.tensor(checks["logits_real"]), torch.tensor(checks["logits_fake"])
    assert real.shape == (10, 1)
    assert rel_error(checks["d_loss_true"], discriminator_loss(real, fake).numpy()) < 1e-7
    assert rel_error(checks["g_loss_true"], generator_loss(fake).numpy()) < 1e-7
    assert rel_error(checks["d_loss_lsgan_true"], ls_discriminator_loss(real, fake).numpy()) < 1e-7
    assert rel_error(checks["g_loss_lsgan_true"], ls_generator_loss(fake).numpy()) < 1e-7


@needs_checks
def test_leaky_relu_slope_matches_cs231n_check_values():
    checks = np.load(GAN_CHECKS)
    slopes = {m.negative_slope for net in (discriminator(), build_dc_classifier()) for m in net
              if isinstance(m, nn.LeakyReLU)}
    assert slopes == {0.01}
    leaky = nn.LeakyReLU(slopes.pop())
    assert rel_error(checks["lrelu_y"], leaky(torch.tensor(checks["lrelu_x"])).numpy()) < 1e-7


@pytest.mark.parametrize("loss, args", [
    (discriminator_loss, (torch.zeros(4, 2), torch.zeros(4))),
    (discriminator_loss, (torch.zeros(4), torch.zeros(4, 1, 1))),
    (generator_loss, (torch.zeros(4, 3),)),
    (ls_discriminator_loss, (torch.zeros(4, 1), torch.zeros(1, 4))),
    (ls_generator_loss, (torch.zeros(0),)),
])
def test_losses_reject_scores_of_the_wrong_shape(loss, args):
    with pytest.raises(ValueError, match=r"must have shape \(N,\) or \(N, 1\), one score per image, got"):
        loss(*args)


def test_losses_reject_non_tensors_and_integers():
    with pytest.raises(ValueError, match="logits_fake must be a torch.Tensor, got ndarray"):
        generator_loss(np.zeros(3))
    with pytest.raises(ValueError, match="scores_fake must be a floating-point tensor, got dtype torch.int64"):
        ls_generator_loss(torch.zeros(3, dtype=torch.int64))


def test_bce_loss_rejects_logits_and_targets_of_different_shapes():
    # (10, 1) logits against (10,) targets would broadcast to a (10, 10) loss matrix
    with pytest.raises(ValueError, match=r"input and target must have the same shape, got input \(10, 1\) "
                                         r"and target \(10,\)"):
        bce_loss(torch.zeros(10, 1), torch.ones(10))
    with pytest.raises(ValueError, match="target must be a torch.Tensor"):
        bce_loss(torch.zeros(3), [1, 1, 1])


def test_get_optimizer_is_cs231n_adam():
    optimizer = get_optimizer(discriminator())
    assert isinstance(optimizer, torch.optim.Adam)
    assert optimizer.defaults["lr"] == 1e-3 and optimizer.defaults["betas"] == (0.5, 0.999)
    with pytest.raises(ValueError, match="model must be an nn.Module, got list"):
        get_optimizer([])


# ----------------------------------------------------------------------------- training

def fake_loader(num_batches=5, batch_size=8, seed=0, low=-1.0, high=1.0):
    g = torch.Generator().manual_seed(seed)
    return [(low + (high - low) * torch.rand(batch_size, 1, 28, 28, generator=g), torch.zeros(batch_size))
            for _ in range(num_batches)]


def train_tiny(seed=0, **kwargs):
    D, G = discriminator(seed=0), generator(seed=0)
    options = dict(show_every=2, batch_size=8, num_epochs=2, seed=seed, show=False, progress=False)
    options.update(kwargs)
    return run_a_gan(D, G, get_optimizer(D), get_optimizer(G), discriminator_loss, generator_loss,
                     fake_loader(), **options), D, G


def test_run_a_gan_records_losses_and_images():
    history, _, _ = train_tiny()
    assert len(history["d_loss"]) == len(history["g_loss"]) == 10  # 5 batches x 2 epochs
    assert history["image_iterations"] == [0, 2, 4, 6, 8, 9]  # every show_every, and the last
    assert all(images.shape == (8, 784) for images in history["images"])
    assert np.all(np.isfinite(history["d_loss"])) and np.all(np.isfinite(history["g_loss"]))


def test_run_a_gan_is_reproducible_and_stops_at_num_iterations():
    first, D1, _ = train_tiny(seed=3)
    second, D2, _ = train_tiny(seed=3)
    assert first["d_loss"] == second["d_loss"] and first["g_loss"] == second["g_loss"]
    assert all(torch.equal(p, q) for p, q in zip(D1.parameters(), D2.parameters(), strict=True))
    assert train_tiny(seed=4)[0]["g_loss"] != first["g_loss"]
    capped, _, _ = train_tiny(num_iterations=3)
    assert len(capped["d_loss"]) == 3 and capped["image_iterations"] == [0, 2]


def test_run_a_gan_takes_batches_of_images_alone():
    D, G = discriminator(seed=0), generator(seed=0)
    images_only = [x for x, _ in fake_loader()]
    history = run_a_gan(D, G, get_optimizer(D), get_optimizer(G), discriminator_loss, generator_loss, images_only,
                        show_every=2, batch_size=8, num_epochs=2, seed=0, show=False, progress=False)
    assert history["d_loss"] == train_tiny()[0]["d_loss"]


def test_run_a_gan_trains_the_dc_networks_and_skips_short_batches():
    D, G = build_dc_classifier(8), build_dc_generator()
    loader = fake_loader(2) + [(torch.zeros(5, 1, 28, 28), torch.zeros(5))]
    history = run_a_gan(D, G, get_optimizer(D), get_optimizer(G), ls_discriminator_loss, ls_generator_loss,
                        loader, batch_size=8, num_epochs=1, show=False, progress=False)
    assert len(history["d_loss"]) == 2


def test_run_a_gan_shows_the_images(capsys):
    train_tiny(show=True, num_iterations=1)
    assert "Iter: 0, D:" in capsys.readouterr().out


def test_run_a_gan_bad_inputs():
    D, G = discriminator(), generator()
    args = (D, G, get_optimizer(D), get_optimizer(G), discriminator_loss, generator_loss)
    with pytest.raises(ValueError, match=r"real images in \[-1, 1\].*got values in \[0\.0\d+, 255\]"):
        run_a_gan(*args, fake_loader(low=0, high=255), batch_size=8, show=False, progress=False)
    with pytest.raises(ValueError, match="yielded no batch of batch_size = 16 images"):
        run_a_gan(*args, fake_loader(), batch_size=16, show=False, progress=False)
    with pytest.raises(ValueError, match="show_every must be a positive integer, got 0"):
        run_a_gan(*args, fake_loader(), show_every=0)
    with pytest.raises(ValueError, match="num_iterations must be a positive integer, got -1"):
        run_a_gan(*args, fake_loader(), num_iterations=-1)
    with pytest.raises(ValueError, match="G must be an nn.Module, got function"):
        run_a_gan(D, generator, *args[2:], fake_loader())


def test_recipes_are_run_a_gan_settings_for_both_scales():
    for name, recipe in TRAINING_RECIPES.items():
        assert set(recipe) == {"quick", "full"}, name
        for settings in recipe.values():
            assert set(settings) <= {"num_epochs", "num_iterations", "show_every", "batch_size"}


def test_sample_generator_is_seeded_and_restores_the_mode():
    G = build_dc_generator()
    G.train()
    a, b = sample_generator(G, 7, seed=1, batch_size=3), sample_generator(G, 7, seed=1)
    assert a.shape == (7, 1, 28, 28) and torch.allclose(a, b, atol=1e-6)
    assert G.training and not a.requires_grad
    assert not torch.equal(a, sample_generator(G, 7, seed=2))
    with pytest.raises(ValueError, match="num_samples must be a positive integer"):
        sample_generator(G, 0)
    with pytest.raises(ValueError, match=r"noise must be a tensor of shape \(N, noise_dim\)"):
        generate(G, torch.zeros(NOISE_DIM))


def test_interpolate_noise():
    z0, z1 = torch.zeros(4), torch.arange(4.0)
    path = interpolate_noise(z0, z1, num_steps=5)
    assert path.shape == (5, 4)
    assert torch.equal(path[0], z0) and torch.equal(path[-1], z1) and torch.allclose(path[2], z1 / 2)
    with pytest.raises(ValueError, match="num_steps must be at least 2"):
        interpolate_noise(z0, z1, 1)
    with pytest.raises(ValueError, match=r"same shape \(noise_dim,\)"):
        interpolate_noise(z0, torch.zeros(5))


def test_pictures():
    history, _, _ = train_tiny()
    assert isinstance(show_images(history["images"][0]), matplotlib.figure.Figure)
    assert isinstance(show_images(torch.zeros(3, 1, 28, 28), title="t"), matplotlib.figure.Figure)
    fig = show_training_grids(history, num_snapshots=3, num_images=4)
    assert len(fig.axes) == 3 * 4
    assert len(plot_gan_losses({"a": history, "b": history}).axes) == 2
    with pytest.raises(ValueError, match=r"images must have shape \(N, 784\) or \(N, 1, 28, 28\), got \(2, 100\)"):
        show_images(np.zeros((2, 100)))
    matplotlib.pyplot.close("all")


# ----------------------------------------------------------------------------- quality scores

@pytest.fixture(scope="module")
def random_classifier():
    torch.manual_seed(0)
    return MNISTClassifier().eval()


def features_fid(classifier, a, b):
    """FID from the definition, with SciPy's matrix square root as an independent oracle."""
    with torch.no_grad():
        fa, fb = classifier.features(a).double().numpy(), classifier.features(b).double().numpy()
    mu_a, mu_b = fa.mean(0), fb.mean(0)
    cov_a, cov_b = np.cov(fa, rowvar=False), np.cov(fb, rowvar=False)
    with warnings.catch_warnings():  # dead ReLU units of a random network make the covariances singular
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        root = scipy.linalg.sqrtm(cov_a @ cov_b).real
    return ((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * root)


def test_frechet_distance_of_a_set_with_itself_is_zero(random_classifier):
    images = torch.rand(300, 1, 28, 28) * 2 - 1
    assert abs(frechet_distance(images, images, random_classifier, batch_size=128)) < 1e-3


def test_frechet_distance_grows_with_a_shift_and_matches_the_definition(random_classifier):
    g = torch.Generator().manual_seed(0)
    real = torch.rand(400, 1, 28, 28, generator=g) * 2 - 1
    other = torch.rand(400, 1, 28, 28, generator=g) * 2 - 1
    distances = [frechet_distance((other + shift).clamp(-1, 1), real, random_classifier) for shift in (0, 0.3, 0.6)]
    assert 0 < distances[0] < distances[1] < distances[2]
    expected = features_fid(random_classifier, (other + 0.3).clamp(-1, 1), real)
    assert rel_error(distances[1], expected) < 1e-4


def test_frechet_distance_leaves_the_classifier_as_it_was(random_classifier):
    random_classifier.train()
    running_mean = random_classifier.body[1].running_mean.clone()
    frechet_distance(torch.rand(10, 784) * 2 - 1, torch.rand(10, 784), random_classifier)
    assert random_classifier.training and torch.equal(running_mean, random_classifier.body[1].running_mean)
    random_classifier.eval()


def test_frechet_distance_bad_inputs(random_classifier):
    images = torch.zeros(5, 1, 28, 28)
    with pytest.raises(ValueError, match="fake_images must hold at least 2 images"):
        frechet_distance(images[:1], images, random_classifier)
    with pytest.raises(ValueError, match=r"real_images must be a tensor of digits of shape \(N, 1, 28, 28\) or "
                                         r"\(N, 784\), got \(5, 3, 28, 28\)"):
        frechet_distance(images, torch.zeros(5, 3, 28, 28), random_classifier)
    with pytest.raises(ValueError, match="fake_images must be a tensor of digits"):
        frechet_distance(np.zeros((5, 784)), images, random_classifier)


def test_real_baseline_scores_a_seeded_random_draw(random_classifier):
    g = torch.Generator().manual_seed(1)
    train, test = torch.rand(50, 1, 28, 28, generator=g) * 2 - 1, torch.rand(30, 1, 28, 28, generator=g) * 2 - 1
    baseline = real_frechet_baseline(train, test, num_samples=20, seed=4, classifier=random_classifier)
    rows = torch.randperm(50, generator=torch.Generator().manual_seed(4))[:20]
    assert baseline == frechet_distance(train[rows], test, random_classifier)
    assert baseline != real_frechet_baseline(train, test, num_samples=20, seed=5, classifier=random_classifier)
    with pytest.raises(ValueError, match="num_samples = 51 exceeds the 50 digits of real_train"):
        real_frechet_baseline(train, test, num_samples=51, classifier=random_classifier)


class ThresholdClassifier(nn.Module):
    """A fake classifier: the digit is the number of tenths of the image's mean brightness in [0, 1)."""

    def __init__(self):
        super().__init__()
        self.unused = nn.Parameter(torch.zeros(1))  # gives the model a device

    def forward(self, x):
        digit = ((x.reshape(len(x), -1).mean(1) + 1) / 2 * 10).long().clamp(0, 9)
        return nn.functional.one_hot(digit, 10).float()


def test_mode_coverage_counts_each_predicted_digit():
    brightness = torch.tensor([0.05, 0.05, 0.15, 0.95, 0.95, 0.95, 0.55, 0.35])  # digits 0 0 1 9 9 9 5 3
    images = (brightness * 2 - 1).reshape(-1, 1, 1, 1).expand(-1, 1, 28, 28)
    coverage = mode_coverage(images, ThresholdClassifier(), batch_size=3)
    np.testing.assert_allclose(coverage, [2 / 8, 1 / 8, 0, 1 / 8, 0, 1 / 8, 0, 0, 0, 3 / 8])
    assert coverage.sum() == pytest.approx(1)
    collapsed = mode_coverage(torch.full((50, 784), 0.9), ThresholdClassifier())
    assert collapsed.max() == 1 and collapsed.min() == 0  # mode collapse: every sample the same digit


def test_predictions_and_accuracy_with_a_fake_classifier():
    images = (torch.tensor([0.05, 0.95]) * 2 - 1).reshape(2, 1, 1, 1).expand(-1, 1, 28, 28)
    assert predict_digits(images, ThresholdClassifier()).tolist() == [0, 9]
    assert classifier_accuracy(images, torch.tensor([0, 3]), ThresholdClassifier()) == 0.5
    with pytest.raises(ValueError, match=r"labels must be a tensor of shape \(2,\), one per image, got \(3,\)"):
        classifier_accuracy(images, np.zeros(3), ThresholdClassifier())


def test_classifier_rejects_images_of_the_wrong_shape(random_classifier):
    with pytest.raises(ValueError, match=r"the classifier takes digits of shape \(N, 1, 28, 28\) or \(N, 784\)"):
        random_classifier(torch.zeros(2, 3, 28, 28))


def test_bundled_classifier_is_accurate_on_the_bundled_test_digits(monkeypatch):
    from helpers.data.mnist import get_MNIST_data

    monkeypatch.setenv("CS231N_SCALE", "quick")
    data = get_MNIST_data(verbose=False)
    classifier = load_mnist_classifier()
    assert not classifier.training
    assert classifier_accuracy(data["X_test"], data["y_test"], classifier) >= 0.99
    coverage = mode_coverage(data["X_test"], classifier)
    assert np.all(np.abs(coverage - 0.1) < 0.01)  # the test digits are balanced


def test_a_corrupt_bundled_checkpoint_is_refused(tmp_path, monkeypatch):
    from helpers.data import bundled

    broken = tmp_path / "mnist_classifier.pt"
    broken.write_bytes(b"not the checkpoint")
    monkeypatch.setattr(bundled, "CHECKPOINT_DIR", tmp_path)
    with pytest.raises(BundledCheckpointError, match="tools/train_mnist_classifier.py"):
        load_mnist_classifier()

