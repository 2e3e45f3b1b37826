"""densing refuses reference curves that do not rise with size (their inverse gave NaN predictions),
and Fitter.predict refuses non-finite predictions from any fitter."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import polars as pl
import pytest
from obslaws_densing.fitter import DensingFitter
from obslaws_densing.reference import DirectReference
from obslaws_densing.trend import EPOCH

from obslaws import Fitter
from obslaws.backtest import run_backtest
from obslaws.data import FitData
from obslaws.errors import FitterError

REF = {
    "mmlu": DirectReference("mmlu", 0.25, 0.9, np.log(2e10), 0),
    "truthfulqa": DirectReference("truthfulqa", 0.25, 0.8, np.log(3e10), 0),
}


def families() -> FitData:
    """``wide`` (7 sizes: the most) gets worse with size on truthfulqa, as Pythia does; ``ref``
    (5 sizes) and 8 later families follow the REF curves at density 1 and rising densities."""
    rows, scores = [], []

    def add(mid: str, family: str, n: float, day: int, values: dict[str, float]) -> None:
        rows.append({"model_id": mid, "family": family, "variant": "base", "params": n,
                     "release_date": EPOCH + dt.timedelta(days=day)})  # fmt: skip
        scores.extend({"model_id": mid, "benchmark": b, "value": float(v)} for b, v in values.items())

    for i, n in enumerate((7e7, 1.6e8, 4e8, 1e9, 1.4e9, 2.8e9, 6.9e9)):
        add(f"wide-{n:g}", "wide", n, 0, {"mmlu": REF["mmlu"].score(n), "truthfulqa": 0.48 - 0.02 * i})
    for n in (1e9, 3e9, 7e9, 13e9, 30e9):
        add(f"ref-{n:g}", "ref", n, 0, {b: r.score(n) for b, r in REF.items()})
    for f in range(8):
        day = 60 + 60 * f
        for i, n in enumerate((2e9, 7e9)):
            add(f"fam{f}-{n:g}", f"fam{f}", n, day + i, {b: r.score(n * np.exp(0.004 * day)) for b, r in REF.items()})
    return FitData.build(pl.DataFrame(rows), pl.DataFrame(scores),
                         benchmarks=pl.DataFrame({"benchmark": list(REF), "chance": [0.25, 0.25]}))  # fmt: skip


def test_the_default_reference_family_rises_on_every_benchmark() -> None:
    # Before: ``wide`` (most sizes) was picked, its truthfulqa curve sat at its gamma bound, every
    # effective size was 0 or inf and every prediction NaN.
    data = families()
    since = (EPOCH + dt.timedelta(days=30)).isoformat()  # the trend over the later families, on their line
    fitter = DensingFitter(n_bootstrap=20, since=since).fit(
        data.select_models([m for m in data.model_ids if "fam7" not in m])
    )
    assert fitter.reference_family_ == "ref"
    query = data.select_models(["fam7-7e+09"])
    pred = fitter.predict(query).join(query.scores, on=["model_id", "benchmark"])
    assert pred.height == 2
    assert (pred["prediction"] - pred["value"]).abs().max() < 0.01


def test_a_named_reference_family_that_does_not_rise_is_a_named_error() -> None:
    with pytest.raises(FitterError, match=r"reference family 'wide' does not rise .* on truthfulqa \(\+"):
        DensingFitter(reference_family="wide", n_bootstrap=20).fit(families())


def test_a_reference_family_with_too_few_sizes_on_a_benchmark_is_a_named_error() -> None:
    data = families()
    data = data.select_models([m for m in data.model_ids if m not in ("ref-1e+09", "ref-3e+09")])
    with pytest.raises(FitterError, match=r"reference family 'ref' has 3 distinct size\(s\) with a score on 'mmlu'"):
        DensingFitter(reference_family="ref", n_bootstrap=20).fit(data)


def test_a_preference_list_takes_the_first_family_that_qualifies() -> None:
    # ``missing`` has no models and ``wide`` does not rise on truthfulqa: ``ref`` is the first that can.
    fitter = DensingFitter(reference_family=["missing", "wide", "ref"], n_bootstrap=20).fit(families())
    assert fitter.reference_family_ == "ref"
    assert fitter.learned_parameters()["reference_family"] == "ref"
    first = DensingFitter(reference_family=["ref", "wide"], n_bootstrap=20).fit(families())
    assert first.reference_family_ == "ref"


def test_a_preference_list_where_none_qualifies_names_each_family_and_why() -> None:
    with pytest.raises(FitterError, match=r"no reference family of \['missing', 'wide'\] qualifies") as caught:
        DensingFitter(reference_family=["missing", "wide"], n_bootstrap=20).fit(families())
    assert "'missing' has no models in the data" in str(caught.value)
    assert "'wide' does not rise" in str(caught.value)


def test_margin_must_be_positive() -> None:
    with pytest.raises(FitterError, match="margin must lie in"):
        DensingFitter(margin=0.0, n_bootstrap=20).fit(families())


class InfinitePredictor(Fitter):
    """Fits fine, predicts +inf on its last target (a plugin author's overflow)."""

    name = "inf-test"
    version = "1"
    requires = DensingFitter.requires

    def __init__(self) -> None:
        pass

    def _fit(self, data: FitData) -> None:
        self.fitted_ = True

    def _predict(self, query: FitData) -> pl.DataFrame:
        last = self.targets_[-1]
        return self.grid(query, lambda model, bench: np.inf if bench == last else 0.5)


def test_fitter_predict_refuses_non_finite_predictions_naming_fitter_model_and_benchmark() -> None:
    data = families()
    fitter = InfinitePredictor().fit(data)
    with pytest.raises(FitterError, match=r"inf-test: 28 prediction\(s\) not finite .* model 'wide-7e\+07' on 'truthf"):
        fitter.predict(data)


def test_densing_time_split_on_the_registry_oll_v1_is_finite(registry_db) -> None:
    """The reported case: OLL v1, time split at 2024-01-01, default reference family."""
    from obslaws.benchmark_sets import resolve_benchmarks
    from obslaws.store.read import load_fit_data

    conn = duckdb.connect(str(registry_db), read_only=True)
    try:
        data = load_fit_data(conn, resolve_benchmarks("oll-v1"))
    finally:
        conn.close()
    result = run_backtest(DensingFitter(n_bootstrap=20), data, "time-split", write=False, date="2024-01-01")
    average = result.summary()["average"]
    assert np.isfinite(average["mae_pt"]) and average["mae_pt"] < 20


def test_an_effective_size_of_zero_or_infinity_names_the_model_and_benchmark() -> None:
    from obslaws_densing.fitter import require_finite_sizes

    ids = pl.Series(["a", "b"])
    overflowed = np.array([[False, False], [False, True]])  # (benchmarks, models)
    with pytest.raises(FitterError, match=r"1 model\(s\) get an effective size of inf, e.g. 'b': .* \['gsm8k'\]"):
        require_finite_sizes(ids, np.array([3e9, np.inf]), ["mmlu", "gsm8k"], overflowed)
    require_finite_sizes(ids, np.array([3e9, 1e10]), ["mmlu", "gsm8k"], overflowed & False)
