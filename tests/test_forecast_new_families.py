"""New families' models without other scores: a covariate model of their own per kind, kept only
where leaving each of the kind's fold groups out says so (new_families.py)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
from obslaws_forecast.covariate import CovariateModel, unseen_families
from obslaws_forecast.design import Design, ModelTable
from obslaws_forecast.engine import Config, Engine
from obslaws_forecast.new_families import choose_unseen, new_family_errors, with_unseen
from obslaws_forecast.select import FoldResult, Scoreboard
from test_forecast import small_forecaster

from obslaws import FitData

FOLDS = ("cut-6m n=0", "cut-6m n=1", "cut-9m n=0", "cut-12m n=0")
STRONG = Config(pooling=0.5, drift=False, org=False, rank=0, blend=0.0)
WEAK = Config(pooling=32.0, drift=False, org=False, rank=0, blend=0.0)


def _models(families: list[str], tokens: list[float]) -> pl.DataFrame:
    """One model per entry, four sizes per family in turn, released a quarter apart per family."""
    rows = []
    for i, (family, d) in enumerate(zip(families, tokens, strict=True)):
        params = (1e9, 3e9, 7e9, 13e9)[i % 4]
        rows.append(
            {
                "model_id": f"{family}-{i}",
                "family": family,
                "family_group": None,
                "organization": f"org-{family}",
                "params": params,
                "tokens": d,
                "flops": 6 * params * d,
                "release_date": dt.date(2021, 1, 1) + dt.timedelta(days=90 * (i // 4) + i % 4),
                "instruct": False,
            }
        )
    return pl.DataFrame(rows)


def _between_families(seed: int = 0) -> tuple[ModelTable, np.ndarray, np.ndarray]:
    """Ten families of four sizes; a family's tokens set its level, while within a family the
    tokens of its sizes scatter and do not matter (the within-family slope is 0), so only a weakly
    pooled fit carries the level across families in its slope. Two logit columns of that law."""
    rng = np.random.default_rng(seed)
    family_tokens = np.repeat(np.geomspace(3e11, 5e12, 10), 4)
    tokens = family_tokens * np.exp(rng.uniform(-1.0, 1.0, family_tokens.size))
    table = ModelTable.of(_models([f"fam{f}" for f in range(10) for _ in range(4)], tokens.tolist()))
    z = 0.3 * table.raw["log_n"] + 0.8 * np.log(family_tokens / 1e12)
    z = np.column_stack([z, z + 0.2]) + 0.05 * rng.normal(size=(table.n, 2))
    return table, z, np.ones(z.shape, dtype=bool)


def test_unseen_families_are_those_without_a_training_model():
    train = ModelTable.of(_models(["a", "a", "b", "b"], [1e12] * 4))
    design = Design.fit(train, ("log_n",))
    query = ModelTable.of(_models(["a", "c", ""], [1e12] * 3))
    assert unseen_families(design, query).tolist() == [False, True, True]


def test_a_new_familys_model_without_scores_takes_the_other_covariate_model_and_no_other_moves():
    table, z, observed = _between_families()
    query = ModelTable.of(_models(["fam3", "new", "new"], [1.2e12, 6e12, 6e12]))
    q_obs = np.array([[False, True], [False, False], [False, True]])  # the second new-family model has a score
    q_z = np.zeros((3, 2))
    strong = Engine.fit(STRONG, table, z, observed, 1)
    weak = CovariateModel.fit(table, z, observed, WEAK.terms, WEAK.pooling, WEAK.levels)
    both = Engine.fit(with_unseen((STRONG,), (32.0, False, False, False))[0], table, z, observed, 1)
    out, alone = both.predict(query, q_z, q_obs), strong.predict(query, q_z, q_obs)
    assert np.allclose(out[[0, 2]], alone[[0, 2]])  # a seen family, and a new family's model with a score
    assert np.isclose(out[1, 0], weak.predict(query)[1, 0])
    # the new family trained on more tokens than any: the weak pooling reads that, the strong one less
    truth = 0.3 * query.raw["log_n"][1] + 0.8 * query.raw["log_d"][1]
    assert abs(out[1, 0] - truth) < abs(alone[1, 0] - truth)


def _result(new: float, seen: float, cells: int = 6) -> FoldResult:
    """``cells`` hidden cells of a new family's model without scores erring ``new`` points and as
    many of seen families erring ``seen`` (an empty ``new``: none of the first)."""
    errors = np.r_[np.full(cells if new == new else 0, new), np.full(cells, seen)]
    cats = ["unseen family, no scores"] * (cells if new == new else 0) + ["seen family, scores"] * cells
    return FoldResult(
        float(errors.mean()),
        errors / 10,
        np.zeros(errors.size),
        np.zeros(errors.size, int),
        np.array(cats, dtype=object),
        errors,
    )


def _board(new_errors: dict[Config, list[float]]) -> Scoreboard:
    """Stage-1 configurations scored on four time folds (the n = 1 fold has no new family: NaN)."""
    board = Scoreboard(dict.fromkeys(FOLDS), dict.fromkeys(FOLDS, "later"), np.zeros(1), np.zeros((0, 1)))
    board.results = {c: [_result(e, 2.0) for e in errors] for c, errors in new_errors.items()}
    return board


def test_a_covariate_model_better_on_every_held_out_groups_new_families_is_kept():
    nan = float("nan")
    board = _board({STRONG: [9.0, nan, 8.0, 7.0], WEAK: [6.0, nan, 5.0, 5.5]})
    option, record = choose_unseen(board, STRONG, list(FOLDS), [STRONG, WEAK])
    assert option == (32.0, False, False, False)
    # the groups with new families' cells (the 6-month cut's n = 1 fold has none, so it is its n = 0 one)
    assert record["kind's covariate model"] == {"cut-6m": 9.0, "cut-9m": 8.0, "cut-12m": 7.0}
    assert record["new families' own"] == {"cut-6m": 6.0, "cut-9m": 5.0, "cut-12m": 5.5}
    assert new_family_errors(board, [STRONG], list(FOLDS))[(0.5, False, False, False)] == {
        "cut-6m n=0": 9.0,
        "cut-9m n=0": 8.0,
        "cut-12m n=0": 7.0,
    }


def test_a_covariate_model_that_wins_only_where_it_was_chosen_is_not_kept():
    nan = float("nan")
    # the weak pooling wins one cut by far and loses the others: chosen without a cut, it misses it
    board = _board({STRONG: [5.0, nan, 5.0, 5.0], WEAK: [1.0, nan, 7.0, 7.0]})
    option, record = choose_unseen(board, STRONG, list(FOLDS), [STRONG, WEAK])
    assert option is None
    assert np.mean(list(record["new families' own"].values())) >= np.mean(
        list(record["kind's covariate model"].values())
    )


def _later_families(seed: int = 0) -> FitData:
    """Families released a quarter apart, each trained on more tokens than the one before (its
    level follows); half of the models also have a score on a second benchmark."""
    rng = np.random.default_rng(seed)
    tokens = np.repeat(np.geomspace(2e11, 8e12, 12), 4)
    models = _models([f"fam{f}" for f in range(12) for _ in range(4)], tokens.tolist())
    rows = []
    for i, m in enumerate(models.iter_rows(named=True)):
        level = 0.3 * np.log(m["params"] / 3e9) + 0.8 * np.log(m["tokens"] / 1e12)
        rows.append(
            {
                "model_id": m["model_id"],
                "benchmark": "target",
                "value": float(1 / (1 + np.exp(-level - 0.1 * rng.normal()))),
            }
        )
        if i % 2:
            rows.append(
                {
                    "model_id": m["model_id"],
                    "benchmark": "other",
                    "value": float(1 / (1 + np.exp(-level - 0.3 * rng.normal()))),
                }
            )
    return FitData.build(models, pl.DataFrame(rows), targets=["target"])


def test_the_forecaster_records_new_families_choice_for_later_and_larger_only():
    learned = small_forecaster().fit(_later_families()).learned_parameters()
    records = [k for k in learned["compared"] if "new families without scores" in k]
    assert records and {k.split(":")[0] for k in records} <= {"later", "larger"}
    later = learned["compared"]["later: new families without scores, kind's covariate model (held-out fold)"]
    assert set(later) <= {"cut-6m", "cut-9m", "cut-12m"} and later
    off = small_forecaster(unseen_kinds=()).fit(_later_families()).learned_parameters()
    assert not any("new families without scores" in k for k in off["compared"])
    assert all(c["unseen"] is None for c in off["chosen"].values())
