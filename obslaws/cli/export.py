"""Export commands: ``export eee`` (our scores as Every Eval Ever files)."""

from __future__ import annotations

from pathlib import Path

import click

from obslaws.cli.common import Context


@click.group()
def export() -> None:
    """Write the database's results in other formats."""


@export.command("eee")
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--source", default=None, help="Only this source's scores (default: every source).")
@click.pass_obj
def export_eee_command(ctx: Context, out: str, source: str | None) -> None:
    """Scores as Every Eval Ever JSON files under OUT, one per (source, model), each validated
    against eval.schema.json; params, tokens, compute and release date in model_info.additional_details."""
    from obslaws.export_eee import export_eee

    count = export_eee(ctx.connect(), Path(out), source=source)
    click.echo(f"wrote {count} file(s) under {out}")


commands = [export]
