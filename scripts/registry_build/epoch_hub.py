"""Epoch AI Benchmarking Hub scores (benchmark-stitching-2025-12): the reported-score tables
(`external_benchmark_*.csv`, see epoch_hub_tables.py) and Epoch's own runs (`benchmarks_runs.csv`).

Models: a table's `Model version` is joined to `model_versions.csv`, whose `Hugging Face
developer id` + `id` spell the HF repo (else the version id is the model's name, as for API
models). A model an earlier source loaded keeps its row. A reasoning-effort or thinking-budget
version (`o3-2025-04-16_high`, `claude-3-7-sonnet-20250219_16K`) is the same model run with
another setting: its scores go to the model under the metric `<metric>[<setting>]`, so they
are kept but never the headline (`preferred_scores` reads the headline metric only); the
default setting is the version without a suffix, else `_medium`. Versions served by a hosting
provider (`chutes/...`, `fireworks/...`) and rows without a model version are not read.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import polars as pl

from obslaws.ingest.names import variant_from_name

from .core import BuildError, Registry, files_sha256
from .dates import HUB
from .epoch_hub_tables import HUB_TABLES, RUN_TASKS, HubTable
from .joins import NameIndex, new_family, slug

ROOT = "epoch-ai/benchmark-stitching-2025-12"
RUNS = "epoch-benchmark-runs-2025-12"
NOT_STATED = -1  # shots missing or given as "few" in the source
_SETTING = re.compile(r"(?:_(low|medium|high|minimal|xhigh|thinking|\d+[kK])| \((\d+K) thinking\))$")
_PROVIDER = re.compile(r"^(chutes|fireworks|parasail)[/-]")
# Names of chat, reasoning and multimodal fine-tunes that carry no instruct word.
CHAT_MARKERS = re.compile(
    r"thinking|qwq|command|deepseek-v3(?!-base)|hermes|r1|beluga|tuned|eurus|vlm|blip|prime|vl-|llava|kimi|minimax",
    re.IGNORECASE,
)
# Hub version dates that are not the model's release (checked against the model cards): a
# later date added to the hub, or a wrong year. Left empty rather than wrong.
HUB_DATE_DENY = {
    (HUB, "Qwen/qwen2.5-7b-instruct"),  # 2025-02-26; Qwen2.5 was released 2024-09-19
    (HUB, "Qwen/qwen2.5-14b-instruct"),  # 2025-02-26; likewise
    (HUB, "moonshotai/Kimi-K2-Instruct-0905"),  # 2024-09-05; the 0905 update came in 2025
}
# model_versions.csv developer ids that are wrong (checked against the HF repositories).
HUB_ID_FIXES = {"mosaicml/falcon-11b": "tiiuae/falcon-11B"}  # Falcon 2 11B is TII's
# Closed models whose Epoch version is a pretrained model rather than a chat/API product.
CLOSED_BASE = re.compile(r"^(palm|gopher|chinchilla|glam|megatron|code-davinci|davinci|gpt-3 )", re.IGNORECASE)


def _settings(version: str) -> tuple[str, str | None]:
    """`o3-2025-04-16_high` -> (`o3-2025-04-16`, `high`); `gpt-4o` -> (`gpt-4o`, None)."""
    match = _SETTING.search(version)
    if match is None:
        return version.strip(), None
    return version[: match.start()].strip(), (match.group(1) or match.group(2)).lower()


def _value(text: object, percent: bool) -> float | None:
    if text is None:
        return None
    raw = str(text).strip()
    if not raw:
        return None
    scale = 100.0 if raw.endswith("%") or percent else 1.0
    try:
        value = float(raw.rstrip("%")) / scale
    except ValueError as exc:
        raise BuildError(f"Epoch hub score {raw!r} is not a number") from exc
    return value


def _shots(text: object) -> int:
    match = re.match(r"\s*(\d+)", str(text or ""))
    return int(match.group(1)) if match else NOT_STATED


class HubModels:
    """Epoch version ids -> registry model ids, creating models no earlier source has."""

    def __init__(self, reg: Registry, shared: Path) -> None:
        self.reg = reg
        self.names = NameIndex(reg)
        table = pl.read_csv(shared / ROOT / "model_versions.csv", infer_schema_length=None)
        self.versions = {
            str(v).strip(): (dev, date, model)
            for v, dev, date, model in zip(
                table["id"],
                table["Hugging Face developer id"],
                table["Version release date"],
                table["Model"],
                strict=True,
            )
        }

    def model(self, version: str) -> tuple[str, str | None] | None:
        """(model id, setting) of a version, or None when it is not read."""
        if _PROVIDER.match(version):
            return None
        name, setting = _settings(version)
        dev, date = (self.versions.get(name) or self.versions.get(version) or (None, None))[:2]
        hf_id = f"{dev}/{name}" if dev else name
        hf_id = HUB_ID_FIXES.get(hf_id, hf_id)
        found = self.names.find(hf_id, name)
        if found is None:
            found = self._new_model(hf_id, dev, date)
        for alias in {hf_id, name}:
            if alias.lower() != found.lower():
                self.reg.add_alias(alias, found, HUB)
        return found, setting

    def _new_model(self, hf_id: str, dev: str | None, date: str | None) -> str:
        family = new_family(self.reg, hf_id)
        if dev is not None:
            variant = "instruct" if CHAT_MARKERS.search(hf_id) else variant_from_name(hf_id)
        else:
            variant = "base" if CLOSED_BASE.match(hf_id) else "instruct"
        if (HUB, hf_id) in HUB_DATE_DENY:
            date = None
        self.reg.add_model(
            hf_id,
            HUB,
            family=family,
            variant=variant,
            organization=hf_id.split("/")[0] if "/" in hf_id else dev,
            release_date=date[:10] if date else None,
            release_date_source=HUB if date else None,
        )
        self.names.remember(hf_id, hf_id)
        return hf_id


def _source_ids(reg: Registry, frames: list[tuple[HubTable, pl.DataFrame]]) -> dict[str, str]:
    """One source per paper/leaderboard the hub cites (its first link in sorted order)."""
    links: dict[str, set[str]] = {}
    for _, frame in frames:
        for source, link in zip(frame["Source"], frame[_link_column(frame)], strict=True):
            if source:
                links.setdefault(source.strip(), set()).add((link or "").strip())
    out = {}
    for source in sorted(links):
        source_id = f"epoch-hub:{slug(source)[:60]}"
        url = sorted(x for x in links[source] if x)[0] if any(links[source]) else None
        if source_id not in reg.sources:
            reg.add_source(
                source_id,
                "paper",
                f"{source}; as collected in the Epoch AI Benchmarking Hub (external_benchmark_*.csv, "
                "epoch-research/benchmark-stitching commit f87d3cc)",
                url,
                "CC-BY-4.0",
                None,
                70,
            )
        out[source] = source_id
    return out


def _link_column(frame: pl.DataFrame) -> str:
    return next(c for c in frame.columns if c.startswith("Source link"))


def _table_scores(reg: Registry, models: HubModels, spec: HubTable, frame: pl.DataFrame, sources: dict) -> int:
    shots_col = "Shots" if "Shots" in frame.columns else None
    headline = Counter(_shots(s) for s in (frame[shots_col] if shots_col else [None])).most_common()
    stated = [s for s, _ in headline if s != NOT_STATED]
    n_shots = stated[0] if stated else 0
    reg.add_benchmark(
        spec.benchmark,
        spec.metric,
        n_shots,
        spec.chance,
        f"{spec.description} as collected in Epoch's external_benchmark_{spec.file}.csv: numbers "
        f"reported by papers and leaderboards, each with its own prompt and harness (its source). "
        f"Headline setting: {n_shots}-shot (the table's most common); shots -1 = not stated.",
    )
    rows = frame.select(
        "id" if "id" in frame.columns else pl.lit(None).alias("id"),
        "Model version",
        spec.column,
        "Source",
        *([shots_col] if shots_col else []),
    )
    seen: dict[tuple, float] = {}
    for row in sorted(rows.iter_rows(named=True), key=lambda r: str(r["id"])):
        version, value = row["Model version"], _value(row[spec.column], spec.percent)
        if not version or value is None or not row["Source"]:
            continue
        found = models.model(str(version))
        if found is None:
            continue
        model_id, setting = found
        metric = spec.metric if setting in (None, "medium") else f"{spec.metric}[{setting}]"
        shots = _shots(row[shots_col]) if shots_col else n_shots
        key = (model_id, metric, shots, sources[row["Source"].strip()])
        if key in seen or not 0 <= value <= 1:
            continue  # a second row for the same cell: the first by record id is kept
        seen[key] = value
        reg.add_score(model_id, spec.benchmark, metric, shots, value, key[3], harness=f"reported: {row['Source'][:80]}")
    return len(seen)


def _runs(reg: Registry, models: HubModels, shared: Path) -> None:
    path = shared / ROOT / "benchmarks_runs.csv"
    reg.add_source(
        RUNS,
        "lm_eval_run",
        "Epoch AI Benchmarking Hub, Epoch's own evaluations (benchmarks_runs.csv, Inspect), via "
        "epoch-research/benchmark-stitching commit f87d3cc",
        "https://github.com/epoch-research/benchmark-stitching/blob/f87d3cc8e8a8f8471be475ebce58fb9a73b4e756/data/benchmarks_runs.csv",
        "CC-BY-4.0",
        files_sha256([path], shared),
        50,
    )
    for task, (bench, metric, chance) in RUN_TASKS.items():
        reg.add_benchmark(
            bench,
            metric,
            0,
            chance,
            f"{task}, run by Epoch AI with Inspect (benchmarks_runs.csv, best score across scorers)",
        )
    frame = pl.read_csv(path, infer_schema_length=None).filter(pl.col("Status") == "Success")
    best: dict[tuple, float] = {}
    for task, version, score in zip(frame["task"], frame["model"], frame["Best score (across scorers)"], strict=True):
        if task not in RUN_TASKS or not version or score is None:
            continue
        found = models.model(str(version))
        if found is None:
            continue
        model_id, setting = found
        bench, metric, _ = RUN_TASKS[task]
        metric = metric if setting in (None, "medium") else f"{metric}[{setting}]"
        key = (model_id, bench, metric)
        best[key] = max(best.get(key, 0.0), float(score))  # several runs of one cell: the best, as the hub shows
    for (model_id, bench, metric), value in sorted(best.items()):
        reg.add_score(model_id, bench, metric, 0, value, RUNS, harness="inspect (Epoch AI)")


def load_epoch_hub(reg: Registry, shared: Path) -> None:
    frames = [
        (spec, pl.read_csv(shared / ROOT / f"external_benchmark_{spec.file}.csv", infer_schema_length=None))
        for spec in HUB_TABLES
    ]
    for spec, frame in frames:
        if spec.column not in frame.columns:
            raise BuildError(f"external_benchmark_{spec.file}.csv: no column {spec.column!r}")
    sources = _source_ids(reg, frames)
    models = HubModels(reg, shared)
    for spec, frame in frames:
        _table_scores(reg, models, spec, frame, sources)
    _runs(reg, models, shared)
