"""Strip outputs and execution counts from notebooks, so a diff shows only what changed.

    python tools/clean_notebooks.py [NOTEBOOK ...]     (default: every course notebook)
"""

import sys
from pathlib import Path

import nbformat

from helpers.course.notebooks import course_notebooks

VOLATILE_METADATA = ("execution", "collapsed", "scrolled", "ExecuteTime")


def clean(path: Path) -> bool:
    """Clean one notebook in place; return True when it changed."""
    nb = nbformat.read(path, as_version=4)
    before = nbformat.writes(nb)
    for cell in nb.cells:
        for key in VOLATILE_METADATA:
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nb.metadata.pop("widgets", None)
    after = nbformat.writes(nb)
    if after != before:
        path.write_text(after + ("" if after.endswith("\n") else "\n"))
        return True
    return False


if __name__ == "__main__":
    paths = [Path(p) for p in sys.argv[1:]] or course_notebooks()
    for p in paths:
        if clean(p):
            print(f"cleaned {p}")
