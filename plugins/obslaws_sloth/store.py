"""Writing a fit's interpretable skills to the tables of the plugin's migration 001_skills.sql."""

from __future__ import annotations

from typing import Any

import polars as pl

from obslaws.store import transaction, upsert

TERMS = ("log10_params", "log10_tokens", "log10_params*log10_tokens")


def skill_tables(
    fit_id: str, model_ids: list[str], benchmarks: list[str], families: list[str], interp: Any
) -> dict[str, pl.DataFrame]:
    """The four tables' rows for one :class:`~obslaws_sloth.rotation.Interpretation`."""
    d = interp.skills.shape[1]
    skills = list(range(1, d + 1))

    def long(names: list[str], key: str, values, column: str) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "fit_id": fit_id,
                key: [n for n in names for _ in skills],
                "skill": skills * len(names),
                column: [float(v) for row in values for v in row],
            },
            schema={"fit_id": pl.String, key: pl.String, "skill": pl.Int32, column: pl.Float64},
        )

    return {
        "skill_values": long(model_ids, "model_id", interp.skills, "value"),
        "skill_loadings": long(benchmarks, "benchmark", interp.loadings, "loading"),
        "skill_slopes": long(list(TERMS), "term", interp.slopes, "slope"),
        "skill_family_intercepts": long(families, "family", interp.intercepts, "intercept"),
    }


def write_skills(conn: Any, tables: dict[str, pl.DataFrame]) -> None:
    """Upsert the rows (idempotent: refitting the same fit rewrites the same rows)."""
    with transaction(conn):
        for name, frame in tables.items():
            upsert(conn, name, frame)
