"""Where datasets live, and the error that says how to fetch a missing one.

Datasets are under datasets/ in the checkout (git-ignored), or under the folder named
by CS231N_DATASETS. `setup_datasets.sh` fills it.
"""

import os
from pathlib import Path

from helpers import repo_root

DATASETS_VARIABLE = "CS231N_DATASETS"


class DatasetMissingError(FileNotFoundError):
    """A dataset file is not there; the message names the command that fetches it."""


def datasets_dir() -> Path:
    """The datasets folder: CS231N_DATASETS, else datasets/ in the checkout. A relative
    CS231N_DATASETS is taken from the repository root, by the notebooks (whose kernels run in
    assignmentN/) and by setup_datasets.sh alike."""
    env = os.environ.get(DATASETS_VARIABLE)
    if not env:
        return repo_root() / "datasets"
    path = Path(env).expanduser()
    return path if path.is_absolute() else repo_root() / path


def fetch_command(dataset: str, repair: bool = False) -> str:
    """The command that installs a dataset (with repair=True, the one that replaces a damaged copy)."""
    return f"./setup_datasets.sh {'--force ' if repair else ''}{dataset}"


def dataset_path(dataset: str, *parts: str, must_exist: bool = True) -> Path:
    """
    Path of a file of a dataset, e.g. dataset_path("cifar10", "cifar-10-batches-py", "test_batch").

    Inputs:
    - dataset: The name setup_datasets.sh knows it by (cifar10, mnist, coco, imagenet_val,
      squeezenet, styles)
    - parts: Path below the datasets folder
    - must_exist: Raise DatasetMissingError when the file is absent

    Returns:
    - The path (a pathlib.Path)
    """
    path = datasets_dir().joinpath(*parts)
    if must_exist and not path.exists():
        raise DatasetMissingError(
            f"{path} is missing. Fetch it with `{fetch_command(dataset)}` from the repository root "
            f"(or point {DATASETS_VARIABLE} at a folder that has it)."
        )
    return path
