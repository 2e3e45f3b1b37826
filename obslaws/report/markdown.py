"""Markdown for the report: numbers formatted once, tables laid out by tabulate."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from tabulate import tabulate


def fmt(value: Any, digits: int = 2) -> str:
    """A cell: ``–`` for missing, ``digits`` decimals (scientific below ``10**-digits``), else str."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}" if abs(value) >= 10 ** (-digits) or value == 0 else f"{value:.1e}"
    return str(value)


def _numeric(column: Sequence[Any]) -> bool:
    present = [v for v in column if v is not None]
    return bool(present) and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    """A pipe table (numbers right-aligned), as lines, followed by a blank line."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in header]
    align = tuple("right" if _numeric(column) else "left" for column in columns)
    text = tabulate(
        [[fmt(v) for v in row] for row in rows],
        headers=list(header),
        tablefmt="pipe",
        disable_numparse=True,
        colalign=align,
    )
    return text.splitlines() + [""]
