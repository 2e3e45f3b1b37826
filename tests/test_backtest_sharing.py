"""Backtests run together share the folds that see the same data, and give the rows they give alone.

On the registry's database file with real fitters: the time split and a rolling cut on the same
date train on the same models, as do a compute cut-off and the sweep's budget of the same size.
"""

from __future__ import annotations

from dataclasses import replace

import duckdb
import polars as pl
import pytest
from test_backtest import LogLinear

from obslaws.backtest import BacktestPlan, ProtocolError, run_backtest, run_backtests
from obslaws.backtest.folds import fold_key
from obslaws.benchmark_sets import resolve_benchmarks
from obslaws.errors import FitterError
from obslaws.fitting.lookup import get_fitters
from obslaws.store.read import load_fit_data
from obslaws.testing import ConformanceError, check_fitter

SOURCE = "obsscaling-4d6e1e4"


@pytest.fixture(scope="module")
def datas(registry_db) -> dict[str, object]:
    with duckdb.connect(str(registry_db), read_only=True) as conn:
        targets = list(resolve_benchmarks("oll-v1"))
        return {"all": load_fit_data(conn, targets), SOURCE: load_fit_data(conn, targets, source=SOURCE)}


def _plans(datas) -> list[BacktestPlan]:
    """Two pairs that share a fold, and two backtests that share none with them (other data)."""
    return [
        BacktestPlan(datas["all"], "time-split", "oll-v1", {"date": "2024-01-01"}),
        BacktestPlan(datas["all"], "rolling-forecast", "oll-v1", {"start": "2023-10-01", "end": "2024-01-01"}),
        BacktestPlan(datas[SOURCE], "compute-cutoff", "oll-v1", {"cutoff": 8.4e22}),
        BacktestPlan(datas[SOURCE], "compute-sweep", "oll-v1", {"cutoffs": [8.4e22, 3.4e23]}),
        # the same split as the first, on other scores (one source): a different fit
        BacktestPlan(datas[SOURCE], "time-split", "oll-v1", {"date": "2024-01-01"}),
    ]


def _alone(fitter, plan: BacktestPlan):
    return run_backtest(fitter, plan.data, plan.protocol, benchmarks=plan.benchmarks, plugin="p", **plan.options)


def _rows(result) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "duration_s"} for row in result.fit_rows]


def _fitter(name: str, **options):
    return get_fitters()[name].create(**options)


class BatchedLogLinear(LogLinear):
    """A batch-invariant fit_many override (each fold fitted on its own, in one call), that
    keeps the number of folds of each call, to see what the harness batches."""

    name = "batched-loglinear-test"
    batch_invariant = True
    calls: list[int] = []

    def fit_many(self, datas):
        type(self).calls.append(len(datas))
        clones = self.clones_for(datas)
        for clone, data in zip(clones, datas, strict=True):
            clone._fit(data)
        return clones


class ClaimsInvariant(BatchedLogLinear):
    """Says it is batch-invariant, but a fold's fit moves (in the last digits) with the batch."""

    name = "claims-invariant-test"

    def fit_many(self, datas):
        clones = super().fit_many(datas)
        for clone in clones:
            clone.coef_ = {b: c + 1e-12 * len(datas) for b, c in clone.coef_.items()}
        return clones


def test_the_conformance_checks_hold_a_fitter_to_its_batch_invariance():
    assert "batch-invariant" in check_fitter(BatchedLogLinear())
    assert "batch-invariant" not in check_fitter(LogLinear())  # nothing to check: fold by fold
    with pytest.raises(ConformanceError, match="batch-invariant"):
        check_fitter(ClaimsInvariant())


def _shared(together) -> None:
    """The folds that see the same data as another were fitted once (one fitted object)."""
    split, rolling, cutoff, sweep, other_source = together
    cut = [s.name for s in rolling.splits].index("2024-01-01")
    assert rolling.fitted[cut] is split.fitted[0]  # one fit serves both
    assert sweep.fitted[0] is cutoff.fitted[0]  # the sweep's 8.4e22 budget is the cut-off
    assert sweep.fitted[1] is not cutoff.fitted[0]
    assert other_source.fitted[0] is not split.fitted[0]  # same models, other scores: not shared
    assert other_source.fit_rows[0]["fit_id"] != split.fit_rows[0]["fit_id"]
    models = {id(m) for r in together for m in r.fitted}
    assert len(models) == len({row["fit_id"] for r in together for row in r.fit_rows}) == 5


# logit-svd fits fold by fold (the default fit_many) and reads the test models' other scores;
# flops-sigmoid-family batches its folds into one program whose bits depend on the other folds
# (not batch-invariant: each backtest keeps its own call); the test fitter says it is invariant.
@pytest.mark.parametrize(
    ("name", "options"),
    [("logit-svd", {}), ("flops-sigmoid-family", {"max_iter": 300}), ("batched-loglinear-test", {})],
    ids=["per-fold", "batched", "batched-invariant"],
)
def test_backtests_run_together_give_the_rows_each_gives_alone(datas, name, options):
    fitter = BatchedLogLinear() if name == BatchedLogLinear.name else _fitter(name, **options)
    plans = _plans(datas)
    BatchedLogLinear.calls = []
    together = run_backtests(fitter, plans, plugin="p", keep_models=True)
    calls = list(BatchedLogLinear.calls)
    assert not any(isinstance(r, Exception) for r in together), together
    for plan, result in zip(plans, together, strict=True):
        alone = _alone(fitter, plan)
        assert result.backtest_id == alone.backtest_id
        assert result.cells.equals(alone.cells), plan.protocol  # to the bit: equals, not approximately
        assert _rows(result) == _rows(alone)
        assert result.summary() | {"duration_s": 0} == alone.summary() | {"duration_s": 0}
    if name == "flops-sigmoid-family":
        models = [m for r in together for m in r.fitted]
        assert len({id(m) for m in models}) == len(models)  # nothing shared
    else:
        _shared(together)
    if name == BatchedLogLinear.name:
        assert calls == [5]  # the 7 folds of all five backtests (one target set): 5 distinct, one call


def test_a_fold_key_is_the_exact_data_a_fit_sees(datas):
    fitter = _fitter("logit-svd")
    train = datas["all"].select_models(datas["all"].model_ids[:40])
    assert fold_key(fitter, train) == fold_key(fitter, train.select_models(train.model_ids))
    reordered = replace(train, models=train.models.reverse())
    assert reordered.content_hash() == train.content_hash()  # the data's name is the same,
    assert fold_key(fitter, reordered) != fold_key(fitter, train)  # but a fit may see the order
    retyped = replace(train, scores=train.scores.with_columns(pl.col("value").cast(pl.Float32)))
    assert fold_key(fitter, retyped) != fold_key(fitter, train)
    assert fold_key(_fitter("logit-svd", rank=3), train) != fold_key(fitter, train)
    assert fold_key(fitter, train.with_targets(train.targets[:2])) != fold_key(fitter, train)


class FailsOnFewModels(LogLinear):
    """A real fit that refuses small training sets (as a fitter meets a fold it cannot fit)."""

    name = "fails-on-few-test"

    def _fit(self, data):
        if data.models.height < 100:
            raise FitterError(f"only {data.models.height} training models")
        super()._fit(data)


def test_a_failing_backtest_fails_alone_with_the_message_it_has_alone(datas):
    fitter = FailsOnFewModels()
    plans = [
        BacktestPlan(datas["all"], "time-split", "oll-v1", {"date": "2024-06-01"}),
        BacktestPlan(datas["all"], "time-split", "oll-v1", {"date": "2023-06-01"}),  # few models before it
        BacktestPlan(datas["all"], "time-split", "oll-v1", {"date": "2031-01-01"}),  # no test models
    ]
    done, failed, unplanned = run_backtests(fitter, plans, plugin="p")
    assert done.cells.equals(_alone(fitter, plans[0]).cells)
    with pytest.raises(FitterError) as alone:
        _alone(fitter, plans[1])
    assert isinstance(failed, FitterError) and str(failed) == str(alone.value)
    assert "fails-on-few-test on time-split split 'before 2023-06-01'" in str(failed)
    assert isinstance(unplanned, ProtocolError) and "2031-01-01" in str(unplanned)
