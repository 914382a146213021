"""The library's layout rules (CONTRIBUTING.md, "Conventions"): the import graph of helpers has no
cycles, and no CS231n-named module imports the course machinery (helpers.course)."""

import ast
from pathlib import Path

import pytest

HELPERS = Path(__file__).resolve().parent.parent / "helpers"


def module_name(path):
    parts = path.relative_to(HELPERS.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in HELPERS.rglob("*.py")}


def imports(path):
    """The helpers modules a file imports, at the top or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name in MODULES}


GRAPH = {name: imports(path) - {name} for name, path in MODULES.items()}


def find_cycle(graph):
    """One import cycle as a list of modules, or None."""
    state = {}

    def visit(node, stack):
        state[node] = "open"
        for child in sorted(graph[node]):
            if state.get(child) == "open":
                return stack[stack.index(child):] + [child]
            if child not in state:
                cycle = visit(child, stack + [child])
                if cycle:
                    return cycle
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node, [node])
            if cycle:
                return cycle
    return None


def test_the_import_graph_has_no_cycles():
    assert find_cycle(GRAPH) is None, " -> ".join(find_cycle(GRAPH))


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


# The flat modules (layers, solver, ...) and the classifiers; not the underscored one-home modules.
CS231N_NAMED = sorted(name for name, path in MODULES.items()
                      if path.parent == HELPERS and not path.name.startswith("_")
                      or path.parent.name == "classifiers" and path.name != "__init__.py")


@pytest.mark.parametrize("module", CS231N_NAMED)
def test_cs231n_named_modules_do_not_import_the_course_machinery(module):
    course = sorted(name for name in GRAPH[module] if name.startswith("helpers.course"))
    assert not course, f"{module} imports {course}"


def test_fast_layers_validate_without_the_naive_layers():
    assert "helpers.layers" not in GRAPH["helpers.fast_layers"]
    assert "helpers.layers" not in GRAPH["helpers.torch_layers"]


@pytest.mark.parametrize("module", sorted(name for name in MODULES if name.split(".")[-1].startswith("_")
                                          and not name.endswith("__main__")))
def test_the_one_home_modules_import_no_other_helpers_module(module):
    assert not GRAPH[module], f"{module} imports {sorted(GRAPH[module])}"
