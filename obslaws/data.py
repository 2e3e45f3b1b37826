"""FitData: the shared table as polars frames, the only thing a fitter ever sees."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import polars as pl

MODEL_COLUMNS: dict[str, pl.DataType] = {
    "model_id": pl.String,
    "family": pl.String,
    "family_group": pl.String,
    "domain": pl.String,
    "variant": pl.String,
    "instruct": pl.Boolean,
    "params": pl.Float64,
    "params_total": pl.Float64,
    "params_non_embedding": pl.Float64,
    "tokens": pl.Float64,
    "flops": pl.Float64,
    "release_date": pl.Date,
    "checkpoint_of": pl.String,
    "step": pl.Int64,
}
SCORE_COLUMNS: dict[str, pl.DataType] = {
    "model_id": pl.String,
    "benchmark": pl.String,
    "value": pl.Float64,
    "stderr": pl.Float64,
}
LOSS_COLUMNS: dict[str, pl.DataType] = {
    "model_id": pl.String,
    "dataset": pl.String,
    "value": pl.Float64,
    "unit": pl.String,
    "tokens_seen": pl.Float64,
}
BENCHMARK_COLUMNS: dict[str, pl.DataType] = {
    "benchmark": pl.String,
    "metric": pl.String,
    "n_shots": pl.Int64,
    "chance": pl.Float64,
    "n_items": pl.Int64,
}
PREDICTION_COLUMNS: dict[str, pl.DataType] = {
    "model_id": pl.String,
    "benchmark": pl.String,
    "prediction": pl.Float64,
    "lower": pl.Float64,
    "upper": pl.Float64,
}


def prediction_frame(
    model_ids: Sequence[str],
    benchmarks: str | Sequence[str],
    prediction: Sequence[float],
    lower: Sequence[float] | None = None,
    upper: Sequence[float] | None = None,
) -> pl.DataFrame:
    """A ``predict()`` result: one row per model, NaN bounds as nulls (no interval).

    ``benchmarks`` is one name for every row, or one per row.
    """
    n = len(model_ids)
    names = [benchmarks] * n if isinstance(benchmarks, str) else list(benchmarks)
    missing = [float("nan")] * n
    frame = pl.DataFrame(
        {
            "model_id": list(model_ids),
            "benchmark": names,
            "prediction": prediction,
            "lower": missing if lower is None else lower,
            "upper": missing if upper is None else upper,
        },
        schema=PREDICTION_COLUMNS,
    )
    return frame.with_columns(pl.col("lower", "upper").fill_nan(None))


def conform(frame: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Cast to ``schema``'s columns and types, adding missing columns as nulls; extra columns stay."""
    exprs = [
        (pl.col(name).cast(dtype) if name in frame.columns else pl.lit(None, dtype=dtype)).alias(name)
        for name, dtype in schema.items()
    ]
    extra = [c for c in frame.columns if c not in schema]
    return frame.select(exprs + extra)


@dataclass(frozen=True)
class FitData:
    """The shared table, as a fitter sees it.

    Attributes
    ----------
    models:
        One row per model (the ``model_features`` view): ``model_id, family, family_group,
        domain`` (``code`` or ``math`` for a family trained mostly on them, null for a general
        model), ``variant, instruct, params`` (active parameters), ``params_total,
        params_non_embedding, tokens, flops`` (FLOPs; 6ND where not reported), ``release_date,
        checkpoint_of, step``.
    scores:
        Long table ``model_id, benchmark, value, stderr``: one preferred score per pair, in [0, 1]:
        the headline metric and shots; for a benchmark outside ``targets`` a model without a
        headline-setting score may have one whose shots its source does not state
        (``load_fit_data``'s ``unstated_inputs``).
    losses:
        Long table ``model_id, dataset, value, unit, tokens_seen``.
    benchmarks:
        ``benchmark, metric, n_shots, chance, n_items`` for every benchmark in ``scores``.
    targets:
        The benchmarks the caller wants predicted. A fitter fits these; other benchmarks in
        ``scores`` may serve as inputs.
    """

    models: pl.DataFrame
    scores: pl.DataFrame
    losses: pl.DataFrame
    benchmarks: pl.DataFrame
    targets: tuple[str, ...] = ()

    @classmethod
    def build(
        cls,
        models: pl.DataFrame,
        scores: pl.DataFrame | None = None,
        losses: pl.DataFrame | None = None,
        benchmarks: pl.DataFrame | None = None,
        targets: Sequence[str] | None = None,
    ) -> FitData:
        """Make a FitData from partial frames, filling missing columns with nulls."""
        scores = conform(scores if scores is not None else pl.DataFrame(), SCORE_COLUMNS)
        if benchmarks is None:
            names = sorted(set(scores["benchmark"].to_list()))
            benchmarks = pl.DataFrame({"benchmark": names, "chance": [0.0] * len(names)})
        benchmarks = conform(benchmarks, BENCHMARK_COLUMNS).with_columns(pl.col("chance").fill_null(0.0))
        if targets is None:
            targets = sorted(set(scores["benchmark"].to_list()))
        return cls(
            models=conform(models, MODEL_COLUMNS),
            scores=scores,
            losses=conform(losses if losses is not None else pl.DataFrame(), LOSS_COLUMNS),
            benchmarks=benchmarks,
            targets=tuple(targets),
        )

    # -- views ---------------------------------------------------------------------------------

    @property
    def model_ids(self) -> list[str]:
        return self.models["model_id"].to_list()

    def matrix(self, benchmarks: Sequence[str] | None = None) -> pl.DataFrame:
        """Wide scores: one row per model of ``models`` (in order), one column per benchmark."""
        names = list(benchmarks) if benchmarks is not None else list(self.targets)
        wide = self.scores.filter(pl.col("benchmark").is_in(names)).pivot(
            on="benchmark", index="model_id", values="value", aggregate_function="first"
        )
        out = self.models.select("model_id").join(wide, on="model_id", how="left")
        for name in names:
            if name not in out.columns:
                out = out.with_columns(pl.lit(None, dtype=pl.Float64).alias(name))
        return out.select(["model_id", *names])

    def chance(self, benchmark: str) -> float:
        """The chance level (lower asymptote) of ``benchmark``; 0 when unknown."""
        row = self.benchmarks.filter(pl.col("benchmark") == benchmark)
        return float(row["chance"][0]) if row.height and row["chance"][0] is not None else 0.0

    # -- derived data sets ---------------------------------------------------------------------

    def select_models(self, model_ids: Iterable[str]) -> FitData:
        """Only these models, with their scores and losses."""
        ids = [str(m) for m in model_ids]
        return replace(
            self,
            models=self.models.filter(pl.col("model_id").is_in(ids)),
            scores=self.scores.filter(pl.col("model_id").is_in(ids)),
            losses=self.losses.filter(pl.col("model_id").is_in(ids)),
        )

    def hide_scores(self, benchmarks: Iterable[str] | None = None) -> FitData:
        """The same models without the scores of ``benchmarks`` (default: the targets)."""
        names = list(benchmarks) if benchmarks is not None else list(self.targets)
        return replace(self, scores=self.scores.filter(~pl.col("benchmark").is_in(names)))

    def with_targets(self, targets: Sequence[str]) -> FitData:
        return replace(self, targets=tuple(targets))

    def content_hash(self) -> str:
        """A stable hash of everything a fitter can see: identical data gives the same hash."""
        digest = hashlib.sha256()
        for name, frame, keys in (
            ("models", self.models, ["model_id"]),
            ("scores", self.scores, ["model_id", "benchmark"]),
            ("losses", self.losses, ["model_id", "dataset", "unit"]),
            ("benchmarks", self.benchmarks, ["benchmark"]),
        ):
            digest.update(name.encode())
            ordered = frame.sort(keys) if frame.height else frame
            digest.update(ordered.write_csv().encode())
        digest.update(",".join(self.targets).encode())
        return digest.hexdigest()[:16]
