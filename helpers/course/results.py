"""Headline results of a notebook (accuracies, losses, speedups), collected by `make run`.

A notebook calls `report("knn", accuracy_k1=0.274)`. The values are printed and merged
into a JSON file of the form {"notebook": {"metric": value}}: the file named by
CS231N_RESULTS_FILE (set by `make run`), else build/results.json in the checkout.
"""

import math
import os
from pathlib import Path

from helpers import repo_root
from helpers.course.jsonstore import update_json

RESULTS_VARIABLE = "CS231N_RESULTS_FILE"


def results_path() -> Path:
    env = os.environ.get(RESULTS_VARIABLE)
    return Path(env) if env else repo_root() / "build" / "results.json"


def _plain(value):
    """Convert NumPy scalars and the like to JSON-friendly Python values."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def report(notebook: str, **metrics) -> dict:
    """
    Record headline metrics of a notebook.

    Inputs:
    - notebook: Notebook name without extension, e.g. "knn"
    - metrics: metric name -> number or string

    Returns:
    - The notebook's metrics as stored after the update.
    """
    if not metrics:
        raise ValueError("report() needs at least one metric, e.g. report('knn', accuracy_k1=0.27)")
    clean = {name: _plain(value) for name, value in metrics.items()}
    data = update_json(results_path(), lambda data: data.setdefault(notebook, {}).update(clean))
    for name, value in clean.items():
        shown = f"{value:.4f}" if isinstance(value, float) else value
        print(f"[result] {notebook}.{name} = {shown}")
    return data[notebook]
