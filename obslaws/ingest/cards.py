"""Hugging Face model cards: parameter count, base model, datasets, licence, ``model-index`` results.

A hub id goes through ``HfApi().model_info`` (safetensors metadata gives the parameter count);
a local ``README.md`` (or a folder holding one, and perhaps ``*.safetensors``) through
``ModelCard.load``. Both end in :func:`emit_card`. Without network access a hub id fails at once
with :class:`~obslaws.errors.OfflineError`.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from obslaws.errors import ObslawsError, OfflineError, ValidationError
from obslaws.ingest.batch import Batch, finite
from obslaws.ingest.context import IngestContext
from obslaws.ingest.guards import BenchmarkBudget, guarded_parse
from obslaws.ingest.names import is_hub_id, is_local_path, model_name, variant_from_name
from obslaws.ingest.params import checkpoint_parameters
from obslaws.ingest.task_map import card_dataset, continuous_unit
from obslaws.ingest.types import IngestReport, Problem
from obslaws.store import transaction

NORMALIZED_METRIC = "oll_v2_normalized"


@dataclass
class Card:
    """What a card says, whichever way it was read."""

    repo_id: str
    label: str  # file path or hub id, for messages
    card_data: Any  # huggingface_hub.ModelCardData
    params_total: float | None = None
    sha256: str = ""
    url: str | None = None
    retrieved: date | None = None
    problems: list[Problem] = field(default_factory=list)


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value if v]


def load_local_card(path: Path, repo_id: str | None = None) -> Card:
    """Read a README.md (or a folder with one) through ``huggingface_hub.ModelCard``.

    A malformed ``model-index`` is reported as a problem (file, key ``model-index``) and the rest
    of the card (licence, base model, datasets) is still read.
    """
    from huggingface_hub import ModelCard

    folder = path if path.is_dir() else path.parent
    readme = path / "README.md" if path.is_dir() else path
    if not readme.is_file():
        raise ObslawsError(f"{path}: no README.md model card there")
    text = readme.read_text(encoding="utf-8")
    problems = []
    try:
        card = ModelCard(text)
    except ValueError as exc:
        problems.append(Problem(str(readme), "model-index", " ".join(str(exc).split())[:300]))
        card = ModelCard(text, ignore_metadata_errors=True)
    data = card.data
    name = repo_id or getattr(data, "model_name", None) or folder.name
    params = checkpoint_parameters(folder) if path.is_dir() else None
    return Card(
        repo_id=name,
        label=str(readme),
        card_data=data,
        params_total=float(params) if params else None,
        sha256=hashlib.sha256(text.encode()).hexdigest(),
        problems=problems,
    )


def card_from_model_info(info: Any) -> Card:
    """A Card from ``huggingface_hub.ModelInfo`` (``HfApi().model_info`` or a recorded fixture)."""
    from huggingface_hub import ModelCardData

    data = info.card_data or ModelCardData()
    payload = json.dumps(
        {"id": info.id, "sha": info.sha, "card": data.to_dict(), "safetensors": getattr(info, "safetensors", None)},
        default=str,
        sort_keys=True,
    )
    problems = []
    if getattr(info, "model_index", None) and not data.eval_results:
        problems.append(Problem(info.id, "model-index", "present on the hub but huggingface_hub could not parse it"))
    total = info.safetensors.total if getattr(info, "safetensors", None) else None
    return Card(
        repo_id=info.id,
        label=info.id,
        card_data=data,
        params_total=float(total) if total else None,
        sha256=hashlib.sha256(payload.encode()).hexdigest(),
        url=f"https://huggingface.co/{info.id}",
        retrieved=date.today(),
        problems=problems,
    )


def fetch_card(repo_id: str, revision: str | None = None) -> Card:
    """``HfApi().model_info`` of a hub id; OfflineError at once when the hub cannot be reached."""
    from huggingface_hub import HfApi, constants
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled, RepositoryNotFoundError

    hint = "pass a local README.md (or a folder with one) instead, or unset HF_HUB_OFFLINE and check the network"
    if constants.is_offline_mode():
        raise OfflineError(f"model card {repo_id}: the Hugging Face hub is needed but HF_HUB_OFFLINE is set; {hint}")
    try:
        info = HfApi().model_info(repo_id, revision=revision)
    except OfflineModeIsEnabled as exc:
        raise OfflineError(
            f"model card {repo_id}: the Hugging Face hub is needed but offline mode is on; {hint}"
        ) from exc
    except RepositoryNotFoundError as exc:
        raise ObslawsError(f"model card {repo_id}: no such model on the Hugging Face hub (or it is gated)") from exc
    except (*_transport_errors(), ConnectionError) as exc:
        raise OfflineError(
            f"model card {repo_id}: cannot reach the Hugging Face hub ({type(exc).__name__}); {hint}"
        ) from exc
    except HfHubHTTPError as exc:
        raise ObslawsError(f"model card {repo_id}: the hub answered {exc}") from exc
    return card_from_model_info(info)


def _transport_errors() -> tuple[type[BaseException], ...]:
    """The HTTP client's network errors: httpx2 for huggingface_hub 2.x, requests before it."""
    try:
        import httpx2

        return (httpx2.TransportError,)
    except ImportError:
        import requests

        return (requests.ConnectionError, requests.Timeout)


def emit_card(batch: Batch, card: Card, report: IngestReport) -> str:
    """Append a card's source, model (new, or NULL fields filled), datasets and results."""
    data = card.card_data
    source_id = f"card:{card.repo_id}@{card.sha256[:12]}"
    license_ = ", ".join(_as_list(getattr(data, "license", None))) or None
    bases = _as_list(getattr(data, "base_model", None))
    base = (batch.resolver.lookup(bases[0]) or bases[0]) if bases else None
    batch.source(
        source_id,
        "model_card",
        f"Hugging Face model card of {card.repo_id}",
        url=card.url,
        license=license_,
        retrieved=card.retrieved,
        sha256=card.sha256,
    )
    name = model_name(card.repo_id)
    model_id = batch.model(
        name,
        source_id,
        variant=variant_from_name(card.repo_id, base),
        base_model=base,
        params_total=card.params_total,
        license=license_,
    )
    batch.fill_model(model_id, params_total=card.params_total, license=license_, base_model=base)
    for dataset in _as_list(getattr(data, "datasets", None)):
        batch.row("model_datasets", model_id=model_id, dataset=dataset, source_id=source_id)
    for index, result in enumerate(getattr(data, "eval_results", None) or []):
        _emit_result(batch, model_id, source_id, card, index, result, report)
    report.skipped.extend(card.problems)
    return model_id


def _emit_result(
    batch: Batch, model_id: str, source_id: str, card: Card, index: int, result: Any, report: IngestReport
) -> None:
    key = f"model-index[{index}] {result.dataset_type}/{result.metric_type}"
    value = finite(result.metric_value)
    if value is None:
        report.skipped.append(Problem(card.label, key, f"value {result.metric_value!r} is not a number"))
        return
    args = result.dataset_args or {}
    shots = finite(args.get("num_few_shot") if isinstance(args, dict) else None)
    shots_int = int(shots) if shots is not None else 0
    known = card_dataset(result.dataset_type, result.dataset_config)
    harness = result.source_name or "model card"
    if known is not None:
        # The leaderboard's card PRs write points (0-100).
        fraction = round(value / 100, 12)
        if not 0 <= fraction <= 1:
            report.skipped.append(Problem(card.label, key, f"{value} outside 0-100"))
            return
        if known.normalized:
            batch.score(model_id, known.benchmark, NORMALIZED_METRIC, shots_int, fraction, source_id, harness=harness)
            if known.raw_metric:
                batch.score(
                    model_id, known.benchmark, known.raw_metric, shots_int, fraction, source_id, harness=harness
                )
        else:
            metric = known.metric or result.metric_type
            batch.score(model_id, known.benchmark, metric, shots_int, fraction, source_id, harness=harness)
        return
    target = batch.task_map.lookup(result.dataset_type, result.metric_type)
    if target.benchmark is None:
        return
    bench = target.benchmark.replace("/", "_")
    unit = continuous_unit(target.metric)
    if unit is not None:
        batch.loss(model_id, bench, value, unit, source_id, n_shots=shots_int)
    elif 0 <= value <= 1:
        batch.score(model_id, bench, target.metric, shots_int, value, source_id, harness=harness)
    elif 1 < value <= 100:  # percentages, as most cards write them
        batch.score(model_id, bench, target.metric, shots_int, round(value / 100, 12), source_id, harness=harness)
    else:
        report.skipped.append(Problem(card.label, key, f"{value} is neither a fraction nor a percentage"))


def _names_a_path(ref: str | Path) -> bool:
    """An existing path, or one written as a path (``./x``, ``/x``, ``a/b/c``, ``x.md``) even if missing."""
    text = str(ref)
    return Path(text).expanduser().exists() or is_local_path(text) or text.lower().endswith(".md")


def pair_refs(refs: Sequence[str | Path], model_id: str | None = None) -> list[tuple[str | Path, str | None]]:
    """(ref, model id for a local card) pairs: a hub id right before an existing path names it.

    Examples
    --------
    >>> pair_refs(["EleutherAI/pythia-1b", "."])
    [('.', 'EleutherAI/pythia-1b')]
    >>> pair_refs(["EleutherAI/pythia-1b", "EleutherAI/pythia-70m"])
    [('EleutherAI/pythia-1b', None), ('EleutherAI/pythia-70m', None)]
    >>> pair_refs(["EleutherAI/pythia-1b", "./missing/README.md"])  # a mistyped path is still the card
    [('./missing/README.md', 'EleutherAI/pythia-1b')]
    """
    out: list[tuple[str | Path, str | None]] = []
    items = list(refs)
    index = 0
    while index < len(items):
        ref = items[index]
        following = items[index + 1] if index + 1 < len(items) else None
        is_id = not Path(ref).expanduser().exists() and is_hub_id(str(ref))
        if model_id is None and is_id and following is not None and _names_a_path(following):
            out.append((following, str(ref)))
            index += 2
            continue
        out.append((ref, model_id))
        index += 1
    return out


def known_benchmarks(conn: duckdb.DuckDBPyConnection) -> set[str]:
    return {b for (b,) in conn.execute("SELECT benchmark FROM benchmarks").fetchall()}


def _write_card(context: IngestContext, card: Card, budget: BenchmarkBudget, report: IngestReport) -> None:
    """One card in its own batch, so that a card that fails or passes the budget leaves no trace
    (its own resolver too: the context's would remember the refused card's names)."""
    conn = context.conn
    batch = Batch(conn, context.task_map)
    card_report = IngestReport()
    try:
        guarded_parse(card.label, lambda: emit_card(batch, card, card_report))
    except ValidationError as exc:
        report.skipped.append(Problem(exc.file, exc.field, exc.problem))
        return
    refused = budget.admit(card.label, batch.benchmarks - known_benchmarks(conn))
    if refused is not None:
        report.skipped.append(refused)
        return
    batch.write(report)
    report.skipped.extend(card_report.skipped)
    report.files += 1


def ingest_cards(
    context: IngestContext,
    refs: Sequence[str | Path],
    *,
    revision: str | None = None,
    model_id: str | None = None,
    budget: BenchmarkBudget | None = None,
) -> IngestReport:
    """Ingest model cards: hub ids (``EleutherAI/pythia-1b``) or local README.md files/folders.

    Each card is read on its own: one that cannot be read is reported (file and reason) and
    skipped, and the others land, all in one transaction.

    Parameters
    ----------
    context:
        The open, migrated database, the task map and the name resolver.
    refs:
        Hub ids or paths. A path wins where both could match; a hub id followed by a path
        names the model that path's card describes (``EleutherAI/pythia-1b ./README.md``).
    revision:
        Hub revision for hub ids.
    model_id:
        The model a local card describes (default: the card's ``model_name``, else the folder name).
    budget:
        How many new benchmarks a card and the whole ingest may add (a card past it is skipped).

    Raises
    ------
    OfflineError
        A hub id was given and the hub cannot be reached (no partial write).
    """
    start = time.perf_counter()
    report = IngestReport()
    budget = budget or BenchmarkBudget()
    cards = []
    for ref, repo_id in pair_refs(refs, model_id):
        path = Path(ref).expanduser()
        if path.exists():
            try:
                cards.append(
                    guarded_parse(str(path), lambda path=path, repo_id=repo_id: load_local_card(path, repo_id))
                )
            except ValidationError as exc:
                report.skipped.append(Problem(exc.file, exc.field, exc.problem))
        elif repo_id is not None and _names_a_path(ref):  # never fetch a mistyped local card from the hub
            report.skipped.append(Problem(str(ref), None, f"no such file or directory (the card of {repo_id})"))
        elif is_hub_id(str(ref)):
            cards.append(fetch_card(str(ref), revision))
        else:
            report.skipped.append(Problem(str(ref), None, "neither an existing path nor a Hugging Face model id"))
    with transaction(context.conn):  # every card, or none
        for card in cards:
            _write_card(context, card, budget, report)
    report.seconds = time.perf_counter() - start
    return report
