"""Content checks on the curated seed data in registry/ (built by scripts/build_registry.py).

The tests that compare against the public source files skip cleanly when the shared data
($OBSLAWS_SHARED, else ../shared) is absent;
everything else reads registry/ only.
"""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl
import pytest

from obslaws.shared_data import shared_data_dir

REPO = Path(__file__).resolve().parent.parent
REGISTRY = REPO / "registry"
SHARED = shared_data_dir()
needs_shared = pytest.mark.skipif(not (SHARED / "sloth").is_dir(), reason="../shared/data not available")

SLOTH_SCORES = {
    # data_v2.csv column -> (benchmark, metric, n_shots)
    "MMLU": ("mmlu", "acc", 5),
    "ARC": ("arc_challenge", "acc_norm", 25),
    "HellaSwag": ("hellaswag", "acc_norm", 10),
    "Winogrande": ("winogrande", "acc", 5),
    "TruthfulQA": ("truthfulqa_mc2", "mc2", 0),
    "GSM8K": ("gsm8k", "exact_match", 5),
    "IFEval": ("leaderboard_ifeval", "inst_prompt_strict_acc_mean", 0),
    "BBH": ("leaderboard_bbh", "acc_norm", 3),
    "MATH Lvl 5": ("leaderboard_math_hard", "exact_match", 4),
    "GPQA": ("leaderboard_gpqa", "acc_norm", 0),
    "MUSR": ("leaderboard_musr", "acc_norm", 0),
    "MMLU-PRO": ("leaderboard_mmlu_pro", "acc", 5),
}
CHANCE = {
    "mmlu": 0.25,
    "arc_challenge": 0.25,
    "hellaswag": 0.25,
    "leaderboard_gpqa": 0.25,
    "winogrande": 0.5,
    "truthfulqa_mc2": 0.31,
    "leaderboard_mmlu_pro": 0.1,
    "gsm8k": 0.0,
    "leaderboard_ifeval": 0.0,
    "leaderboard_math_hard": 0.0,
    "leaderboard_bbh": 0.2885,
    "leaderboard_musr": 0.3433,
}


def read(name: str) -> pl.DataFrame:
    return pl.read_csv(REGISTRY / f"{name}.csv", infer_schema_length=None)


@pytest.fixture(scope="module")
def models() -> pl.DataFrame:
    return read("models")


@pytest.fixture(scope="module")
def scores() -> pl.DataFrame:
    return read("scores")


@pytest.fixture(scope="module")
def aliases() -> pl.DataFrame:
    return read("model_aliases")


def model(models: pl.DataFrame, model_id: str) -> dict:
    rows = models.filter(pl.col("model_id") == model_id)
    assert rows.height == 1, model_id
    return rows.row(0, named=True)


# -- shape and counts -------------------------------------------------------------------------


def test_columns_match_the_readme() -> None:
    expected = {
        "sources": "source_id, kind, citation, url, license, retrieved, sha256, priority",
        "benchmarks": "benchmark, metric, n_shots, chance, n_items, description",
        "families": "family, family_group, organization, description, domain",
        "models": "model_id, family, variant, base_model, organization, params_total, params_active, "
        "params_non_embedding, tokens, flops, flops_basis, release_date, release_date_source, "
        "checkpoint_of, step, license, source_id",
        "model_aliases": "alias, model_id, source_id",
        "scores": "model_id, benchmark, metric, n_shots, value, stderr, n_samples, source_id, harness, "
        "harness_version, evaluated_at",
        "losses": "model_id, dataset, value, unit, tokens_seen, source_id",
        "corrections": "model_id, field, wrong_value, value, source_id, note",
        "release_dates": "model_id, release_date, source_id, note",
    }
    for name, columns in expected.items():
        with (REGISTRY / f"{name}.csv").open(newline="", encoding="utf-8") as handle:
            assert next(csv.reader(handle)) == columns.split(", "), name


def test_counts(models: pl.DataFrame, scores: pl.DataFrame) -> None:
    assert models.filter(pl.col("checkpoint_of").is_null()).height >= 350
    assert read("families").height >= 60
    assert scores.height >= 5000
    assert read("losses").height >= 1000


def test_registry_is_small() -> None:
    size = sum(path.stat().st_size for path in REGISTRY.iterdir() if path.is_file())
    assert size < 15 * 2**20


def test_keys_are_unique(models: pl.DataFrame, scores: pl.DataFrame, aliases: pl.DataFrame) -> None:
    assert models["model_id"].is_unique().all()
    assert aliases["alias"].is_unique().all()
    assert not scores.select("model_id", "benchmark", "metric", "n_shots", "source_id").is_duplicated().any()
    losses = read("losses")
    assert not losses.select("model_id", "dataset", "unit", "source_id").is_duplicated().any()


# -- constraints the loader and the schema enforce ----------------------------------------------


def test_every_reference_resolves(models: pl.DataFrame, scores: pl.DataFrame, aliases: pl.DataFrame) -> None:
    sources = set(read("sources")["source_id"])
    families = set(read("families")["family"])
    benchmarks = set(read("benchmarks")["benchmark"])
    ids = set(models["model_id"])
    for name, frame in (
        ("models", models),
        ("scores", scores),
        ("losses", read("losses")),
        ("corrections", read("corrections")),
        ("release_dates", read("release_dates")),
    ):
        missing = set(frame["source_id"].drop_nulls()) - sources
        assert not missing, (name, missing)
    assert set(models["release_date_source"].drop_nulls()) <= sources
    assert set(aliases["source_id"].drop_nulls()) <= sources
    assert set(models["family"]) <= families
    assert set(scores["benchmark"]) <= benchmarks
    assert set(scores["model_id"]) <= ids
    assert set(read("losses")["model_id"]) <= ids
    assert set(aliases["model_id"]) <= ids
    assert set(models["checkpoint_of"].drop_nulls()) <= ids
    assert set(aliases.filter(pl.col("alias") == pl.col("model_id"))["alias"]) == ids  # self-aliases


def test_values_in_range(models: pl.DataFrame, scores: pl.DataFrame) -> None:
    assert scores["value"].is_between(0, 1).all()
    bench = read("benchmarks")
    assert bench["chance"].is_between(0, 1, closed="left").all()
    assert set(models["variant"]) <= {"base", "instruct", "finetune", "merge"}
    for column in ("params_total", "params_active", "params_non_embedding", "tokens", "flops"):
        assert (models[column].drop_nulls() > 0).all(), column
    assert (models["params_total"].drop_nulls() >= 1e5).all()  # counts, not billions
    dates = models["release_date"].drop_nulls().cast(pl.String).str.to_date("%Y-%m-%d", strict=True)
    assert dates.is_not_null().all()


def test_headline_benchmarks(scores: pl.DataFrame) -> None:
    bench = {row["benchmark"]: row for row in read("benchmarks").iter_rows(named=True)}
    for name, metric, shots in list(SLOTH_SCORES.values()) + [("xwinograd", "acc", 5), ("humaneval", "pass@1", 0)]:
        assert (bench[name]["metric"], bench[name]["n_shots"]) == (metric, shots), name
    for name, chance in CHANCE.items():
        assert bench[name]["chance"] == chance, name
    for name in ("lambada_openai", "piqa", "sciq", "logiqa", "wsc", "arc_easy"):
        assert bench[name]["n_shots"] == 0, name


def test_release_dates_for_large_base_models(models: pl.DataFrame) -> None:
    need = models.filter(
        pl.col("checkpoint_of").is_null() & (pl.col("variant") == "base") & (pl.col("params_total") >= 1e9)
    )
    missing = need.filter(pl.col("release_date").is_null() | pl.col("release_date_source").is_null())
    assert missing.height == 0, missing["model_id"].to_list()


def test_compute_follows_active_parameters(models: pl.DataFrame) -> None:
    computed = models.filter(pl.col("flops_basis") == "6*params_active*tokens")
    ratio = computed["flops"] / (6 * computed["params_active"] * computed["tokens"])
    assert ((ratio - 1).abs() < 1e-9).all()
    reported = models.filter(pl.col("flops").is_not_null() & (pl.col("flops_basis") != "6*params_active*tokens"))
    assert reported["flops_basis"].str.starts_with("reported:").all()
    assert reported["tokens"].is_null().all()


# -- the fixes listed in DATA.md ----------------------------------------------------------------


@pytest.mark.parametrize(
    "model_id, params_total, params_active",
    [
        ("mistralai/Mixtral-8x7B-v0.1", 46.7e9, 12.9e9),
        ("mistralai/Mixtral-8x7B-Instruct-v0.1", 46.7e9, 12.9e9),
        ("mistralai/Mixtral-8x22B-v0.1", 141e9, 39e9),
        ("Qwen/Qwen2-57B-A14B", 57e9, 14e9),
        ("deepseek-ai/DeepSeek-V2", 236e9, 21e9),
        ("ai21labs/Jamba-v0.1", 52e9, 12e9),
        ("openlm-research/open_llama_7b_v2", 7e9, 7e9),
        ("stabilityai/stablelm-2-1_6b", 1.6e9, 1.6e9),
        ("stabilityai/stablelm-2-1_6b-chat", 1.6e9, 1.6e9),
    ],
)
def test_sizes_fixed(models: pl.DataFrame, model_id: str, params_total: float, params_active: float) -> None:
    row = model(models, model_id)
    assert row["params_total"] == pytest.approx(params_total)
    assert row["params_active"] == pytest.approx(params_active)
    if row["tokens"] is not None:
        assert row["flops"] == pytest.approx(6 * params_active * row["tokens"])


@pytest.mark.parametrize(
    "model_id, tokens",
    [
        ("cerebras/btlm-3b-8k-base", 6.27e11),
        ("google/gemma-2-2b", 2e12),
        ("google/gemma-2-9b", 8e12),
        ("google/gemma-2-27b", 13e12),
        ("google/gemma-2-2b-it", 2e12),
        ("google/gemma-2-9b-it", 8e12),
        ("WizardLMTeam/WizardLM-30B-V1.0", 1.4e12),
        ("EleutherAI/pythia-12b", 299_892_736_000),
        ("EleutherAI/pythia-160m", 299_892_736_000),
        ("EleutherAI/pythia-1.4b-deduped", 299_892_736_000),
    ],
)
def test_tokens_fixed(models: pl.DataFrame, model_id: str, tokens: float) -> None:
    row = model(models, model_id)
    assert row["tokens"] == pytest.approx(tokens)
    assert row["flops"] == pytest.approx(6 * row["params_active"] * tokens)


def test_btlm_flops_fixed(models: pl.DataFrame) -> None:
    assert model(models, "cerebras/btlm-3b-8k-base")["flops"] == pytest.approx(1.1286e22)


def test_pythia_exact_sizes_and_checkpoints(models: pl.DataFrame) -> None:
    final = model(models, "EleutherAI/pythia-70m")
    assert (final["params_total"], final["params_non_embedding"]) == (70_426_624, 18_915_328)
    ckpt = model(models, "EleutherAI/pythia-1.4b@step3000")
    assert ckpt["checkpoint_of"] == "EleutherAI/pythia-1.4b" and ckpt["step"] == 3000
    assert ckpt["tokens"] == 3000 * 2_097_152
    assert ckpt["params_total"] == model(models, "EleutherAI/pythia-1.4b")["params_total"]
    assert model(models, "EleutherAI/pythia-1.4b-deduped")["family"] == "pythia-deduped"
    pythia_ckpts = models.filter(pl.col("checkpoint_of").str.starts_with("EleutherAI/pythia"))
    assert pythia_ckpts.filter(pl.col("model_id").str.contains("@step143000")).height == 0  # the final step
    assert pythia_ckpts.height == 16 * 27 - 16  # every evaluated step but the final one


def test_corrections_point_at_real_models(models: pl.DataFrame) -> None:
    corrections = read("corrections")
    assert set(corrections["model_id"]) <= set(models["model_id"])
    for row in corrections.iter_rows(named=True):
        value = model(models, row["model_id"])[row["field"]]
        if row["field"] != "flops":
            assert value == pytest.approx(float(row["value"])), row


# -- Sloth reproduction -------------------------------------------------------------------------


@needs_shared
def test_every_sloth_model_keeps_family_and_scores(
    models: pl.DataFrame, scores: pl.DataFrame, aliases: pl.DataFrame
) -> None:
    sloth = pl.read_csv(SHARED / "sloth/data/data_v2.csv", infer_schema_length=None)
    alias = dict(zip(aliases["alias"], aliases["model_id"], strict=True))
    family_group = dict(zip(read("families")["family"], read("families")["family_group"], strict=True))
    by_model = {row["model_id"]: row for row in models.iter_rows(named=True)}
    sloth_scores = {
        (r["model_id"], r["benchmark"], r["metric"], r["n_shots"]): r["value"]
        for r in scores.filter(pl.col("source_id") == "sloth-data-v2").iter_rows(named=True)
    }
    ids = set()
    for row in sloth.iter_rows(named=True):
        model_id = alias[row["Model"]]
        ids.add(model_id)
        assert by_model[model_id]["family"] == row["Family2"], row["Model"]
        assert family_group[row["Family2"]] == row["Family"], row["Model"]
        assert (by_model[model_id]["variant"] != "base") == row["Instruct"], row["Model"]
        for column, key in SLOTH_SCORES.items():
            expected = row[column]
            got = sloth_scores.get((model_id, *key))
            assert got == expected, (row["Model"], column, got, expected)  # exact, NULL = absent
    assert len(ids) == 188


@needs_shared
def test_obsscaling_models_and_paper_snapshot(scores: pl.DataFrame, aliases: pl.DataFrame) -> None:
    base = pl.read_csv(SHARED / "obsscaling/eval_results/base_llm_benchmark_eval.csv")
    old = pl.read_csv(SHARED / "obsscaling/eval_results_initial_43dad32/base_llm_benchmark_eval.csv")
    alias = set(aliases["alias"])
    assert set(base["Model"]) <= alias
    old_rows = scores.filter((pl.col("source_id") == "obsscaling-43dad32") & (pl.col("benchmark") == "mmlu"))
    assert set(old_rows["model_id"]) == set(old["Model"])
    for model_id, value in zip(old["Model"], old["MMLU"], strict=True):
        got = old_rows.filter(pl.col("model_id") == model_id)["value"][0]
        assert got == value
    instruct = pl.read_csv(SHARED / "obsscaling/eval_results/instruct_llm_benchmark_eval.csv")
    assert set(instruct["Model"]) <= alias


def test_one_model_for_sources_that_share_it(scores: pl.DataFrame) -> None:
    llama = scores.filter((pl.col("model_id") == "meta-llama/Llama-2-7b-hf") & (pl.col("benchmark") == "mmlu"))
    assert {"obsscaling-4d6e1e4", "obsscaling-43dad32", "sloth-data-v2"} <= set(llama["source_id"])


def test_agent_and_bleu_rescaled(scores: pl.DataFrame) -> None:
    gpt4 = scores.filter((pl.col("model_id") == "gpt-4-0613") & (pl.col("benchmark") == "agentbench_overall"))
    assert gpt4["value"][0] == pytest.approx(0.401)
    assert not scores["benchmark"].str.ends_with("_norm").any()


# -- aliases, other sources ----------------------------------------------------------------------


def test_aliases(aliases: pl.DataFrame) -> None:
    alias = dict(zip(aliases["alias"], aliases["model_id"], strict=True))
    assert alias["meta-llama-3-8b-instruct"] == "meta-llama/Meta-Llama-3-8B-Instruct"
    assert alias["llama-2-70b-chat"] == "meta-llama/Llama-2-70b-chat-hf"
    assert alias["pythia-1.4b-deduped"] == "EleutherAI/pythia-1.4b-deduped"
    assert alias["EleutherAI/pythia-v1.1-1.4b-deduped"] == "EleutherAI/pythia-1.4b-deduped"
    assert alias["gpt-4-0613"] == "gpt-4-0613"


def test_research_runs(models: pl.DataFrame) -> None:
    overtrain = models.filter(pl.col("source_id") == "overtrain-gadre2024")
    assert overtrain.height == 104
    assert set(overtrain["family"]) == {"openlm-c4", "openlm-rpj", "openlm-rw"}
    assert overtrain["params_non_embedding"].is_not_null().all()
    ladder = model(models, "allenai/olmo-ladder-190M-1xC")
    assert ladder["params_total"] == 190_354_176
    assert model(models, "allenai/OLMo-2-1124-13B")["params_total"] == 13_202_396_160
    losses = read("losses")
    units = set(losses.filter(pl.col("source_id") == "olmo-ladder")["unit"])
    assert units == {"bits_per_byte", "nats_per_token"}


def test_ladder_checkpoints(models: pl.DataFrame) -> None:
    """The paper's ladder runs keep every evaluation (the task law smooths over 5), others every 5,000 steps."""
    ckpts = models.filter(pl.col("checkpoint_of").is_not_null()).group_by("checkpoint_of").len()
    count = dict(zip(ckpts["checkpoint_of"], ckpts["len"], strict=True))
    assert count["allenai/olmo-ladder-190M-1xC"] == 36  # every 200 steps to 7,200, then the final 7,272
    assert count["allenai/olmo-ladder-1B-10xC"] == 162
    assert count["allenai/olmo-ladder-3B-10xC"] == 40  # not in the paper's ladder: every 5,000 steps
    assert count["allenai/OLMo-2-1124-13B"] == 11  # its last evaluations before the final one
    scores = read("scores").filter(pl.col("model_id") == "allenai/olmo-ladder-190M-1xC@step7200")
    assert "olmo_piqa_val_rc_5shot" in set(scores["benchmark"])
    assert "olmo_boolq_val_rc_5shot" not in set(scores["benchmark"])  # between 5,000 steps: the paper's tasks only


@needs_shared
def test_no_loss2loss_data(models: pl.DataFrame) -> None:
    sources = read("sources")
    assert not sources["source_id"].str.contains("loss2loss").any()
    assert not sources["url"].drop_nulls().str.contains("loss-to-loss").any()
    sweep = pl.read_csv(SHARED / "loss2loss/sweep.csv", infer_schema_length=None)
    # No run of the sweep appears as a model, and its losses are not in losses.csv (a single
    # float32 value can coincide by chance, a copied column cannot).
    runs = set(zip(sweep["params"].cast(pl.Float64), sweep["tokens"].cast(pl.Float64), strict=True))
    assert not runs & set(zip(models["params_total"].cast(pl.Float64), models["tokens"].cast(pl.Float64), strict=True))
    shared_values = set(read("losses")["value"].to_list()) & set(sweep["val_loss"].drop_nulls().to_list())
    assert len(shared_values) <= 3
