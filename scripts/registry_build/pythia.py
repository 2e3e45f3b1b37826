"""EleutherAI's Pythia evaluations (plus OPT and BLOOM): every checkpoint as its own model row."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from .core import Registry, files_sha256

SOURCE = "pythia-evals"
FINAL_STEP = 143_000
TOKENS_PER_STEP = 2_097_152  # Pythia README: batch of 2,097,152 tokens
# Headline tasks of the long CSV -> benchmark id; the Pythia-only ones get headline 0-shot.
TASKS = {
    "arc_easy": ("arc_easy", "acc", 0, 0.25, 2376, "ARC-Easy test (lm-eval `arc_easy`)."),
    "arc_challenge": ("arc_challenge", None, None, None, None, None),
    "lambada_openai": (
        "lambada_openai",
        "acc",
        0,
        0.0,
        5153,
        "LAMBADA (OpenAI version), last-word prediction accuracy (lm-eval `lambada_openai`); its "
        "perplexity is in losses.csv.",
    ),
    "logiqa": ("logiqa", "acc", 0, 0.25, 651, "LogiQA (lm-eval `logiqa`), 4-way multiple choice."),
    "piqa": ("piqa", "acc", 0, 0.5, 1838, "PIQA validation (lm-eval `piqa`), 2-way multiple choice."),
    "sciq": ("sciq", "acc", 0, 0.25, 1000, "SciQ test (lm-eval `sciq`), 4-way multiple choice."),
    "winogrande": ("winogrande", None, None, None, None, None),
    "wsc": ("wsc", "acc", 0, 0.5, 104, "WSC (SuperGLUE, lm-eval `wsc`), 2-way."),
    "mmlu_mean_of_57_subtasks_DERIVED": ("mmlu", None, None, None, None, None),
}


def canonical_id(model: str, hf_arg: str, suite: str) -> str:
    """`pythia-1b` -> `EleutherAI/pythia-1b` (the evals ran the bf16 v1.1 copy of the same
    weights); OPT and BLOOM ids are the HF repos the harness loaded."""
    if suite == "pythia":
        return f"EleutherAI/{model}"
    return hf_arg


def load_pythia(reg: Registry, shared: Path) -> None:
    root = shared / "pythia-evals"
    reg.add_source(
        SOURCE,
        "lm_eval_run",
        "Biderman et al., Pythia: A Suite for Analyzing Large Language Models Across Training and "
        "Scaling, arXiv:2304.01373; lm-eval results in evals/ at commit a19eecb (OPT, BLOOM: "
        "Zhang et al. arXiv:2205.01068, ~180B tokens; BigScience arXiv:2211.05100)",
        "https://github.com/EleutherAI/pythia/tree/a19eecb807ec2c79a39ebf18108816e6ffffc1d5/evals",
        "Apache-2.0",
        files_sha256([root / "pythia_opt_bloom_evals_long.csv"], shared),
        30,
    )
    for bench, metric, shots, chance, items, desc in TASKS.values():
        if metric is not None:
            reg.add_benchmark(bench, metric, shots, chance, desc, items)
    frame = pl.read_csv(root / "pythia_opt_bloom_evals_long.csv", infer_schema_length=None)
    models = frame.select("suite", "model", "hf_model_args_pretrained", "params_nominal", "deduped").unique()
    for row in models.sort("model").iter_rows(named=True):
        _add_final_model(reg, row)
    _add_checkpoints(reg, frame.select("suite", "model", "step").unique(), models)
    for row in frame.iter_rows(named=True):
        _add_result(reg, row)


def _add_final_model(reg: Registry, row: dict) -> None:
    """A fully trained model (a Pythia run's last checkpoint, an OPT or BLOOM release) and its names."""
    final_id = canonical_id(row["model"], row["hf_model_args_pretrained"], row["suite"])
    if row["suite"] == "pythia":
        family = "pythia-deduped" if row["deduped"] else "pythia"
        reg.add_model(
            final_id,
            SOURCE,
            family=family,
            variant="base",
            organization="EleutherAI",
            params_total=row["params_nominal"],
            tokens=float(FINAL_STEP * TOKENS_PER_STEP),
            license="apache-2.0",
        )
    else:
        family = row["suite"]
        tokens = 180e9 if row["suite"] == "opt" else 341e9
        reg.add_model(
            final_id,
            SOURCE,
            family=family,
            variant="base",
            organization=final_id.split("/")[0],
            params_total=row["params_nominal"],
            tokens=tokens,
        )
    reg.add_alias(row["model"], final_id, SOURCE)
    reg.add_alias(row["hf_model_args_pretrained"], final_id, SOURCE)
    reg.add_alias(final_id, final_id, SOURCE)
    if row["suite"] == "pythia":  # the final checkpoint is the model itself, by any of its names
        reg.add_alias(f"{row['hf_model_args_pretrained']}@step{FINAL_STEP}", final_id, SOURCE)


def _add_checkpoints(reg: Registry, steps: pl.DataFrame, models: pl.DataFrame) -> None:
    """Every earlier Pythia checkpoint as its own model, inheriting family and size from its final model."""
    for row in steps.iter_rows(named=True):
        if row["suite"] != "pythia" or row["step"] == FINAL_STEP:
            continue
        final_id = f"EleutherAI/{row['model']}"
        ckpt = f"{final_id}@step{row['step']}"
        final = reg.models[final_id]
        tokens = float(row["step"] * TOKENS_PER_STEP) or None  # step 0: untrained, no tokens
        reg.add_model(
            ckpt,
            SOURCE,
            family=final["family"],
            variant="base",
            organization="EleutherAI",
            params_total=final["params_total"],
            tokens=tokens,
            checkpoint_of=final_id,
            step=int(row["step"]),
            license="apache-2.0",
        )
        reg.add_alias(ckpt, ckpt, SOURCE)
        hf_arg = models.filter(pl.col("model") == row["model"])["hf_model_args_pretrained"][0]
        reg.add_alias(f"{hf_arg}@step{row['step']}", ckpt, SOURCE)


def _add_result(reg: Registry, row: dict) -> None:
    """One row of the long CSV: a LAMBADA perplexity goes to losses, everything else to scores."""
    final_id = canonical_id(row["model"], row["hf_model_args_pretrained"], row["suite"])
    step = row["step"]
    model_id = final_id if step is None or step == FINAL_STEP else f"{final_id}@step{step}"
    tokens_seen = float(step * TOKENS_PER_STEP) if step else None
    shots = row["num_fewshot"]
    if row["task"] == "lambada_openai" and row["metric"] == "ppl":
        dataset = "lambada_openai" if shots == 0 else f"lambada_openai_{shots}shot"
        reg.add_loss(model_id, dataset, row["value"], "perplexity", SOURCE, tokens_seen)
        return
    bench = TASKS[row["task"]][0]
    reg.add_score(
        model_id,
        bench,
        row["metric"],
        shots,
        row["value"],
        SOURCE,
        stderr=row["stderr"],
        harness="lm-eval",
        harness_version="0.3",
    )
