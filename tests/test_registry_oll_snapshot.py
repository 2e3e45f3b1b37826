"""The Open LLM Leaderboard v2 snapshot's scores in the registry (scripts/registry_build/oll_dumps.py):
only for registry models no other source gives them for, checked against the shared file."""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl
import pytest

REPO = Path(__file__).resolve().parent.parent
REGISTRY = REPO / "registry"
SHARED = REPO.parent / "shared" / "data"
SNAPSHOT = SHARED / "sloth/data/open-llm-leaderboard_new.csv"
SOURCE = "oll-v2-snapshot-sloth"
sys.path.insert(0, str(REPO / "scripts"))

from registry_build.core import BuildError, Registry  # noqa: E402
from registry_build.oll_dumps import RAW_COLUMNS, load_oll_v2_snapshot, read_snapshot  # noqa: E402

needs_shared = pytest.mark.skipif(not SNAPSHOT.exists(), reason="needs ../shared/data")


def read(name: str) -> pl.DataFrame:
    return pl.read_csv(REGISTRY / f"{name}.csv", infer_schema_length=None)


def test_snapshot_scores_never_duplicate_another_source() -> None:
    scores = read("scores")
    added = scores.filter(pl.col("source_id") == SOURCE)
    assert added.height > 0
    assert set(added["benchmark"]) <= {
        f"leaderboard_{b}" for b in ("bbh", "gpqa", "ifeval", "math_hard", "musr", "mmlu_pro")
    }
    others = scores.filter(pl.col("source_id") != SOURCE).select("model_id", "benchmark").unique()
    assert added.join(others, on=["model_id", "benchmark"]).height == 0
    assert added.select("model_id", "benchmark").is_unique().all()


@needs_shared
def test_snapshot_scores_are_the_raw_columns_of_the_newest_row() -> None:
    snapshot = read_snapshot(SHARED).select("Model", *RAW_COLUMNS)
    scores = read("scores").filter(pl.col("source_id") == SOURCE)
    chat = scores.filter(pl.col("model_id") == "01-ai/Yi-34B-Chat")
    row = snapshot.filter(pl.col("Model") == "01-ai/Yi-34B-Chat").row(0, named=True)
    got = dict(chat.select("benchmark", "value").iter_rows())
    assert got["leaderboard_mmlu_pro"] == pytest.approx(float(row["MMLU-PRO Raw"]))
    assert got["leaderboard_ifeval"] == pytest.approx(float(row["IFEval Raw"]))
    assert set(got) == {f"leaderboard_{b}" for b in ("bbh", "gpqa", "ifeval", "math_hard", "musr", "mmlu_pro")}
    # a model Sloth scores keeps Sloth's values alone
    assert scores.filter(pl.col("model_id") == "meta-llama/Llama-2-70b-chat-hf").height == 0


def _registry_with(model_id: str, existing: dict[str, float]) -> Registry:
    from registry_build.benchmarks import add_core_benchmarks

    reg = Registry()
    add_core_benchmarks(reg)
    reg.add_source("test", "dataset", "test")
    reg.add_model(model_id, "test")
    for benchmark, value in existing.items():
        reg.add_score(model_id, benchmark, "acc", 5, value, "test")
    return reg


def _shared_copy(tmp_path: Path, edit) -> Path:
    """A shared folder whose snapshot is the real one with ``edit`` applied to its frame."""
    target = tmp_path / "sloth/data"
    target.mkdir(parents=True)
    frame = pl.read_csv(SNAPSHOT, infer_schema_length=0)
    edit(frame).write_csv(target / "open-llm-leaderboard_new.csv")
    return tmp_path


@needs_shared
def test_a_model_gains_only_the_benchmarks_it_lacks(tmp_path: Path) -> None:
    reg = _registry_with("01-ai/Yi-34B-Chat", {"leaderboard_mmlu_pro": 0.5})
    added = load_oll_v2_snapshot(reg, SHARED)
    rows = {k[1]: v["value"] for k, v in reg.scores.items() if k[0] == "01-ai/Yi-34B-Chat"}
    assert added == 5 and rows["leaderboard_mmlu_pro"] == 0.5  # the existing score stays, alone
    assert len(rows) == 6
    assert load_oll_v2_snapshot(reg, SHARED) == 0  # idempotent: a second pass adds nothing


@needs_shared
def test_a_repeated_name_takes_its_newest_submission(tmp_path: Path) -> None:
    def repeat(frame: pl.DataFrame) -> pl.DataFrame:
        row = frame.filter(pl.col("Model") == "01-ai/Yi-34B-Chat")
        older = row.with_columns(
            pl.lit("2000-01-01T00:00:00Z").alias("Submission Date"), pl.lit("0.99").alias("MMLU-PRO Raw")
        )
        return pl.concat([older, frame])

    shared = _shared_copy(tmp_path, repeat)
    reg = _registry_with("01-ai/Yi-34B-Chat", {})
    load_oll_v2_snapshot(reg, shared)
    value = next(v["value"] for k, v in reg.scores.items() if k[1] == "leaderboard_mmlu_pro")
    newest = read_snapshot(SHARED).filter(pl.col("Model") == "01-ai/Yi-34B-Chat")["MMLU-PRO Raw"].item()
    assert value == pytest.approx(float(newest)) and value != 0.99


@needs_shared
def test_a_bare_repository_name_joins_nothing() -> None:
    reg = _registry_with("someone-else/Yi-34B-Chat", {})
    assert load_oll_v2_snapshot(reg, SHARED) == 0


@needs_shared
def test_a_bad_value_names_file_line_and_column(tmp_path: Path) -> None:
    def corrupt(frame: pl.DataFrame) -> pl.DataFrame:
        index = frame["Model"].to_list().index("01-ai/Yi-34B-Chat")
        values = frame["BBH Raw"].to_list()
        values[index] = "n/a"
        return frame.with_columns(pl.Series("BBH Raw", values))

    shared = _shared_copy(tmp_path, corrupt)
    reg = _registry_with("01-ai/Yi-34B-Chat", {})
    with pytest.raises(BuildError, match=r"open-llm-leaderboard_new\.csv: line \d+, column 'BBH Raw': 'n/a'"):
        load_oll_v2_snapshot(reg, shared)


@needs_shared
def test_snapshot_measures_what_sloths_v2_columns_measure() -> None:
    """Where Sloth also scores a model, the snapshot's raw columns agree with it to its 2 decimals
    (all but a resubmitted model or two): the same benchmark ids may hold both."""
    from registry_build.benchmarks import OLL_V2

    snapshot = read_snapshot(SHARED)
    aliases = {a.lower(): m for a, m in read("model_aliases").select("alias", "model_id").iter_rows()}
    sloth = read("scores").filter(pl.col("source_id") == "sloth-data-v2")
    for column, sloth_column in RAW_COLUMNS.items():
        known = dict(
            sloth.filter(pl.col("benchmark") == OLL_V2[sloth_column][0]).select("model_id", "value").iter_rows()
        )
        pairs = [
            (float(row[column]), known[aliases[row["Model"].lower()]])
            for row in snapshot.iter_rows(named=True)
            if row[column] and aliases.get(row["Model"].lower()) in known
        ]
        close = sum(abs(a - b) <= 0.011 for a, b in pairs)
        assert len(pairs) >= 100 and close >= len(pairs) - 2, column
