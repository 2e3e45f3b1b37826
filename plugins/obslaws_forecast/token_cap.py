"""Tokens counted only up to the training models' largest tokens-per-parameter ratio, where an
inner fold shaped like that question says so.

The covariate model is linear in log N, log D and their product on the logit scale. A query model
trained further past its size than any training model (Llama 3.2 1B on 9T tokens, Qwen2.5 0.5B on
18T, where nothing before mid-2024 had more than 4,300 tokens per parameter) is then carried far
along a line no training model supports. Capping its log D at log N plus the training models'
largest log(D / N) assumes instead that tokens beyond any seen ratio buy nothing more.

The training fits are the same either way: every training model is within the cap. The choice is
made on one inner fold of the training data shaped like the question: train on the models up to
the third quartile of log(D / N), hide the targets of those above the ninth decile, and predict them
with the ``all`` kind's configuration with and without the cap on the fold's own training ratio.

Where the cap is taken, the predictor caps its queries, so (since version 21) the inner folds pose
their questions the same way: each fold's query models are capped at that fold's own training ratio
(``fold_tables``) and the configurations, weights and widths are chosen again on them.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .design import ModelTable
from .engine import Config, FoldCache
from .scoreboard import evaluate

MIN_QUERIES = 5  # fewer models above the fold's ratio decide nothing: no cap


def log_ratio(table: ModelTable) -> np.ndarray:
    """log(D / N) per model, less log(1000) (the table's log D and log N are of D / 1e12 and N / 1e9;
    only differences matter here), NaN where a size or token count is missing."""
    return table.raw["log_d"] - table.raw["log_n"]


def capped(table: ModelTable, cap: float, rows: np.ndarray | None = None) -> ModelTable:
    """``table`` with log D of ``rows`` (every row by default) at most log N + ``cap``."""
    log_d = table.raw["log_d"].copy()
    rows = np.arange(table.n) if rows is None else rows
    limit = table.raw["log_n"][rows] + cap
    over = np.isfinite(limit) & (log_d[rows] > limit)  # a missing size or token count stays missing
    log_d[rows] = np.where(over, limit, log_d[rows])
    return replace(table, raw={**table.raw, "log_d": log_d})


def fold_capped(table: ModelTable, train: np.ndarray, hide: np.ndarray, scored: np.ndarray | None = None) -> ModelTable:
    """``table`` with the log D of a fold's query models (those with ``hide``den cells) capped at the
    largest ratio of its ``train``ing models with a target score (``scored``; default every training
    model); ``table`` itself where no query model is past it."""
    ratio, queries = log_ratio(table), np.flatnonzero(hide.any(axis=1))
    trained = ratio[train if scored is None else train & scored]
    cap = float(np.nanmax(trained)) if np.isfinite(trained).any() else np.inf
    moved = np.isfinite(ratio[queries]) & (ratio[queries] > cap)
    return capped(table, cap, queries) if moved.any() else table


def fold_tables(table: ModelTable, folds: list, scored: np.ndarray | None = None) -> dict[str, ModelTable]:
    """Per inner fold (``name``, ``train``, ``hide``), its ``fold_capped`` table."""
    return {fold.name: fold_capped(table, fold.train, fold.hide, scored) for fold in folds}


def scored_ratio(table: ModelTable, observed: np.ndarray, k: int) -> float:
    """The largest log(D / N) among the models with a score of the ``k`` targets (inf: none known): a
    model with inputs alone trained further says nothing of how the targets follow tokens."""
    ratio = log_ratio(table)[observed[:, :k].any(axis=1)]
    return float(np.nanmax(ratio)) if np.isfinite(ratio).any() else np.inf


def ratio_fold(table: ModelTable, observed: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(train, hide) of the fold: models up to the third quartile of log(D / N) (and those without
    one) train; the targets of the models above the ninth decile are hidden. None with too few. The
    quantiles are those of the models with a target score, whose ratios the question is about."""
    ratio = log_ratio(table)
    finite = np.isfinite(ratio)
    placed = finite & observed[:, :k].any(axis=1)
    if placed.sum() < 4 * MIN_QUERIES:
        return None
    q75, q90 = np.quantile(ratio[placed], [0.75, 0.9])
    train = ~(finite & (ratio > q75))
    query = finite & (ratio > q90)
    hide = np.zeros_like(observed)
    hide[:, :k] = observed[:, :k] & query[:, None]
    if hide.any(axis=1).sum() < MIN_QUERIES:
        return None
    return train, hide


def choose_cap(
    config: Config, table: ModelTable, z: np.ndarray, observed: np.ndarray, k: int, columns, chance, y
) -> dict[str, float | bool | int]:
    """Whether to cap (``"cap"``) and what the fold said: its MAE without and with the cap, and how
    many models it hid. The cap must predict the fold's hidden cells strictly better."""
    fold = ratio_fold(table, observed, k)
    if fold is None:
        return {"cap": False, "queries": 0}
    train, hide = fold  # every hidden model is past the training ratio (above q90, trained up to q75)
    plain = evaluate(config, FoldCache(table, z, observed, train, hide, k, columns), chance, y).mae
    fold_table = fold_capped(table, train, hide, observed[:, :k].any(axis=1))
    with_cap = evaluate(config, FoldCache(fold_table, z, observed, train, hide, k, columns), chance, y).mae
    queries = int(hide.any(axis=1).sum())
    return {"cap": bool(with_cap < plain), "mae_plain": plain, "mae_capped": with_cap, "queries": queries}
