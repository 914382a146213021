"""Static parts of the TODO-cell contract, on every notebook (the executed parts are in
test_contract_assignment*.py)."""

import ast
import inspect

import nbformat
from exercise_bugs import BUGS
from notebook_tools import check_cell_index, course_notebooks, find_exercises


def test_every_exercise_has_a_check_cell():
    for notebook in course_notebooks():
        nb = nbformat.read(notebook, as_version=4)
        for ex in find_exercises(nb):
            check_cell_index(nb, ex)  # raises with the exercise's name when missing


def test_bugs_name_real_exercises():
    for notebook in course_notebooks():
        names = {ex.name for ex in find_exercises(nbformat.read(notebook, as_version=4))}
        unknown = set(BUGS.get(notebook.stem, {})) - names
        assert not unknown, f"{notebook.stem}: tests/exercise_bugs.py names no such exercise: {sorted(unknown)}"


# Notebooks held to the full contract of issues 7 and 13: every exercise has a realistic bug in
# tests/exercise_bugs.py, and every exercise's docstring is its reference's. Extend it with your notebooks.
COVERED_NOTEBOOKS = ("FullyConnectedNets", "BatchNormalization", "Dropout", "ConvolutionalNetworks", "PyTorch")


def covered_notebooks():
    notebooks = [p for p in course_notebooks() if p.stem in COVERED_NOTEBOOKS]
    assert {p.stem for p in notebooks} == set(COVERED_NOTEBOOKS), "COVERED_NOTEBOOKS names a notebook that is gone"
    return notebooks


def test_every_exercise_of_the_covered_notebooks_has_a_bug():
    for notebook in covered_notebooks():
        names = {ex.name for ex in find_exercises(nbformat.read(notebook, as_version=4))}
        missing = sorted(names - set(BUGS.get(notebook.stem, {})))
        assert not missing, f"{notebook.stem}: exercises without a realistic bug in tests/exercise_bugs.py: {missing}"


def _imports(nb) -> dict:
    """The namespace the notebook's import statements build (nothing else of the notebook runs)."""
    namespace = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        source = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        imports = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
        exec(compile(ast.Module(body=imports, type_ignores=[]), "<imports>", "exec"), namespace)
    return namespace


def _exercise_docstrings(nb):
    """(name, the notebook's docstring, the reference's docstring) for every exercise, and for every
    exercise class itself."""
    namespace = _imports(nb)
    for cell in nb.cells:
        if cell.cell_type != "code" or "@exercise(" not in cell.source:
            continue
        for node in ast.parse(cell.source).body:
            decorator = next((d for d in getattr(node, "decorator_list", []) if isinstance(d, ast.Call)
                              and getattr(d.func, "id", None) == "exercise"), None)
            if decorator is None:
                continue
            reference = eval(ast.get_source_segment(cell.source, decorator.args[0]), namespace)
            yield node.name, ast.get_docstring(node), inspect.getdoc(reference)
            if isinstance(node, ast.ClassDef):
                for method in node.body:
                    if isinstance(method, ast.FunctionDef):
                        yield (f"{node.name}.{method.name}", ast.get_docstring(method),
                               inspect.getdoc(getattr(reference, method.name)))


def test_exercise_docstrings_are_their_references_docstrings():
    for notebook in covered_notebooks():
        for name, mine, reference in _exercise_docstrings(nbformat.read(notebook, as_version=4)):
            assert mine == reference, (f"{notebook.stem}: the docstring of {name} differs from its reference's; "
                                       f"copy it from helpers:\n--- notebook\n{mine}\n--- reference\n{reference}")
