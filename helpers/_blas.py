"""BLAS thread control: small matrix products run on one thread.

A multi-threaded BLAS call ends with its threads waiting for each other. On a busy machine
(more runnable processes than cores) a waiting thread may not get a core for a whole time
slice, so a small product that one thread does in 5 ms can take 50 ms on two. Code that
issues many small products wraps them in `blas_threads_for(flops)`: products smaller than
THREADED_GEMM_FLOPS then run on one thread, big ones keep all of them.

Only the OpenBLAS bundled in NumPy's wheels is controlled (through its C entry points, the
library NumPy already loaded); with any other BLAS, blas_threads_for does nothing.
"""

import contextlib
import ctypes
from pathlib import Path

import numpy as np

THREADED_GEMM_FLOPS = 1e8


def find_openblas_threads() -> tuple | None:
    """(get, set) thread-count functions of the OpenBLAS inside NumPy's wheel, or None elsewhere."""
    for path in sorted((Path(np.__file__).parent.parent / "numpy.libs").glob("libscipy_openblas*")):
        try:
            lib = ctypes.CDLL(str(path))  # the library NumPy already loaded: same threads
        except OSError:
            continue
        for suffix in ("64_", ""):
            get = getattr(lib, f"scipy_openblas_get_num_threads{suffix}", None)
            set_ = getattr(lib, f"scipy_openblas_set_num_threads{suffix}", None)
            if get is not None and set_ is not None:
                return get, set_
    return None


OPENBLAS_THREADS = find_openblas_threads()


@contextlib.contextmanager
def blas_threads_for(flops: float):
    """Run the block's BLAS calls on one thread if each does fewer than THREADED_GEMM_FLOPS;
    the previous thread count is restored afterwards."""
    if OPENBLAS_THREADS is None or flops >= THREADED_GEMM_FLOPS:
        yield
        return
    get, set_ = OPENBLAS_THREADS
    previous = get()
    set_(1)
    try:
        yield
    finally:
        set_(previous)
