"""The one way the course updates its JSON files (results, progress): read, change, write,
under an exclusive lock, through a temporary file and a rename, so that two notebooks
reporting at once never lose each other's entries and an interrupted write never leaves
half a file."""

import fcntl
import json
import os
from collections.abc import Callable
from pathlib import Path


def read_json(path: Path) -> dict:
    """The JSON object stored at `path`; {} when the file is missing or empty."""
    path = Path(path)
    if not path.exists() or not path.stat().st_size:
        return {}
    data = json.loads(path.read_text())
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a JSON object, got {type(data).__name__}")
    return data


def update_json(path: Path, change: Callable[[dict], None]) -> dict:
    """
    Apply `change` to the JSON object stored at `path` and write it back atomically.

    Inputs:
    - path: The JSON file (created with its folder when missing)
    - change: Function that modifies the dict it is given in place

    Returns:
    - The dict as written
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = read_json(path)
        change(data)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    return data
