"""Every Python block of README.md and docs/*.md runs, the blocks of a page in order in one namespace.

A reader copies these; a renamed import or function fails only when run. Fragments that name a
connection or the ladder runs get them: ``conn`` (a copy of the registry database, which
``obslaws.connect()`` opens too) and ``ladder_ids`` (the OLMo ladder runs and their checkpoints).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, re.S)


PAGES_WITH_PYTHON = [p for p in PAGES if python_blocks(p.read_text(encoding="utf-8"))]


def test_the_docs_have_python_blocks() -> None:
    names = {p.name for p in PAGES_WITH_PYTHON}
    assert {"writing-a-fitter-plugin.md", "loss2loss.md", "ingestors.md"} <= names, names


@pytest.mark.parametrize("page", PAGES_WITH_PYTHON, ids=lambda p: p.name)
def test_every_python_block_runs(page: Path, registry_db: Path, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    import obslaws

    path = tmp_path / "docs.duckdb"
    shutil.copy(registry_db, path)
    monkeypatch.setenv("OBSLAWS_DB", str(path))
    conn = obslaws.connect()
    ladder = "SELECT model_id FROM models WHERE coalesce(checkpoint_of, model_id) LIKE 'allenai/olmo-ladder-%'"
    namespace = {"conn": conn, "ladder_ids": [m for (m,) in conn.execute(ladder).fetchall()]}
    for number, block in enumerate(python_blocks(page.read_text(encoding="utf-8")), 1):
        exec(compile(block, f"{page.name}, python block {number}", "exec"), namespace)  # noqa: S102
    conn.close()
