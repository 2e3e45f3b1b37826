"""Model covariates as a design matrix: sizes, tokens, release date, instruct, families, domains.

Covariates are centred on the training models; a missing covariate is 0 (the training mean)
with a missing-indicator column, so models without sizes or dates still get a prediction.
Families, family groups and organisations (when the data has them) are one-hot columns whose
coefficients are shrunk (partial pooling): a family seen with one model moves only part of the
way from what its size and date predict; a family never seen gets its group's and organisation's
effects (Qwen1.5 starts from what Qwen showed), or none. A family's training domain (``code``
for code models, from the registry's families) is one more pooled level: a new code family starts
from what the code families before it showed, not from a general model of its size.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

ORIGIN = dt.date(2023, 1, 1)
LEVELS = ("family", "group", "org", "domain")  # every pooled level; a configuration may leave org and domain out


@dataclass(frozen=True)
class ModelTable:
    """The covariates of some models as arrays (NaN where missing), cheap to slice by row."""

    raw: dict[str, np.ndarray]  # log_n, log_d (log N / 1e9, log D / 1e12), years (since 2023), instruct
    family: np.ndarray
    group: np.ndarray
    org: np.ndarray
    domain: np.ndarray

    @classmethod
    def of(cls, models: pl.DataFrame) -> ModelTable:
        params = models["params"].cast(pl.Float64).to_numpy()
        tokens = models["tokens"].cast(pl.Float64).to_numpy()
        flops = models["flops"].cast(pl.Float64).to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            log_n = np.where(params > 0, np.log(params / 1e9), np.nan)
            log_d = np.where(tokens > 0, np.log(tokens / 1e12), np.nan)
            # tokens from compute where they are missing (C = 6 N D)
            log_d = np.where(np.isnan(log_d) & (flops > 0), np.log(flops / 6.0 / 1e21) - log_n, log_d)
        days = models.select((pl.col("release_date") - pl.lit(ORIGIN)).dt.total_days()).to_series()
        raw = {
            "log_n": log_n,
            "log_d": log_d,
            "years": days.cast(pl.Float64).to_numpy() / 365.25,
            "instruct": np.nan_to_num(models["instruct"].cast(pl.Float64).to_numpy(), nan=0.0),
        }
        family = np.array(models["family"].fill_null("").to_list(), dtype=object)
        group = np.array(
            models.select(pl.coalesce("family_group", "family")).to_series().fill_null("").to_list(), dtype=object
        )
        org = (
            models["organization"].fill_null("")
            if "organization" in models.columns
            else pl.Series([""] * models.height)
        )
        domain = models["domain"].fill_null("") if "domain" in models.columns else pl.Series([""] * models.height)
        return cls(raw, family, group, np.array(org.to_list(), dtype=object), np.array(domain.to_list(), dtype=object))

    def take(self, rows: np.ndarray) -> ModelTable:
        return ModelTable(
            {k: v[rows] for k, v in self.raw.items()},
            self.family[rows],
            self.group[rows],
            self.org[rows],
            self.domain[rows],
        )

    def levels(self, names: tuple[str, ...] = LEVELS) -> list[tuple[str, np.ndarray]]:
        """The pooled levels named, each a label per model ('' for none)."""
        labels = {"family": self.family, "group": self.group, "org": self.org, "domain": self.domain}
        return [(name, labels[name]) for name in names]

    @property
    def n(self) -> int:
        return self.family.size


def kept_levels(table: ModelTable, levels: tuple[str, ...] = LEVELS) -> tuple[str, ...]:
    """The pooled levels of ``levels`` that a design fitted on ``table`` keeps: two sets of levels
    that keep the same ones give the same design (so the same covariate model)."""
    kept, seen = [], []
    for name, labels in table.levels(levels):
        # a level that labels the training models as an earlier one does (groups where every
        # family is its own group) or not at all adds nothing but a second penalty and columns
        if not any(labels.tolist()) or any(np.array_equal(labels, other) for other in seen):
            continue
        seen.append(labels)
        kept.append(name)
    return tuple(kept)


@dataclass
class Design:
    """The fitted column layout: which covariates, their training means, the known families."""

    terms: tuple[str, ...]
    means: dict[str, float]
    levels: tuple[tuple[str, tuple[str, ...]], ...]  # (level, known labels)
    n_fixed: int = 0

    @classmethod
    def fit(cls, table: ModelTable, terms: tuple[str, ...], levels: tuple[str, ...] = LEVELS) -> Design:
        means = {}
        for term in terms:
            for name in term.split("*"):
                values = table.raw[name]
                means[name] = float(np.nanmean(values)) if np.isfinite(values).any() else 0.0
        known = tuple(
            (name, tuple(sorted(v for v in set(labels.tolist()) if v)))
            for name, labels in table.levels(kept_levels(table, levels))
        )
        design = cls(tuple(terms), means, known)
        design.n_fixed = design.fixed(table).shape[1]
        return design

    def fixed(self, table: ModelTable) -> np.ndarray:
        """Intercept, centred covariates (0 where missing) and one missing-indicator per covariate."""
        columns = [np.ones(table.n)]
        indicators = {}
        for term in self.terms:
            value = np.ones(table.n)
            for name in term.split("*"):
                centred = table.raw[name] - self.means[name]
                missing = np.isnan(centred)
                indicators[name] = missing.astype(float)
                value = value * np.where(missing, 0.0, centred)  # finite or NaN (ModelTable.of: logs of positives)
            columns.append(value)
        columns += [indicators[name] for name in sorted(indicators) if name != "instruct"]
        return np.column_stack(columns)

    def pooled(self, table: ModelTable) -> np.ndarray:
        """One-hot columns per pooled level (labels not seen in training: all zero)."""
        blocks = []
        names = tuple(name for name, _ in self.levels)
        for (_level, known), (_, labels) in zip(self.levels, table.levels(names), strict=True):
            index = {label: i for i, label in enumerate(known)}
            block = np.zeros((table.n, len(known)))
            for row, label in enumerate(labels.tolist()):
                if label in index:
                    block[row, index[label]] = 1.0
            blocks.append(block)
        return np.hstack(blocks) if blocks else np.zeros((table.n, 0))

    def matrix(self, table: ModelTable) -> np.ndarray:
        return np.hstack([self.fixed(table), self.pooled(table)])
