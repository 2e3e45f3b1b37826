"""Family-holdout backtests that keep every fold's Sloth fit, for looking inside them.

The harness's :func:`obslaws.backtest.run_backtest` runs it (same protocol, splits and metrics;
the folds are fitted together through :meth:`SlothFitter.fit_many`), writing nothing; use
``run_backtest`` with a connection for a recorded run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import polars as pl

from obslaws.backtest import FamilyHoldout, Split, run_backtest, summarise
from obslaws.data import FitData
from obslaws_sloth.design import query_weights
from obslaws_sloth.fitter import SlothFitter


@dataclass
class BatchBacktest:
    """Splits, fitted fold models, their queries, the harness's test cells (``split, model_id,
    benchmark, truth, prediction, lower, upper, stderr``, ...) and its summary."""

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
    """The harness's family-holdout backtest (nothing written), keeping every fold's fit.

    Parameters
    ----------
    fitter:
        An unfitted :class:`SlothFitter` (or subclass); the harness fits all folds at once
        through its ``fit_many``.
    data:
        The shared table (for example ``load_fit_data(conn, source="sloth-data-v2")``).
    benchmarks:
        Targets: a set name or list.
    n_train, groups:
        As for the harness's ``family-holdout`` protocol (``groups="sloth-paper"``: the paper's
        test groups).
    """
    result = run_backtest(
        fitter,
        data,
        "family-holdout",
        benchmarks=benchmarks,
        write=False,
        keep_models=True,
        n_train=n_train,
        groups=groups,
    )
    fitted = cast(list[SlothFitter], result.fitted)
    return BatchBacktest(result.splits, fitted, result.queries, result.cells, result.duration_s)
