"""The course's notebooks, in course order: the one list the runner, the cleaner, the
progress view and the tests share."""

from pathlib import Path

from helpers import repo_root

COURSE_ORDER = (
    "assignment1/knn", "assignment1/svm", "assignment1/softmax", "assignment1/two_layer_net",
    "assignment1/features",
    "assignment2/FullyConnectedNets", "assignment2/BatchNormalization", "assignment2/Dropout",
    "assignment2/ConvolutionalNetworks", "assignment2/PyTorch",
    "assignment3/RNN_Captioning", "assignment3/LSTM_Captioning", "assignment3/Transformer_Captioning",
    "assignment3/NetworkVisualization", "assignment3/StyleTransfer", "assignment3/GANs",
    "assignment3/DetectionSegmentation",
)


def course_notebooks(root: Path | None = None) -> list[Path]:
    """
    Every notebook of the course under `root`: those of COURSE_ORDER in that order, then any
    other `assignment*/*.ipynb` alphabetically (Jupyter's checkpoint copies are left out).

    Inputs:
    - root: The checkout (default: the one helpers was installed from)

    Returns:
    - List of paths
    """
    root = Path(root) if root is not None else repo_root()
    found = {str(p.relative_to(root).with_suffix("")): p for p in sorted(root.glob("assignment*/*.ipynb"))}
    ordered = [found.pop(name) for name in COURSE_ORDER if name in found]
    return ordered + list(found.values())
