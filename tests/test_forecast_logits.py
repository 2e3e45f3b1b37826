"""The forecaster's ridge on logits: a model's closest other benchmarks, read as they are scored
rather than as residuals of the covariate model, so that a model far above the training range is
predicted along their line (GSM8K from GSM8K with chain of thought, MMLU from MMLU-Pro)."""

from __future__ import annotations

import numpy as np
import polars as pl
from obslaws_forecast import ForecastFitter
from obslaws_forecast.correlated import CorrelatedRidge
from obslaws_forecast.design import ModelTable
from obslaws_forecast.engine import Config, Engine
from obslaws_forecast.matrix import proxy_inputs, relevant_inputs

from obslaws import FitData
from obslaws.testing import synthetic_data


def test_the_ridge_on_logits_has_an_intercept_and_extrapolates_along_the_line():
    rng = np.random.default_rng(0)
    x = 3.0 + rng.normal(size=80)  # not centred: logits, not residuals
    y = 2.0 + 0.5 * x + 0.01 * rng.normal(size=80)
    observed = np.ones((80, 2), dtype=bool)
    ridge = CorrelatedRidge(intercept=True).fit(np.column_stack([y, x]), observed)
    far = ridge.predict(np.array([[0.0, 10.0]]), np.array([[False, True]]), np.array([0]))[0, 0]
    assert abs(far - 7.0) < 0.1
    # without the intercept the line goes through the origin, and misses by about the intercept
    plain = CorrelatedRidge().fit(np.column_stack([y, x]), observed)
    assert abs(plain.predict(np.array([[0.0, 10.0]]), np.array([[False, True]]), np.array([0]))[0, 0] - 7.0) > 1.0


def _skill_matrix(seed: int = 0):
    """Models of synthetic_data with a target and a noisier twin of it, both driven by log size
    and a family effect: in the covariate model's residuals the twin's noise is as large as the
    family effect (a flat slope), on logits it is small beside the spread of sizes."""
    rng = np.random.default_rng(seed)
    models = synthetic_data(n_families=6).models
    new = (
        models.filter(pl.col("family") == "fam0")
        .head(1)
        .with_columns(model_id=pl.lit("new-1b"), family=pl.lit("newfam"), family_group=pl.lit("newfam"))
    )
    models = pl.concat([models, new])
    table = ModelTable.of(models)
    family = {f: 0.3 * rng.normal() for f in set(table.family.tolist())} | {"newfam": 2.0}
    skill = 1.5 * table.raw["log_n"] + np.array([family[f] for f in table.family.tolist()])
    z = np.column_stack([skill + 0.1 * rng.normal(size=table.n), skill + 0.3 * rng.normal(size=table.n)])
    return table, z, skill[-1]


def test_a_new_family_far_above_the_rest_is_predicted_along_its_twin():
    table, z, truth = _skill_matrix()
    train = np.arange(table.n - 1)
    observed = np.ones_like(z, dtype=bool)
    query = (table.take(np.array([table.n - 1])), z[-1:], np.array([[False, True]]))
    errors = {}
    for on_logits in (False, True):
        config = Config(pooling=1.0, rank=0, blend=1.0, on_logits=on_logits)
        engine = Engine.fit(config, table.take(train), z[train], observed[train], 1)
        errors[on_logits] = abs(engine.predict(*query)[0, 0] - truth)
    # residuals: the slope is attenuated to about half, so about half of the family's +2 is missed
    assert errors[False] > 0.6 and errors[True] < 0.35


def _twin_data(seed: int = 0) -> FitData:
    """A target, eight moderately related benchmarks every model has, and a near-exact twin of
    the target scored for 16 of the 40 models."""
    rng = np.random.default_rng(seed)
    n = 40
    skill = rng.normal(size=n)
    rows = []
    for i in range(n):
        values = {"t0": skill[i] + 0.05 * rng.normal()}
        values |= {f"related{j}": skill[i] + 0.6 * rng.normal() for j in range(8)}
        if i < 16:
            values["twin"] = skill[i] + 0.05 * rng.normal()
        rows += [{"model_id": f"m{i}", "benchmark": b, "value": float(1 / (1 + np.exp(-v)))} for b, v in values.items()]
    return FitData.build(pl.DataFrame({"model_id": [f"m{i}" for i in range(n)]}), pl.DataFrame(rows), targets=["t0"])


def test_proxies_keep_the_twin_that_the_relevance_rule_shrinks_away():
    data = _twin_data()
    assert "twin" not in relevant_inputs(data, ["t0"], 15, 4)
    assert proxy_inputs(data, ["t0"], 15, 1) == ("twin",)
    assert proxy_inputs(data, ["t0"], 17, 1) != ("twin",)  # too few models have it


def test_the_forecaster_compares_the_ridge_on_logits_and_its_proxies_on_inner_folds():
    fitted = ForecastFitter(poolings=(1.0,), ranks=(1,), alphas=(1.0,), blends=(0.0, 1.0), max_inputs=4)
    learned = fitted.fit(_twin_data()).learned_parameters()
    assert "twin" in learned["inputs"] and "twin" not in {b for r in learned["input_rules"].values() for b in r}
    labels = list(learned["compared"])
    assert any(label.endswith("on logits") for label in labels)
    assert any(label.endswith("on logits with proxies") for label in labels)
    assert {c["on_logits"] for c in learned["chosen"].values()} <= {False, True}
