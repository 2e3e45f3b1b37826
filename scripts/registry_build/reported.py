"""registry/reported/*.toml (hand-kept): the tables model families publish in their model
cards, technical reports and blogs, one file per document (format: registry/reported/README.md).

Each file adds its source; its models (a model another source loaded keeps its row, found by
`joins.NameIndex`, and the file only fills the facts it lacks: a fact that disagrees with a
loaded one by more than `training_facts.TOLERANCE` fails the build unless corrections.csv
fixes that field); its scores under the reported-class benchmark ids (`epoch_<task>`), each
keeping its shots and setting (a comparison row's, one that states no fact of its model, are
cited to `<source_id>:comparison`, ranked after the makers' own numbers in preferred_scores);
and the names it lists as aliases. Release dates fill only models that no Epoch table or hand
row dates (`fill_reported_dates`, run after those).
"""

from __future__ import annotations

from pathlib import Path

from .core import BuildError, Registry, read_hand_csv
from .epoch_hub_tables import HUB_TABLES
from .joins import NameIndex, family_group_of
from .reported_format import Column, Entry, ReportedFile, Where, read_reported_file
from .training_facts import disagrees

# Below the Epoch hub's transcriptions (70): the number read from the document itself wins.
# A document's comparison rows (other makers' models) rank after every maker's own numbers.
PRIORITY = 60
COMPARISON_PRIORITY = 65
FACT_FIELDS = ("params_total", "params_active", "tokens")
# Reported-class ids beyond the Epoch hub's, shared by every file: benchmark -> (headline
# metric, headline shots, chance, what it is). A file may define a rarer one itself. The metric
# tells how a multiple-choice answer was scored: `acc` = the option with the highest
# log-likelihood, `exact_match` = a generated answer (CoT or not), so the two stay apart.
REPORTED_BENCHMARKS: dict[str, tuple[str, int, float, str]] = {
    "epoch_mmlu_pro": (
        "exact_match",
        5,
        0.1,
        "MMLU-Pro (10 options), reported accuracy, usually 5-shot CoT as in its paper",
    ),
    "epoch_mmlu_redux": ("acc", 5, 0.25, "MMLU-Redux, reported accuracy"),
    "epoch_math": (
        "exact_match",
        4,
        0.0,
        "MATH (Hendrycks et al.), reported exact match, usually the 4-shot Minerva CoT prompt",
    ),
    "epoch_gpqa": ("exact_match", 5, 0.25, "GPQA, reported accuracy (subset and CoT as the score's note says)"),
    "epoch_supergpqa": ("exact_match", 5, 0.1, "SuperGPQA, reported accuracy"),
    "epoch_math_lvl5": (
        "exact_match",
        4,
        0.0,
        "MATH Level 5 (the Open LLM Leaderboard v2 subset), reported exact match",
    ),
    "epoch_humaneval_plus": ("pass@1", 0, 0.0, "HumanEval+ (EvalPlus), reported pass@1"),
    "epoch_mbpp_plus": ("pass@1", 0, 0.0, "MBPP+ (EvalPlus), reported pass@1"),
    "epoch_humaneval": ("pass@1", 0, 0.0, "HumanEval, reported pass@1"),
    "epoch_mbpp": ("pass@1", 3, 0.0, "MBPP, reported pass@1"),
    "epoch_evalplus": ("pass@1", 0, 0.0, "EvalPlus: mean of HumanEval, MBPP, HumanEval+, MBPP+, reported pass@1"),
    "epoch_multipl_e": ("pass@1", 0, 0.0, "MultiPL-E (several languages, as the note says), reported pass@1"),
    "epoch_crux_o": ("pass@1", 1, 0.0, "CRUXEval output prediction (CRUX-O), reported pass@1"),
    "epoch_agieval": ("acc", 0, 0.0, "AGIEval (English subset unless the note says), reported accuracy"),
    "epoch_drop": ("f1", 3, 0.0, "DROP, reported F1"),
    "epoch_commonsenseqa": ("acc", 0, 0.2, "CommonsenseQA, reported accuracy"),
    "epoch_social_iqa": ("acc", 0, 1 / 3, "Social IQa, reported accuracy"),
    "epoch_natural_questions": ("exact_match", 5, 0.0, "Natural Questions (open), reported exact match"),
    "epoch_mgsm": ("exact_match", 8, 0.0, "MGSM, reported exact match, usually 8-shot CoT"),
    "epoch_mmmlu": ("acc", 5, 0.25, "MMMLU (OpenAI's translated MMLU), reported accuracy"),
    "epoch_include": ("acc", 5, 0.25, "INCLUDE (regional knowledge, 44 languages), reported accuracy"),
}


def read_reported(folder: Path) -> list[ReportedFile]:
    """Every `*.toml` in the folder, in name order (README.md and other files are skipped)."""
    return [read_reported_file(path) for path in sorted(folder.glob("*.toml"))] if folder.is_dir() else []


def _add_sources(reg: Registry, files: list[ReportedFile]) -> None:
    owner: dict[str, Path] = {}
    for parsed in files:
        source_id = parsed.source["source_id"]
        where = Where(parsed.path, "[source]")
        if source_id in owner:
            raise where.fail("source_id", f"{source_id!r} is also the source of reported/{owner[source_id].name}")
        if source_id in reg.sources:
            raise where.fail("source_id", f"{source_id!r} is already a source of the registry (pick another id)")
        owner[source_id] = parsed.path
        reg.add_source(**parsed.source, sha256=None, priority=PRIORITY)
        if any(entry.comparison and entry.scores for entry in parsed.entries):
            reg.add_source(
                **{
                    **parsed.source,
                    "source_id": comparison_source(source_id),
                    "citation": f"{parsed.source['citation']} (its comparison rows: other makers' models)",
                },
                sha256=None,
                priority=COMPARISON_PRIORITY,
            )


def comparison_source(source_id: str) -> str:
    """The source the comparison rows of a document are cited to."""
    return f"{source_id}:comparison"


def _add_benchmarks(reg: Registry, files: list[ReportedFile]) -> None:
    """The shared ids the files use, the ids files define, then a check of every column."""
    used = {col.benchmark for parsed in files for col in parsed.columns.values()}
    for bench in sorted(used & set(REPORTED_BENCHMARKS)):
        metric, shots, chance, what = REPORTED_BENCHMARKS[bench]
        reg.add_benchmark(bench, metric, shots, chance, _description(what, metric, shots))
    reported_ids = {spec.benchmark for spec in HUB_TABLES} | set(REPORTED_BENCHMARKS)
    defined: dict[str, tuple[Path, Column]] = {}
    for parsed in files:
        for col in parsed.columns.values():
            if col.chance is None:
                continue
            where = Where(parsed.path, f"[benchmarks.{col.key}]")
            if col.benchmark in reported_ids or (col.benchmark in reg.benchmarks and col.benchmark not in defined):
                raise where.fail("chance", f"{col.benchmark!r} already exists; drop chance and description")
            first = defined.setdefault(col.benchmark, (parsed.path, col))
            if (first[1].metric, first[1].n_shots) != (col.metric, col.n_shots):
                other = first[0].name
                raise where.fail("n_shots", f"{col.benchmark!r} has another headline setting in reported/{other}")
            reg.add_benchmark(
                col.benchmark,
                col.metric,
                col.n_shots,
                col.chance,
                _description(col.description or "", col.metric, col.n_shots),
            )
    reported_ids |= set(defined)
    for parsed in files:
        for col in parsed.columns.values():
            if col.benchmark not in reported_ids:
                where = Where(parsed.path, f"[benchmarks.{col.key}]")
                known = (
                    "a harness's own id (lm-eval, Swallow, Epoch's runs), not a reported one"
                    if col.benchmark in reg.benchmarks
                    else "unknown"
                )
                raise where.fail(
                    "benchmark", f"{col.benchmark!r} is {known}; use an epoch_ id or define one (chance, description)"
                )


def _description(what: str, metric: str, shots: int) -> str:
    return (
        f"{what}: numbers reported by papers and model cards (registry/reported/), each with its "
        f"own prompt and harness (its source). Headline setting: {shots}-shot {metric}; shots -1 = not stated."
    )


def _model_row(reg: Registry, names: NameIndex, parsed: ReportedFile, entry: Entry) -> dict:
    """The registry row the entry denotes, created when no source has it."""
    where = Where(parsed.path, f"model {entry.model_id}")
    source_id = parsed.source["source_id"]
    found = names.find(entry.model_id, *entry.aliases)
    if found is not None:
        row = reg.models[found]
        if entry.base != (row["variant"] == "base"):
            raise where.fail("base", f"{entry.base} but {found} is a {row['variant']} model ({row['source_id']})")
        return row
    if entry.family is None:
        raise where.fail("family", "needed for a model no other source has")
    try:
        reg.add_family(entry.family, entry.family_group or family_group_of(entry.family), entry.organization)
    except BuildError as exc:
        raise where.fail("family", str(exc)) from exc
    row = reg.add_model(
        entry.model_id,
        source_id,
        family=entry.family,
        variant="base" if entry.base else "instruct",
        organization=entry.organization,
    )
    names.remember(entry.model_id, entry.model_id)
    return row


def _fill_facts(reg: Registry, parsed: ReportedFile, entry: Entry, row: dict, corrected: set[tuple[str, str]]) -> None:
    where = Where(parsed.path, f"model {entry.model_id}")
    facts_source = entry.facts_source or parsed.source["source_id"]
    if facts_source not in reg.sources:
        raise where.fail("facts_source", f"unknown source {facts_source!r}")
    for fld in FACT_FIELDS:
        value = getattr(entry, fld)
        if value is None or (row["model_id"], fld) in corrected:
            continue  # corrections.csv sets that field (and checks the wrong value it replaces)
        old = row[fld]
        if disagrees(old, value):
            raise where.fail(fld, f"{value:g} disagrees with {old:g} already loaded for {row['model_id']}")
        reg.raw_meta.setdefault(row["model_id"], {}).setdefault(fld, {})[facts_source] = value
        if old is None:  # a loaded value within the tolerance stays (tables round: "30B" for 30.5B)
            row[fld] = value


def _add_scores(reg: Registry, parsed: ReportedFile, entry: Entry, model_id: str) -> None:
    source_id = parsed.source["source_id"]
    source_id = comparison_source(source_id) if entry.comparison else source_id
    for key, value in sorted(entry.scores.items()):
        col = parsed.columns[key]
        harness = f"reported ({source_id}, column {key})" + (f": {col.note}" if col.note else "")
        try:
            reg.add_score(model_id, col.benchmark, col.metric, col.n_shots, value, source_id, harness=harness[:200])
        except BuildError as exc:
            raise Where(parsed.path, f"model {entry.model_id}").fail(f"scores.{key}", str(exc)) from exc


def _add_aliases(reg: Registry, parsed: ReportedFile, entry: Entry, model_id: str) -> None:
    for alias in (entry.model_id, *entry.aliases):
        if alias == model_id:
            continue
        try:
            reg.add_alias(alias, model_id, parsed.source["source_id"])
        except BuildError as exc:
            raise Where(parsed.path, f"model {entry.model_id}").fail("aliases", str(exc)) from exc


def load_reported(reg: Registry, folder: Path, corrections: Path) -> dict[str, tuple[str, str]]:
    """Add every file's source, benchmarks, models, facts, scores and aliases; return the
    release dates they give (model_id -> (date, source_id)) for `fill_reported_dates`."""
    files = read_reported(folder)
    corrected = (
        {(row["model_id"], row["field"]) for row in read_hand_csv(corrections)} if corrections.exists() else set()
    )
    _add_sources(reg, files)
    _add_benchmarks(reg, files)
    names = NameIndex(reg)
    dates: dict[str, tuple[str, str]] = {}
    for parsed in files:
        for entry in parsed.entries:
            row = _model_row(reg, names, parsed, entry)
            model_id = row["model_id"]
            _fill_facts(reg, parsed, entry, row, corrected)
            _add_scores(reg, parsed, entry, model_id)
            _add_aliases(reg, parsed, entry, model_id)
            if entry.release_date:
                dates.setdefault(model_id, (entry.release_date, entry.facts_source or parsed.source["source_id"]))
    return dates


def fill_reported_dates(reg: Registry, dates: dict[str, tuple[str, str]]) -> None:
    for model_id, (date, source_id) in sorted(dates.items()):
        row = reg.models[model_id]
        if not row["release_date"]:
            row["release_date"], row["release_date_source"] = date, source_id
