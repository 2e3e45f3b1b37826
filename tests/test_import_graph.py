"""The import graph of the ``obslaws`` package is acyclic.

The rule: every ``import`` of one obslaws module by another counts, at module level or inside a
function. A lazy (function-level) import keeps startup cheap, but it is still a dependency, and a
cycle through it breaks as soon as the call order changes; two modules that need each other are
one module, or a third one is missing. Only imports under ``if TYPE_CHECKING:`` are left out:
they never run (annotations only). ``from pkg import name`` is an edge to the submodule
``pkg.name`` where there is one, else to ``pkg``; importing a submodule is not counted as an edge
to its parent packages (Python runs their ``__init__`` first, but that is nesting, not a use).
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "obslaws"


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _is_type_checking(node: ast.AST) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)  # the `else:` of TYPE_CHECKING does run
        else:
            stack.extend(ast.iter_child_nodes(node))
    return found


def _imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, modules: set[str]) -> set[str]:
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names if alias.name in modules}
    base = node.module or ""
    if node.level:  # relative: from the module's package, up level - 1 packages
        package = module if is_package else module.rpartition(".")[0]
        parts = package.split(".")[: len(package.split(".")) - node.level + 1]
        base = ".".join([*parts, base] if base else parts)
    targets = {f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names}
    return targets & modules


def import_graph() -> dict[str, set[str]]:
    """obslaws module -> the obslaws modules it imports (see the module docstring for the rule)."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        edges: set[str] = set()
        for node in _imports(tree):
            edges |= _imported(node, module, path.name == "__init__.py", set(modules))
        graph[module] = edges - {module}
    return graph


def test_the_rule_sees_lazy_imports_and_skips_type_checking_ones():
    graph = import_graph()
    assert "obslaws.ingest.lm_eval_ingest" in graph["obslaws.ingest.builtin"]  # inside a function
    assert "obslaws.ingest.context" not in graph["obslaws.ingest.types"]  # under TYPE_CHECKING
    assert "obslaws.plugins" in graph["obslaws.ingest.plugins"]  # module level


def test_import_graph_is_acyclic():
    graph = import_graph()
    assert len(graph) > 50
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        cycle = exc.args[1]  # each node imports the one before it
        pytest.fail("import cycle: " + " -> ".join(reversed(cycle)))
