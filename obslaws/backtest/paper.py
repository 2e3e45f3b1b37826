"""The Sloth paper's data and published numbers, for reproduction checks (needs the shared data:
``$OBSLAWS_SHARED``, see :mod:`obslaws.shared_data`).

- :func:`sloth_fit_data` builds a :class:`FitData` straight from ``sloth/data/data_v2.csv``
  exactly as the paper used it (FLOPs as given, ``Family2`` as the family, ``Family`` as the
  family group); the registry's ``sloth-data-v2`` source is the same data with known errors
  fixed and Hugging Face ids.
- :func:`paper_errors` reads the per-model test errors of the paper's 28 methods.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from obslaws.data import FitData
from obslaws.shared_data import shared_data_dir

# data_v2.csv column -> obslaws benchmark (lm-evaluation-harness task names).
SLOTH_BENCHMARKS = {
    "MMLU": "mmlu",
    "ARC": "arc_challenge",
    "HellaSwag": "hellaswag",
    "Winogrande": "winogrande",
    "TruthfulQA": "truthfulqa_mc2",
    "GSM8K": "gsm8k",
    "IFEval": "leaderboard_ifeval",
    "BBH": "leaderboard_bbh",
    "MATH Lvl 5": "leaderboard_math_hard",
    "GPQA": "leaderboard_gpqa",
    "MUSR": "leaderboard_musr",
    "MMLU-PRO": "leaderboard_mmlu_pro",
}
# The chance levels (lower asymptotes) of the paper's experiments (sloth/definitions.py).
SLOTH_CHANCE = {
    "mmlu": 0.25,
    "arc_challenge": 0.25,
    "hellaswag": 0.25,
    "winogrande": 0.5,
    "truthfulqa_mc2": 0.31,
    "gsm8k": 0.0,
    "leaderboard_ifeval": 0.0,
    "leaderboard_bbh": 0.288504,
    "leaderboard_math_hard": 0.0,
    "leaderboard_gpqa": 0.25,
    "leaderboard_musr": 0.343298,
    "leaderboard_mmlu_pro": 0.1,
}
# Paper setting -> obslaws benchmark set.
SETTINGS = {"OLLv1": "oll-v1", "OLLv2": "oll-v2", "OLLv1+v2": "oll-all"}
# Published MAE in points, n = 1 (docs/sloth-paper.md), by obslaws fitter and benchmark set.
PAPER_MAE_N1 = {
    "flops-sigmoid": {"oll-v1": 7.8, "oll-v2": 4.9, "oll-all": 6.1},
    "flops-sigmoid-family": {"oll-v1": 4.9, "oll-v2": 3.8, "oll-all": 4.1},
}
# obslaws fitter -> the paper's method column in sloth_paper_test_abs_errors.csv.
PAPER_METHODS = {"flops-sigmoid": "logF_sigmoid", "flops-sigmoid-family": "logF_sigmoid_faminter"}


def sloth_fit_data(path: Path | None = None) -> FitData:
    """FitData of ``data_v2.csv`` as the Sloth paper used it; model ids are its ``Model`` names."""
    path = path or shared_data_dir() / "sloth" / "data" / "data_v2.csv"
    raw = pl.read_csv(path, infer_schema_length=None, null_values=["", "NaN", "nan"])
    models = raw.select(
        pl.col("Model").alias("model_id"),
        pl.col("Family2").alias("family"),
        pl.col("Family").alias("family_group"),
        pl.when(pl.col("Instruct").cast(pl.String).str.to_lowercase() == "true")
        .then(pl.lit("instruct"))
        .otherwise(pl.lit("base"))
        .alias("variant"),
        (pl.col("Instruct").cast(pl.String).str.to_lowercase() == "true").alias("instruct"),
        (pl.col("#Params (B)").cast(pl.Float64) * 1e9).alias("params"),
        (pl.col("Pretraining Data Size (T)").cast(pl.Float64) * 1e12).alias("tokens"),
        (pl.col("FLOPs (1E21)").cast(pl.Float64) * 1e21).alias("flops"),
    ).with_columns(pl.col("params").alias("params_total"))
    scores = (
        raw.select("Model", *[pl.col(c).cast(pl.Float64) for c in SLOTH_BENCHMARKS])
        .unpivot(index="Model", variable_name="column", value_name="value")
        .drop_nulls("value")
        .select(
            pl.col("Model").alias("model_id"),
            pl.col("column").replace_strict(SLOTH_BENCHMARKS).alias("benchmark"),
            "value",
        )
    )
    benchmarks = pl.DataFrame({"benchmark": list(SLOTH_CHANCE), "chance": list(SLOTH_CHANCE.values())})
    return FitData.build(models, scores, None, benchmarks, targets=list(SLOTH_BENCHMARKS.values()))


def paper_errors(path: Path | None = None) -> pl.DataFrame:
    """The paper's per-model test errors (``sloth/derived/sloth_paper_test_abs_errors.csv``) with
    ``benchmark_set`` mapped to obslaws set names and ``benchmark`` to obslaws benchmarks."""
    path = path or shared_data_dir() / "sloth" / "derived" / "sloth_paper_test_abs_errors.csv"
    frame = pl.read_csv(path, infer_schema_length=None)
    return frame.with_columns(
        pl.col("benchmark_set").replace_strict(SETTINGS).alias("set"),
        pl.col("benchmark").replace_strict(SLOTH_BENCHMARKS).alias("benchmark"),
        pl.col("n_train_models_per_test_family").alias("n_train"),
    )


def paper_test_groups(errors: pl.DataFrame, benchmark_set: str, n_train: int) -> dict[frozenset[str], set[str]]:
    """``{frozenset(held-out Family2 names): {test model names}}`` for one paper setting."""
    rows = errors.filter((pl.col("set") == benchmark_set) & (pl.col("n_train") == n_train))
    out: dict[frozenset[str], set[str]] = {}
    for group, model in rows.select("test_group", "model").unique().iter_rows():
        out.setdefault(frozenset(group.split("+")), set()).add(model)
    return out
