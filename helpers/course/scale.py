"""The scale switch: one environment variable picks quick or full runs.

    CS231N_SCALE=quick   small subsets and few iterations (the default: tests, first run)
    CS231N_SCALE=full    all of CIFAR-10 and the iteration counts that reach the targets

Notebooks never test the variable themselves; they call `pick`:

    num_iters = pick(quick=200, full=1500)

and PyTorch notebooks set their CPU threads with `use_scale_threads()`.
"""

import os

# The full-scale numbers the course quotes were measured with this many CPU threads. PyTorch splits
# a sum over its threads, so another thread count adds in another order and a long training run
# ends a few tenths of a percent elsewhere; a fixed count reproduces the numbers to the digit on any
# machine. `make run SCALE=full` gives NumPy's BLAS the same count.
FULL_SCALE_THREADS = 2
BLAS_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

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


def scale_threads() -> int:
    """CPU threads at the current scale: 1 at the quick scale (the tests run notebooks side by side),
    FULL_SCALE_THREADS at the full scale, whatever the machine has."""
    return pick(quick=1, full=FULL_SCALE_THREADS)


def use_scale_threads() -> int:
    """Set PyTorch's CPU threads to scale_threads() and return the count."""
    import torch  # only the PyTorch notebooks call this: the NumPy ones must not pay for the import

    torch.set_num_threads(scale_threads())
    return torch.get_num_threads()
