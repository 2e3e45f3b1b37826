"""densing: reference curves, density trend recovery on synthetic families, storage, plot, predict."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from obslaws_densing.fitter import DensingFitter
from obslaws_densing.reference import DirectReference, fit_two_step
from obslaws_densing.trend import EPOCH, fit_trend, upper_envelope

from obslaws.data import FitData

REF = {
    "mmlu": DirectReference("mmlu", 0.25, 0.9, np.log(2e10), 0),
    "gsm8k": DirectReference("gsm8k", 0.0, 0.7, np.log(6e10), 0),
}
SLOPE, INTERCEPT = 0.0075, -0.5  # ln rho_max = SLOPE * days + INTERCEPT (doubling 92 days)


def synthetic(seed: int = 0, frontier_only: bool = False) -> FitData:
    """A reference family (density 1, released at t=0) and 12 families whose best models sit on a known frontier."""
    rng = np.random.default_rng(seed)
    rows, scores = [], []

    def add(mid: str, family: str, n: float, day: int, log_rho: float) -> None:
        rows.append({"model_id": mid, "family": family, "variant": "base", "params": n,
                     "release_date": EPOCH + dt.timedelta(days=day)})  # fmt: skip
        for bench, ref in REF.items():
            scores.append({"model_id": mid, "benchmark": bench, "value": float(ref.score(n * np.exp(log_rho)))})

    for n in (1e9, 3e9, 7e9, 13e9, 30e9, 70e9):
        add(f"ref-{n:g}", "ref", n, 0, 0.0)
    for f in range(12):
        day = 60 + 55 * f
        frontier = SLOPE * day + INTERCEPT
        for i, n in enumerate((2e9, 7e9, 14e9)):
            below = 0.0 if (i == 0 or frontier_only) else rng.exponential(0.8)
            add(f"fam{f}-{n:g}", f"fam{f}", n, day + i, frontier - below)
    return FitData.build(pl.DataFrame(rows), pl.DataFrame(scores),
                         benchmarks=pl.DataFrame({"benchmark": ["mmlu", "gsm8k"], "chance": [0.25, 0.0]}))  # fmt: skip


def test_recovers_a_known_density_law() -> None:
    fitter = DensingFitter(reference_family="ref", n_bootstrap=200, since=(EPOCH + dt.timedelta(days=30)).isoformat())
    fitter.fit(synthetic())
    trend = fitter.trend_
    assert trend.slope_per_day == pytest.approx(SLOPE, rel=0.05)
    assert trend.slope_lo <= SLOPE <= trend.slope_hi
    assert trend.doubling_days == pytest.approx(np.log(2) / SLOPE, rel=0.05)
    ref_density = fitter.densities_.filter(pl.col("family") == "ref")["density"]
    assert ref_density.to_numpy() == pytest.approx(1.0, rel=0.02)  # the reference has density 1
    assert fitter.learned_parameters()["reference_family"] == "ref"


def test_predict_returns_reference_scores_at_the_trend_density() -> None:
    data = synthetic(frontier_only=True)
    fitter = DensingFitter(reference_family="ref", n_bootstrap=20).fit(
        data.select_models([m for m in data.model_ids if "fam11" not in m])
    )
    query = data.select_models(["fam11-7e+09"])
    pred = fitter.predict(query).join(query.scores, on=["model_id", "benchmark"])
    assert (pred["prediction"] - pred["value"]).abs().max() < 0.02
    assert (pred["lower"] <= pred["prediction"]).all() and (pred["prediction"] <= pred["upper"]).all()


def test_upper_envelope_keeps_records_only() -> None:
    t = np.array([0.0, 1.0, 2.0, 3.0])
    assert upper_envelope(t, np.array([0.0, -1.0, 0.5, 0.4])).tolist() == [0, 2]
    assert upper_envelope(t, np.array([0.0, -1.0, 0.5, 0.4]), bin_days=2.0).tolist() == [0, 2]
    assert upper_envelope(t, np.array([0.0, -1.0, 0.5, 0.4]), bin_days=1.0).tolist() == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="at least 3"):
        fit_trend(t, np.array([0.0, -1.0, -2.0, -3.0]))


def test_two_step_reference_inverts_its_own_curve() -> None:
    n = np.array([1e8, 3e8, 1e9, 3e9, 1e10, 3e10])
    d = np.full(n.size, 1e12)
    loss = 30.0 * n**-0.3 + 50.0 * d**-0.25
    score = -0.7 / (1 + np.exp(-6.0 * (loss - 1.0))) + 0.95
    ref = fit_two_step("b", n, d, loss, score, d0=1e12)
    assert ref.effective_params(ref.score(2e9)) == pytest.approx(2e9, rel=0.01)


def test_store_extras_writes_densities_and_trend(conn) -> None:
    fitter = DensingFitter(reference_family="ref", n_bootstrap=20).fit(synthetic())
    fitter.store_extras(conn, "fit-1")
    n = conn.execute("SELECT count(*) FROM densities WHERE fit_id = 'fit-1'").fetchall()[0][0]
    assert n == fitter.densities_.height == 42
    row = conn.execute("SELECT reference_family, doubling_days FROM density_trend").fetchall()
    assert row[0][0] == "ref" and row[0][1] == pytest.approx(fitter.trend_.doubling_days)


def test_plot_density_writes_a_png(tmp_path) -> None:
    from obslaws_densing.plot import plot_density

    fitter = DensingFitter(reference_family="ref", n_bootstrap=20).fit(synthetic())
    path = plot_density(fitter.densities_, fitter.trend_, tmp_path / "d.png", reference_family="ref")
    assert path.read_bytes()[:4] == b"\x89PNG"


def test_check_fitter_passes() -> None:
    from obslaws.testing import check_fitter

    assert "deterministic" in check_fitter(DensingFitter(n_bootstrap=20))
