"""Reference library for the CS231n-style course.

Modules mirror the course's own names (layers, optim, solver, classifiers, ...), so
lecture notes and forum answers written against CS231n's code map one to one.
The notebooks import from here; see README.md for the course map.
"""

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def repo_root() -> Path:
    """The course checkout this package was installed from (editable install),
    or the current directory when helpers is installed elsewhere."""
    candidate = PACKAGE_DIR.parent
    if (candidate / "pyproject.toml").exists() and (candidate / "assignment1").exists():
        return candidate
    return Path.cwd()
