"""The ``loss2loss`` fitter: the two-step task law (N, D) -> task loss -> benchmark score.

Step 1 fits a compute law L(N, D) to the task loss (for example bits per byte of the correct
answer) of final models (rows without ``checkpoint_of``); step 2 fits a sigmoid from task loss
to accuracy on every model and checkpoint that has both. ``predict`` chains them: a model's
parameters and tokens give its predicted task loss, and the sigmoid turns that into a score.

Both steps read smoothed evaluations, as the OLMo ladder's code does (``--moving_avg 5
--skip_perc 0.1``): a single in-loop evaluation is noisy (a few hundred to a few thousand
items), so step 1 takes the mean of a run's last ``moving_avg`` evaluations and step 2 a
trailing moving average of each run's series, without its first ``skip_fraction``.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import polars as pl

from obslaws.data import FitData
from obslaws.errors import FitterError
from obslaws.fitting.contract import Fitter, Requirements
from obslaws_loss2loss.laws import FORMS, LawFit, fit_law
from obslaws_loss2loss.sigmoid import SigmoidFit, fit_sigmoid


def resolve_loss_dataset(benchmark: str, datasets: list[str], mapping: dict[str, str] | None) -> str:
    """The loss data set that feeds ``benchmark``.

    An explicit ``mapping`` wins; otherwise the data set named like the benchmark, or like it
    without the ``olmo_`` prefix (the OLMo ladder's ``olmo_<task>`` scores and ``<task>`` task
    losses); otherwise the only loss data set there is.
    """
    if mapping and benchmark in mapping:
        if mapping[benchmark] not in datasets:
            raise FitterError(f"loss2loss: loss data set {mapping[benchmark]!r} (for {benchmark!r}) has no losses")
        return mapping[benchmark]
    for candidate in (benchmark, benchmark.removeprefix("olmo_")):
        if candidate in datasets:
            return candidate
    if len(datasets) == 1:
        return datasets[0]
    raise FitterError(
        f"loss2loss: no task-loss data set for benchmark {benchmark!r}; "
        f"pass loss_datasets={{{benchmark!r}: DATASET}} (known: {sorted(datasets)[:10]}...)"
    )


def _by_run(table: pl.DataFrame) -> pl.DataFrame:
    """Rows grouped by training run (a checkpoint's ``checkpoint_of``, else itself), in token order."""
    run = pl.coalesce("checkpoint_of", "model_id").alias("run")
    return table.with_columns(run).sort("run", pl.col("tokens").fill_null(math.inf), "model_id")


def _final_losses(table: pl.DataFrame, window: int) -> pl.DataFrame:
    """Final models, each with ``loss`` the mean of its run's last ``window`` evaluations."""
    means = _by_run(table).group_by("run", maintain_order=True).agg(pl.col("loss").tail(window).mean())
    finals = table.filter(pl.col("checkpoint_of").is_null()).drop("loss")
    return finals.join(means, left_on="model_id", right_on="run")


def _smoothed_series(table: pl.DataFrame, window: int, skip: float) -> pl.DataFrame:
    """Each run's (loss, score) series without its first ``skip`` share, trailing-averaged."""
    ordered = _by_run(table).with_columns(
        pl.int_range(pl.len()).over("run").alias("i"), pl.len().over("run").alias("n")
    )
    drop = pl.min_horizontal((pl.col("n") * skip).ceil().cast(pl.Int64), pl.col("n") - 1)
    kept = ordered.filter(pl.col("i") >= drop)
    return kept.with_columns(
        pl.col(c).rolling_mean(window_size=window, min_samples=1).over("run") for c in ("loss", "score")
    )


class Loss2LossFitter(Fitter):
    """Two-step task law: a compute law for the task loss, then a sigmoid to accuracy.

    Parameters
    ----------
    loss_datasets:
        ``{benchmark: loss data set}``; default: the data set named like the benchmark
        (without an ``olmo_`` prefix), see :func:`resolve_loss_dataset`.
    form:
        Step-1 law: ``chinchilla`` (A/N^alpha + B/D^beta + E, the OLMo ladder's) or ``kaplan``.
    huber_delta:
        Huber threshold on log residuals in step 1.
    n_refine:
        Step-1 grid starts refined by L-BFGS-B.
    anchor:
        Accuracy at zero task loss, added as a helper point in step 2 (``None``: none).
    moving_avg:
        Evaluations averaged (OLMo ladder: 5). Step 1 reads a final model's task loss as the
        mean over its last ``moving_avg`` evaluations (itself and its latest checkpoints, by
        tokens); step 2 smooths each run's loss and accuracy series with a trailing moving
        average of that width (shorter windows at the start). ``1``: raw evaluations.
    skip_fraction:
        Step 2 leaves out the first ``ceil(skip_fraction * n)`` of each run's ``n``
        evaluations (OLMo ladder: 0.1), never the final one.

    Notes
    -----
    ``predict`` needs ``params`` and ``tokens`` of every query model; it returns the chained
    prediction and no interval (``lower``/``upper`` null).
    """

    name = "loss2loss"
    check_hyperparameters: ClassVar[dict[str, Any]] = {"n_refine": 2}
    version = "2"
    requires = Requirements(
        needs=frozenset({"params", "tokens", "scores", "losses"}),
        min_models=5,
        # the OLMo ladder's two-step law: its runs, their checkpoints and their task losses
        default_benchmarks=("olmo_hellaswag_val_rc_5shot", "olmo_piqa_val_rc_5shot", "olmo_arc_easy_test_rc_5shot"),
        checkpoints=True,
    )

    def __init__(
        self,
        *,
        loss_datasets: dict[str, str] | None = None,
        form: str = "chinchilla",
        huber_delta: float = 1e-3,
        n_refine: int = 8,
        anchor: float | None = 1.0,
        moving_avg: int = 5,
        skip_fraction: float = 0.1,
    ) -> None:
        self.loss_datasets = loss_datasets
        self.form = form
        self.huber_delta = huber_delta
        self.n_refine = n_refine
        self.anchor = anchor
        self.moving_avg = moving_avg
        self.skip_fraction = skip_fraction

    def _fit(self, data: FitData) -> None:
        if self.form not in FORMS:
            raise FitterError(f"loss2loss: unknown form {self.form!r}; choose from {FORMS}")
        if int(self.moving_avg) < 1 or not 0.0 <= self.skip_fraction < 1.0:
            raise FitterError("loss2loss: moving_avg must be >= 1 and skip_fraction in [0, 1)")
        datasets = sorted(set(data.losses["dataset"].to_list()))
        if not datasets:
            raise FitterError("loss2loss: the data has no losses; it needs task losses (Requirements.needs: losses)")
        self.datasets_: dict[str, str] = {}
        self.laws_: dict[str, LawFit] = {}
        self.sigmoids_: dict[str, SigmoidFit] = {}
        models = data.models.select("model_id", "params", "tokens", "checkpoint_of")
        for bench in self.targets_:
            dataset = resolve_loss_dataset(bench, datasets, self.loss_datasets)
            losses = data.losses.filter(pl.col("dataset") == dataset)
            units = losses["unit"].unique().to_list()
            if len(units) > 1:
                raise FitterError(f"loss2loss: loss data set {dataset!r} has several units {units}; keep one")
            table = models.join(losses.select("model_id", pl.col("value").alias("loss")), on="model_id")
            finals = _final_losses(table, int(self.moving_avg)).filter(
                pl.col("params").is_not_null() & pl.col("tokens").is_not_null()
            )
            if finals.height < max(5, self.requires.min_models):
                raise FitterError(
                    f"loss2loss: {finals.height} final models with params, tokens and a {dataset!r} loss; need 5"
                )
            law = fit_law(
                finals["params"].to_numpy(),
                finals["tokens"].to_numpy(),
                finals["loss"].to_numpy(),
                form=self.form,
                delta=self.huber_delta,
                n_refine=self.n_refine,
            )
            scored = table.join(
                data.scores.filter(pl.col("benchmark") == bench).select("model_id", pl.col("value").alias("score")),
                on="model_id",
            )
            scored = _smoothed_series(scored, int(self.moving_avg), self.skip_fraction)
            sigmoid = fit_sigmoid(scored["loss"].to_numpy(), scored["score"].to_numpy(), anchor=self.anchor)
            self.datasets_[bench], self.laws_[bench], self.sigmoids_[bench] = dataset, law, sigmoid

    def predict_loss(self, query: FitData) -> pl.DataFrame:
        """Step 1 alone: the predicted task loss of every query model, per target benchmark."""
        models = query.models
        missing = models.filter(pl.col("params").is_null() | pl.col("tokens").is_null())
        if missing.height:
            raise FitterError(
                f"loss2loss: model {missing['model_id'][0]!r} has no params or tokens; the task law needs both"
            )
        n, d = models["params"].to_numpy(), models["tokens"].to_numpy()
        frames = [
            models.select("model_id").with_columns(
                pl.lit(bench).alias("benchmark"),
                pl.lit(self.datasets_[bench]).alias("dataset"),
                pl.Series("loss", self.laws_[bench].predict(n, d) if models.height else [], dtype=pl.Float64),
            )
            for bench in self.targets_
        ]
        return pl.concat(frames)

    def _predict(self, query: FitData) -> pl.DataFrame:
        losses = self.predict_loss(query)
        scores = np.concatenate(
            [
                self.sigmoids_[bench].predict(losses.filter(pl.col("benchmark") == bench)["loss"].to_numpy())
                for bench in self.targets_
            ]
        )
        return losses.select("model_id", "benchmark").with_columns(pl.Series("prediction", scores))

    def learned_parameters(self) -> dict[str, Any]:
        return {
            **super().learned_parameters(),
            "tasks": {
                bench: {
                    "loss_dataset": self.datasets_[bench],
                    "step1": self.laws_[bench].to_dict(),
                    "step2": self.sigmoids_[bench].to_dict(),
                }
                for bench in self.targets_
            },
        }
