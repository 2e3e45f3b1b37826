"""obslaws' own ingestors and task mappings, registered like any plugin's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from obslaws import hookimpl
from obslaws.ingest.task_map import BUILTIN_MAPPINGS
from obslaws.ingest.types import Ingestor


# Each imports its ingestor when called: registering the plugin stays cheap (no polars, no duckdb).
def _lm_eval(context: Any, paths: list[str], **options: Any) -> Any:
    from obslaws.ingest.lm_eval_ingest import ingest_lm_eval

    return ingest_lm_eval(context, paths, **options)


def _card(context: Any, paths: list[str], **options: Any) -> Any:
    from obslaws.ingest.cards import ingest_cards

    return ingest_cards(context, paths, **options)


def _leaderboard(context: Any, paths: list[str], **options: Any) -> Any:
    from obslaws.ingest.leaderboard import ingest_leaderboard

    return ingest_leaderboard(context, paths, **options)


INGESTORS = (
    Ingestor("lm-eval", _lm_eval, "lm-evaluation-harness results files (0.3, 0.4.x, Open LLM Leaderboard v1/v2)"),
    Ingestor("card", _card, "Hugging Face model cards (hub ids or local README.md)"),
    Ingestor("leaderboard", _leaderboard, "Open LLM Leaderboard tabular dumps (oll-v1, oll-v2)"),
)


@hookimpl
def register_ingestors(register: Callable[[Any], None]) -> None:
    for ingestor in INGESTORS:
        register(ingestor)
    for mapping in BUILTIN_MAPPINGS:
        register(mapping)
