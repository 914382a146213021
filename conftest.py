"""Test set-up for the whole repository (unit tests and nbval over the notebooks).

- nbval runs in lax mode in the current environment by default, so plain `pytest`
  validates the notebooks (`-p no:nbval` turns notebook collection off);
- with xdist, `--dist loadfile` keeps all cells of a notebook (one kernel) on one worker;
- the quick scale, a non-GUI matplotlib backend, and results/progress written to a
  temporary folder instead of build/.
"""

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "tests"))
os.environ.setdefault("MPLBACKEND", "agg")
os.environ["CS231N_SCALE"] = os.environ.get("CS231N_TEST_SCALE", "quick")


def pytest_configure(config):
    if config.pluginmanager.hasplugin("nbval"):
        if not (config.option.nbval or config.option.nbval_lax):
            config.option.nbval_lax = True
        config.option.nbval_current_env = True


@pytest.fixture(scope="session", autouse=True)
def _isolated_outputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("course-outputs")
    os.environ["CS231N_RESULTS_FILE"] = str(folder / "results.json")
    os.environ["CS231N_PROGRESS_FILE"] = str(folder / "progress.json")
