"""How interval widths follow the predicted score: chosen on inner folds, per kind of query model.

Widths are split-conformal quantiles of |logit residual| x spread(prediction) ** power
(``scale.spread``). With power 1 the width in points is about the same at every score level; a
smaller power widens the middle of the scale against the floor and the ceiling. Which holds
depends on the data: a benchmark whose inner folds are mostly near its floor (GSM8K before 2024)
has small errors there and large ones once later models reach the middle. Each kind takes the
power whose widths, computed without one of its fold groups (a time cut with its n = 0 and n = 1
variants together), cover that group closest to the nominal level, on average over its groups,
if power 1 falls short of it there (``choose_power``).

A kind's own folds may all miss the shift its queries face (the `inside` kind's family groups mix
every release date, while a rolling forecast's new families come after them all; at a small
compute cut-off the compute folds see no benchmark leave its floor). So a kind may also take,
cell by cell, the wider of its own widths and those of its configuration's residuals on every
inner fold; it does unless, leaving each of its fold groups out in turn, that moves the
worst-covered group's coverage further from the nominal level than its own widths do
(``choose_every_fold``).

A kind that asks its question on finer folds than the halves every fold's choices read (the
`cells` kind: quarters of every model's cells against halves) sees one more step of the same
shift: a quarter fold's fit lacks a quarter of the matrix, a query's fit none, as the halves'
lacks half. Inner folds predict worse than the fit the queries meet (on Epoch's hub, version 26's
`cells` widths covered 0.95-0.97 of the held-out cells), and that step is measured inside the
training data: the level of the kind's conformal quantile is the one whose widths on the halves
cover the quarters' cells closest to the nominal level (``transferred_level``, since version 27).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np

from .inner import DRAW, DRAWN_SETS, OWN_ONLY

POWERS = (1.0, 0.75, 0.5)
# the levels ``transferred_level`` tries: the nominal level moved by up to 0.15 down (0.09 up), in 0.01 steps
LEVEL_SPAN = (0.15, 0.09)
# the record of ``transferred_level`` in the fit's ``compared``, after "<kind>: "
LEVEL_RECORD = "coverage of the finer folds' cells by the coarser folds' widths, per level"
# the record of ``choose_every_fold`` in the fit's ``compared``, after "<kind>: "
WIDTHS_FROM = "held-out coverage, widths of own folds / the wider of own and every fold"


def fold_group(name: str) -> str:
    """A time cut's n = 0 and n = 1 variants are one group (they share their test window), as are
    the compute folds tested on the largest quarter (``compute >q75`` and ``compute >q75 from q50``)."""
    return name.split(" n=")[0].split(OWN_ONLY)[0]


def draw_of(name: str) -> tuple[str, int] | None:
    """A randomly drawn fold's set and draw (``groups 2/3 draw 2`` -> ("groups", 2); the first draw's
    folds carry no mark); None for a fold placed by date or compute, which every draw shares."""
    kind = name.split(" ")[0]
    if kind not in DRAWN_SETS:
        return None
    return kind, int(name.split(DRAW)[1]) if DRAW in name else 1


def other_draw(fold: str, group: str) -> bool:
    """Whether ``fold`` is another draw of the random set that fold group ``group`` was drawn in: its
    test cells overlap the group's, so it says nothing about the group from without (``inner_folds``'
    repeated draws: each draw's groups are left out against that draw's other groups alone)."""
    a, b = draw_of(fold), draw_of(group)
    return a is not None and b is not None and a[0] == b[0] and a[1] != b[1]


def apart(fold: str, group: str) -> bool:
    """Whether ``fold`` may inform a choice tested on fold group ``group``: outside it, and not
    another draw of its random set."""
    return fold_group(fold) != group and not other_draw(fold, group)


def rest_of(pool: list[str], held: list[str], group: str) -> list[str]:
    """The folds of ``pool`` a choice tested on ``held`` (fold group ``group``) may be made on: not
    held, and not another draw of its random set (``other_draw``)."""
    return [f for f in pool if f not in held and not other_draw(f, group)]


def within(folds: list[str], group: str) -> list[str]:
    """The folds of ``folds`` in fold group ``group``."""
    return [f for f in folds if fold_group(f) == group]


def without(folds: list[str], group: str) -> list[str]:
    """The folds of ``folds`` that may inform a choice tested on fold group ``group`` (``apart``)."""
    return [f for f in folds if apart(f, group)]


def leave_group_out(folds: list[str]) -> Iterator[tuple[str, list[str], list[str]]]:
    """Per fold group of ``folds`` (in order of first appearance): the group, its folds and the others."""
    for group in dict.fromkeys(fold_group(f) for f in folds):
        yield group, within(folds, group), without(folds, group)


def held_out_groups(
    results: dict[str, object],
    power: float,
    widths_of: Callable[[list, float], dict],
    width_for: Callable[[dict, str, int], float],
    every: dict[str, object] | None = None,
) -> Iterator[tuple[str, list, np.ndarray]]:
    """Per fold group of ``results`` that has another (in order of first appearance): the group, its
    results and, per hidden cell of theirs in order, its width computed on the other groups (with
    ``every``: the wider of that and the width of ``every``'s folds outside the group)."""
    for group in dict.fromkeys(fold_group(f) for f in results):
        rest = [r for f, r in results.items() if apart(f, group)]
        held = [r for f, r in results.items() if fold_group(f) == group]
        if not rest:
            continue
        widths = widths_of(rest, power)
        others = [r for f, r in (every or {}).items() if apart(f, group)]
        bound = cell_widths(held, widths, width_for)
        if others:
            bound = np.maximum(bound, cell_widths(held, widths_of(others, power), width_for))
        yield group, held, bound


def cell_widths(results: list, widths: dict, width_for: Callable[[dict, str, int], float]) -> np.ndarray:
    """Per hidden cell of ``results`` (in order), the width ``width_for`` reads for it in ``widths``:
    one lookup per (category, benchmark), not per cell."""
    cats = np.concatenate([r.categories for r in results])
    cols = np.concatenate([r.columns for r in results])
    bound = np.empty(cats.size)
    for cat in np.unique(cats):
        for j in np.unique(cols[cats == cat]):
            bound[(cats == cat) & (cols == j)] = width_for(widths, str(cat), int(j))
    return bound


def held_out_coverage(
    results: dict[str, object],
    level: float,
    power: float,
    widths_of: Callable[[list, float], dict],
    width_for: Callable[[dict, str, int], float],
    every: dict[str, object] | None = None,
) -> dict[str, float]:
    """Per fold group: the share of its hidden cells inside the widths computed on the other groups
    (with ``every``: the wider, cell by cell, of those and the widths of ``every``'s folds outside
    the group)."""
    coverage = {}
    for group, held, bound in held_out_groups(results, power, widths_of, width_for, every):
        cells = np.concatenate([r.scaled(power) for r in held]) <= bound
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


def choose_every_fold(
    results: dict[str, object],
    every: dict[str, object],
    level: float,
    power: float,
    widths_of: Callable[[list, float], dict],
    width_for: Callable[[dict, str, int], float],
) -> tuple[bool, dict[str, dict[str, float]]]:
    """Whether a kind's widths should be, cell by cell, the wider of those of its own folds
    (``results``) and those of its configuration on ``every`` inner fold: yes unless, leaving each
    of its fold groups out in turn, that puts the worst-covered group further from ``level`` than
    its own widths do (a tie takes the wider: the held-out groups cannot tell them apart, and a
    forward question is one group, shifted from the rest). A kind with one fold group keeps its own.
    Also both rules' held-out coverage per group, for the record."""
    record = {
        "own folds": held_out_coverage(results, level, power, widths_of, width_for),
        "own and every fold": held_out_coverage(results, level, power, widths_of, width_for, every),
    }
    if not record["own folds"]:
        return False, record
    own, both = (min(coverage.values()) for coverage in record.values())
    return bool(abs(both - level) <= abs(own - level)), record


def transferred_level(
    fine: list,
    coarse: list,
    level: float,
    power: float,
    widths_at: Callable[[list, float, float], dict],
    width_for: Callable[[dict, str, int], float],
) -> tuple[float, dict[str, float]]:
    """The level of a kind's conformal quantile: the one whose widths on its ``coarse`` folds' results
    (``widths_at(results, level, power)``) cover its ``fine`` folds' hidden cells closest to ``level``
    (of the levels ``LEVEL_SPAN`` allows, the nearest ``level`` among equals); ``level`` itself
    where either is empty. Also each level's coverage, for the record."""
    if not fine or not coarse:
        return level, {}
    scaled = np.concatenate([r.scaled(power) for r in fine])
    if not scaled.size:
        return level, {}
    down, up = LEVEL_SPAN
    steps = range(-round(100 * down), round(100 * min(up, 0.99 - level)) + 1)
    record: dict[str, float] = {}
    for tried in sorted((round(level + s / 100, 2) for s in steps), key=lambda t: (abs(t - level), t)):
        bound = cell_widths(fine, widths_at(coarse, tried, power), width_for)
        record[f"level={tried:.2f}"] = float(np.mean(scaled <= bound))
    chosen = min(record, key=lambda name: abs(record[name] - level))  # the first of equals: nearest the nominal
    return float(chosen.split("=")[1]), record
