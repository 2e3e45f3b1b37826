"""The logit matrix a forecaster fits: targets first, then the input benchmarks, with gaps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import polars as pl

from obslaws.data import FitData

from .scale import to_logit


@dataclass
class LogitMatrix:
    models: pl.DataFrame
    benchmarks: tuple[str, ...]
    z: np.ndarray  # (n, J) logits, 0 where missing
    observed: np.ndarray  # (n, J) bool
    chance: np.ndarray  # (J,)

    @classmethod
    def build(cls, data: FitData, benchmarks: Sequence[str]) -> LogitMatrix:
        names = list(benchmarks)
        wide = data.matrix(names)
        y = wide.select(names).to_numpy().astype(float) if names else np.zeros((wide.height, 0))
        chance = np.array([data.chance(b) for b in names])
        observed = ~np.isnan(y)
        z = np.where(observed, to_logit(np.nan_to_num(y), chance), 0.0)
        return cls(data.models, tuple(names), z, observed, chance)


def input_benchmarks(data: FitData, targets: Sequence[str], min_models: int, limit: int) -> tuple[str, ...]:
    """Non-target benchmarks scored for at least ``min_models`` models, the ``limit`` most covered."""
    counts = (
        data.scores.filter(~pl.col("benchmark").is_in(list(targets)))
        .group_by("benchmark")
        .agg(pl.col("model_id").n_unique().alias("n"))
        .filter(pl.col("n") >= min_models)
        .sort(["n", "benchmark"], descending=[True, False])
    )
    return tuple(counts["benchmark"].head(limit).to_list())


@dataclass(eq=False)
class TargetCorrelations:
    """The non-target benchmarks scored for at least ``min_models`` models, most covered first, and
    their logit correlations with the targets, each computed once on first use: the input rules
    and the proxies of one fit all read them."""

    data: FitData
    targets: tuple[str, ...]
    min_models: int

    @cached_property
    def covered(self) -> tuple[str, ...]:
        return input_benchmarks(self.data, self.targets, self.min_models, 10**6)

    @cached_property
    def correlations(self) -> tuple[np.ndarray, np.ndarray]:
        """(inputs, targets) correlations of logits over the models that have both, and those counts."""
        return _target_correlations(self.data, self.targets, self.covered)


def relevant_inputs(
    data: FitData,
    targets: Sequence[str],
    min_models: int,
    limit: int,
    shrink: float = 20.0,
    known: TargetCorrelations | None = None,
) -> tuple[str, ...]:
    """Non-target benchmarks scored for at least ``min_models`` training models, the ``limit`` that
    say most about the targets: each target in turn takes its next most related benchmark, by
    |correlation| of logits over the models that have both, shrunk by n / (n + ``shrink``) (few
    common models: a noisy correlation). Ranking by coverage alone lets one suite's dozens of
    near-identical subtasks (BBH with and without CoT, two extraction rules each) crowd out the
    benchmarks that measure the targets' own skills (other GSM8K and MMLU runs, the Open LLM
    Leaderboard v2). ``known``: the fit's correlations, if already at hand."""
    known = known or TargetCorrelations(data, tuple(targets), min_models)
    covered = known.covered
    if len(covered) <= limit:
        return covered
    corr, common = known.correlations
    related = np.abs(corr) * common / (common + shrink)  # (inputs, targets)
    k = len(targets)
    ranked = [list(np.argsort(-related[:, t], kind="stable")) for t in range(k)]
    chosen: dict[int, None] = {}
    while len(chosen) < limit:
        for order in ranked:
            while order and order[0] in chosen:
                order.pop(0)
            if order and len(chosen) < limit:
                chosen[int(order.pop(0))] = None
    return tuple(covered[i] for i in sorted(chosen))


def _target_correlations(data: FitData, targets: Sequence[str], inputs: Sequence[str]) -> tuple[np.ndarray, ...]:
    """Correlations (inputs, targets) of logits over the models that have both, and those counts."""
    from .correlated import pairwise_correlation

    matrix = LogitMatrix.build(data, [*targets, *inputs])
    corr, common = pairwise_correlation(matrix.z, matrix.observed)
    k = len(targets)
    return corr[k:, :k], common[k:, :k]


def proxy_inputs(
    data: FitData, targets: Sequence[str], min_models: int, per_target: int, known: TargetCorrelations | None = None
) -> tuple[str, ...]:
    """Per target, the ``per_target`` benchmarks whose logits correlate most with its own over at
    least ``min_models`` training models (not shrunk for few models: another run of the same task,
    GSM8K with CoT, MMLU-Pro for MMLU, may be scored for few models and still be the best
    predictor of a model that has it). What the ridge on logits (``Config.on_logits``) may read
    besides the input rules' benchmarks. ``known``: the fit's correlations, if already at hand."""
    known = known or TargetCorrelations(data, tuple(targets), min_models)
    covered = known.covered
    if not covered:
        return ()
    corr, common = known.correlations
    strength = np.where(common >= min_models, np.abs(corr), -1.0)
    chosen = {int(i) for t in range(len(targets)) for i in np.argsort(-strength[:, t], kind="stable")[:per_target]}
    return tuple(covered[i] for i in sorted(chosen) if strength[i].max() >= 0)


def input_columns(
    data: FitData, targets: Sequence[str], min_models: int, limit: int, known: TargetCorrelations | None = None
) -> tuple[tuple[str, ...], dict[str, np.ndarray]]:
    """The input benchmarks of both rules (``coverage``: the most covered; ``relevance``: the most
    related to the targets), and per rule the columns it reads of the matrix ``[*targets,
    *inputs]`` (targets first). One rule only where both pick the same benchmarks. ``known``: the
    fit's correlations, if already at hand."""
    known = known or TargetCorrelations(data, tuple(targets), min_models)
    sets = {
        "coverage": known.covered[:limit],  # input_benchmarks(..., limit): the same order, cut
        "relevance": relevant_inputs(data, targets, min_models, limit, known=known),
    }
    if set(sets["relevance"]) == set(sets["coverage"]):
        del sets["relevance"]
    inputs = tuple(dict.fromkeys(b for names in sets.values() for b in names))
    position = {b: len(targets) + i for i, b in enumerate(inputs)}
    columns = {
        rule: np.array([*range(len(targets)), *(position[b] for b in names)], dtype=int) for rule, names in sets.items()
    }
    return inputs, columns
