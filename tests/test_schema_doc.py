"""The documented schema (docs/schema.md) is generated from the migrations and must not drift."""

from __future__ import annotations

from pathlib import Path

from obslaws.store.schema_doc import schema_markdown

DOC = Path(__file__).resolve().parents[1] / "docs" / "schema.md"


def test_schema_doc_is_current():
    assert DOC.read_text(encoding="utf-8") == schema_markdown() + "\n", (
        "docs/schema.md is out of date: run `obslaws schema > docs/schema.md`"
    )


def test_every_table_and_view_is_described():
    text = schema_markdown()
    for block in text.split("\n## ")[1:]:
        name, _, rest = block.partition("\n")
        description = rest.strip().split("\n")[0]
        assert description and not description.startswith("|"), f"{name} has no COMMENT in its migration"
