"""Notebook kernels for `make run` and the tests: local (IPC) transport, so Jupyter has no reason to
warn that the kernel "is running over TCP without encryption", and every socket file is removed."""

import contextlib
import os
import tempfile
from pathlib import Path

from jupyter_client.manager import KernelManager
from nbclient import NotebookClient


@contextlib.contextmanager
def running_notebook(nb, folder: Path, timeout: int | None = None):
    """
    A NotebookClient for `nb` with a python3 kernel started in `folder` (the notebook's folder, so
    relative paths behave as in Jupyter), shut down and cleaned up on leaving the block.

    Inputs:
    - nb: The notebook (an nbformat node; executed cells are stored back into it)
    - folder: Working directory of the kernel
    - timeout: Seconds a cell may run (None: no limit)

    Yields:
    - The client: call `client.execute_cell(cell, index)`, or run everything with `execute_all(client)`
    """
    with tempfile.TemporaryDirectory(prefix="cs231n-kernel-") as sockets:
        manager = KernelManager(kernel_name="python3", transport="ipc", ip=os.path.join(sockets, "kernel"))
        client = NotebookClient(nb, km=manager, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(folder)}})
        try:
            with client.setup_kernel(cwd=str(folder)):
                yield client
        finally:
            if manager.has_kernel:
                manager.shutdown_kernel(now=True)


def execute_all(client) -> None:
    """Execute every cell of the client's notebook in order; raises CellExecutionError on a failing cell."""
    for index, cell in enumerate(client.nb.cells):
        client.execute_cell(cell, index)
