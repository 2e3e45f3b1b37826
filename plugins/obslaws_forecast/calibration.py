"""How interval widths follow the predicted score: chosen on inner folds, per kind of query model.

Widths are split-conformal quantiles of |logit residual| x spread(prediction) ** power
(``scale.spread``). With power 1 the width in points is about the same at every score level; a
smaller power widens the middle of the scale against the floor and the ceiling. Which holds
depends on the data: a benchmark whose inner folds are mostly near its floor (GSM8K before 2024)
has small errors there and large ones once later models reach the middle. Each kind takes the
power whose widths, computed without one of its fold groups (a time cut with its n = 0 and n = 1
variants together), cover that group closest to the nominal level, on average over its groups,
if power 1 falls short of it there (``choose_power``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

POWERS = (1.0, 0.75, 0.5)


def fold_group(name: str) -> str:
    """A time cut's n = 0 and n = 1 variants are one group (they share their test window)."""
    return name.split(" n=")[0]


def held_out_coverage(
    results: dict[str, object],
    level: float,
    power: float,
    widths_of: Callable[[list, float], dict],
    width_for: Callable[[dict, str, int], float],
) -> dict[str, float]:
    """Per fold group: the share of its hidden cells inside the widths computed on the other groups."""
    groups = dict.fromkeys(fold_group(f) for f in results)
    coverage = {}
    for group in groups:
        rest = [r for f, r in results.items() if fold_group(f) != group]
        held = [r for f, r in results.items() if fold_group(f) == group]
        if not rest:
            continue
        widths = widths_of(rest, power)
        scaled = np.concatenate([r.scaled(power) for r in held])
        cats = np.concatenate([r.categories for r in held])
        cols = np.concatenate([r.columns for r in held])
        bound = np.empty(scaled.size)
        for cat in np.unique(cats):  # one lookup per (category, benchmark), not per cell
            for j in np.unique(cols[cats == cat]):
                cell = (cats == cat) & (cols == j)
                bound[cell] = width_for(widths, str(cat), int(j))
        cells = scaled <= bound
        if cells.size:
            coverage[group] = float(cells.mean())
    return coverage


def choose_power(
    results: dict[str, object],
    level: float,
    widths_of: Callable[[list, float], dict],
    width_for: Callable[[dict, str, int], float],
    powers: Sequence[float] = POWERS,
) -> tuple[float, dict[str, dict[str, float]]]:
    """The first power (1: widths the same in points at every level) unless its held-out coverage
    falls short of ``level`` by more than twice its binomial standard error over the held-out
    cells; then the power whose held-out coverage is closest to ``level``.
    Falling short is the worse error (an interval that says 90% and holds 80% misleads), and the
    inner folds say least about the tails, so a narrower scaling is never taken to tighten
    intervals that already cover. Also every power's held-out coverage per group, for the record."""
    record = {f"power={p:g}": held_out_coverage(results, level, p, widths_of, width_for) for p in powers}
    means = [np.mean(list(c.values())) if c else np.nan for c in record.values()]
    cells = sum(r.residuals.size for r in results.values())
    tolerance = 2.0 * np.sqrt(level * (1.0 - level) / max(cells, 1))
    if not np.isfinite(means[0]) or means[0] >= level - tolerance:
        return powers[0], record
    gaps = [abs(m - level) if np.isfinite(m) else np.inf for m in means]
    return powers[int(np.argmin(gaps))], record
