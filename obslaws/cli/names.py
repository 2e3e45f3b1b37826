"""``obslaws names``: how source names resolve to models (``resolve``) and which did not (``unresolved``)."""

from __future__ import annotations

import sys

import click
import polars as pl

from obslaws.cli.common import Context, emit, format_option


@click.group()
def names() -> None:
    """Model names: resolve them through model_aliases, list the ones that did not resolve."""


@names.command("resolve")
@click.argument("names_", metavar="NAME...", nargs=-1, required=True)
@format_option
@click.pass_obj
def resolve_command(ctx: Context, names_: tuple[str, ...], fmt: str) -> None:
    """The model each NAME denotes (HF id, Epoch display name, Swallow, HELM or EEE id); empty if none."""
    from obslaws.ingest.resolve import ModelResolver
    from obslaws.ingest.unresolved import lookup

    resolver = ModelResolver(ctx.connect())
    emit(pl.DataFrame({"name": list(names_), "model_id": [lookup(resolver, n) for n in names_]}), fmt)


@names.command("unresolved")
@click.option("--unexplained", is_flag=True, help="Only names the registry does not explain.")
@format_option
@click.pass_obj
def unresolved_command(ctx: Context, unexplained: bool, fmt: str) -> None:
    """Models that ingests created because their names matched no model, with the registry's
    reason where registry/unmatched_names.csv gives one. Exit status 1 with --unexplained if any."""
    from obslaws.ingest.unresolved import unresolved_models

    frame = unresolved_models(ctx.connect())
    if unexplained:
        frame = frame.filter(pl.col("reason").is_null())
    emit(frame, fmt)
    if unexplained and frame.height:
        sys.exit(1)  # SystemExit: click.Exit would become a return value under main()


commands = [names]
