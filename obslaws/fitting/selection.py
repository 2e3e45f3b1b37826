"""What a fitter can be fitted on: its default benchmarks, and the models and targets it can use.

``obslaws fit NAME`` with no ``--benchmarks`` fits the fitter's own default set
(``Requirements.default_benchmarks``); on any selection, :func:`usable_data` leaves out the models
that lack a covariate the fitter needs and the targets too few of the remaining models score, and
says so in one line, instead of letting the fitter refuse the whole selection.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import polars as pl

from obslaws.benchmark_sets import resolve_benchmarks
from obslaws.data import FitData
from obslaws.errors import FitterError
from obslaws.fitting.contract import Fitter

# The FitData.models column behind each covariate in Requirements.needs.
COVARIATE_COLUMNS = {
    "params": "params",
    "tokens": "tokens",
    "flops": "flops",
    "family": "family",
    "release_date": "release_date",
}
POSITIVE = ("params", "tokens", "flops")


def _has(column: str) -> pl.Expr:
    present = pl.col(column).is_not_null()
    return present & (pl.col(column) > 0) if column in POSITIVE else present


def with_covariates(data: FitData, needs: Sequence[str]) -> FitData:
    """Only the models that have every covariate in ``needs`` (sizes, tokens and FLOPs positive)."""
    columns = [COVARIATE_COLUMNS[n] for n in needs if n in COVARIATE_COLUMNS]
    keep = data.models.filter(pl.all_horizontal([_has(c) for c in columns]) if columns else pl.lit(True))
    return data.select_models(keep["model_id"].to_list())


def _examples(names: Sequence[str], limit: int = 3) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


@dataclass(frozen=True)
class Selection:
    """The data a fitter is fitted on, and what was left out of the requested selection.

    Attributes
    ----------
    data:
        The usable models and targets.
    lacking:
        Per covariate, the models left out for lacking it (a model is counted under its first).
    thin_targets:
        Targets left out because fewer than ``Requirements.min_models`` usable models score them.
    """

    data: FitData
    lacking: dict[str, list[str]]
    thin_targets: list[str]

    def note(self, fitter: str, min_models: int) -> str | None:
        """One line saying what was left out and why (``None`` when nothing was)."""
        parts = [
            f"{len(ids)} model(s) without {column} ({_examples(ids)})" for column, ids in self.lacking.items() if ids
        ]
        if self.thin_targets:
            parts.append(
                f"{len(self.thin_targets)} benchmark(s) scored for fewer than {min_models} of those models "
                f"({_examples(self.thin_targets)})"
            )
        return f"{fitter}: left out " + "; ".join(parts) if parts else None


def usable_data(fitter: Fitter, data: FitData) -> Selection:
    """The part of ``data`` that ``fitter`` can be fitted on.

    Leaves out the models that lack a covariate in ``fitter.requires.needs`` (positive sizes,
    tokens and FLOPs), then the targets fewer than ``requires.min_models`` of the remaining
    models score. Raises :class:`FitterError` when no target is left.
    """
    needs = [n for n in sorted(fitter.requires.needs) if n in COVARIATE_COLUMNS]
    models, lacking = data.models, {}
    for need in needs:
        column = COVARIATE_COLUMNS[need]
        lacking[column] = models.filter(~_has(column).fill_null(False))["model_id"].to_list()
        models = models.filter(_has(column).fill_null(False))
    kept = data.select_models(models["model_id"].to_list())
    counts = kept.scores.filter(pl.col("value").is_not_null()).group_by("benchmark").agg(pl.len().alias("n"))
    n_scored = dict(counts.iter_rows())
    minimum = fitter.requires.min_models
    thin = [t for t in data.targets if n_scored.get(t, 0) < minimum]
    targets = [t for t in data.targets if t not in thin]
    if not targets:
        raise FitterError(
            f"{fitter.name}: no target benchmark is scored for {minimum} or more models with "
            f"{', '.join(needs) or 'scores'}; name others with --benchmarks"
        )
    return Selection(kept.with_targets(targets), lacking, thin)


# (targets, source=, include_checkpoints=) -> FitData: load_fit_data on a connection, or the
# refresh's reader that reads each selection once.
ReadFitData = Callable[..., FitData]


def select_for(
    fitter: Fitter,
    read: ReadFitData,
    benchmarks: str | Sequence[str] | None = None,
    source: str | None = None,
    checkpoints: bool | None = None,
) -> Selection:
    """What ``fitter`` is fitted on: ``benchmarks`` (default: its ``Requirements.default_benchmarks``),
    with checkpoints when asked (default: ``Requirements.checkpoints``), less what it cannot use
    (:func:`usable_data`). ``obslaws fit`` and the refresh both choose their data this way.
    """
    targets = resolve_benchmarks(fitter.requires.default_benchmarks if benchmarks is None else benchmarks)
    include = fitter.requires.checkpoints if checkpoints is None else bool(checkpoints)
    return usable_data(fitter, read(targets, source=source, include_checkpoints=include))
