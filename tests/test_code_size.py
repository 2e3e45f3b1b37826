"""The project's size rule: no module over ~400 lines, no function over ~80.

Walks every Python file of the package, the plugins, the scripts and the example plugin with
``ast``. The exceptions are named one by one; each is work still open, not a licence.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("obslaws", "plugins", "scripts", "examples")
MODULE_LINES = 400
FUNCTION_LINES = 80

# Folders still being reworked by their owners (speed and forecasting work); checked once they settle.
EXEMPT_FOLDERS: tuple[str, ...] = ()
# Modules and functions ("path::name") over the limit, until they are split.
EXEMPT_MODULES: set[str] = set()
EXEMPT_FUNCTIONS: set[str] = set()


def _sources() -> list[Path]:
    return sorted(p for folder in FOLDERS for p in (ROOT / folder).rglob("*.py") if ".venv" not in p.parts)


def _oversized() -> tuple[list[str], set[str]]:
    modules, functions = [], set()
    for path in _sources():
        name = path.relative_to(ROOT).as_posix()
        if name.startswith(EXEMPT_FOLDERS):
            continue
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > MODULE_LINES and name not in EXEMPT_MODULES:
            modules.append(f"{name} ({len(text.splitlines())} lines)")
        for node in ast.walk(ast.parse(text, filename=name)):
            is_function = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            if is_function and node.end_lineno - node.lineno + 1 > FUNCTION_LINES:
                functions.add(f"{name}::{node.name}")
    return modules, functions


def test_no_module_or_function_over_the_limit():
    modules, functions = _oversized()
    assert not modules, f"modules over {MODULE_LINES} lines: {modules}"
    assert functions <= EXEMPT_FUNCTIONS, (
        f"functions over {FUNCTION_LINES} lines: {sorted(functions - EXEMPT_FUNCTIONS)}"
    )
