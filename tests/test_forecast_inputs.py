"""The forecaster's input benchmarks: the two rules (coverage, relevance) its inner folds choose from."""

from __future__ import annotations

import numpy as np
import polars as pl
from obslaws_forecast import ForecastFitter
from obslaws_forecast.matrix import input_benchmarks, input_columns, relevant_inputs

from obslaws import FitData


def _data(seed: int = 0) -> FitData:
    """Two targets driven by one skill; ten noise benchmarks every model has; one benchmark that
    measures the skill, scored for half of the models only."""
    rng = np.random.default_rng(seed)
    n = 40
    skill = rng.normal(size=n)
    rows = []
    for i in range(n):
        values = {"t0": skill[i] + 0.1 * rng.normal(), "t1": 0.8 * skill[i] + 0.2 * rng.normal()}
        values |= {f"noise{j}": rng.normal() for j in range(10)}
        if i % 2 == 0:
            values["skill_twin"] = skill[i] + 0.05 * rng.normal()
        rows += [{"model_id": f"m{i}", "benchmark": b, "value": float(1 / (1 + np.exp(-v)))} for b, v in values.items()]
    models = pl.DataFrame({"model_id": [f"m{i}" for i in range(n)]})
    return FitData.build(models, pl.DataFrame(rows), targets=["t0", "t1"])


def test_relevance_keeps_the_related_benchmark_that_coverage_crowds_out():
    data = _data()
    assert "skill_twin" not in input_benchmarks(data, ["t0", "t1"], 15, 4)
    related = relevant_inputs(data, ["t0", "t1"], 15, 4)
    assert "skill_twin" in related and len(related) == 4


def test_input_columns_index_targets_first_then_each_rules_inputs():
    data = _data()
    inputs, columns = input_columns(data, ["t0", "t1"], 15, 4)
    assert set(columns) == {"coverage", "relevance"}
    names = ["t0", "t1", *inputs]
    for rule, cols in columns.items():
        assert list(cols[:2]) == [0, 1] and len(cols) == 6
        chosen = [names[c] for c in cols[2:]]
        assert ("skill_twin" in chosen) == (rule == "relevance")
    # everything fits under the limit: one rule, nothing to choose
    assert set(input_columns(data, ["t0", "t1"], 15, 50)[1]) == {"coverage"}


def test_the_forecaster_compares_both_rules_on_its_inner_folds():
    fitted = ForecastFitter(poolings=(1.0,), ranks=(1,), alphas=(1.0,), blends=(0.0, 1.0), max_inputs=4).fit(_data())
    learned = fitted.learned_parameters()
    assert "skill_twin" in learned["input_rules"]["relevance"]
    assert "skill_twin" not in learned["input_rules"]["coverage"]
    assert any("inputs=relevance" in label for label in learned["compared"])
    assert {c["inputs"] for c in learned["chosen"].values()} <= {"coverage", "relevance"}
