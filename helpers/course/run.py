"""Run the whole course headless: `make run` (quick scale) or `make run SCALE=full`.

Executes every notebook in course order in a fresh kernel, writes the executed copy and
an HTML copy to build/<assignment>/, prints a summary table (notebook, status, time,
headline results) and writes the same to build/results.json as
{"notebook": {"metric": value, ..., "status": "ok", "seconds": 12.3, "scale": "quick"}}.
A notebook's entry is replaced only when its run finishes: an interrupted run (Ctrl-C) keeps
the previous results of the notebook it was running.

    python -m helpers.course.run [NAME ...]    only the notebooks whose name contains NAME
"""

import os
import re
import signal
import sys
import time
from pathlib import Path


def _interrupted_while_loading(signum, frame):
    print("\nInterrupted before any notebook started: nothing was changed.", file=sys.stderr)
    sys.exit(130)


if __name__ == "__main__":  # Ctrl-C while the libraries below load (seconds): stop without a traceback
    signal.signal(signal.SIGINT, _interrupted_while_loading)

import nbformat  # noqa: E402
from nbclient.exceptions import CellExecutionError  # noqa: E402
from nbconvert import HTMLExporter  # noqa: E402

from helpers import repo_root  # noqa: E402
from helpers.course.exercise import strict_mode  # noqa: E402
from helpers.course.jsonstore import read_json, update_json  # noqa: E402
from helpers.course.kernels import execute_all, running_notebook  # noqa: E402
from helpers.course.notebooks import course_notebooks  # noqa: E402
from helpers.course.scale import BLAS_THREAD_VARIABLES, current_scale, scale_threads  # noqa: E402

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def failure_summary(error: CellExecutionError, cell_index: int | None = None) -> str:
    """One line for a failed cell: the exception type and the first line of its message (for a failing
    check, the exercise's name and what differs), and the cell number."""
    name = getattr(error, "ename", "") or "Error"
    lines = [line.strip() for line in ANSI_ESCAPE.sub("", getattr(error, "evalue", "") or "").splitlines()
             if line.strip()]
    if not lines:  # an older nbclient: the last line of the traceback text
        lines = [line for line in ANSI_ESCAPE.sub("", str(error)).splitlines() if line.strip()][-1:] or ["error"]
        return lines[0][:200]
    message = lines[0]
    if message.endswith(":") and len(lines) > 1:  # "x does not match the reference:" then "- what differs"
        message = f"{message} {lines[1].lstrip('- ')}"
    where = f" (cell {cell_index + 1})" if cell_index is not None else ""
    return f"{name}: {message}"[:200] + where


def run_notebook(path: Path, build: Path) -> tuple[str, float, str, dict]:
    """
    Execute one notebook in a fresh kernel and save its executed and HTML copies under build/.

    Returns:
    - status: "ok" or "FAILED"
    - seconds: Execution time
    - detail: What failed, in one line, or ""
    - metrics: What the notebook reported with helpers.course.results.report
    """
    nb = nbformat.read(path, as_version=4)
    # The notebook reports into a file of its own; its entry in results.json is replaced
    # only once the run is over, so an interrupted run keeps the previous results.
    own_results = build / f".results-{path.stem}.json"
    own_results.unlink(missing_ok=True)
    os.environ["CS231N_NOTEBOOK"] = path.stem
    os.environ["CS231N_RESULTS_FILE"] = str(own_results)
    started = time.time()
    status, detail = "ok", ""
    try:
        with running_notebook(nb, path.parent) as client:
            try:
                execute_all(client)
            except CellExecutionError as error:
                failed = next((i for i, c in enumerate(nb.cells)
                               if any(o.get("output_type") == "error" for o in c.get("outputs", []))), None)
                status, detail = "FAILED", failure_summary(error, failed)
        metrics = read_json(own_results).get(path.stem, {})
    finally:
        own_results.unlink(missing_ok=True)
    seconds = time.time() - started
    out_dir = build / path.parent.name
    out_dir.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out_dir / path.name)
    html, _ = HTMLExporter().from_notebook_node(nb)
    (out_dir / path.with_suffix(".html").name).write_text(html)
    return status, seconds, detail, metrics


def format_metrics(metrics: dict) -> str:
    shown = []
    for key, value in metrics.items():
        if key in ("status", "seconds", "scale"):
            continue
        shown.append(f"{key}={value:.4g}" if isinstance(value, float) else f"{key}={value}")
    return ", ".join(shown)


def main(filters: list[str], root: Path | None = None) -> int:
    root = Path(root) if root is not None else repo_root()
    try:  # every setting is checked before any kernel starts
        scale = current_scale()
        strict = strict_mode()
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    # Kernels inherit the environment: NumPy's BLAS (and PyTorch, until a notebook sets its own
    # count) start with the scale's thread count, so full-scale numbers do not depend on the machine.
    os.environ.update({variable: str(scale_threads()) for variable in BLAS_THREAD_VARIABLES})
    build = root / "build"
    notebooks = [p for p in course_notebooks(root) if not filters or any(f in p.stem for f in filters)]
    if not notebooks:
        print(f"no notebook matches {filters}", file=sys.stderr)
        return 1
    build.mkdir(exist_ok=True)
    results_file = build / "results.json"
    print(f"Running {len(notebooks)} notebooks at the {scale} scale{' in strict mode' if strict else ''}; "
          f"executed copies go to {build}/")
    rows = []
    for i, path in enumerate(notebooks, 1):
        name = str(path.relative_to(root))
        print(f"[{i}/{len(notebooks)}] {name} ...", flush=True)
        try:
            status, seconds, detail, metrics = run_notebook(path, build)
        except KeyboardInterrupt:
            print(f"\nInterrupted while running {name}: its previous results in {results_file} are kept; "
                  f"{len(rows)} notebook(s) finished before it.", file=sys.stderr)
            return 130
        entry = {**metrics, "status": status.lower(), "seconds": round(seconds, 1), "scale": scale}
        update_json(results_file, lambda results, stem=path.stem, entry=entry: results.update({stem: entry}))
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
    signal.signal(signal.SIGINT, signal.default_int_handler)  # from here on, main() handles Ctrl-C
    sys.exit(main(sys.argv[1:]))
