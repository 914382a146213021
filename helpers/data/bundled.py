"""Checkpoints the course trains itself and commits (a few MB at most), verified before use.

Each one is listed in `helpers.data.catalog.BUNDLED_CHECKPOINTS` with its sha256 and the
command that reproduces it. A file whose checksum differs is never loaded; the error names
the command that rebuilds it.
"""

import hashlib
from pathlib import Path

from helpers.data.catalog import BUNDLED_CHECKPOINTS

CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"


class BundledCheckpointError(RuntimeError):
    """A bundled checkpoint is missing or does not match its pinned checksum."""


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def bundled_checkpoint(name: str) -> Path:
    """
    Path of a bundled checkpoint, after checking it against its pinned sha256.

    Inputs:
    - name: Its key in BUNDLED_CHECKPOINTS, e.g. "scene_encoder"

    Returns:
    - The verified path
    """
    if name not in BUNDLED_CHECKPOINTS:
        raise KeyError(f"no bundled checkpoint named {name!r}; there are {sorted(BUNDLED_CHECKPOINTS)}")
    entry = BUNDLED_CHECKPOINTS[name]
    path = CHECKPOINT_DIR / entry.file
    if not path.is_file():
        raise BundledCheckpointError(f"{path} is missing; rebuild it with `{entry.command}`")
    actual = sha256_of(path)
    if actual != entry.sha256:
        raise BundledCheckpointError(f"{path} has sha256 {actual}, expected {entry.sha256}: it is corrupt or "
                                     f"was retrained without updating the catalogue; rebuild it with "
                                     f"`{entry.command}`")
    return path


def load_bundled_state_dict(name: str) -> dict:
    """The PyTorch state dict of a bundled checkpoint (verified, loaded with weights_only=True)."""
    import torch

    return torch.load(bundled_checkpoint(name), map_location="cpu", weights_only=True)
