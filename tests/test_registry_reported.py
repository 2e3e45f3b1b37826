"""registry/reported/*.toml: every number of the hand-kept model-card and report tables is in
the built registry under its own setting, and a bad file fails with its file, model and field."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import polars as pl
import pytest

REPO = Path(__file__).resolve().parent.parent
REGISTRY = REPO / "registry"
REPORTED = REGISTRY / "reported"
LLAMA4 = REPORTED / "card-meta-llama-4.toml"
sys.path.insert(0, str(REPO / "scripts"))

from registry_build.core import BuildError, Registry  # noqa: E402
from registry_build.epoch_hub_tables import HUB_TABLES  # noqa: E402
from registry_build.reported import load_reported  # noqa: E402


def read(name: str) -> pl.DataFrame:
    return pl.read_csv(REGISTRY / f"{name}.csv", infer_schema_length=None)


def test_every_reported_score_is_in_the_registry_under_its_setting() -> None:
    scores = read("scores")
    aliases = dict(read("model_aliases").select("alias", "model_id").iter_rows())
    files = sorted(REPORTED.glob("*.toml"))
    assert files
    expected = 0
    for path in files:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        source = data["source"]["source_id"]
        mine = scores.filter(pl.col("source_id").is_in([source, f"{source}:comparison"]))
        for entry in data["models"]:
            model_id = aliases[entry["model_id"]]
            states_a_fact = set(entry) & {"family", "release_date", "params_total", "params_active", "tokens"}
            comparison = entry.get("comparison", not states_a_fact)
            cited = f"{source}:comparison" if comparison else source
            for key, value in entry.get("scores", {}).items():
                col = data["benchmarks"][key]
                metric = col["metric"] + (f"[{col['setting']}]" if "setting" in col else "")
                row = mine.filter(
                    (pl.col("model_id") == model_id)
                    & (pl.col("benchmark") == col["benchmark"])
                    & (pl.col("metric") == metric)
                    & (pl.col("n_shots") == col["n_shots"])
                    & (pl.col("source_id") == cited)
                )
                assert row["value"].to_list() == [pytest.approx(value / col.get("scale", 100))], (path.name, key)
                expected += 1
        assert mine.height == sum(len(e.get("scores", {})) for e in data["models"]), path.name
    assert expected > 0


def test_a_makers_own_number_ranks_before_other_documents_comparison_rows() -> None:
    # Qwen3-8B-Base's MMLU: 76.89 in the Qwen3 report (its makers), 76.63 in Falcon-H1's table
    priority = dict(read("sources").select("source_id", "priority").iter_rows())
    rows = read("scores").filter(
        (pl.col("model_id") == "Qwen/Qwen3-8B-Base") & (pl.col("benchmark") == "epoch_mmlu") & (pl.col("n_shots") == 5)
    )
    ranked = sorted(rows.iter_rows(named=True), key=lambda r: (priority[r["source_id"]], r["source_id"]))
    assert [(r["source_id"], r["value"]) for r in ranked[:2]] == [
        ("paper-qwen3-base-evaluation", pytest.approx(0.7689)),
        ("card-falcon-h1:comparison", pytest.approx(0.7663)),
    ]


def test_llama4_card_facts_and_the_corrected_epoch_tokens() -> None:
    models = read("models")
    scout = models.filter(pl.col("model_id") == "meta-llama/Llama-4-Scout-17B-16E").row(0, named=True)
    assert (scout["params_total"], scout["params_active"], scout["tokens"]) == (1.09e11, 1.7e10, 4e13)
    maverick = models.filter(pl.col("model_id") == "meta-llama/Llama-4-Maverick-17B-128E").row(0, named=True)
    assert maverick["variant"] == "base" and maverick["tokens"] == 2.2e13
    assert (maverick["release_date"], maverick["release_date_source"]) == ("2025-04-05", "card-meta-llama-4")
    # the card's Llama 3.1 70B row joined the model ObsScaling loaded, its HF name an alias
    aliases = read("model_aliases").filter(pl.col("alias") == "meta-llama/Llama-3.1-70B")
    assert aliases["model_id"].to_list() == ["meta-llama/Meta-Llama-3.1-70B"]


def make_registry() -> Registry:
    """A registry holding the Epoch hub's ids and one loaded model, as the build has them."""
    reg = Registry()
    reg.add_source("loaded", "dataset", "a loaded source")
    for spec in HUB_TABLES:
        reg.add_benchmark(spec.benchmark, spec.metric, 5, spec.chance, spec.description)
    reg.add_benchmark("epoch_gpqa_diamond", "acc", 0, 0.25, "GPQA diamond run by Epoch AI (not reported)")
    reg.add_family("llama-4-scout-16e", "llama-4")
    reg.add_family("llama-3.1", "llama-3.1")
    for size in ("70B", "405B"):
        reg.add_model(f"meta-llama/Llama-3.1-{size}", "loaded", family="llama-3.1", variant="base")
    reg.add_model("meta-llama/Llama-4-Scout-17B-16E", "loaded", family="llama-4-scout-16e", variant="base", tokens=3e13)
    return reg


@pytest.fixture
def registry() -> Registry:
    return make_registry()


def _load_edited(tmp_path: Path, reg: Registry, old: str, new: str, corrections: str = "") -> dict:
    folder = tmp_path / "reported"
    folder.mkdir(parents=True)
    text = LLAMA4.read_text(encoding="utf-8")
    assert old in text, old
    (folder / LLAMA4.name).write_text(text.replace(old, new, 1), encoding="utf-8")
    fixes = tmp_path / "corrections.csv"
    fixes.write_text("model_id,field,wrong_value,value,source_id,note\n" + corrections, encoding="utf-8")
    return load_reported(reg, folder, fixes)


SCOUT = "model meta-llama/Llama-4-Scout-17B-16E"
BAD_FILES = [
    ("mmlu = 79.6, ", "mmlu = 79.6, gsm8k = 1.0, ", f"{SCOUT}: field scores.gsm8k: unknown benchmark key"),
    ("mmlu = 79.6", "mmlu = 796", f"{SCOUT}: field scores.mmlu: 796 outside \\[0, 100\\]"),
    (
        'release_date = "2025-04-05"',
        'release_date = "2025-04-31"',
        f"{SCOUT}: field release_date: .* not a calendar date",
    ),
    (
        'release_date = "2025-04-05"',
        'release_date = "April 5, 2025"',
        f"{SCOUT}: field release_date: .* not an ISO date",
    ),
    ("tokens = 40e12", "tokens = 40", f"{SCOUT}: field tokens: 40 outside the plausible range"),
    (
        "tokens = 40e12",
        'tokens = 40e12\nfacts_source = "paper-nowhere"',
        f"{SCOUT}: field facts_source: unknown source",
    ),
    ("tokens = 40e12", "tokens = 40e12\nsize = 3", f"{SCOUT}: field size: unknown field"),
    ("tokens = 40e12", 'tokens = 40e12\ncomparison = "no"', f"{SCOUT}: field comparison: 'no' must be true or false"),
    (
        'benchmark = "epoch_mmlu"',
        'benchmark = "mmlu"',
        "\\[benchmarks.mmlu\\]: field benchmark: 'mmlu' is not a reported-class id",
    ),
    (
        'benchmark = "epoch_mmlu"',
        'benchmark = "epoch_mmlu_typo"',
        "\\[benchmarks.mmlu\\]: field benchmark: 'epoch_mmlu_typo' is unknown",
    ),
    ('kind = "model_card"', 'kind = "tweet"', "\\[source\\]: field kind: 'tweet' is not one of"),
    (
        'source_id = "card-meta-llama-4"',
        'source_id = "loaded"',
        "\\[source\\]: field source_id: 'loaded' must start with",
    ),
    ("base = true", "base = false", "model meta-llama/Llama-3.1-70B: field base: False but .* is a base model"),
    (
        'benchmark = "epoch_mmlu"',
        'benchmark = "epoch_gpqa_diamond"',
        "\\[benchmarks.mmlu\\]: field benchmark: 'epoch_gpqa_diamond' is a harness's own id",
    ),
]


@pytest.mark.parametrize(("old", "new", "message"), BAD_FILES)
def test_a_bad_file_names_file_model_and_field(
    tmp_path: Path, registry: Registry, old: str, new: str, message: str
) -> None:
    with pytest.raises(BuildError, match=f"^reported/card-meta-llama-4.toml: {message}"):
        _load_edited(tmp_path, registry, old, new)


def test_a_fact_that_disagrees_fails_unless_corrections_fix_it(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match=f"{SCOUT}: field tokens: 4e\\+13 disagrees with 3e\\+13"):
        _load_edited(tmp_path / "plain", make_registry(), "tokens = 40e12", "tokens = 40e12")
    fix = "meta-llama/Llama-4-Scout-17B-16E,tokens,3e13,4e13,card-meta-llama-4,card says ~40T\n"
    dates = _load_edited(tmp_path / "fixed", make_registry(), "tokens = 40e12", "tokens = 40e12", fix)
    assert dates["meta-llama/Llama-4-Scout-17B-16E"] == ("2025-04-05", "card-meta-llama-4")


def test_two_files_with_one_source_id_fail(tmp_path: Path, registry: Registry) -> None:
    folder = tmp_path / "reported"
    folder.mkdir()
    text = LLAMA4.read_text(encoding="utf-8").replace("tokens = 40e12\n", "")
    (folder / "a.toml").write_text(text, encoding="utf-8")
    (folder / "b.toml").write_text(text, encoding="utf-8")
    with pytest.raises(
        BuildError, match="^reported/b.toml: \\[source\\]: field source_id: .* also the source of reported/a.toml"
    ):
        load_reported(registry, folder, tmp_path / "none.csv")
