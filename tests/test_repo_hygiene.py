"""The repository stays clean: notebooks without outputs, ruff-clean code, no committed binaries."""

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from notebook_tools import course_notebooks

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("notebook", course_notebooks(), ids=lambda p: p.stem)
def test_notebook_is_clean(notebook):
    nb = nbformat.read(notebook, as_version=4)
    nbformat.validate(nb)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, (f"{notebook.name}: cells {dirty} have outputs or execution counts; "
                       f"run `python tools/clean_notebooks.py {notebook.relative_to(ROOT)}`")
    # e.g. "\approx" written through a Python string without r"": "\a" is the bell character
    garbled = [i for i, c in enumerate(nb.cells) if re.search(r"[\x00-\x08\x0b-\x1f]", c.source)]
    assert not garbled, f"{notebook.name}: cells {garbled} hold control characters (an unescaped backslash?)"


@pytest.mark.parametrize("notebook", course_notebooks(), ids=lambda p: p.stem)
def test_pytorch_notebooks_run_on_the_scales_thread_count(notebook):
    # a notebook that let PyTorch take every core would give other digits on another machine
    code = "\n".join(c.source for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "code")
    if re.search(r"^(import torch|from torch)\b", code, re.MULTILINE):
        assert "use_scale_threads()" in code and "torch.set_num_threads" not in code, (
            f"{notebook.name} imports torch: call helpers.course.scale.use_scale_threads() in its first cell")


def test_ruff_clean():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", str(ROOT)],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_compiled_files_are_tracked():
    tracked = subprocess.run(["git", "ls-files"], capture_output=True, text=True, cwd=ROOT).stdout.split()
    if not tracked:
        pytest.skip("not a git checkout")
    binaries = [f for f in tracked if f.endswith((".so", ".pyd", ".o")) or f == "helpers/im2col_cython.c"]
    assert not binaries, f"compiled files are committed: {binaries}"
