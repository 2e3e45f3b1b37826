"""The 2025-2026 sources in the registry: Swallow leaderboard, Epoch benchmark hub, Epoch
notable models (2026-01) and the hand-kept training_facts.csv, checked against the shared files."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
REGISTRY = REPO / "registry"
SHARED = REPO.parent / "shared" / "data"
SWALLOW = SHARED / "swallow-leaderboard-2026-06"
HUB = SHARED / "epoch-ai/benchmark-stitching-2025-12"
sys.path.insert(0, str(REPO / "scripts"))


def read(name: str) -> pl.DataFrame:
    return pl.read_csv(REGISTRY / f"{name}.csv", infer_schema_length=None)


@pytest.fixture(scope="module")
def scores() -> pl.DataFrame:
    return read("scores")


@pytest.fixture(scope="module")
def models() -> pl.DataFrame:
    return read("models")


def test_every_swallow_score_is_kept_under_its_own_setting(scores: pl.DataFrame) -> None:
    entries = yaml.safe_load((SWALLOW / "model.yml").read_text(encoding="utf-8"))
    swallow = scores.filter(pl.col("source_id") == "swallow-leaderboard-2026-06")
    aliases = dict(read("model_aliases").select("alias", "model_id").iter_rows())
    expected = 0
    for entry in entries:
        model_id = aliases[entry["id"]]
        for suite in ("en_pre", "ja_pre", "en_post", "ja_post"):
            for task, value in entry["results"].get(suite, {}).items():
                if task == "avg":
                    continue
                expected += 1
                bench = "swallow_" + suite + "_" + task.lower().replace("-", "_")
                row = swallow.filter((pl.col("model_id") == model_id) & (pl.col("benchmark") == bench))
                assert row["value"].to_list() == [value], (entry["id"], bench)
    assert swallow.height == expected
    mmlu = swallow.filter(pl.col("benchmark") == "swallow_en_pre_mmlu").row(0, named=True)
    assert (mmlu["metric"], mmlu["n_shots"]) == ("acc", 5)
    bbh = read("benchmarks").filter(pl.col("benchmark") == "swallow_en_pre_bbh").row(0, named=True)
    assert bbh["n_shots"] == 3 and "CoT" in bbh["description"]


def test_no_benchmark_id_mixes_sources_with_different_settings(scores: pl.DataFrame) -> None:
    families = {
        "swallow_": {"swallow-leaderboard-2026-06"},
        "epoch_gpqa_diamond": {"epoch-benchmark-runs-2025-12"},
    }
    for prefix, allowed in families.items():
        used = set(scores.filter(pl.col("benchmark").str.starts_with(prefix))["source_id"].unique())
        assert used == allowed, prefix
    hub = scores.filter(pl.col("source_id").str.starts_with("epoch-hub:"))
    assert hub["benchmark"].str.starts_with("epoch_").all()
    # the lm-eval (Open LLM Leaderboard) ids keep only their own sources
    assert not scores.filter(pl.col("benchmark") == "mmlu")["source_id"].str.starts_with("epoch").any()


def test_hub_rows_keep_shots_and_source() -> None:
    table = pl.read_csv(HUB / "external_benchmark_bbh.csv", infer_schema_length=None)
    row = table.filter(pl.col("Model version") == "Qwen-7B").row(0, named=True)
    scores = read("scores").filter((pl.col("benchmark") == "epoch_bbh") & (pl.col("model_id") == "Qwen/Qwen-7B"))
    assert scores["value"].to_list() == [pytest.approx(float(row["Average"].rstrip("%")) / 100)]
    assert scores["n_shots"].to_list() == [int(row["Shots"])]
    assert scores["source_id"].to_list() == ["epoch-hub:qwen_technical_report"]


def test_reasoning_effort_versions_are_one_model_with_tagged_metrics(scores: pl.DataFrame) -> None:
    o3 = scores.filter(pl.col("model_id") == "o3-2025-04-16")
    metrics = set(o3["metric"])
    assert {"acc", "acc[high]"} <= metrics, metrics
    assert not read("models")["model_id"].str.contains("_high$").any()


def test_new_base_models_have_cited_sizes_tokens_and_dates(models: pl.DataFrame) -> None:
    facts = pl.read_csv(REGISTRY / "training_facts.csv", comment_prefix="#", infer_schema_length=None)
    for fact in facts.iter_rows(named=True):
        row = models.filter(pl.col("model_id") == fact["model_id"]).row(0, named=True)
        for field in ("params_total", "params_active", "tokens"):
            if fact[field] is not None:
                assert row[field] == pytest.approx(float(fact[field])), (fact["model_id"], field)
    qwen3 = models.filter(pl.col("model_id") == "Qwen/Qwen3-30B-A3B-Base").row(0, named=True)
    assert (qwen3["params_total"], qwen3["params_active"], qwen3["tokens"]) == (3.05e10, 3.3e9, 3.6e13)
    assert qwen3["flops"] == pytest.approx(6 * 3.3e9 * 3.6e13)
    assert qwen3["release_date"] == "2025-04-29"
    scout = models.filter(pl.col("model_id") == "meta-llama/Llama-4-Scout-17B-16E").row(0, named=True)
    assert scout["tokens"] == 4e13  # Meta's model card (~40T); Epoch's 30T is corrected (corrections.csv)
    dated = models.filter(pl.col("release_date").is_not_null())
    assert dated["release_date_source"].is_not_null().all()


def test_a_hand_fact_that_contradicts_a_source_fails_the_build(tmp_path: Path) -> None:
    from registry_build.core import BuildError, Registry
    from registry_build.training_facts import add_fact_sources, apply_training_facts

    reg = Registry()
    add_fact_sources(reg)
    reg.add_source("s", "dataset", "test")
    reg.add_model("m/x", "s", family="x", variant="base", params_total=8e9)
    bad = tmp_path / "training_facts.csv"
    bad.write_text("model_id,params_total,params_active,tokens,source_id,note\nm/x,7e10,,,paper-qwen3,\n")
    with pytest.raises(BuildError, match="m/x: params_total 7e\\+10 disagrees with 8e\\+09"):
        apply_training_facts(reg, bad)


def test_build_is_deterministic_and_matches_the_committed_registry(tmp_path: Path) -> None:
    out = tmp_path / "registry"
    shutil.copytree(REGISTRY, out)
    subprocess.run(
        [sys.executable, str(REPO / "scripts/build_registry.py"), "--shared", str(SHARED), "--out", str(out)],
        check=True,
        capture_output=True,
    )
    for path in sorted(REGISTRY.glob("*.csv")):
        assert (out / path.name).read_bytes() == path.read_bytes(), path.name
