"""Names that did not resolve, and the one lookup every source's names go through.

`lookup` is `ModelResolver.lookup` (ids and aliases, case-insensitively when unambiguous) plus
the bare repository name, since HELM and EEE prefix API models with their developer
(`openai/gpt-4o-2024-05-13`) where the registry keeps the API name (`gpt-4o-2024-05-13`).

Every ingest resolves a source's model names this way; a name that matches no model becomes a
new model, created by that ingest's source. So the names that did not resolve are exactly the
models whose creating source is not one of the registry's sources (`unresolved_models`).
`registry/unmatched_names.csv` explains the ones the registry knows will not match (HELM
serving variants, endpoint ids, models no registry table covers); the rest are new to it.
"""

from __future__ import annotations

import duckdb
import polars as pl

from obslaws.ingest.resolve import ModelResolver
from obslaws.registry import registry_dir
from obslaws.store.query import read_frame, registered


def lookup(resolver: ModelResolver, name: str) -> str | None:
    """The model `name` denotes: an id or alias (case-insensitively when unambiguous), else the
    bare repository name (`openai/gpt-4o-2024-05-13` finds `gpt-4o-2024-05-13`)."""
    found = resolver.lookup(name)
    if found is None and "/" in name:
        bare = resolver.lookup(name.split("/")[-1])
        # only an API name without a namespace: `ark/ep-1` must not find another developer's `deepseek/ep-1`
        found = bare if bare is not None and "/" not in bare else None
    return found


def _registry_explanations() -> dict[str, str]:
    path = registry_dir() / "unmatched_names.csv"
    if not path.exists():
        return {}
    frame = pl.read_csv(path, comment_prefix="#", infer_schema=False)
    return dict(zip(frame["name"], frame["reason"], strict=True))


def unresolved_models(conn: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """One row per model an ingest created: model_id, source_id, the names it was seen under,
    and the registry's explanation where it has one (else null)."""
    registry_sources = pl.read_csv(registry_dir() / "sources.csv", columns=["source_id"], infer_schema=False)
    with registered(conn, "_registry_sources", registry_sources):
        frame = read_frame(
            conn,
            """SELECT m.model_id, m.source_id,
                      string_agg(a.alias, ' | ' ORDER BY a.alias) FILTER (WHERE a.alias <> m.model_id) AS names
               FROM models m LEFT JOIN model_aliases a USING (model_id)
               WHERE m.source_id NOT IN (SELECT source_id FROM _registry_sources) AND m.checkpoint_of IS NULL
               GROUP BY m.model_id, m.source_id ORDER BY m.source_id, m.model_id""",
        )
    reasons = _registry_explanations()
    explained = [
        next((reasons[n] for n in [m, *(names or "").split(" | ")] if n in reasons), None)
        for m, names in zip(frame["model_id"], frame["names"], strict=True)
    ]
    return frame.with_columns(pl.Series("reason", explained, dtype=pl.String))
