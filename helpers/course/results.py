"""Headline results of a notebook (accuracies, losses, speedups), collected by `make run`.

A notebook calls `report("knn", accuracy_k1=0.274)`. The values are printed and merged, with
the scale they were measured at, into a JSON file of the form {"notebook": {"metric": value}}:
the file named by CS231N_RESULTS_FILE (set by `make run`, which collects each notebook's file
into build/results.json when it finishes), else build/results.json in the checkout.
recorded_results() reads what every notebook has reported so far.
"""

import math
import os
from pathlib import Path

from helpers import repo_root
from helpers.course.jsonstore import read_json, update_json
from helpers.course.scale import current_scale

RESULTS_VARIABLE = "CS231N_RESULTS_FILE"


def collected_results_path() -> Path:
    """build/results.json in the checkout, where `make run` collects every notebook's results."""
    return repo_root() / "build" / "results.json"


def results_path() -> Path:
    """The file report() writes to: CS231N_RESULTS_FILE when set, else collected_results_path()."""
    env = os.environ.get(RESULTS_VARIABLE)
    return Path(env) if env else collected_results_path()


def recorded_results(collected: Path | None = None) -> dict:
    """
    What every notebook has reported so far: {"notebook": {"metric": value, "scale": ...}}.

    Inputs:
    - collected: The collected results file (default collected_results_path())

    Returns:
    - The collected results, updated with those of the file report() writes to when that is
      another one (under `make run`, the running notebook's own file)
    """
    collected = collected_results_path() if collected is None else Path(collected)
    results = read_json(collected)
    if results_path().resolve() != collected.resolve():
        for notebook, metrics in read_json(results_path()).items():
            results.setdefault(notebook, {}).update(metrics)
    return results


def _plain(value):
    """Convert NumPy scalars and the like to JSON-friendly Python values."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def report(notebook: str, **metrics) -> dict:
    """
    Record headline metrics of a notebook, and the scale (quick or full) they were measured at.

    Inputs:
    - notebook: Notebook name without extension, e.g. "knn"
    - metrics: metric name -> number or string

    Returns:
    - The notebook's metrics as stored after the update.
    """
    if not metrics:
        raise ValueError("report() needs at least one metric, e.g. report('knn', accuracy_k1=0.27)")
    clean = {name: _plain(value) for name, value in metrics.items()}
    data = update_json(results_path(),
                       lambda data: data.setdefault(notebook, {}).update({**clean, "scale": current_scale()}))
    for name, value in clean.items():
        shown = f"{value:.4f}" if isinstance(value, float) else value
        print(f"[result] {notebook}.{name} = {shown}")
    return data[notebook]
