"""ImageNet sample, SqueezeNet weights (both sources), the CIFAR-10 fallback and the installer entries."""

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision

from helpers.data.bundled import load_bundled_state_dict
from helpers.data.catalog import BUNDLED_CHECKPOINTS, DATASETS, SQUEEZENET_ONNX_FOLDER
from helpers.data.fetch import FetchError, Installer
from helpers.data.imagenet import load_imagenet_val
from helpers.data.paths import DatasetMissingError
from helpers.data.squeezenet import (
    SQUEEZENET_ONNX_NAMES,
    SqueezeNetWeightsError,
    load_squeezenet,
    onnx_state_dict,
)
from helpers.data.vision_models import load_cifar10_model, load_style_image, load_vision_setup

ROOT = Path(__file__).resolve().parent.parent
MIRROR = ROOT.parent / "shared" / "datasets"
MIRROR_SQUEEZENET = MIRROR / SQUEEZENET_ONNX_FOLDER
needs_mirror = pytest.mark.skipif(not MIRROR_SQUEEZENET.is_dir() or not (MIRROR / "imagenet_val_25.npz").exists(),
                                  reason="no local dataset mirror with squeezenet1.1_nchw/ and imagenet_val_25.npz "
                                         "beside the repo")


def run_script(*args):
    return subprocess.run([str(ROOT / "setup_datasets.sh"), *map(str, args)], capture_output=True, text=True)


# ---------------------------------------------------------------- imagenet_val_25.npz

def write_imagenet_npz(path, n=3, label_map=None):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (n, 224, 224, 3), dtype=np.uint8)
    y = rng.integers(0, 1000, n).astype(np.int64)
    label_map = {i: f"name {i}" for i in range(1000) if i != 134} if label_map is None else label_map
    np.savez(path, X=X, y=y, label_map=np.array(label_map, dtype=object))
    return X, y


def test_imagenet_sample_loads_with_names(tmp_path):
    X, y = write_imagenet_npz(tmp_path / "s.npz")
    X2, y2, names = load_imagenet_val(path=tmp_path / "s.npz")
    np.testing.assert_array_equal(X2, X)
    np.testing.assert_array_equal(y2, y)
    assert X2.dtype == np.uint8 and y2.dtype == np.int64
    assert names[5] == "name 5" and 134 not in names and len(names) == 999
    X1, y1, _ = load_imagenet_val(num=2, path=tmp_path / "s.npz")
    assert X1.shape == (2, 224, 224, 3) and y1.shape == (2,)


def test_imagenet_label_map_never_runs_pickled_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    write_imagenet_npz(tmp_path / "s.npz", label_map={0: Evil()})
    with pytest.raises(ValueError, match="refusing to load posix.system"):
        load_imagenet_val(path=tmp_path / "s.npz")


def test_imagenet_bad_files_are_named(tmp_path):
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="is not an .npz file"):
        load_imagenet_val(path=tmp_path / "junk.npz")
    np.savez(tmp_path / "nokeys.npz", X=np.zeros((1, 224, 224, 3), np.uint8))
    with pytest.raises(ValueError, match="must hold X, y and label_map"):
        load_imagenet_val(path=tmp_path / "nokeys.npz")
    write_imagenet_npz(tmp_path / "s.npz")
    with pytest.raises(ValueError, match=r"num must be an integer in 1..3, got 4"):
        load_imagenet_val(num=4, path=tmp_path / "s.npz")


def test_missing_sample_names_the_command(tmp_path, monkeypatch):
    monkeypatch.setenv("CS231N_DATASETS", str(tmp_path))
    with pytest.raises(DatasetMissingError, match="setup_datasets.sh imagenet_val"):
        load_imagenet_val()
    with pytest.raises(DatasetMissingError, match="setup_datasets.sh squeezenet"):
        load_squeezenet()


@needs_mirror
def test_imagenet_pins_match_the_mirror_copy():
    spec = DATASETS["imagenet_val"].files[0]
    data = (MIRROR / spec.path).read_bytes()
    assert len(data) == spec.size == 3_940_548
    assert hashlib.sha256(data).hexdigest() == spec.digests[0].value
    X, y, names = load_imagenet_val(path=MIRROR / spec.path)
    assert X.shape == (25, 224, 224, 3) and names[int(y[0])] == "hay"


# ---------------------------------------------------------------- SqueezeNet weights

def onnx_folder_from(state_dict, folder, reference_input=None):
    """Write a state dict in the ONNX-zoo layout, with a reference pair computed by torchvision's model."""
    (folder / "weights").mkdir(parents=True)
    for name, key in SQUEEZENET_ONNX_NAMES.items():
        np.save(folder / "weights" / f"{name}.npy", state_dict[key].numpy())
    model = torchvision.models.squeezenet1_1().eval()
    model.load_state_dict(state_dict)
    x = np.random.default_rng(0).uniform(0, 255, (1, 3, 224, 224)).astype(np.float32) \
        if reference_input is None else reference_input
    (folder / "test_data_set" / "0").mkdir(parents=True)
    np.save(folder / "test_data_set" / "0" / "input_0.npy", x)
    with torch.no_grad():
        np.save(folder / "test_data_set" / "0" / "output_0.npy", model(torch.from_numpy(x)).numpy())
    return folder


@pytest.fixture(scope="module")
def random_squeezenet_state():
    torch.manual_seed(0)
    return torchvision.models.squeezenet1_1().state_dict()


def test_onnx_names_map_onto_every_torchvision_tensor(random_squeezenet_state, tmp_path):
    assert sorted(SQUEEZENET_ONNX_NAMES.values()) == sorted(random_squeezenet_state)
    folder = onnx_folder_from(random_squeezenet_state, tmp_path / "sq")
    state = onnx_state_dict(folder)
    for key, value in random_squeezenet_state.items():
        torch.testing.assert_close(state[key], value, rtol=0, atol=0)
    model, description = load_squeezenet("onnx-zoo", path=folder)
    assert "ONNX model zoo" in description and "reference output reproduced" in description
    assert not model.training and not any(p.requires_grad for p in model.parameters())


def test_swapped_tensors_fail_the_reference_pair(random_squeezenet_state, tmp_path):
    folder = onnx_folder_from(random_squeezenet_state, tmp_path / "sq")
    weights = folder / "weights"
    # conv8 and conv11, the expand1x1 layers of features.6 and features.7, have the same shape: only the
    # reference pair tells them apart
    a, b = weights / "squeezenet0_conv8_weight.npy", weights / "squeezenet0_conv11_weight.npy"
    a_bytes = a.read_bytes()
    a.write_bytes(b.read_bytes())
    b.write_bytes(a_bytes)
    with pytest.raises(SqueezeNetWeightsError, match="do not reproduce their reference output"):
        load_squeezenet("onnx-zoo", path=folder)


def test_onnx_folder_with_missing_or_extra_or_misshapen_tensor(random_squeezenet_state, tmp_path):
    folder = onnx_folder_from(random_squeezenet_state, tmp_path / "sq")
    (folder / "weights" / "squeezenet0_conv25_bias.npy").unlink()
    with pytest.raises(SqueezeNetWeightsError, match="lacks squeezenet0_conv25_bias.npy"):
        load_squeezenet("onnx-zoo", path=folder)
    np.save(folder / "weights" / "squeezenet0_conv25_bias.npy", np.zeros(10, np.float32))
    with pytest.raises(SqueezeNetWeightsError, match=r"classifier.1.bias has shape \(10,\), expected \(1000,\)"):
        load_squeezenet("onnx-zoo", path=folder)
    np.save(folder / "weights" / "squeezenet0_conv26_weight.npy", np.zeros(1, np.float32))
    with pytest.raises(SqueezeNetWeightsError, match="not SqueezeNet 1.1 tensors: .'squeezenet0_conv26_weight'."):
        load_squeezenet("onnx-zoo", path=folder)


def test_pth_state_dict_loads_and_matches_the_same_weights(random_squeezenet_state, tmp_path):
    folder = onnx_folder_from(random_squeezenet_state, tmp_path / "sq")
    torch.save(onnx_state_dict(folder), tmp_path / "squeezenet1_1.pth")
    from_pth, description = load_squeezenet("torchvision", path=tmp_path / "squeezenet1_1.pth")
    from_onnx, _ = load_squeezenet("onnx-zoo", path=folder)
    assert "torchvision's ImageNet weights" in description
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        torch.testing.assert_close(from_pth(x), from_onnx(x), rtol=0, atol=0)


def test_pth_of_another_architecture_or_missing_tensor_is_refused(random_squeezenet_state, tmp_path):
    torch.save(torchvision.models.squeezenet1_0().state_dict(), tmp_path / "v10.pth")
    with pytest.raises(SqueezeNetWeightsError,
                       match=r"features.0.weight has shape \(96, 3, 7, 7\), expected \(64, 3, 3, 3\)"):
        load_squeezenet("torchvision", path=tmp_path / "v10.pth")
    partial = {k: v for k, v in random_squeezenet_state.items() if k != "classifier.1.bias"}
    torch.save(partial, tmp_path / "partial.pth")
    with pytest.raises(SqueezeNetWeightsError, match=r"missing tensors \['classifier.1.bias'\]"):
        load_squeezenet("torchvision", path=tmp_path / "partial.pth")
    torch.save(torch.zeros(3), tmp_path / "tensor.pth")
    with pytest.raises(SqueezeNetWeightsError, match="must hold a state dict"):
        load_squeezenet("torchvision", path=tmp_path / "tensor.pth")
    (tmp_path / "junk.pth").write_bytes(b"junk")
    with pytest.raises(SqueezeNetWeightsError, match="not a readable PyTorch state dict"):
        load_squeezenet("torchvision", path=tmp_path / "junk.pth")
    with pytest.raises(ValueError, match="weights must be one of"):
        load_squeezenet("caffe", path=tmp_path / "junk.pth")


@needs_mirror
def test_mirror_weights_reproduce_the_reference_pair_and_the_measured_accuracy():
    model, description = load_squeezenet("onnx-zoo", path=MIRROR_SQUEEZENET)
    assert "reference output reproduced" in description
    from helpers.image_utils import preprocess_batch

    X, y, _ = load_imagenet_val(path=MIRROR / "imagenet_val_25.npz")
    with torch.no_grad():
        scores = model(preprocess_batch(X, image_size=224)).numpy()
    top5 = np.argsort(-scores, axis=1)[:, :5]
    # measured with torchvision's preprocessing (the mirror's README: 12/25 and 18/25)
    assert (top5[:, 0] == y).sum() == 12 and (top5 == y[:, None]).any(axis=1).sum() == 18


# ---------------------------------------------------------------- installing

@needs_mirror
def test_install_from_mirror_verifies_every_tensor_and_the_reference_pair(tmp_path, capsys):
    dest = tmp_path / "datasets"
    installer = Installer(dest, MIRROR)
    installer.install(DATASETS["squeezenet"])
    installer.install(DATASETS["imagenet_val"])
    out = capsys.readouterr().out
    assert "reference output reproduced" in out and out.count("installed and verified") == 2
    assert len(list((dest / SQUEEZENET_ONNX_FOLDER / "weights").glob("*.npy"))) == 52
    assert not (dest / "squeezenet1_1-b8a52dc0.pth").exists()
    installer.install(DATASETS["squeezenet"])
    assert "already installed" in capsys.readouterr().out


@needs_mirror
def test_script_installs_squeezenet_and_sample_from_mirror(tmp_path):
    result = run_script("--from", MIRROR, "--dest", tmp_path / "d", "squeezenet", "imagenet_val")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("installed and verified") == 2


@needs_mirror
def test_corrupt_mirror_tensor_is_rejected(tmp_path):
    bad = tmp_path / "mirror" / SQUEEZENET_ONNX_FOLDER
    shutil.copytree(MIRROR_SQUEEZENET, bad)
    victim = bad / "weights" / "squeezenet0_conv3_bias.npy"
    data = bytearray(victim.read_bytes())
    data[-1] ^= 1
    victim.write_bytes(bytes(data))
    with pytest.raises(FetchError, match="checksum mismatch for squeezenet1.1_nchw/weights/squeezenet0_conv3_bias.npy"):
        Installer(tmp_path / "d", tmp_path / "mirror", log=lambda *_: None).install(DATASETS["squeezenet"])


def test_mirror_without_either_squeezenet_source_names_both(tmp_path):
    (tmp_path / "mirror").mkdir()
    with pytest.raises(FetchError, match=r"squeezenet1_1-b8a52dc0.pth \(and the alternative squeezenet1.1_nchw/\)"):
        Installer(tmp_path / "d", tmp_path / "mirror", log=lambda *_: None).install(DATASETS["squeezenet"])


def test_squeezenet_download_is_torchvision_pth():
    spec = DATASETS["squeezenet"]
    assert spec.files[0].url.endswith("squeezenet1_1-b8a52dc0.pth")
    assert spec.files[0].digests[0].kind == "sha256-prefix" and spec.files[0].digests[0].value == "b8a52dc0"
    assert len(spec.alternative_files) == 54 and all(f.digests for f in spec.alternative_files)


# ---------------------------------------------------------------- the embedded default

def test_bundled_cifar10_model_is_registered_and_accurate():
    entry = BUNDLED_CHECKPOINTS["cifar10_resnet9"]
    assert "tools/train_cifar10_model.py" in entry.command
    checkpoint = load_bundled_state_dict("cifar10_resnet9")
    assert checkpoint["model"] == "ResNet9" and checkpoint["test_accuracy"] > 0.8
    model, meta = load_cifar10_model()
    assert not any(p.requires_grad for p in model.parameters()) and not model.training
    assert len(meta["classes"]) == 10


@pytest.mark.skipif(not (MIRROR / "cifar-10-batches-py" / "test_batch").exists(), reason="no local CIFAR-10 mirror")
def test_bundled_cifar10_sample_holds_the_first_test_images():
    from helpers.data.cifar10 import load_cifar10_sample, load_CIFAR_batch

    _, _, X_sample, y_sample = load_cifar10_sample()
    X, y = load_CIFAR_batch(MIRROR / "cifar-10-batches-py" / "test_batch", as_float=False)
    np.testing.assert_array_equal(X_sample, X[:len(y_sample)])
    np.testing.assert_array_equal(y_sample, y[:len(y_sample)])


def test_fresh_clone_runs_on_the_cifar10_model(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CS231N_DATASETS", str(tmp_path))
    setup = load_vision_setup(num_images=40)
    line = capsys.readouterr().out
    assert setup.name == "cifar10" and "CIFAR-10 ResNet9" in line and "bundled sample" in line
    assert "setup_datasets.sh squeezenet imagenet_val" in line
    assert setup.X.shape == (40, 32, 32, 3) and setup.num_classes == 10
    x = setup.preprocess(setup.X)
    with torch.no_grad():
        accuracy = (setup.model(x).argmax(1).numpy() == setup.y).mean()
    assert accuracy >= 0.7
    image, source = load_style_image("tubingen")
    assert image.dtype == np.uint8 and min(image.shape[:2]) == 256 and "bundled" in source
    with pytest.raises(ValueError, match=r"X must have shape \(N, 32, 32, 3\), got \(1, 224, 224, 3\)"):
        setup.preprocess(np.zeros((1, 224, 224, 3), np.uint8))
    with pytest.raises(ValueError, match="model must be one of"):
        load_vision_setup("vgg16")


@needs_mirror
def test_installed_squeezenet_is_preferred(tmp_path, monkeypatch, capsys):
    dest = tmp_path / "datasets"
    installer = Installer(dest, MIRROR, log=lambda *_: None)
    installer.install(DATASETS["squeezenet"])
    installer.install(DATASETS["imagenet_val"])
    monkeypatch.setenv("CS231N_DATASETS", str(dest))
    setup = load_vision_setup()
    assert setup.name == "squeezenet" and "ONNX model zoo" in capsys.readouterr().out
    assert setup.X.shape == (25, 224, 224, 3) and setup.num_classes == 1000
    assert setup.class_names[134] == "class 134"
    with pytest.raises(ValueError, match=r"X must be uint8 images .* got dtype float32"):
        setup.preprocess(setup.X.astype(np.float32))


@pytest.mark.parametrize("name", ["squeezenet", "cifar10"])
def test_every_setting_names_a_layer_that_exists(name):
    from helpers.data.vision_models import CIFAR10_SETTINGS, SQUEEZENET_SETTINGS
    from helpers.net_visualization import check_layer, num_classes_of, receptive_field
    from helpers.pytorch.open_ended import ResNet9

    model, settings = ((torchvision.models.squeezenet1_1(), SQUEEZENET_SETTINGS) if name == "squeezenet"
                       else (ResNet9(), CIFAR10_SETTINGS))
    receptive_field(model, settings["patch_layer"])
    for layer in (*settings["inversion_layers"], settings["dream_layer"]):
        check_layer(model, layer)
    assert all(0 <= t < num_classes_of(model) for t in settings["class_visualization_targets"])
    for kw in (*settings["style_pairs"].values(), settings["texture_synthesis"]):
        assert len(kw["style_layers"]) == len(kw["style_weights"])
        assert all(check_layer(model, layer) == layer for layer in kw["style_layers"])
