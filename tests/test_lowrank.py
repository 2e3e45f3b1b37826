"""lowrank: imputation, PCA, link fit, the paper reproduction, diagnostics in SQL, conformance."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from obslaws_lowrank import LogFlopsSigmoidFitter, LowRankFitter, obsscaling_default_data
from obslaws_lowrank.impute import fit_rank_one_imputer
from obslaws_lowrank.link import fit_link, predict
from obslaws_lowrank.pca import fit_capabilities
from scipy.optimize import curve_fit

import obslaws
from obslaws.backtest import run_backtest
from obslaws.store.query import read_frame
from obslaws.testing import check_fitter


@pytest.fixture(scope="module")
def reg(registry_db):
    connection = obslaws.connect(registry_db, read_only=True, plugins=False)
    yield connection
    connection.close()


def _low_rank(rng: np.random.Generator, n: int = 40, j: int = 6) -> np.ndarray:
    return 0.5 + 0.15 * np.outer(rng.normal(size=n), rng.normal(size=j) / np.sqrt(j))


# -- imputation ---------------------------------------------------------------------------------


def test_imputation_recovers_a_rank_one_matrix():
    rng = np.random.default_rng(0)
    full = _low_rank(rng)
    holes = full.copy()
    holes[rng.random(full.shape) < 0.15] = np.nan
    imputer, filled = fit_rank_one_imputer(holes, tol=1e-10)
    assert imputer.n_iter < 1000  # converged early, not the upstream fixed 1,000 rounds
    np.testing.assert_allclose(filled, full, atol=1e-4)


def test_closed_form_transform_is_the_fixed_point_of_the_iteration():
    rng = np.random.default_rng(1)
    noisy = _low_rank(rng) + rng.normal(0, 0.02, size=(40, 6))
    imputer, _ = fit_rank_one_imputer(noisy)
    query = noisy[:5].copy()
    query[0, [0, 2]] = query[1, 5] = query[2, :5] = np.nan
    z = (query - imputer.scale_mean) / imputer.scale_sd
    missing = np.isnan(z)
    z[missing] = 0.0
    for _ in range(3000):  # the upstream loop, with the final direction held fixed
        recon = imputer.centre + ((z - imputer.centre) @ imputer.direction)[:, None] * imputer.direction
        z[missing] = recon[missing]
    expected = np.clip(z * imputer.scale_sd + imputer.scale_mean, 0, 1)
    np.testing.assert_allclose(imputer.transform(query), expected, atol=1e-8)


# -- PCA and link -------------------------------------------------------------------------------


def test_pca_sign_convention_and_projection():
    rng = np.random.default_rng(2)
    x = rng.random((30, 5))
    caps = fit_capabilities(x, 3)
    rows = np.arange(3)
    assert (caps.components[rows, np.abs(caps.components).argmax(axis=1)] > 0).all()
    np.testing.assert_allclose(caps.components @ caps.components.T, np.eye(3), atol=1e-10)
    flipped = fit_capabilities(x[::-1], 3)  # row order must not flip a sign
    np.testing.assert_allclose(flipped.components, caps.components, atol=1e-10)


def test_link_recovers_parameters_and_is_no_worse_than_curve_fit():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(50, 3))
    truth = np.array([-1.0, 2.0, -1.5, 0.5, 0.12])
    y = predict(truth, x) + rng.normal(0, 0.01, size=50)
    fit = fit_link(x, y)
    np.testing.assert_allclose(fit.params, truth, atol=0.15)

    def upstream(x1, *p):
        return (1 - p[-1]) / (1 + np.exp(-(x1 @ np.array(p[:-1])))) + p[-1]

    x1 = np.column_stack([np.ones(50), x])
    popt, _ = curve_fit(
        upstream, x1, y, p0=[0, 0.01, 0.01, 0.01, 0], bounds=([-np.inf] * 4 + [0], [np.inf] * 4 + [0.2])
    )
    assert fit.mse <= np.mean((upstream(x1, *popt) - y) ** 2) + 1e-12


def test_separable_target_does_not_run_away_to_a_step_function():
    x = np.linspace(-1, 1, 30)[:, None]
    y = (x[:, 0] > 0).astype(float)  # a perfect step: unbounded least squares diverges
    fit = fit_link(x, y, max_slope=10.0, max_logit=20.0)
    assert np.abs(fit.weights * x.std()).max() <= 10.0 + 1e-9
    assert 0.0 <= fit.floor <= 0.2


# -- the fitter on the registry -----------------------------------------------------------------


def test_default_set_is_the_papers_77_models(reg):
    data = obsscaling_default_data(reg, ["gsm8k_cot_flexible_extract"])
    assert data.models.height == 77
    flops = data.models["flops"]
    assert int((flops <= 8.4e22).sum()) == 47
    assert int((flops > 8.4e22).sum()) + int(flops.is_null().sum()) == 30


def test_gsm8k_cot_reproduces_the_paper(reg):
    task = "gsm8k_cot_flexible_extract"
    data = obsscaling_default_data(reg, [task])
    result = run_backtest(LowRankFitter(n_bootstrap=50), data, "compute-cutoff", cutoff=8.4e22, write=False)
    mse = result.summary()["benchmarks"][task]["mse"]
    assert mse <= 4.7e-3 * 1.25
    fitter = LowRankFitter(n_bootstrap=0).fit(data.select_models(result.splits[0].train))
    law = fitter.learned_parameters()["laws"][task]
    assert "gsm8k" not in law["inputs"]
    ours = np.array([*law["pc_weights"], law["intercept"]])
    np.testing.assert_allclose(np.abs(ours), np.abs([2.56, 4.63, 4.30, -2.50]), atol=0.15)


def test_diagnostics_are_queryable_in_sql(reg, tmp_path):
    from obslaws.fitting.store import fit_and_store
    from obslaws.registry import load_registry

    conn = obslaws.connect(tmp_path / "d.duckdb")  # with the plugins: lowrank's tables
    load_registry(conn)
    task = "gsm8k_cot_flexible_extract"
    data = obsscaling_default_data(conn, [task])
    fitter = LowRankFitter(n_bootstrap=0)
    fit_id = fit_and_store(conn, fitter, data)
    fitter.store_extras(conn, fit_id)
    fitter.store_extras(conn, fit_id)  # idempotent
    eff = read_frame(
        conn, "SELECT component, slope, r2 FROM family_efficiency WHERE fit_id = ? AND family = 'llama-2'", [fit_id]
    )
    assert set(eff["component"]) == {"PC1", "PC2", "PC3", "logit"}
    assert eff.filter(pl.col("component") == "PC1")["slope"][0] > 0  # capability grows with compute
    eq = conn.execute(
        "SELECT log10_flops FROM equivalent_compute WHERE fit_id = ? AND model_id = 'meta-llama/Llama-2-7b-hf'",
        [fit_id],
    ).fetchall()
    assert abs(eq[0][0] - np.log10(8.4e22)) < 0.5  # a Llama-2 model sits near its own compute
    conn.close()


def test_models_without_scores_are_placed_by_compute_and_family(reg):
    data = obsscaling_default_data(reg, ["mmlu"])
    test_ids = data.models.filter(pl.col("family") == "llama-2")["model_id"].to_list()[1:]
    train = data.select_models([m for m in data.model_ids if m not in test_ids])
    query = data.select_models(test_ids).hide_scores(list(LowRankFitter.requires.input_benchmarks))
    out = LowRankFitter(n_bootstrap=50).fit(train).predict(query)
    assert out.height == len(test_ids)
    assert (
        out.select((pl.col("lower") <= pl.col("prediction")) & (pl.col("prediction") <= pl.col("upper")))
        .to_series()
        .all()
    )
    truth = data.matrix(["mmlu"]).filter(pl.col("model_id").is_in(test_ids)).sort("model_id")["mmlu"].to_numpy()
    assert np.abs(out.sort("model_id")["prediction"].to_numpy() - truth).mean() < 0.1


@pytest.mark.parametrize("fitter", [LowRankFitter(n_bootstrap=20), LogFlopsSigmoidFitter(n_bootstrap=20)])
def test_check_fitter(fitter):
    assert "deterministic" in check_fitter(fitter)
