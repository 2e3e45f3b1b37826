"""The backtest harness: protocols, metrics, the database writes, and the Sloth paper's test groups."""

from __future__ import annotations

import datetime as dt
import json
import math

import duckdb
import numpy as np
import polars as pl
import pytest
from conftest import SHARED, requires_shared

import obslaws
from obslaws import FitData, Fitter
from obslaws.backtest import FamilyHoldout, ProtocolError, run_backtest, summarise
from obslaws.benchmark_sets import resolve_benchmarks
from obslaws.errors import FitterError
from obslaws.testing import synthetic_data


class LogLinear(Fitter):
    """Per benchmark, a straight line in log FLOPs: fast and deterministic."""

    name = "loglinear-test"
    version = "1"

    def __init__(self, *, width: float = 0.05):
        self.width = width

    def _fit(self, data: FitData) -> None:
        x = np.log(data.models["flops"].to_numpy())
        wide = data.matrix(self.targets_)
        self.coef_ = {}
        for bench in self.targets_:
            y = wide[bench].to_numpy().astype(float)
            keep = ~np.isnan(y)
            self.coef_[bench] = np.polyfit(x[keep], y[keep], 1)

    def _predict(self, query: FitData) -> pl.DataFrame:
        out = self.grid(query, lambda m, b: float(np.clip(np.polyval(self.coef_[b], np.log(m["flops"])), 0, 1)))
        return out.with_columns(
            (pl.col("prediction") - self.width).alias("lower"), (pl.col("prediction") + self.width).alias("upper")
        )


class Failing(LogLinear):
    name = "failing-test"

    def _fit(self, data):
        raise ValueError("cannot fit")


def data_with_holes() -> FitData:
    """Synthetic data; one model lacks a target score, one family has a single model."""
    data = synthetic_data()
    scores = data.scores.filter(~((pl.col("model_id") == "fam0-0.15b") & (pl.col("benchmark") == "synthetic_gen")))
    models = data.models.filter(~(pl.col("family") == "fam4-it") | (pl.col("params") == 1.5e8))
    return FitData.build(
        models,
        scores.filter(pl.col("model_id").is_in(models["model_id"].to_list())),
        None,
        data.benchmarks,
        targets=data.targets,
    )


def test_family_holdout_groups_and_training_sets():
    data = data_with_holes()
    targets = data.targets
    proto = FamilyHoldout(n_train=1)
    eligible = proto.eligible(data, targets)
    ids = set(eligible.model_ids)
    assert "fam0-0.15b" not in ids  # a missing target score drops the model
    assert not any(m.startswith("fam4-it") for m in ids)  # a one-model family (< n + 1) is dropped
    splits = list(proto.splits(eligible, targets))
    assert [s.name for s in splits] == ["fam0", "fam1", "fam2", "fam3", "fam4"]
    fam1 = next(s for s in splits if s.name == "fam1")
    # The smallest model of EACH family in the group trains; the rest of the group is tested.
    assert set(fam1.info["train_from_group"]) == {"fam1-0.15b", "fam1-it-0.15b"}
    assert set(fam1.test) == {f"fam1{sfx}-{s}b" for sfx in ("", "-it") for s in ("0.4", "1", "3", "7")}
    assert not set(fam1.test) & set(fam1.train)
    assert set(fam1.train) | set(fam1.test) == ids
    # fam0's smallest base model was dropped, so its next smallest trains.
    fam0 = next(s for s in splits if s.name == "fam0")
    assert "fam0-0.4b" in fam0.info["train_from_group"]


def test_family_holdout_n2_and_explicit_groups():
    data = synthetic_data()
    proto = FamilyHoldout(n_train=2, groups=[["fam2", "fam2-it"], "fam3"])
    splits = list(proto.splits(proto.eligible(data, data.targets), data.targets))
    assert [s.name for s in splits] == ["fam2+fam2-it", "fam3"]
    assert set(splits[1].info["train_from_group"]) == {"fam3-0.15b", "fam3-0.4b"}
    assert "fam3-it-0.15b" not in splits[1].test and "fam3-it-0.15b" in splits[1].train  # fam3-it is not held out
    with pytest.raises(ProtocolError, match="no eligible model in held-out group nope"):
        list(FamilyHoldout(groups=[["nope"]]).splits(data, data.targets))
    with pytest.raises(ProtocolError, match="sloth-paper"):
        list(FamilyHoldout(groups="sloth-paper").splits(data, data.targets))


def test_compute_cutoff_and_time_split_partition_by_flops_and_date():
    data = synthetic_data()
    result = run_backtest(LogLinear(), data, "compute-cutoff", cutoff=1e21)
    flops = dict(data.models.select("model_id", "flops").iter_rows())
    tested = set(result.cells["model_id"].to_list())
    assert tested == {m for m, f in flops.items() if f > 1e21}
    assert all(flops[m] <= 1e21 for m in result.splits[0].train)
    result = run_backtest(LogLinear(), data, "time-split", date="2022-12-01")
    dates = dict(data.models.select("model_id", "release_date").iter_rows())
    assert set(result.cells["model_id"].to_list()) == {m for m, d in dates.items() if d >= dt.date(2022, 12, 1)}
    assert all(dates[m] < dt.date(2022, 12, 1) for m in result.splits[0].train)
    with pytest.raises(ProtocolError, match="leaves"):
        run_backtest(LogLinear(), data, "compute-cutoff", cutoff=1e30)
    with pytest.raises(ProtocolError, match="needs a date"):
        run_backtest(LogLinear(), data, "time-split")
    with pytest.raises(ProtocolError, match="unknown protocol"):
        run_backtest(LogLinear(), data, "leave-one-out")


def _two_benchmarks() -> pl.DataFrame:
    """Six test cells of two benchmarks in two splits, two of them without an interval."""
    return pl.DataFrame(
        {
            "split": ["g1", "g1", "g1", "g2", "g1", "g2"],
            "model_id": ["a", "b", "c", "d", "a", "d"],
            "benchmark": ["x", "x", "x", "x", "y", "y"],
            "truth": [0.5, 0.5, 0.5, 0.5, 0.2, 0.8],
            "prediction": [0.6, 0.5, 0.5, 0.8, 0.2, 0.6],
            "lower": [0.55, None, None, 0.7, 0.1, 0.7],
            "upper": [0.65, None, None, 0.9, 0.3, 0.9],
            "stderr": [0.01, 0.01, 0.01, 0.03, None, 0.02],
        }
    )


def test_metrics_average_within_split_then_across_splits_then_benchmarks():
    cells = _two_benchmarks()
    split = summarise(cells, "split")
    # x: g1 mean |e| = 0.1/3, g2 = 0.3 -> (0.0333 + 0.3) / 2; y: g1 0, g2 0.2 -> 0.1
    assert split["benchmarks"]["x"]["mae_pt"] == pytest.approx(100 * (0.1 / 3 + 0.3) / 2)
    assert split["benchmarks"]["y"]["mae_pt"] == pytest.approx(10.0)
    assert split["average"]["mae_pt"] == pytest.approx((100 * (0.1 / 3 + 0.3) / 2 + 10.0) / 2)
    assert split["benchmarks"]["x"]["mse"] == pytest.approx((0.01 / 3 + 0.09) / 2)
    assert split["benchmarks"]["x"]["coverage"] == pytest.approx(0.0)  # 0.5 outside [0.55, 0.65] and [0.7, 0.9]
    assert split["benchmarks"]["y"]["coverage"] == pytest.approx(1.0)
    assert split["benchmarks"]["x"]["noise_floor_pt"] == pytest.approx(100 * (0.01 + 0.03) / 2)
    pooled = summarise(cells, "cell")
    assert pooled["benchmarks"]["x"]["mae_pt"] == pytest.approx(100 * 0.4 / 4)
    assert pooled["benchmarks"]["x"]["n"] == 4


def test_interval_score_is_the_width_plus_twenty_times_each_miss():
    cells = _two_benchmarks()
    summary = summarise(cells, "cell")
    # x: 0.1 wide, missed by 0.05 -> 1.1; 0.2 wide, missed by 0.2 -> 4.2; cells without an interval left out
    assert summary["benchmarks"]["x"]["interval_score_pt"] == pytest.approx(100 * (1.1 + 4.2) / 2)
    assert summary["benchmarks"]["y"]["interval_score_pt"] == pytest.approx(100 * 0.2)  # both covered: the width
    assert summary["average"]["interval_score_pt"] == pytest.approx((265.0 + 20.0) / 2)


def test_interval_score_of_real_backtests_at_its_two_limits():
    data = synthetic_data()
    # intervals that cover every score: the score is the width
    wide = run_backtest(LogLinear(width=2.0), data, "compute-cutoff", cutoff=1e21).summary()["average"]
    assert wide["coverage"] == 1.0 and wide["interval_score_pt"] == pytest.approx(wide["interval_width_pt"])
    # no width at all: every cell a miss by its error, 2 / (1 - 0.9) = 20 times the MAE
    point = run_backtest(LogLinear(width=0.0), data, "compute-cutoff", cutoff=1e21).summary()["average"]
    assert point["interval_width_pt"] == 0.0 and point["interval_score_pt"] == pytest.approx(20 * point["mae_pt"])


def test_noise_floor_falls_back_to_binomial_from_n_items():
    data = synthetic_data()
    data = FitData.build(
        data.models,
        data.scores.with_columns(pl.lit(None, dtype=pl.Float64).alias("stderr")),
        None,
        data.benchmarks,
        targets=data.targets,
    )
    result = run_backtest(LogLinear(), data, "compute-cutoff", cutoff=1e21)
    cells = result.cells
    expected = np.sqrt(cells["truth"] * (1 - cells["truth"]) / 1000)
    assert np.allclose(cells["stderr"].to_numpy(), expected.to_numpy())
    assert result.summary()["noise_floor_pt"] > 0


def test_backtest_writes_every_cell_once_and_is_idempotent():
    conn = obslaws.connect(":memory:", plugins=False)
    data = synthetic_data()
    result = run_backtest(LogLinear(), data, "family-holdout", conn=conn)
    assert result.written
    n_cells = result.cells.height
    assert conn.execute("SELECT count(*) FROM backtests").fetchall()[0][0] == n_cells
    assert conn.execute("SELECT count(*) FROM backtest_runs").fetchall()[0][0] == 1
    assert conn.execute("SELECT count(*) FROM fits").fetchall()[0][0] == len(result.splits)
    row = conn.execute(
        "SELECT fitter, protocol, fitter_version, averaging, n_splits, summary FROM backtest_runs"
    ).fetchall()[0]
    assert row[:5] == ("loglinear-test", "family-holdout", "1", "split", 5)
    assert json.loads(row[5])["average"]["mae_pt"] == pytest.approx(result.summary()["average"]["mae_pt"])
    # The SQL summary view reproduces the Python summary.
    view = dict(conn.execute("SELECT benchmark, mae_pt FROM backtest_summary").fetchall())
    for bench, metrics in result.summary()["benchmarks"].items():
        assert view[bench] == pytest.approx(metrics["mae_pt"])
    overall = conn.execute("SELECT mae_pt, coverage FROM backtest_overall").fetchall()[0]
    assert overall[0] == pytest.approx(result.summary()["average"]["mae_pt"])
    cols = {r[0] for r in conn.execute("DESCRIBE backtests").fetchall()}
    assert {
        "protocol",
        "split",
        "fitter",
        "fit_id",
        "model_id",
        "benchmark",
        "truth",
        "prediction",
        "lower",
        "upper",
    } <= cols
    # Same fitter, hyperparameters, protocol and data: same id, same rows.
    again = run_backtest(LogLinear(), data, "family-holdout", conn=conn)
    assert again.backtest_id == result.backtest_id
    assert conn.execute("SELECT count(*) FROM backtests").fetchall()[0][0] == n_cells
    assert conn.execute("SELECT count(*) FROM backtest_runs").fetchall()[0][0] == 1
    # Other hyperparameters or options: another run.
    other = run_backtest(LogLinear(width=0.1), data, "family-holdout", conn=conn, n_train=2)
    assert other.backtest_id != result.backtest_id
    assert conn.execute("SELECT count(*) FROM backtest_runs").fetchall()[0][0] == 2


def test_a_failing_fitter_writes_nothing_and_names_the_split():
    conn = obslaws.connect(":memory:", plugins=False)
    with pytest.raises(
        FitterError, match=r"failing-test failed on family-holdout split 'fam0': ValueError: cannot fit"
    ):
        run_backtest(Failing(), synthetic_data(), "family-holdout", conn=conn)
    assert conn.execute("SELECT count(*) FROM backtests").fetchall()[0][0] == 0
    assert conn.execute("SELECT count(*) FROM fits").fetchall()[0][0] == 0


def test_benchmark_sets_by_name():
    data = synthetic_data()
    with pytest.raises(ProtocolError, match="no scores for benchmark"):
        run_backtest(LogLinear(), data, "compute-cutoff", benchmarks="oll-v1", cutoff=1e21)
    result = run_backtest(LogLinear(), data, "compute-cutoff", benchmarks="synthetic_gen", cutoff=1e21)
    assert result.benchmarks == ("synthetic_gen",)
    assert set(result.cells["benchmark"].to_list()) == {"synthetic_gen"}


def _compare_paper_groups(data: FitData, rename: dict[str, str] | None = None) -> None:
    from obslaws.backtest.paper import paper_errors, paper_test_groups

    errors = paper_errors()
    for name in ("oll-v1", "oll-v2", "oll-all"):
        targets = resolve_benchmarks(name)
        for n_train in (1, 2):
            proto = FamilyHoldout(n_train=n_train, groups="sloth-paper")
            splits = list(proto.splits(proto.eligible(data.with_targets(targets), targets), targets))
            mine = {frozenset(s.info["families"]): set(s.test) for s in splits}
            paper = {
                group: {(rename or {}).get(m, m) for m in models}
                for group, models in paper_test_groups(errors, name, n_train).items()
            }
            assert mine == paper, f"{name} n={n_train}"


@requires_shared()
def test_paper_test_groups_on_the_papers_csv():
    from obslaws.backtest.paper import sloth_fit_data

    data = sloth_fit_data()
    _compare_paper_groups(data)
    # The paper's model counts after its filters (docs/sloth-paper.md): v2 keeps 102 models, v1 134.
    for name, count in (("oll-v2", 102), ("oll-v1", 134)):
        targets = resolve_benchmarks(name)
        assert FamilyHoldout(n_train=1).eligible(data.with_targets(targets), targets).models.height == count


@requires_shared()
def test_paper_test_groups_on_registry_source(registry_db):
    from obslaws.store.read import load_fit_data

    conn = duckdb.connect(str(registry_db), read_only=True)
    try:
        rename = dict(conn.execute("SELECT alias, model_id FROM model_aliases").fetchall())
        data = load_fit_data(conn, None, source="sloth-data-v2")
    finally:
        conn.close()
    _compare_paper_groups(data, rename)


def test_summary_json_shape():
    summary = run_backtest(LogLinear(), synthetic_data(), "family-holdout").summary()
    assert {"fitter", "protocol", "benchmarks", "average", "n_groups", "noise_floor_pt"} <= set(summary)
    for metrics in summary["benchmarks"].values():
        assert {"mae_pt", "mse", "n", "spearman", "coverage"} <= set(metrics)
    assert set(summary["average"]) >= {"mae_pt", "mse"}
    json.dumps(summary)
    assert not math.isnan(summary["average"]["mae_pt"])
    assert SHARED is not None


def test_fit_and_store_is_idempotent_and_predictions_are_stored():
    from obslaws.fitting.store import fit_and_store, hypothetical_models, predict_and_store

    conn = obslaws.connect(":memory:", plugins=False)
    data = synthetic_data()
    fitter = LogLinear()
    fit_id = fit_and_store(conn, fitter, data, plugin="tests")
    assert fit_and_store(conn, LogLinear(), data, plugin="tests") == fit_id
    assert fit_and_store(conn, LogLinear(width=0.2), data) != fit_id
    row = conn.execute(
        "SELECT fitter, fitter_version, plugin, hyperparameters, data_hash, benchmarks, n_models, learned "
        "FROM fits WHERE fit_id = ?",
        [fit_id],
    ).fetchall()[0]
    assert row[:3] == ("loglinear-test", "1", "tests")
    assert json.loads(row[3]) == {"width": 0.05}
    assert row[4] == data.content_hash() and row[5] == list(data.targets) and row[6] == data.models.height
    assert json.loads(row[7])["targets"] == list(data.targets)
    query = FitData.build(hypothetical_models(params=7e9, tokens=1e12, family="new"), None, None, data.benchmarks,
                          targets=data.targets)  # fmt: skip
    out = predict_and_store(conn, fitter, fit_id, query)
    assert out.height == len(data.targets)
    stored = conn.execute("SELECT model_id, count(*) FROM predictions GROUP BY ALL").fetchall()
    assert stored == [(query.model_ids[0], len(data.targets))]
    predict_and_store(conn, fitter, fit_id, query)  # the same rows again: still one per pair
    assert conn.execute("SELECT count(*) FROM predictions").fetchall()[0][0] == len(data.targets)


def test_fit_and_store_calls_store_extras_in_the_same_transaction():
    from obslaws.fitting.store import fit_and_store

    class WithExtras(LogLinear):
        name = "extras-test"

        def store_extras(self, conn, fit_id):
            conn.execute("CREATE TABLE IF NOT EXISTS extras_test (fit_id VARCHAR)")
            conn.execute("INSERT INTO extras_test VALUES (?)", [fit_id])

    class BrokenExtras(LogLinear):
        name = "broken-extras-test"

        def store_extras(self, conn, fit_id):
            raise RuntimeError("disk full")

    conn = obslaws.connect(":memory:", plugins=False)
    fit_id = fit_and_store(conn, WithExtras(), synthetic_data())
    assert conn.execute("SELECT fit_id FROM extras_test").fetchall() == [(fit_id,)]
    with pytest.raises(RuntimeError, match="disk full"):
        fit_and_store(conn, BrokenExtras(), synthetic_data())
    assert conn.execute("SELECT count(*) FROM fits WHERE fitter = 'broken-extras-test'").fetchall()[0][0] == 0


class BatchedLogLinear(LogLinear):
    """LogLinear that fits every fold in one call, as batched fitters (sloth) do."""

    name = "batched-loglinear-test"
    calls: list[int] = []

    def fit_many(self, datas):
        BatchedLogLinear.calls.append(len(datas))
        return [self.clone().fit(d) for d in datas]


def test_fit_many_is_used_once_for_all_splits_and_gives_the_same_cells():
    data = synthetic_data()
    BatchedLogLinear.calls.clear()
    batched = run_backtest(BatchedLogLinear(), data, "family-holdout", write=False)
    plain = run_backtest(LogLinear(), data, "family-holdout", write=False)
    assert BatchedLogLinear.calls == [len(plain.splits)]
    columns = ["split", "model_id", "benchmark", "prediction"]
    assert batched.cells.select(columns).equals(plain.cells.select(columns))
