"""A family's training domain (``code``) as a pooled level of the covariate model: a new code
family starts from the code families' level, and the inner folds choose whether to use it."""

from __future__ import annotations

import numpy as np
import polars as pl
from forecast_models import family_models
from obslaws_forecast.covariate import CovariateModel
from obslaws_forecast.design import Design, ModelTable
from obslaws_forecast.engine import Config
from test_forecast import small_forecaster

from obslaws import FitData

CODE_DEFICIT = -1.5  # logits: what a code family scores below a general family of its size and tokens


def _models(families: int, code: set[int]) -> pl.DataFrame:
    """Four sizes per family, families a month apart; ``code`` names the code families."""
    return family_models({f"fam{f}": (f in code, (1e9, 3e9, 7e9, 13e9)) for f in range(families)})


def _logits(table: ModelTable, rng: np.random.Generator) -> np.ndarray:
    code = (table.domain == "code").astype(float)
    return 0.4 * table.raw["log_n"] + CODE_DEFICIT * code + 0.1 * rng.normal(size=table.n)


def test_domain_labels_come_from_the_models_and_are_empty_without_the_column():
    models = _models(3, {1})
    assert ModelTable.of(models).domain.tolist() == [""] * 4 + ["code"] * 4 + [""] * 4
    assert ModelTable.of(models.drop("domain")).domain.tolist() == [""] * 12


def test_the_domain_level_is_pooled_only_when_the_configuration_asks_and_a_training_model_has_one():
    table = ModelTable.of(_models(4, {1}))
    levels = dict(Design.fit(table, ("log_n",), Config(domain=True).levels).levels)
    assert levels["domain"] == ("code",)
    assert "domain" not in dict(Design.fit(table, ("log_n",), Config(domain=False).levels).levels)
    general = ModelTable.of(_models(4, set()))
    assert "domain" not in dict(Design.fit(general, ("log_n",), Config(domain=True).levels).levels)


def test_a_new_code_family_starts_from_the_code_families_level():
    rng = np.random.default_rng(0)
    train = ModelTable.of(_models(12, {2, 5, 8}))
    z = _logits(train, rng)[:, None]
    observed = np.ones(z.shape, dtype=bool)
    query_models = _models(14, {12, 13}).filter(pl.col("family").is_in(["fam12", "fam13"]))
    query = ModelTable.of(query_models.with_columns(domain=pl.Series([None] * 4 + ["code"] * 4)))
    truth = _logits(query, rng)
    config = Config(pooling=1.0, drift=False, org=False, rank=0)
    with_domain = CovariateModel.fit(train, z, observed, config.terms, 1.0, Config(domain=True, org=False).levels)
    without = CovariateModel.fit(train, z, observed, config.terms, 1.0, config.levels)
    on, off = with_domain.predict(query)[:, 0], without.predict(query)[:, 0]
    code = query.domain == "code"
    assert np.abs(on[code] - truth[code]).mean() < 0.5 * np.abs(off[code] - truth[code]).mean()
    assert np.abs(on[~code] - truth[~code]).mean() < 0.3  # a general new family is not pulled down


def _code_data(seed: int = 0) -> FitData:
    rng = np.random.default_rng(seed)
    models = _models(16, {2, 5, 9, 13, 15})
    z = _logits(ModelTable.of(models), rng)
    scores = pl.DataFrame(
        {"model_id": models["model_id"], "benchmark": ["target"] * models.height, "value": 1 / (1 + np.exp(-z))}
    )
    return FitData.build(models, scores, targets=["target"])


def test_the_inner_folds_choose_the_domain_level_where_code_families_differ():
    learned = small_forecaster().fit(_code_data()).learned_parameters()
    assert any(c["domain"] for c in learned["chosen"].values())
    offered = [label for label in learned["compared"] if "domain=on" in label]
    assert offered and any("domain=on" not in label for label in learned["compared"])


def test_data_without_domains_offers_no_domain_choice():
    data = _code_data()
    plain = FitData.build(data.models.drop("domain"), data.scores, targets=["target"])
    learned = small_forecaster().fit(plain).learned_parameters()
    assert not any("domain=on" in label for label in learned["compared"])
    off = small_forecaster(domains=(False,)).fit(data).learned_parameters()
    assert not any("domain=on" in label for label in off["compared"])
