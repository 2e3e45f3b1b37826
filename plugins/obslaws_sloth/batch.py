"""Family-holdout backtests with every fold fitted in one batched program.

Same protocol, splits and metrics as :func:`obslaws.backtest.run_backtest` (it uses the
harness's own :class:`~obslaws.backtest.FamilyHoldout` and :func:`~obslaws.backtest.summarise`),
but the folds are fitted together with :meth:`SlothFitter.fit_many`. Nothing is written to the
database; use ``run_backtest`` for a recorded run.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from obslaws.backtest import FamilyHoldout, Split, summarise
from obslaws.backtest.metrics import cell_stderr
from obslaws.benchmark_sets import resolve_benchmarks
from obslaws.data import FitData
from obslaws_sloth.design import query_weights
from obslaws_sloth.fitter import SlothFitter


@dataclass
class BatchBacktest:
    """Splits, fitted fold models, test cells (``split, model_id, benchmark, truth, prediction,
    lower, upper, stderr``) and the harness summary."""

    splits: list[Split]
    fitted: list[SlothFitter]
    queries: list[FitData]
    cells: pl.DataFrame
    duration_s: float

    def summary(self) -> dict:
        return summarise(self.cells, FamilyHoldout.averaging)

    def member_predictions(self, link: str = "full") -> pl.DataFrame:
        """Test predictions of every ensemble member, unaveraged: ``split, model_id, benchmark,
        seed, d, link, prediction`` (``link="basic"``: each member's basic-stage fit), for
        studying seeds and ``d`` without refitting."""
        frames = []
        for split, model, query in zip(self.splits, self.fitted, self.queries, strict=True):
            x = model.design_.covariates(query.models)
            weights = query_weights(model.design_, query.models)
            for m in model.members_:
                member = m.model if link == "full" else m.basic
                pred = member.predict(x, weights, model.design_.chance)
                for j, bench in enumerate(model.targets_):
                    frames.append(
                        pl.DataFrame(
                            {
                                "split": split.name,
                                "model_id": query.models["model_id"],
                                "benchmark": bench,
                                "seed": m.seed,
                                "d": m.d,
                                "link": link,
                                "prediction": pred[:, j],
                            }
                        )
                    )
        return pl.concat(frames)


def family_holdout(
    fitter: SlothFitter,
    data: FitData,
    *,
    benchmarks: str | Sequence[str],
    n_train: int = 1,
    groups: str | Sequence[str] | None = None,
) -> BatchBacktest:
    """Run the family-holdout protocol with all folds fitted at once.

    Parameters
    ----------
    fitter:
        An unfitted :class:`SlothFitter` (or subclass).
    data:
        The shared table (for example ``load_fit_data(conn, source="sloth-data-v2")``).
    benchmarks:
        Targets: a set name or list.
    n_train, groups:
        As for the harness's ``family-holdout`` protocol (``groups="sloth-paper"``: the paper's
        test groups).
    """
    started = time.perf_counter()
    targets = resolve_benchmarks(benchmarks)
    data = data.with_targets(targets)
    proto = FamilyHoldout(n_train=n_train, groups=groups)
    eligible = proto.eligible(data, targets, sorted(fitter.requires.needs))
    splits = list(proto.splits(eligible, targets))
    trains = [eligible.select_models(s.train) for s in splits]
    queries = [eligible.select_models(s.test).hide_scores(targets) for s in splits]
    fitted = fitter.fit_many(trains)
    truth_all = eligible.scores.filter(pl.col("benchmark").is_in(list(targets))).select(
        "model_id", "benchmark", pl.col("value").alias("truth"), "stderr"
    )
    frames = []
    for split, model, query in zip(splits, fitted, queries, strict=True):
        predicted = model.predict(query)
        truth = truth_all.filter(pl.col("model_id").is_in(list(split.test)))
        frames.append(
            truth.join(predicted, on=["model_id", "benchmark"], how="left").with_columns(
                pl.lit(split.name).alias("split")
            )
        )
    cells = pl.concat(frames, how="vertical_relaxed")
    cells = cells.with_columns(cell_stderr(cells, eligible.benchmarks).alias("stderr"))
    cells = cells.select("split", "model_id", "benchmark", "truth", "prediction", "lower", "upper", "stderr")
    return BatchBacktest(splits, fitted, queries, cells, time.perf_counter() - started)
