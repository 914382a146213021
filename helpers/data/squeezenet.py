"""SqueezeNet 1.1 pretrained on ImageNet, as a frozen `torchvision.models.squeezenet1_1()`.

Two sources of weights load into the same torchvision model:
- torchvision's own `squeezenet1_1-b8a52dc0.pth` (what CS231n uses), fetched by
  `./setup_datasets.sh squeezenet` when online;
- the ONNX model zoo's SqueezeNet 1.1 (Apache-2.0), one float32 NCHW .npy file per tensor
  (`squeezenet1.1_nchw/weights/squeezenet0_conv{K}_{weight,bias}.npy`), installed from a local
  mirror. Its 26 convolutions are renamed onto torchvision's modules (SQUEEZENET_ONNX_NAMES), and
  the reference input/output pair shipped with them must be reproduced before the model is used.

The two are different training runs of the same architecture: their predictions differ, and
CS231n's published check values that depend on the features hold only for torchvision's.
Every tensor's name and shape is checked against torchvision's model; nothing partial loads.
"""

from pathlib import Path

import numpy as np
import torch
import torchvision

from helpers.data.catalog import DATASETS, SQUEEZENET_ONNX_FOLDER
from helpers.data.paths import DatasetMissingError, dataset_path, datasets_dir, fetch_command

TORCHVISION_FILE = DATASETS["squeezenet"].files[0].path
WEIGHT_SOURCES = ("torchvision", "onnx-zoo")
REFERENCE_TOLERANCE = 1e-4  # relative error of the logits; measured 4.5e-7 on float32 CPUs


class SqueezeNetWeightsError(ValueError):
    """A weights file or folder does not hold SqueezeNet 1.1 (missing, extra or misshapen tensors),
    or the ONNX-zoo weights do not reproduce their reference output."""


def _onnx_module_names():
    """torchvision module name of each ONNX-zoo convolution, in order conv0 .. conv25."""
    names = ["features.0"]
    for fire in (3, 4, 6, 7, 9, 10, 11, 12):  # the Fire modules of squeezenet1_1.features
        names += [f"features.{fire}.squeeze", f"features.{fire}.expand1x1", f"features.{fire}.expand3x3"]
    return names + ["classifier.1"]


# ONNX-zoo tensor name -> torchvision state-dict key, e.g. squeezenet0_conv1_weight -> features.3.squeeze.weight
SQUEEZENET_ONNX_NAMES = {f"squeezenet0_conv{k}_{part}": f"{module}.{part}"
                         for k, module in enumerate(_onnx_module_names()) for part in ("weight", "bias")}


def _expected_shapes():
    return {k: tuple(v.shape) for k, v in torchvision.models.squeezenet1_1().state_dict().items()}


def check_squeezenet_state_dict(state_dict, origin):
    """
    Check that a state dict holds exactly the tensors of torchvision's squeezenet1_1, with
    their shapes, and raise SqueezeNetWeightsError naming every difference otherwise.

    Inputs:
    - state_dict: Mapping from torchvision keys ("features.0.weight", ...) to tensors
    - origin: Where it came from, for the message
    """
    if not isinstance(state_dict, dict):
        raise SqueezeNetWeightsError(f"{origin} must hold a state dict (a dict of tensors), got "
                                     f"{type(state_dict).__name__}")
    expected = _expected_shapes()
    problems = []
    missing = sorted(set(expected) - set(state_dict))
    extra = sorted(set(state_dict) - set(expected))
    if missing:
        problems.append(f"missing tensors {missing}")
    if extra:
        problems.append(f"unexpected tensors {extra[:8]}{' ...' if len(extra) > 8 else ''}")
    for key in sorted(set(expected) & set(state_dict)):
        value = state_dict[key]
        if not isinstance(value, torch.Tensor) or not value.is_floating_point():
            problems.append(f"{key} must be a floating-point tensor, got {type(value).__name__}")
        elif tuple(value.shape) != expected[key]:
            problems.append(f"{key} has shape {tuple(value.shape)}, expected {expected[key]}")
    if problems:
        raise SqueezeNetWeightsError(f"{origin} is not SqueezeNet 1.1 (torchvision.models.squeezenet1_1): "
                                     + "; ".join(problems))


def onnx_state_dict(folder):
    """
    Read the ONNX-zoo per-tensor files and rename them onto torchvision's keys.

    Inputs:
    - folder: The squeezenet1.1_nchw folder (with weights/squeezenet0_conv{K}_{weight,bias}.npy)

    Returns:
    - A state dict for torchvision.models.squeezenet1_1(), float32 tensors (checked: every
      tensor present, none extra, every shape right)
    """
    weights = Path(folder) / "weights"
    if not weights.is_dir():
        raise SqueezeNetWeightsError(f"{weights} is not a folder; expected the ONNX-zoo layout "
                                     f"{SQUEEZENET_ONNX_FOLDER}/weights/squeezenet0_conv{{K}}_{{weight,bias}}.npy")
    files = {p.stem: p for p in weights.glob("*.npy")}
    unknown = sorted(set(files) - set(SQUEEZENET_ONNX_NAMES))
    if unknown:
        raise SqueezeNetWeightsError(f"{weights} holds files that are not SqueezeNet 1.1 tensors: {unknown[:8]}; "
                                     f"expected squeezenet0_conv0 .. squeezenet0_conv25 weights and biases")
    absent = [name for name in SQUEEZENET_ONNX_NAMES if name not in files]
    if absent:
        raise SqueezeNetWeightsError(f"{weights} lacks {', '.join(n + '.npy' for n in absent)}")
    state = {}
    for name, key in SQUEEZENET_ONNX_NAMES.items():
        try:
            array = np.load(files[name], allow_pickle=False)
        except ValueError as error:
            raise SqueezeNetWeightsError(f"{files[name]} is not a numeric .npy file ({error})") from error
        state[key] = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))
    check_squeezenet_state_dict(state, str(weights))
    return state


def verify_reference_pair(model, folder, tol=REFERENCE_TOLERANCE):
    """
    Run the reference input that ships with the ONNX-zoo weights and compare the logits.

    Inputs:
    - model: The loaded SqueezeNet, in evaluation mode
    - folder: The squeezenet1.1_nchw folder (test_data_set/0/input_0.npy (1, 3, 224, 224) and
      output_0.npy (1, 1000))
    - tol: Largest accepted relative error max|a - b| / max|b|

    Returns:
    - The relative error (raises SqueezeNetWeightsError above tol)
    """
    pair = Path(folder) / "test_data_set" / "0"
    try:
        x = np.load(pair / "input_0.npy", allow_pickle=False)
        expected = np.load(pair / "output_0.npy", allow_pickle=False)
    except (OSError, ValueError) as error:
        raise SqueezeNetWeightsError(f"cannot read the reference pair in {pair} ({error})") from error
    if x.shape != (1, 3, 224, 224) or expected.shape != (1, 1000):
        raise SqueezeNetWeightsError(f"the reference pair in {pair} must be (1, 3, 224, 224) -> (1, 1000), "
                                     f"got {x.shape} -> {expected.shape}")
    with torch.no_grad():
        # The pair was made on the raw input (values 0..255), without normalization.
        got = model(torch.from_numpy(x.astype(np.float32))).numpy()
    error = float(np.max(np.abs(got - expected)) / max(np.max(np.abs(expected)), 1e-12))
    if not error <= tol:
        raise SqueezeNetWeightsError(f"the weights in {folder} do not reproduce their reference output: "
                                     f"relative error {error:.2e}, expected at most {tol:.0e}")
    return error


def squeezenet_weights_installed():
    """Which weights are installed under the datasets folder: "torchvision", "onnx-zoo" or None."""
    if (datasets_dir() / TORCHVISION_FILE).is_file():
        return "torchvision"
    if (datasets_dir() / SQUEEZENET_ONNX_FOLDER / "weights").is_dir():
        return "onnx-zoo"
    return None


def load_squeezenet(weights=None, path=None, verify=True):
    """
    SqueezeNet 1.1 pretrained on ImageNet: torchvision's model with either source of weights,
    in evaluation mode, every parameter frozen (requires_grad False).

    Inputs:
    - weights: "torchvision" (the .pth state dict), "onnx-zoo" (the per-tensor .npy folder), or
      None: whichever is installed, torchvision's first
    - path: The .pth file or the squeezenet1.1_nchw folder; None: the one under the datasets folder
    - verify: For the ONNX-zoo weights, reproduce their reference input/output pair

    Returns a tuple of:
    - model: torchvision.models.squeezenet1_1 with the weights loaded
    - description: One line saying which weights run
    """
    if weights is None:
        if path is not None:
            weights = "onnx-zoo" if Path(path).is_dir() else "torchvision"
        else:
            weights = squeezenet_weights_installed()
            if weights is None:
                raise DatasetMissingError(f"no SqueezeNet weights in {datasets_dir()}: fetch them with "
                                          f"`{fetch_command('squeezenet')}` (or copy them from a local mirror with "
                                          f"`./setup_datasets.sh --from DIR squeezenet`)")
    if weights not in WEIGHT_SOURCES:
        raise ValueError(f"weights must be one of {WEIGHT_SOURCES} or None, got {weights!r}")
    if weights == "torchvision":
        path = Path(path) if path is not None else dataset_path("squeezenet", TORCHVISION_FILE)
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as error:  # torch.load fails on junk with many types (UnpicklingError, struct.error, ...)
            raise SqueezeNetWeightsError(f"{path} is not a readable PyTorch state dict ({error}); "
                                         f"re-fetch it with `{fetch_command('squeezenet')}`") from error
        check_squeezenet_state_dict(state, str(path))
        description = f"SqueezeNet 1.1 with torchvision's ImageNet weights ({Path(path).name})"
    else:
        path = Path(path) if path is not None else dataset_path("squeezenet", SQUEEZENET_ONNX_FOLDER, "weights").parent
        state = onnx_state_dict(path)
        description = "SqueezeNet 1.1 with the ONNX model zoo's ImageNet weights (Apache-2.0)"
    model = torchvision.models.squeezenet1_1()
    model.load_state_dict({k: v.float() for k, v in state.items()})
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    if weights == "onnx-zoo" and verify:
        error = verify_reference_pair(model, path)
        description += f", reference output reproduced to {error:.1e}"
    return model, description
