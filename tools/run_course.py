"""Run the whole course headless: `make run` (quick scale) or `make run SCALE=full`.

Executes every notebook in course order in a fresh kernel, writes the executed copy and
an HTML copy to build/<assignment>/, prints a summary table (notebook, status, time,
headline results) and writes the same to build/results.json as
{"notebook": {"metric": value, ..., "status": "ok", "seconds": 12.3, "scale": "quick"}}.

    python tools/run_course.py [NAME ...]      only the notebooks whose name contains NAME
"""

import json
import os
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbconvert import HTMLExporter

ROOT = Path(__file__).resolve().parent.parent
COURSE_ORDER = [
    "assignment1/knn", "assignment1/svm", "assignment1/softmax", "assignment1/two_layer_net", "assignment1/features",
    "assignment2/FullyConnectedNets", "assignment2/BatchNormalization", "assignment2/Dropout",
    "assignment2/ConvolutionalNetworks", "assignment2/PyTorch",
    "assignment3/RNN_Captioning", "assignment3/LSTM_Captioning", "assignment3/Transformer_Captioning",
    "assignment3/NetworkVisualization", "assignment3/StyleTransfer", "assignment3/GANs",
]


def course_notebooks(root: Path = ROOT) -> list[Path]:
    found = {str(p.relative_to(root).with_suffix("")): p for p in root.glob("assignment*/*.ipynb")}
    ordered = [found.pop(name) for name in COURSE_ORDER if name in found]
    return ordered + [found[name] for name in sorted(found)]


ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def first_error_line(error: CellExecutionError) -> str:
    """The exception line of a failed cell, without the terminal colours of IPython's traceback."""
    lines = [line for line in ANSI_ESCAPE.sub("", str(error)).splitlines() if line.strip()]
    return lines[-1][:160] if lines else "error"


def run_notebook(path: Path, results_file: Path, build: Path) -> tuple[str, float, str]:
    nb = nbformat.read(path, as_version=4)
    os.environ["CS231N_NOTEBOOK"] = path.stem
    os.environ["CS231N_RESULTS_FILE"] = str(results_file)
    started = time.time()
    status, detail = "ok", ""
    try:
        NotebookClient(nb, timeout=None, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    except CellExecutionError as error:
        status, detail = "FAILED", first_error_line(error)
    seconds = time.time() - started
    out_dir = build / path.parent.name
    out_dir.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out_dir / path.name)
    html, _ = HTMLExporter().from_notebook_node(nb)
    (out_dir / path.with_suffix(".html").name).write_text(html)
    return status, seconds, detail


def format_metrics(metrics: dict) -> str:
    shown = []
    for key, value in metrics.items():
        if key in ("status", "seconds", "scale"):
            continue
        shown.append(f"{key}={value:.4g}" if isinstance(value, float) else f"{key}={value}")
    return ", ".join(shown)


def main(filters: list[str], root: Path = ROOT) -> int:
    build = root / "build"
    notebooks = [p for p in course_notebooks(root) if not filters or any(f in p.stem for f in filters)]
    if not notebooks:
        print(f"no notebook matches {filters}")
        return 1
    scale = os.environ.get("CS231N_SCALE", "quick") or "quick"
    build.mkdir(exist_ok=True)
    results_file = build / "results.json"
    results = json.loads(results_file.read_text()) if results_file.exists() and filters else {}
    for path in notebooks:
        results.pop(path.stem, None)
    results_file.write_text(json.dumps(results, indent=2) + "\n")
    print(f"Running {len(notebooks)} notebooks at the {scale} scale; executed copies go to {build}/")
    rows = []
    for i, path in enumerate(notebooks, 1):
        name = str(path.relative_to(root))
        print(f"[{i}/{len(notebooks)}] {name} ...", flush=True)
        status, seconds, detail = run_notebook(path, results_file, build)
        results = json.loads(results_file.read_text())
        entry = results.setdefault(path.stem, {})
        entry.update(status=status.lower(), seconds=round(seconds, 1), scale=scale)
        results_file.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
        print(f"    {status} in {seconds:.0f} s" + (f": {detail}" if detail else ""), flush=True)
        rows.append((name, status, seconds, detail or format_metrics(entry)))
    width = max(len(r[0]) for r in rows)
    print(f"\n{'notebook':{width}}  status  time     results")
    for name, status, seconds, text in rows:
        print(f"{name:{width}}  {status:6}  {seconds:6.0f}s  {text}")
    total = sum(r[2] for r in rows)
    failed = [r[0] for r in rows if r[1] != "ok"]
    print(f"\n{len(rows) - len(failed)} passed, {len(failed)} failed in {total:.0f} s; results in {results_file}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
