"""Static parts of the TODO-cell contract, on every notebook (the executed parts are in
test_contract_assignment*.py)."""

import ast
import difflib
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


# ----------------------------------------------------------------------------- converted notebooks

# The notebooks whose every exercise has a realistic bug in tests/exercise_bugs.py and a docstring equal
# to its reference's. Each notebook joins this tuple once it is converted (issue 13); in the end it is
# every notebook with exercises.
COVERED_NOTEBOOKS = ("knn", "svm", "softmax", "two_layer_net", "features",
                     "FullyConnectedNets", "BatchNormalization", "Dropout", "ConvolutionalNetworks", "PyTorch",
                     "GANs", "StyleTransfer", "NetworkVisualization", "DetectionSegmentation",
                     "Transformer_Captioning", "RNN_Captioning", "LSTM_Captioning")


def covered_notebooks():
    by_stem = {path.stem: path for path in course_notebooks()}
    unknown = [stem for stem in COVERED_NOTEBOOKS if stem not in by_stem]
    assert not unknown, f"COVERED_NOTEBOOKS names no such notebook: {unknown}"
    return [by_stem[stem] for stem in COVERED_NOTEBOOKS]


def notebook_imports(nb) -> dict:
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
        exec(compile(ast.Module(body=imports, type_ignores=[]), "<notebook imports>", "exec"), namespace)
    return namespace


def exercise_docstring(cell_source: str, ex) -> str | None:
    """The docstring of the exercise's function (or method) as written in its cell."""
    tree = ast.parse(cell_source)
    for node in tree.body:
        if ex.method is None and isinstance(node, ast.FunctionDef) and node.name == ex.name:
            return ast.get_docstring(node)
        if ex.method is not None and isinstance(node, ast.ClassDef) and node.name == ex.name.split(".")[0]:
            for method in node.body:
                if isinstance(method, ast.FunctionDef) and method.name == ex.method:
                    return ast.get_docstring(method)
    raise AssertionError(f"exercise {ex.name} not found in its cell")


def test_every_exercise_of_the_covered_notebooks_has_a_realistic_bug():
    for notebook in covered_notebooks():
        names = {ex.name for ex in find_exercises(nbformat.read(notebook, as_version=4))}
        missing = sorted(names - set(BUGS.get(notebook.stem, {})))
        assert not missing, f"{notebook.stem}: tests/exercise_bugs.py has no bug for {missing}"


def test_exercise_docstrings_are_their_references_docstrings():
    for notebook in covered_notebooks():
        nb = nbformat.read(notebook, as_version=4)
        namespace = notebook_imports(nb)
        for ex in find_exercises(nb):
            reference = eval(ex.reference, namespace)  # noqa: S307 - the decorator argument, e.g. knn.predict_labels
            if ex.method is not None:
                reference = getattr(reference, ex.method)
            written = exercise_docstring(nb.cells[ex.cell_index].source, ex)
            expected = inspect.getdoc(reference)
            assert written == expected, (
                f"{notebook.stem}: the docstring of {ex.name} differs from that of {ex.reference}"
                f"{'.' + ex.method if ex.method else ''}:\n"
                + "\n".join(difflib.unified_diff((expected or "").splitlines(), (written or "").splitlines(),
                                                 "reference", "notebook", lineterm="")))
