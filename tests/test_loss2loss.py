"""loss2loss: compute laws, shifted power laws, the two-step task law, the sweep reproduction."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from obslaws_loss2loss.composite import add_weighted_task
from obslaws_loss2loss.fitter import Loss2LossFitter, _final_losses, _smoothed_series, resolve_loss_dataset
from obslaws_loss2loss.laws import LawFit, fit_law
from obslaws_loss2loss.pairings import dataset_laws, fit_shifted_free_ey, train_to_train
from obslaws_loss2loss.shifted import fit_shifted_power_law
from obslaws_loss2loss.sigmoid import fit_sigmoid, sigmoid_curve

from obslaws.data import FitData
from obslaws.errors import FitterError
from obslaws.shared_data import shared_data_dir

SHARED = shared_data_dir()

GRID_N = np.repeat([2e7, 6e7, 2e8, 6e8, 2e9], 4)
GRID_D = np.tile([4e8, 2e9, 1e10, 5e10], 5)


@pytest.mark.parametrize("form", ["kaplan", "chinchilla"])
def test_fit_law_recovers_a_known_law(form: str) -> None:
    truth = LawFit(form, (np.log(6e7), np.log(9e8), np.log(2.0), 0.41, 0.45), 0.0, 0)
    if form == "chinchilla":
        truth = LawFit(form, (np.log(400.0), np.log(600.0), np.log(1.8), 0.34, 0.28), 0.0, 0)
    rng = np.random.default_rng(0)
    loss = truth.predict(GRID_N, GRID_D) * np.exp(rng.normal(0, 2e-4, GRID_N.size))
    fit = fit_law(GRID_N, GRID_D, loss, form=form)
    assert pytest.approx(truth.E, rel=0.02) == fit.E
    # Extrapolation 10x past the largest model is what the law is for.
    assert fit.predict(2e10, 5e11)[0] == pytest.approx(truth.predict(2e10, 5e11)[0], rel=0.01)


def test_shifted_power_law_recovers_k_and_kappa() -> None:
    x = np.linspace(2.4, 4.0, 30)
    law = fit_shifted_power_law(x, 0.9 * (x - 2.1) ** 1.1 + 1.3, 2.1, 1.3)
    assert (law.K, law.kappa) == pytest.approx((0.9, 1.1), rel=1e-6)
    assert law.predict(2.0) == pytest.approx(1.3)  # below E_x maps to E_y
    free = fit_shifted_free_ey(x, 0.9 * (x - 2.1) ** 1.1 + 1.3, 2.1, n_grid=400)
    assert free.e_y == pytest.approx(1.3, abs=0.02)


def test_sigmoid_recovers_a_known_curve_with_the_anchor() -> None:
    loss = np.linspace(0.7, 1.8, 60)
    acc = sigmoid_curve(loss, -0.7, 1.1, 5.0, 1.0)
    fit = fit_sigmoid(loss, acc, anchor=1.0)
    assert fit.predict(0.5) == pytest.approx(sigmoid_curve(0.5, -0.7, 1.1, 5.0, 1.0), abs=1e-3)
    with pytest.raises(ValueError, match="at least 4"):
        fit_sigmoid(loss[:2], acc[:2])


def _ladder(sizes=(1.9e8, 3.7e8, 7.6e8, 1.3e9), extra=()) -> FitData:
    """A synthetic ladder: final runs and checkpoints; task loss from a known law, accuracy from a sigmoid."""
    law = LawFit("chinchilla", (np.log(30.0), np.log(80.0), np.log(0.45), 0.25, 0.22), 0.0, 0)
    models, losses, scores = [], [], []
    for n in (*sizes, *extra):
        for mult in (1, 2, 5, 10):
            run = f"m{n:.2g}-{mult}x"
            for frac in (0.25, 0.5, 0.75, 1.0):
                d = 20 * n * mult * frac
                mid = run if frac == 1.0 else f"{run}@{frac}"
                models.append({"model_id": mid, "params": n, "tokens": d, "checkpoint_of": None if frac == 1 else run})
                loss = float(law.predict(n, d)[0])
                losses.append({"model_id": mid, "dataset": "task_rc", "value": loss, "unit": "bits_per_byte"})
                scores.append(
                    {
                        "model_id": mid,
                        "benchmark": "olmo_task_rc",
                        "value": float(sigmoid_curve(loss, -0.7, 0.9, 6.0, 1.0)),
                    }
                )
    return FitData.build(pl.DataFrame(models), pl.DataFrame(scores), pl.DataFrame(losses))


def test_two_step_law_predicts_a_larger_model() -> None:
    train = _ladder()
    # This ladder is noiseless and its checkpoints sparse, so no smoothing (it would only bias).
    fitter = Loss2LossFitter(moving_avg=1, skip_fraction=0.0).fit(train)
    big = _ladder(sizes=(), extra=(7e9,)).models.filter(pl.col("checkpoint_of").is_null())
    query = FitData.build(big, targets=["olmo_task_rc"])
    truth = _ladder(sizes=(), extra=(7e9,)).scores.filter(pl.col("model_id").is_in(big["model_id"].to_list()))
    pred = fitter.predict(query).join(truth.rename({"value": "truth"}), on=["model_id", "benchmark"])
    assert pred.height == 4
    assert (pred["prediction"] - pred["truth"]).abs().max() < 0.01
    assert fitter.learned_parameters()["tasks"]["olmo_task_rc"]["loss_dataset"] == "task_rc"


def test_smoothing_follows_the_ladder_code() -> None:
    """Step 1: mean of a run's last k evaluations; step 2: skip ceil(f * n) early ones, trailing mean."""
    models = pl.DataFrame(
        {
            "model_id": ["r@1", "r@2", "r@3", "r", "s"],
            "params": [1.0] * 5,
            "tokens": [1.0, 2.0, 3.0, 4.0, 9.0],
            "checkpoint_of": ["r", "r", "r", None, None],
        }
    )
    table = models.with_columns(pl.Series("loss", [4.0, 3.0, 2.0, 1.0, 7.0]))
    finals = _final_losses(table, 3).sort("model_id")
    assert finals["model_id"].to_list() == ["r", "s"] and finals["loss"].to_list() == [2.0, 7.0]
    series = _smoothed_series(table.with_columns(score=pl.col("loss") * 10), 2, 0.2)
    assert series.filter(pl.col("run") == "r")["loss"].to_list() == [3.0, 2.5, 1.5]  # ceil(0.8) = 1 skipped
    assert series.filter(pl.col("run") == "s")["score"].to_list() == [70.0]  # a lone final is never skipped


def test_weighted_task_is_the_item_weighted_mean() -> None:
    models = pl.DataFrame({"model_id": ["m", "n"], "params": [1e9, 1e9], "tokens": [1e10, 1e10]})
    scores = pl.DataFrame(
        {"model_id": ["m", "m", "n"], "benchmark": ["olmo_a", "olmo_b", "olmo_a"], "value": [0.4, 0.7, 0.5]}
    )
    losses = pl.DataFrame(
        {
            "model_id": ["m", "m", "n"],
            "dataset": ["a", "b", "a"],
            "value": [1.0, 2.0, 1.5],
            "unit": ["bits_per_byte"] * 3,
        }
    )
    data = add_weighted_task(FitData.build(models, scores, losses), "olmo_ab", {"olmo_a": 1, "olmo_b": 2})
    assert data.scores.filter(pl.col("benchmark") == "olmo_ab")["value"].to_list() == pytest.approx([0.6])
    ab = data.losses.filter(pl.col("dataset") == "ab")
    assert ab["model_id"].to_list() == ["m"] and ab["value"][0] == pytest.approx(5 / 3)  # n lacks b: left out
    assert data.benchmarks.filter(pl.col("benchmark") == "olmo_ab").height == 1


def test_loss_dataset_resolution_and_errors() -> None:
    assert resolve_loss_dataset("olmo_piqa_val_rc_5shot", ["piqa_val_rc_5shot", "x"], None) == "piqa_val_rc_5shot"
    assert resolve_loss_dataset("b", ["x", "y"], {"b": "y"}) == "y"
    with pytest.raises(FitterError, match="no task-loss data set"):
        resolve_loss_dataset("b", ["x", "y"], None)
    with pytest.raises(FitterError, match="has no params or tokens"):
        Loss2LossFitter().fit(_ladder()).predict(FitData.build(pl.DataFrame({"model_id": ["z"], "params": [1e9]})))


def test_check_fitter_passes() -> None:
    from obslaws.testing import check_fitter

    assert "deterministic" in check_fitter(Loss2LossFitter(n_refine=2))


def test_registered_through_the_entry_point() -> None:
    from importlib import metadata

    (ep,) = [ep for ep in metadata.entry_points(group="obslaws") if ep.name == "loss2loss"]
    registered: list[type] = []
    ep.load().register_fitters(register=registered.append)
    assert registered == [Loss2LossFitter]


@pytest.mark.skipif(not (SHARED / "loss2loss" / "sweep.csv").exists(), reason="../shared/data/loss2loss absent")
def test_train_to_train_at_1e21_matches_the_paper() -> None:
    from obslaws_loss2loss.sweep import OWN_LOSS, read_sweep

    sweep, extrap = read_sweep(SHARED / "loss2loss")
    laws = dataset_laws(sweep, OWN_LOSS, form="kaplan")
    errors = np.array([r.relative_error for r in train_to_train(sweep, laws, OWN_LOSS, targets=extrap)])
    assert errors.size == 30
    assert errors.mean() <= 0.010  # paper: 0.9%
    assert errors.max() <= 0.025  # paper: 2.1%
