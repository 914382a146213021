"""Checkpoint files shared by every trainer of the course (Solver, CaptioningSolver, ...).

A checkpoint is a NumPy .npz archive: named arrays plus one JSON string of metadata under
the key "meta", whose "format" field names the writer. No pickle anywhere: arrays are read
with allow_pickle=False, and an object array is refused. A file is written to a hidden
temporary file beside it, flushed to disk and renamed, so an interrupted save never leaves
a half-written checkpoint; temporaries left by a killed process are swept by the next save
into the same folder.

What a trainer keeps in a checkpoint, and how it checks that the contents fit before it
applies any of them, is the trainer's business; this module only writes and reads files.
"""

import json
import os
import zipfile
from pathlib import Path

import numpy as np

TEMP_SUFFIX = ".tmp"


class CheckpointError(ValueError):
    """A checkpoint file is corrupt, incomplete, or does not fit the model and settings."""


def _temp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}{TEMP_SUFFIX}")


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def sweep_stale_temporaries(folder: Path) -> list[Path]:
    """
    Delete the temporary files of checkpoint saves whose process no longer runs
    (a save killed half-way), in `folder`.

    Returns:
    - The paths deleted
    """
    removed = []
    for tmp in Path(folder).glob(f".*.npz.*{TEMP_SUFFIX}"):
        pid = tmp.name[: -len(TEMP_SUFFIX)].rsplit(".", 1)[-1]
        if pid.isdigit() and int(pid) != os.getpid() and not _process_alive(int(pid)):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


def save_checkpoint(path, arrays: dict, meta: dict, format: str) -> Path:
    """
    Write a checkpoint atomically.

    Inputs:
    - path: Where to write (a .npz file); its folder must exist
    - arrays: Name -> NumPy array (numbers only; names may contain '/')
    - meta: JSON-serializable metadata (numbers, strings, lists, dicts)
    - format: Name and version of the writer, stored as meta["format"] and required on load

    Returns:
    - The path written, as a pathlib.Path
    """
    path = Path(path)
    if "meta" in arrays:
        raise ValueError("'meta' is reserved for the metadata; rename that array")
    for name, value in arrays.items():
        if np.asarray(value).dtype.kind not in "biuf":
            raise CheckpointError(f"cannot save {name!r}: dtype {np.asarray(value).dtype} is not numeric")
    sweep_stale_temporaries(path.parent)
    payload = {**arrays, "meta": np.array(json.dumps({**meta, "format": format}))}
    tmp = _temp_path(path)
    try:
        with open(tmp, "wb") as f:
            np.savez(f, **payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def load_checkpoint(path, format: str) -> tuple[dict, dict]:
    """
    Read and verify a checkpoint written by save_checkpoint with the same `format`.

    Returns a tuple of:
    - arrays: Name -> array, fully read into memory (every member's CRC is verified)
    - meta: The metadata dict

    Raises FileNotFoundError if the file is missing and CheckpointError if it is corrupt,
    holds non-numeric arrays, or was written by another writer.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
        meta = json.loads(str(arrays.pop("meta")))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise CheckpointError(f"checkpoint {path} is corrupt or not a checkpoint of the course "
                              f"({type(error).__name__}: {error})") from error
    if not isinstance(meta, dict) or meta.get("format") != format:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise CheckpointError(f"checkpoint {path} has format {found!r}, expected {format!r}")
    for name, value in arrays.items():
        if value.dtype.kind not in "biuf":
            raise CheckpointError(f"checkpoint {path}: array {name!r} has dtype {value.dtype}, expected numbers")
    return arrays, meta
