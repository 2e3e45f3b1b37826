"""The Open LLM Leaderboard v2 snapshot's scores in the registry (scripts/registry_build/oll_dumps.py):
for registry models no other source gives them for, and the exact figures behind Sloth's rounded
ones, checked against the shared file."""

from __future__ import annotations

import sys
from collections.abc import Callable
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
from registry_build.oll_dumps import FLOORS, RAW_COLUMNS, load_oll_v2_snapshot, read_snapshot  # noqa: E402

EXACT = {"leaderboard_ifeval", "leaderboard_math_hard", "leaderboard_gpqa", "leaderboard_mmlu_pro"}

needs_shared = pytest.mark.skipif(not SNAPSHOT.exists(), reason="needs ../shared/data")


def read(name: str) -> pl.DataFrame:
    return pl.read_csv(REGISTRY / f"{name}.csv", infer_schema_length=None)


def test_snapshot_scores_duplicate_only_sloths_rounding_of_the_same_figure() -> None:
    scores = read("scores")
    added = scores.filter(pl.col("source_id") == SOURCE)
    assert added.height > 0
    assert set(added["benchmark"]) <= {
        f"leaderboard_{b}" for b in ("bbh", "gpqa", "ifeval", "math_hard", "musr", "mmlu_pro")
    }
    assert added.select("model_id", "benchmark").is_unique().all()
    others = scores.filter(pl.col("source_id") != SOURCE)
    beside = added.join(others, on=["model_id", "benchmark"], suffix="_other")
    assert beside.height > 200  # the exact figures behind Sloth's 2 decimals
    assert set(beside["source_id_other"]) == {"sloth-data-v2"} and set(beside["benchmark"]) <= EXACT
    # the same figure: Sloth's is the exact one rounded to 2 decimals, and the exact one has more digits
    assert ((beside["value"] - beside["value_other"]).abs() <= 0.005 + 1e-9).all()
    assert (beside["value"] != beside["value_other"]).sum() > 0.8 * beside.height
    sources = dict(read("sources").select("source_id", "priority").iter_rows())
    assert sources["obsscaling-4d6e1e4"] < sources[SOURCE] < sources["sloth-data-v2"]  # preferred over Sloth's


@needs_shared
def test_snapshot_scores_are_the_newest_rows_exact_or_raw_figures() -> None:
    snapshot = read_snapshot(SHARED)
    scores = read("scores").filter(pl.col("source_id") == SOURCE)
    chat = scores.filter(pl.col("model_id") == "01-ai/Yi-34B-Chat")
    row = snapshot.filter(pl.col("Model") == "01-ai/Yi-34B-Chat").row(0, named=True)
    got = dict(chat.select("benchmark", "value").iter_rows())
    # exact where the normalised column is one accuracy rescaled: floor + (1 - floor) x normalised / 100
    assert got["leaderboard_mmlu_pro"] == pytest.approx(0.1 + 0.9 * float(row["MMLU-PRO"]) / 100, abs=1e-9)
    assert got["leaderboard_mmlu_pro"] == pytest.approx(float(row["MMLU-PRO Raw"]), abs=0.005 + 1e-9)
    assert got["leaderboard_ifeval"] == pytest.approx(float(row["IFEval"]) / 100, abs=1e-9)
    assert got["leaderboard_bbh"] == pytest.approx(float(row["BBH Raw"]))  # subtask floors: Raw alone
    assert set(got) == {f"leaderboard_{b}" for b in ("bbh", "gpqa", "ifeval", "math_hard", "musr", "mmlu_pro")}
    # a model Sloth scores keeps Sloth's figures, and gains the exact ones behind those it can
    llama = scores.filter(pl.col("model_id") == "meta-llama/Llama-2-70b-chat-hf")
    assert 0 < llama.height <= 4 and set(llama["benchmark"]) <= EXACT


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


def _edit_yi(cells: dict[str, Callable[[str], str] | str]) -> Callable[[pl.DataFrame], pl.DataFrame]:
    """An edit of the snapshot that sets Yi-34B-Chat's ``cells`` (column -> new text, or a function
    of the old text)."""

    def edit(frame: pl.DataFrame) -> pl.DataFrame:
        index = frame["Model"].to_list().index("01-ai/Yi-34B-Chat")
        columns = []
        for column, new in cells.items():
            values = frame[column].to_list()
            values[index] = new(values[index]) if callable(new) else new
            columns.append(pl.Series(column, values))
        return frame.with_columns(columns)

    return edit


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
    assert value == pytest.approx(float(newest), abs=0.005 + 1e-9) and value != 0.99


@needs_shared
def test_a_bare_repository_name_joins_nothing() -> None:
    reg = _registry_with("someone-else/Yi-34B-Chat", {})
    assert load_oll_v2_snapshot(reg, SHARED) == 0


@needs_shared
def test_a_bad_value_names_file_line_and_column(tmp_path: Path) -> None:
    shared = _shared_copy(tmp_path, _edit_yi({"BBH Raw": "n/a"}))
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


def _yi_sloth_figures() -> dict[str, float]:
    """Sloth's figures for Yi-34B-Chat as Sloth would give them: the snapshot's Raw columns."""
    from registry_build.benchmarks import OLL_V2

    row = read_snapshot(SHARED).filter(pl.col("Model") == "01-ai/Yi-34B-Chat").row(0, named=True)
    return {OLL_V2[sloth][0]: float(row[raw]) for raw, sloth in RAW_COLUMNS.items()}


@needs_shared
def test_sloths_rounded_figures_gain_the_exact_ones_behind_them() -> None:
    from registry_build.benchmarks import add_core_benchmarks

    reg = Registry()
    add_core_benchmarks(reg)
    reg.add_source("sloth-data-v2", "dataset", "test")
    reg.add_model("01-ai/Yi-34B-Chat", "sloth-data-v2")
    figures = _yi_sloth_figures()
    for benchmark, value in figures.items():
        reg.add_score("01-ai/Yi-34B-Chat", benchmark, "acc", 5, value, "sloth-data-v2")
    # another submission: Sloth's MuSR figure differs from the snapshot's, and so would its GPQA
    reg.add_score("01-ai/Yi-34B-Chat", "leaderboard_gpqa", "acc", 5, figures["leaderboard_gpqa"], "sloth-data-v2")
    assert load_oll_v2_snapshot(reg, SHARED) == len(FLOORS)  # IFEval, MATH Lvl 5, GPQA, MMLU-Pro
    exact = {k[1]: v["value"] for k, v in reg.scores.items() if k[4] == SOURCE}
    assert set(exact) == EXACT
    for benchmark, value in exact.items():
        assert abs(value - figures[benchmark]) <= 0.005 + 1e-9
    assert load_oll_v2_snapshot(reg, SHARED) == 0  # a second pass adds nothing

    changed = Registry()
    add_core_benchmarks(changed)
    changed.add_source("sloth-data-v2", "dataset", "test")
    changed.add_model("01-ai/Yi-34B-Chat", "sloth-data-v2")
    changed.add_source("obsscaling", "dataset", "test")
    changed.add_score("01-ai/Yi-34B-Chat", "leaderboard_mmlu_pro", "acc", 5, 0.31, "sloth-data-v2")
    # the same rounded figure, but a full-precision source scores the cell too
    changed.add_score("01-ai/Yi-34B-Chat", "leaderboard_gpqa", "acc", 5, figures["leaderboard_gpqa"], "sloth-data-v2")
    changed.add_score("01-ai/Yi-34B-Chat", "leaderboard_gpqa", "acc", 5, 0.3512, "obsscaling")
    load_oll_v2_snapshot(changed, SHARED)  # Sloth's MMLU-Pro figure is not the snapshot's: another submission
    added = {k[1] for k in changed.scores if k[4] == SOURCE}
    assert "leaderboard_mmlu_pro" not in added and "leaderboard_gpqa" not in added
    assert {"leaderboard_bbh", "leaderboard_ifeval"} <= added  # the cells nobody scored


@needs_shared
def test_a_normalised_figure_that_does_not_round_to_raw_names_file_line_and_column(tmp_path: Path) -> None:
    # 5 normalised points: 4.5 points of accuracy off its Raw column
    shared = _shared_copy(tmp_path, _edit_yi({"MMLU-PRO": lambda old: str(float(old) + 5)}))
    reg = _registry_with("01-ai/Yi-34B-Chat", {})
    with pytest.raises(BuildError, match=r"line \d+, column 'MMLU-PRO': .* does not round to 'MMLU-PRO Raw'"):
        load_oll_v2_snapshot(reg, shared)


@needs_shared
def test_gpqa_below_chance_keeps_the_raw_column(tmp_path: Path) -> None:
    """The leaderboard prints 0 for a GPQA accuracy below its 0.25 floor: no exact figure then."""

    shared = _shared_copy(tmp_path, _edit_yi({"GPQA": "0.0", "GPQA Raw": "0.23"}))
    reg = _registry_with("01-ai/Yi-34B-Chat", {})
    load_oll_v2_snapshot(reg, shared)
    assert next(v["value"] for k, v in reg.scores.items() if k[1] == "leaderboard_gpqa") == 0.23
