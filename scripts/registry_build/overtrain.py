"""The over-training grid of Gadre et al. 2024 (104 open_lm models, 3 corpora)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from .core import BuildError, Registry, files_sha256

SOURCE = "overtrain-gadre2024"
PAPER_DATE = "2024-03-13"  # arXiv:2403.08540 v1
CORPUS_FAMILY = {"c4_original": "openlm-c4", "rpj": "openlm-rpj", "rw_original": "openlm-rw"}
# validation set folder in the results -> dataset name in losses.csv
VAL_SETS = {
    "openlm": "open_lm_val",
    "c4_val": "c4_val",
    "paloma_c4_en": "paloma_c4_en",
    "paloma_dolma_100_programing_languages": "paloma_dolma_100_programing_languages",
    "paloma_falcon-refinedweb": "paloma_falcon-refinedweb",
    "paloma_ptb": "paloma_ptb",
    "paloma_redpajama": "paloma_redpajama",
    "de-en": "de-en_val",
}


def model_id(name: str) -> str:
    """Not HF repos: the grid's run names under the paper's short name."""
    return f"gadre2024/{name}"


def _val_set(path: str) -> str:
    parts = path.split("/")
    key = parts[-2] if parts[-2] in VAL_SETS else next(p for p in parts if p in VAL_SETS)
    return VAL_SETS[key]


def load_overtrain(reg: Registry, shared: Path) -> None:
    root = shared / "overtrain"
    model_files = sorted((root / "models").glob("*.json"))
    reg.add_source(
        SOURCE,
        "dataset",
        "Gadre et al., Language models scale reliably with over-training and on downstream tasks, "
        "arXiv:2403.08540; exp_data/ at commit a003c49 (run names are not HF repos)",
        "https://github.com/mlfoundations/scaling/tree/a003c4913793ac2ae7ef87b28ecb562955d026d5/exp_data",
        "MIT",
        files_sha256(model_files + sorted((root / "evals").glob("*.json")) + [root / "eval_metadata.csv"], shared),
        40,
    )
    reg.add_source(
        "paper-arxiv-2403.08540",
        "paper",
        "Gadre et al., Language models scale reliably with over-training and on downstream tasks, "
        "arXiv:2403.08540 v1 (2024-03-13)",
        "https://arxiv.org/abs/2403.08540v1",
    )
    with (root / "eval_metadata.csv").open(newline="", encoding="utf-8") as handle:
        meta = {row["Eval Task"]: row for row in csv.DictReader(handle)}
    tasks_seen: set[str] = set()
    if len(model_files) != 104:
        raise BuildError(f"overtrain: expected 104 model files, found {len(model_files)}")
    for path in model_files:
        info = json.loads(path.read_text())
        name, hp = info["name"], info["hyperparameters"]
        mid = model_id(name)
        reg.add_model(
            mid,
            SOURCE,
            family=CORPUS_FAMILY[info["dataset_name"]],
            variant="base",
            organization="mlfoundations",
            params_total=float(hp["params"]),
            params_non_embedding=float(hp["params_no_embed"]),
            tokens=float(hp["tokens"]),
            release_date=PAPER_DATE,
            release_date_source="paper-arxiv-2403.08540",
            license="MIT",
        )
        reg.add_alias(name, mid, SOURCE)
        reg.add_alias(mid, mid, SOURCE)
        for result in info["results"]:
            reg.add_loss(
                mid, _val_set(result["val_data"][0]), result["loss"], "nats_per_token", SOURCE, float(hp["tokens"])
            )
        evals = json.loads((root / "evals" / f"evaluation_{name}_heavy.json").read_text())
        for task, value in sorted(evals["eval_metrics"]["icl"].items()):
            row = meta[task]
            metric = "acc" if row["Task Type"] in ("multiple choice", "schema") else "exact_match"
            bench = f"llmfoundry_{task}"
            if task not in tasks_seen:
                reg.add_benchmark(
                    bench,
                    metric,
                    int(row["#shots"]),
                    float(row["Random baseline"]) / 100,
                    f"LLM-Foundry ICL task `{task}` ({row['Task Category']}, {row['Task Type']}, "
                    f"{row['#shots']}-shot) as run by Gadre et al.: {row['Description'].strip()}",
                    int(row["#datapoints"]),
                )
                tasks_seen.add(task)
            reg.add_score(mid, bench, metric, int(row["#shots"]), value, SOURCE, harness="llm-foundry")
