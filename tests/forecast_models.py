"""Model tables for the forecaster's domain tests: families of a few sizes, some of them code."""

from __future__ import annotations

import datetime as dt

import polars as pl


def family_models(families: dict[str, tuple[bool, tuple[float, ...]]]) -> pl.DataFrame:
    """Family -> (code?, its sizes); families a month apart, one day between sizes, 1T tokens each."""
    rows = []
    for f, (name, (code, sizes)) in enumerate(families.items()):
        for i, params in enumerate(sizes):
            rows.append(
                {
                    "model_id": f"{name}-{i}",
                    "family": name,
                    "family_group": None,
                    "organization": f"org-{name}",
                    "domain": "code" if code else None,
                    "params": params,
                    "tokens": 1e12,
                    "flops": 6 * params * 1e12,
                    "release_date": dt.date(2022, 1, 1) + dt.timedelta(days=30 * f + i),
                    "instruct": False,
                }
            )
    return pl.DataFrame(rows)
