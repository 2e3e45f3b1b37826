"""The fitter contract and its conformance suite, check_fitter."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from obslaws import FitData, Fitter, Requirements
from obslaws.errors import FitterError, NotFittedError
from obslaws.fitting.lookup import get_fitters
from obslaws.testing import SYNTHETIC_TARGETS, ConformanceError, check_fitter, synthetic_data

BUILTIN_PLUGINS = {"baselines", "lowrank", "sloth", "loss2loss", "densing", "forecast"}


class MeanFitter(Fitter):
    """Predicts each benchmark's training mean: the smallest conforming fitter."""

    name = "mean-test"
    version = "1"

    def __init__(self, *, shift: float = 0.0):
        self.shift = shift

    def _fit(self, data: FitData) -> None:
        means = data.scores.filter(pl.col("benchmark").is_in(list(self.targets_)))
        self.means_ = dict(means.group_by("benchmark").agg(pl.col("value").mean()).iter_rows())

    def _predict(self, query: FitData) -> pl.DataFrame:
        return self.grid(query, lambda model, bench: self.means_[bench] + self.shift)


class Mutating(MeanFitter):
    name = "mutating-test"

    def _fit(self, data: FitData) -> None:
        data.models.insert_column(data.models.width, pl.Series("oops", [1.0] * data.models.height))
        super()._fit(data)


class MutatingScores(MeanFitter):
    name = "mutating-scores-test"

    def _fit(self, data: FitData) -> None:
        object.__setattr__(data, "scores", data.scores.with_columns(pl.col("value") * 0))
        super()._fit(data)


class NonDeterministic(MeanFitter):
    name = "random-test"

    def __init__(self, *, shift: float = 0.0, random_state: int | None = None):
        self.shift = shift
        self.random_state = random_state

    def _fit(self, data: FitData) -> None:
        super()._fit(data)
        noise = np.random.default_rng()  # ignores random_state: the bug check_fitter must catch
        self.means_ = {k: v + noise.normal(0, 0.01) for k, v in self.means_.items()}


class SeededRandom(NonDeterministic):
    name = "seeded-random-test"

    def _fit(self, data: FitData) -> None:
        MeanFitter._fit(self, data)
        rng = np.random.default_rng(self.random_state)
        self.means_ = {k: self.means_[k] + rng.normal(0, 0.01) for k in sorted(self.means_)}


class LearnsInInit(MeanFitter):
    name = "init-state-test"

    def __init__(self, *, shift: float = 0.0):
        self.shift = shift
        self.cache_ = {}


class NoNotFitted(MeanFitter):
    name = "no-notfitted-test"

    def predict(self, query):
        return self._predict(query)

    def _predict(self, query):
        return self.grid(query, lambda model, bench: getattr(self, "means_", {}).get(bench, 0.5))


class ReturnsNone(MeanFitter):
    name = "returns-none-test"

    def fit(self, data):
        super().fit(data)
        return None


class NaNs(MeanFitter):
    name = "nan-test"

    def _predict(self, query):
        return self.grid(query, lambda model, bench: float("nan"))


class BadInterval(MeanFitter):
    name = "bad-interval-test"

    def _predict(self, query):
        out = super()._predict(query)
        return out.with_columns(
            (pl.col("prediction") + 0.1).alias("lower"), (pl.col("prediction") + 0.2).alias("upper")
        )


class MissingRows(MeanFitter):
    name = "missing-rows-test"

    def _predict(self, query):
        return super()._predict(query).head(1)


class FitManyInPlace(MeanFitter):
    """Batches the folds but fits itself instead of one clone per fold."""

    name = "fit-many-in-place-test"

    def fit_many(self, datas):
        return [self.fit(d) for d in datas]


class FitManyDrifts(MeanFitter):
    """A batched fit that does not agree with fit()."""

    name = "fit-many-drifts-test"

    def fit_many(self, datas):
        fitted = [self.clone().fit(d) for d in datas]
        for model in fitted:
            model.means_ = {bench: value + 0.01 for bench, value in model.means_.items()}
        return fitted


class PositionalArgs(Fitter):
    name = "positional-test"

    def __init__(self, shift=0.0):
        self.shift = shift


def builtin_fitters() -> list[str]:
    return sorted(name for name, info in get_fitters().items() if info.plugin in BUILTIN_PLUGINS)


def test_mean_fitter_passes_every_check():
    passed = check_fitter(MeanFitter())
    for check in ("clone", "predict-before-fit", "fit-returns-self", "input-not-mutated", "output", "deterministic",
                  "fit-many"):  # fmt: skip
        assert check in passed


def test_seeded_fitter_passes():
    check_fitter(SeededRandom(random_state=3))
    check_fitter(SeededRandom())  # random_state None: the suite fixes it


@pytest.mark.parametrize("name", builtin_fitters())
def test_every_builtin_fitter_conforms(name):
    info = get_fitters()[name]
    check_fitter(info.create(**info.cls.check_hyperparameters))


@pytest.mark.parametrize(
    ("fitter", "check"),
    [
        (Mutating(), "input-not-mutated"),
        (MutatingScores(), "input-not-mutated"),
        (NonDeterministic(random_state=0), "deterministic"),
        (LearnsInInit(), "no-learned-state-before-fit"),
        (NoNotFitted(), "predict-before-fit"),
        (ReturnsNone(), "fit-returns-self"),
        (NaNs(), "predictions-finite"),
        (BadInterval(), "interval-contains-prediction"),
        (MissingRows(), "output-rows"),
        (FitManyInPlace(), "fit-many"),
        (FitManyDrifts(), "fit-many"),
    ],
)
def test_broken_fitters_fail_naming_the_check(fitter, check):
    with pytest.raises(ConformanceError) as info:
        check_fitter(fitter)
    assert info.value.check == check
    assert str(info.value).startswith(f"check_fitter[{check}] {fitter.name}:")
    assert isinstance(info.value, AssertionError)


def test_positional_hyperparameters_are_rejected():
    with pytest.raises(ConformanceError, match=r"check_fitter\[hyperparameters\].*keyword-only"):
        check_fitter(PositionalArgs())


def test_predict_before_fit_raises_not_fitted():
    with pytest.raises(NotFittedError, match="call fit"):
        MeanFitter().predict(synthetic_data())


def test_fit_forgets_an_earlier_fit_and_keeps_hyperparameters():
    data = synthetic_data()
    fitter = MeanFitter(shift=0.1).fit(data)
    assert fitter.is_fitted() and fitter.get_params() == {"shift": 0.1}
    fitter.fit(data.with_targets(["synthetic_mc"]))
    assert set(fitter.means_) == {"synthetic_mc"}
    assert fitter.clone().get_params() == {"shift": 0.1} and not fitter.clone().is_fitted()


def test_set_params_rejects_unknown_names():
    with pytest.raises(FitterError, match="unknown hyperparameter 'nope'"):
        MeanFitter().set_params(nope=1)


def test_synthetic_data_follows_requirements():
    req = Requirements(
        needs=frozenset({"flops", "losses", "release_date"}), input_benchmarks=("mmlu",), loss_datasets=("pile",)
    )
    data = synthetic_data(req)
    assert set(data.targets) == set(SYNTHETIC_TARGETS) and len(SYNTHETIC_TARGETS) == 6
    assert "mmlu" in set(data.scores["benchmark"].to_list())
    assert set(data.losses["dataset"].to_list()) == {"pile"}
    assert data.models["release_date"].null_count() == 0
    assert data.models["family_group"].n_unique() * 2 == data.models["family"].n_unique()
    # The known law: scores rise with compute within each family.
    wide = data.matrix(["synthetic_gen"]).join(data.models.select("model_id", "family", "flops"), on="model_id")
    for _, fam in wide.group_by("family"):
        ordered = fam.sort("flops")["synthetic_gen"].to_numpy()
        assert ordered[-1] > ordered[0]


def test_check_fitter_on_given_data_and_targets():
    data = synthetic_data()
    assert "deterministic" in check_fitter(MeanFitter(), data, targets=["synthetic_gen"])
