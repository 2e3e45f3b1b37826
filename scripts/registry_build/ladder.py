"""The OLMo model ladder (Bhagia et al. 2024): ladder runs, their checkpoints, OLMo-2 targets."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl

from .core import BuildError, Registry, files_sha256

SOURCE = "olmo-ladder"
PAPER_SOURCE = "paper-arxiv-2412.04403"
PAPER_DATE = "2024-12-05"  # arXiv:2412.04403 v1
CHECKPOINT_EVERY = 5000  # thinning: keep every 5,000th step plus the final one
# The paper's ladder (manifests/final.json, mode "train") keeps every evaluated step: the task
# law's step 2 fits all of its checkpoints, smoothed over 5 consecutive evaluations.
PAPER_MANIFEST = "final.json"
# Steps between the 5,000-step ones carry only what that law reads (the paper's 8 tasks' bits per
# byte and accuracy, ranked-classification format), which keeps the registry small.
PAPER_TASK_PARTS = frozenset(
    [f"mmlu_{s}_test" for s in ("stem", "humanities", "social_sciences", "other")]
    + ["hellaswag_val", "arc_challenge_test", "arc_easy_test", "piqa_val", "csqa_val", "socialiqa_val"]
    + ["openbookqa_test"]
)
SIZE_LABELS = {"190M": "190M", "370M": "370M", "760M": "760M", "1B": "1.3B", "3B": "3.2B"}
TARGETS = {
    # file, canonical id, manifest label
    "peteish7_eval_anneal.csv": ("allenai/OLMo-2-1124-7B", "7B-4T"),
    "peteish13_eval_final.csv": ("allenai/OLMo-2-1124-13B", "13B-5T"),
}
CE = re.compile(r"eval/(.+)-validation/CrossEntropyLoss")
BPB = re.compile(r"eval/downstream_bpb/(.+)_bpb")
ACC = re.compile(r"eval/downstream/(.+_(rc|mc)_5shot)_(len_norm|acc)")


def _sizes(root: Path) -> dict[str, int]:
    """Manifest label -> parameter count `n`."""
    sizes: dict[str, int] = {}
    for path in sorted((root / "manifests").glob("*.json")):
        for entry in json.loads(path.read_text()).values():
            sizes[entry["label"]] = int(entry["n"])
    return sizes


def _paper_runs(root: Path) -> set[str]:
    """File names of the paper's ladder runs (the training runs of ``final.json``)."""
    manifest = json.loads((root / "manifests" / PAPER_MANIFEST).read_text())
    return {Path(p).name for e in manifest.values() if e["mode"] == "train" for p in e["paths"]}


def _facts(reg: Registry, model: str, row: dict, tokens: float | None, paper_only: bool = False) -> None:
    for column, value in row.items():
        if value is None:
            continue
        if paper_only and not _paper_column(column):
            continue
        if m := CE.fullmatch(column):
            reg.add_loss(model, f"{m.group(1)}_validation", value, "nats_per_token", SOURCE, tokens)
        elif m := BPB.fullmatch(column):
            reg.add_loss(model, m.group(1), value, "bits_per_byte", SOURCE, tokens)
        elif m := ACC.fullmatch(column):
            task, metric = m.group(1), m.group(3)
            bench = f"olmo_{task}"
            if bench not in reg.benchmarks:
                name = task.replace("_rc_5shot", "").replace("_mc_5shot", "")
                fmt = "ranked classification (cloze)" if m.group(2) == "rc" else "multiple-choice letter"
                chance = (
                    0.5
                    if any(t in name for t in ("boolq", "piqa", "winogrande"))
                    else (1 / 3 if "socialiqa" in name else 0.2 if "csqa" in name else 0.25)
                )
                reg.add_benchmark(
                    bench,
                    metric,
                    5,
                    chance,
                    f"OLMo in-loop evaluation `{name}`, {fmt} format, 5-shot, metric {metric} (OLMo "
                    f"model-ladder data).",
                )
            reg.add_score(model, bench, metric, 5, value, SOURCE, harness="olmo")


def _paper_column(column: str) -> bool:
    m = BPB.fullmatch(column) or ACC.fullmatch(column)
    return bool(m) and m.group(1).removesuffix("_rc_5shot") in PAPER_TASK_PARTS


def load_ladder(reg: Registry, shared: Path) -> None:
    root = shared / "ladder"
    files = sorted((root / "peteish-moreeval").glob("*.csv"))
    _add_sources(reg, root, files, shared)
    sizes = _sizes(root)
    paper_runs = _paper_runs(root)
    for path in files:
        match = re.fullmatch(r"(190M|370M|760M|1B|3B)-([\d.]+xC)(-rerun)?\.csv", path.name)
        if match is not None:
            _load_ladder_run(reg, path, match, sizes, paper_runs)
    for name, (model, label) in TARGETS.items():
        _load_target(reg, root / "peteish-moreeval" / name, model, float(sizes[label]))


def _add_sources(reg: Registry, root: Path, files: list[Path], shared: Path) -> None:
    reg.add_source(
        SOURCE,
        "dataset",
        "Bhagia et al., Establishing Task Scaling Laws via Compute-Efficient Model Ladders, "
        "arXiv:2412.04403; scripts/scaling/data/peteish-moreeval at OLMo commit 1dbd982 "
        "(ladder model ids are not HF repos)",
        "https://github.com/allenai/OLMo/tree/1dbd982d415af114c7fc770b8a9955c7ebfc6ea2/scripts/scaling",
        "Apache-2.0",
        files_sha256(files + sorted((root / "manifests").glob("*.json")), shared),
        40,
    )
    reg.add_source(
        PAPER_SOURCE,
        "paper",
        "Bhagia et al., Establishing Task Scaling Laws via Compute-Efficient Model Ladders, "
        "arXiv:2412.04403 v1 (2024-12-05)",
        "https://arxiv.org/abs/2412.04403v1",
    )


def _add_allenai_model(reg: Registry, model: str, family: str, params: float, tokens: float, **fields: object) -> None:
    """One AllenAI base model (ladder run, OLMo-2 target or a checkpoint of either) and its own id as alias."""
    reg.add_model(
        model,
        SOURCE,
        family=family,
        variant="base",
        organization="allenai",
        params_total=params,
        tokens=tokens,
        license="apache-2.0",
        **fields,
    )
    reg.add_alias(model, model, SOURCE)


def _load_ladder_run(
    reg: Registry, path: Path, match: re.Match[str], sizes: dict[str, int], paper_runs: set[str]
) -> None:
    """One ladder run: the model at its final step, then its checkpoints (every 5,000th step; every
    evaluated step of the paper's runs, those in between carrying only the paper's columns)."""
    size, mult, rerun = match.groups()
    params = float(sizes[SIZE_LABELS[size]])
    model = f"allenai/olmo-ladder-{size}-{mult}{rerun or ''}"
    frame = pl.read_csv(path, infer_schema_length=None).sort("_step")
    final = frame.row(frame.height - 1, named=True)
    tokens = float(final["throughput/total_tokens"])
    _add_allenai_model(
        reg, model, "olmo-ladder", params, tokens, release_date=PAPER_DATE, release_date_source=PAPER_SOURCE
    )
    reg.add_alias(path.stem, model, SOURCE)
    _facts(reg, model, final, tokens)
    for row in frame.iter_rows(named=True):
        step = int(row["_step"])
        between = bool(step % CHECKPOINT_EVERY)
        if step == final["_step"] or step == 0 or (between and path.name not in paper_runs):
            continue
        ckpt = f"{model}@step{step}"
        tokens = float(row["throughput/total_tokens"])
        _add_allenai_model(reg, ckpt, "olmo-ladder", params, tokens, checkpoint_of=model, step=step)
        _facts(reg, ckpt, row, tokens, paper_only=between)


def _load_target(reg: Registry, path: Path, model: str, params: float) -> None:
    """One OLMo-2 target: its last row is the model; earlier rows (the 13B's last evaluations
    before the end of pretraining) are its checkpoints: the paper averages a target over its last 5."""
    frame = pl.read_csv(path, infer_schema_length=None)
    if "_step" in frame.columns:
        frame = frame.sort("_step")
    rows = list(frame.iter_rows(named=True))
    row = rows[-1]
    tokens = _tokens(row)
    if not 3.5e12 < tokens < 5.5e12:
        raise BuildError(f"{path.name}: unexpected token count {tokens}")
    _add_allenai_model(reg, model, "olmo-2", params, tokens)
    reg.add_alias(path.stem, model, SOURCE)
    _facts(reg, model, row, tokens)
    for earlier in rows[:-1]:
        step = int(earlier["_step"])
        ckpt = f"{model}@step{step}"
        _add_allenai_model(reg, ckpt, "olmo-2", params, _tokens(earlier), checkpoint_of=model, step=step)
        _facts(reg, ckpt, earlier, _tokens(earlier))


def _tokens(row: dict) -> float:
    """Tokens seen: logged, or steps times batch size (the 13B file logs no token count)."""
    return float(row.get("throughput/total_tokens") or row["_step"] * row["batch_size_in_tokens"])
