"""The scale switch: one environment variable picks quick or full runs.

    CS231N_SCALE=quick   small subsets and few iterations (the default: tests, first run)
    CS231N_SCALE=full    all of CIFAR-10 and the iteration counts that reach the targets

Notebooks never test the variable themselves; they call `pick`:

    num_iters = pick(quick=200, full=1500)
"""

import os

SCALE_VARIABLE = "CS231N_SCALE"
SCALES = ("quick", "full")


def current_scale() -> str:
    """Return 'quick' or 'full'; reject anything else with a message naming the variable."""
    value = os.environ.get(SCALE_VARIABLE, "quick").strip().lower() or "quick"
    if value not in SCALES:
        raise ValueError(f"{SCALE_VARIABLE} must be one of {SCALES}, got {value!r}")
    return value


def is_full() -> bool:
    return current_scale() == "full"


def pick(quick, full):
    """Return `full` at the full scale and `quick` otherwise."""
    return full if is_full() else quick
