"""Synthetic models, scores and losses from a known law: the data ``check_fitter`` tests on."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import polars as pl
from scipy.special import expit

from obslaws.data import FitData
from obslaws.fitting.contract import Requirements

# Six synthetic benchmarks, as many as an Open LLM Leaderboard set, with their chance levels.
SYNTHETIC_CHANCE = {
    "synthetic_mc": 0.25,
    "synthetic_gen": 0.0,
    "synthetic_binary": 0.5,
    "synthetic_mc10": 0.1,
    "synthetic_math": 0.0,
    "synthetic_mc4": 0.25,
}
SYNTHETIC_TARGETS = tuple(SYNTHETIC_CHANCE)


def synthetic_data(
    requires: Requirements | None = None,
    *,
    targets: Sequence[str] = SYNTHETIC_TARGETS,
    n_families: int = 5,
    sizes: Sequence[float] = (1.5e8, 4e8, 1e9, 3e9, 7e9),
    seed: int = 0,
) -> FitData:
    """Synthetic models, scores and losses from a known law, with what ``requires`` declares.

    Families differ in compute efficiency; each has a base and an instruct family (the
    instruct family joins the base family's ``family_group``). Parameters span
    ``sizes``, tokens 20-200 per parameter, FLOPs = 6ND, release dates 2022-2024.
    Score on benchmark j: chance_j + (1 - chance_j) * sigmoid(a_j + b_j log C + e_family),
    plus small noise; loss on data set k: E_k + A / N^0.3 + B / D^0.3.
    """
    requires = requires or Requirements()
    rng = np.random.default_rng(seed)
    models = _models(n_families, sizes)
    effect = models["_effect"].to_numpy()
    models = models.drop("_effect")
    benches = list(dict.fromkeys([*targets, *requires.input_benchmarks]))
    scores, benchmarks = _scores(models, effect, benches, rng)
    datasets = list(requires.loss_datasets) or (["synthetic_corpus"] if "losses" in requires.needs else [])
    losses = _losses(models, effect, datasets)
    return FitData.build(models, scores, losses, benchmarks, targets=list(targets))


def _models(n_families: int, sizes: Sequence[float]) -> pl.DataFrame:
    """One row per model, with its family's compute efficiency in ``_effect``."""
    rows = []
    for f in range(n_families):
        family = f"fam{f}"
        effect = 0.6 * (f - (n_families - 1) / 2)
        tokens_per_param = 20.0 * (1 + 3 * f / max(n_families - 1, 1))
        for variant, suffix, shift in (("base", "", 0.0), ("instruct", "-it", 0.3)):
            sub = family + suffix
            for i, params in enumerate(sizes):
                tokens = params * tokens_per_param * (1.0 + 0.1 * i)
                date = dt.date(2022, 1, 1) + dt.timedelta(days=int(120 * f + 60 * i + (20 if suffix else 0)))
                rows.append(
                    {
                        "model_id": f"{sub}-{params / 1e9:g}b",
                        "family": sub,
                        "family_group": family,
                        "variant": variant,
                        "instruct": variant != "base",
                        "params": params,
                        "params_total": params,
                        "params_non_embedding": params * 0.9,
                        "tokens": tokens,
                        "flops": 6.0 * params * tokens,
                        "release_date": date,
                        "_effect": effect + shift,
                    }
                )
    return pl.DataFrame(rows)


def _chance(bench: str, j: int) -> float:
    return SYNTHETIC_CHANCE.get(bench, 0.25 if j % 2 == 0 else 0.0)


def _scores(
    models: pl.DataFrame, effect: np.ndarray, benches: Sequence[str], rng: np.random.Generator
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Scores of every model on every benchmark (a sigmoid in log compute), and the benchmarks."""
    log_c = np.log(models["flops"].to_numpy() / 1e21)
    score_rows = []
    for j, bench in enumerate(benches):
        chance = _chance(bench, j)
        slope, intercept = 0.7 + 0.15 * (j % 4), -0.5 - 0.4 * (j % 5)
        truth = chance + (1 - chance) * expit(intercept + slope * log_c + effect)
        noisy = np.clip(truth + rng.normal(0, 0.005, truth.shape), 0.0, 1.0)
        for model_id, value in zip(models["model_id"], noisy, strict=True):
            score_rows.append({"model_id": model_id, "benchmark": bench, "value": float(value), "stderr": 0.01})
    benchmarks = pl.DataFrame(
        {
            "benchmark": list(benches),
            "metric": ["acc"] * len(benches),
            "n_shots": [0] * len(benches),
            "chance": [_chance(b, j) for j, b in enumerate(benches)],
            "n_items": [1000] * len(benches),
        }
    )
    return pl.DataFrame(score_rows), benchmarks


def _losses(models: pl.DataFrame, effect: np.ndarray, datasets: Sequence[str]) -> pl.DataFrame | None:
    """Per data set, a Chinchilla-style loss of size and tokens; None for no data sets."""
    params = models["params"].to_numpy()
    tokens = models["tokens"].to_numpy()
    loss_rows = []
    for k, dataset in enumerate(datasets):
        loss = 1.7 + 0.1 * k + 400.0 / params**0.3 + 400.0 / tokens**0.3 - 0.02 * effect
        for model_id, value, seen in zip(models["model_id"], loss, tokens, strict=True):
            loss_rows.append(
                {
                    "model_id": model_id,
                    "dataset": dataset,
                    "value": float(value),
                    "unit": "nats_per_token",
                    "tokens_seen": float(seen),
                }
            )
    return pl.DataFrame(loss_rows) if loss_rows else None
