"""An inner fold's configurations that give the same covariate design share its work
(``FoldCache``): where no training model has a domain label, domain on and off are one design,
built once, with the same predictions to the bit as each computed alone. A fold keeps only its
latest normal equations, and one rebuilt gives the same bits."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from obslaws_forecast.correlated import CorrelatedRidge, pairwise_correlation
from obslaws_forecast.covariate import NormalEquations
from obslaws_forecast.design import Design, ModelTable, kept_levels
from obslaws_forecast.engine import EQUATIONS_KEPT, Config, FoldCache
from obslaws_forecast.scoreboard import Scoreboard
from test_forecast_domain import _logits, _models

BENCHMARKS = 3


def _fold(code: set[int], organisations: bool = True) -> FoldCache:
    """Five families of four models; the last family is the query (its first benchmark hidden,
    the others seen), and ``code`` names the code families."""
    models = _models(5, code)
    if not organisations:
        models = models.with_columns(organization=pl.lit(None, dtype=pl.String))
    table = ModelTable.of(models)
    rng = np.random.default_rng(0)
    z = np.column_stack([_logits(table, rng) + 0.3 * j for j in range(BENCHMARKS)])
    train = np.arange(table.n) < 16
    hide = np.zeros(z.shape, dtype=bool)
    hide[~train, 0] = True
    return FoldCache(table, z, np.ones(z.shape, dtype=bool), train, hide, 1)


@pytest.fixture
def builds(monkeypatch) -> list[int]:
    """How many normal equations were built (``[count]``) while the test ran."""
    calls = [0]
    build = NormalEquations.build.__func__

    def counted(cls, *args, **kwargs):
        calls[0] += 1
        return build(cls, *args, **kwargs)

    monkeypatch.setattr(NormalEquations, "build", classmethod(counted))
    return calls


CONFIGS = (
    Config(rank=0, domain=False),
    Config(rank=0, domain=True),
    Config(rank=0, org=False, domain=True),
    Config(rank=1, blend=0.5, domain=True),
    Config(rank=1, blend=0.5, domain=True, unseen=(1.0, True, True, True)),
)


@pytest.mark.parametrize("query_code", [False, True])
def test_domain_on_and_off_share_one_design_where_no_training_model_has_a_domain(query_code, builds):
    # a code query family over general training families: the design drops the level either way
    cache = _fold({4} if query_code else set())
    on, off = cache.predict(Config(rank=0, domain=True)), cache.predict(Config(rank=0, domain=False))
    assert builds == [1]
    assert on is off
    for config in CONFIGS:  # every one as its own fold computes it alone
        alone = _fold({4} if query_code else set())
        assert np.array_equal(alone.predict(config), cache.predict(config))


def test_a_domain_among_the_training_models_gives_its_own_design(builds):
    cache = _fold({1})
    on, off = cache.predict(Config(rank=0, domain=True)), cache.predict(Config(rank=0, domain=False))
    assert builds == [2]
    assert not np.array_equal(on, off)
    assert np.array_equal(_fold({1}).predict(Config(rank=0, domain=True)), on)


def test_the_kept_levels_are_the_designs_and_no_organisation_drops_its_level():
    models = _models(4, {2})
    for frame in (models, models.with_columns(organization=pl.lit(None, dtype=pl.String))):
        table = ModelTable.of(frame)
        for config in (Config(), Config(org=False), Config(domain=True), Config(org=False, domain=True)):
            names = tuple(name for name, _ in Design.fit(table, ("log_n",), config.levels).levels)
            assert kept_levels(table, config.levels) == names
    # every family its own group: groups dropped; without organisations the level is dropped too
    assert kept_levels(ModelTable.of(models), Config(domain=True).levels) == ("family", "org", "domain")
    assert kept_levels(table, Config(domain=True).levels) == ("family", "domain")


def test_organisation_on_and_off_share_one_design_where_no_training_model_has_one(builds):
    cache = _fold(set(), organisations=False)
    assert cache.predict(Config(rank=0, org=True)) is cache.predict(Config(rank=0, org=False))
    assert builds == [1]
    with_orgs = _fold(set())
    with_orgs.predict(Config(rank=0, org=True))
    with_orgs.predict(Config(rank=0, org=False))
    assert builds == [3]


POOLINGS_FIRST = [Config(rank=0, pooling=p, drift=d) for p in (0.5, 2.0, 8.0) for d in (True, False)]


def test_a_fold_keeps_its_latest_equations_and_one_rebuilt_gives_the_same_bits(builds):
    cache = _fold({1})
    for config in POOLINGS_FIRST:  # drift on and off in turn: each pooling rebuilds the other's
        cache.predict(config)
    assert builds == [len(POOLINGS_FIRST)]
    assert len(cache._equations_kept) == EQUATIONS_KEPT == 1
    for config in POOLINGS_FIRST:
        assert np.array_equal(_fold({1}).predict(config), cache.predict(config))
    # the residual components' equations cover every benchmark (the largest): none kept
    cache.predict(Config(rank=1, blend=0.5))
    assert all(targets_only for *_, targets_only in cache._equations_kept)


def test_configurations_scored_by_design_are_recorded_and_scored_as_one_by_one(builds):
    caches = {name: _fold({1}) for name in ("a", "b")}
    y = 1 / (1 + np.exp(-caches["a"].z))
    together = Scoreboard(caches, {"a": "later", "b": "later"}, np.zeros(BENCHMARKS), y)
    together.evaluate_covariates_together(POOLINGS_FIRST)
    assert builds == [2 * 2]  # per fold, once per drift
    alone = Scoreboard({name: _fold({1}) for name in caches}, together.kinds, together.chance, y)
    for config in POOLINGS_FIRST:
        alone._evaluate(config)
    assert list(together.results) == list(alone.results) == POOLINGS_FIRST
    for config in POOLINGS_FIRST:
        for mine, theirs in zip(together.results[config], alone.results[config], strict=True):
            assert mine.mae == theirs.mae and np.array_equal(mine.residuals, theirs.residuals)


def _keys(cache: FoldCache, name: str) -> int:
    return sum(1 for key in cache._cache if key[0] == name)


RIDGES = (
    Config(rank=1, blend=0.5),
    Config(rank=1, blend=0.5, weighted=True),
    Config(rank=1, blend=0.5, on_logits=True),
    Config(rank=1, blend=0.5, on_logits=True, weighted=True),
    Config(rank=1, blend=0.5, on_logits=True, recency=1.0),
    Config(rank=1, blend=0.5, on_logits=True, positive=True),
)


def test_ridges_that_differ_in_their_weights_share_correlations_and_choices():
    cache = _fold({1})
    predictions = [cache.predict(config) for config in RIDGES]
    # residuals: one correlation and one choice per design; logits: one correlation, a choice per sign rule
    assert (_keys(cache, "correlation"), _keys(cache, "choices")) == (1, 1)
    assert (_keys(cache, "logit correlation"), _keys(cache, "logit choices")) == (1, 2)
    assert not np.array_equal(predictions[0], predictions[1])  # the weights do count
    for config, shared in zip(RIDGES, predictions, strict=True):
        assert np.array_equal(_fold({1}).predict(config), shared)


def test_a_ridge_given_its_correlation_and_choices_predicts_as_one_that_makes_them():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(40, 5)) + rng.normal(size=(40, 1))
    observed = rng.random(z.shape) > 0.2
    weights = rng.random(z.shape)
    targets = np.arange(2)
    plain = CorrelatedRidge(min_common=5).fit(z, observed, weights)
    given = CorrelatedRidge(min_common=5).fit(z, observed, weights, pairwise_correlation(z, observed))
    choices = CorrelatedRidge(min_common=5).fit(z, observed).choices(observed, targets)
    expected = plain.predict(z, observed, targets)
    assert np.isfinite(expected).any()
    assert np.array_equal(given.predict(z, observed, targets, choices), expected, equal_nan=True)
