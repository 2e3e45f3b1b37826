"""`obslaws refresh`: the leaderboard refresh (the main job)."""

from __future__ import annotations

from pathlib import Path

import click

from obslaws.cli.common import Context


@click.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Refresh plan (TOML); default: the registry only, every fitter, the standard backtests.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default="obslaws-report",
    show_default=True,
    help="Folder for the report (index.md, figures, predictions.csv).",
)
@click.option("--force", is_flag=True, help="Refit and backtest even when nothing is new.")
@click.option("--quiet", is_flag=True, help="Print only the final line.")
@click.option(
    "--workers", type=int, default=None, help="Processes for the backtests (default: the number of cores, at most 4)."
)
@click.pass_obj
def refresh(ctx: Context, config_path: str | None, out_dir: str, force: bool, quiet: bool, workers: int | None) -> None:
    """Ingest what is new, refit every fitter, run the backtests and write the report."""
    from obslaws.refresh.config import load_config
    from obslaws.refresh.pipeline import refresh as run_refresh
    from obslaws.refresh.pipeline import write_report_atomically
    from obslaws.report.build import build_report

    config = load_config(config_path)
    conn = ctx.connect()
    say = (lambda _line: None) if quiet else (lambda line: click.echo(line, err=True))
    outcome = run_refresh(conn, config, force=force, progress=say, workers=workers)
    out = Path(out_dir)
    if outcome.nothing_new:
        previous = outcome.previous or {}
        click.echo(
            f"Nothing new since refresh {previous.get('refresh_id')} ({previous.get('finished_at'):%Y-%m-%d %H:%M}): "
            f"database unchanged, refit skipped; report in {out}/"
        )
        return
    say("[5/5] report")
    page = write_report_atomically(lambda staging: build_report(conn, outcome, config, staging), out)
    slowest, seconds = outcome.slowest_step
    fitted = sum(1 for f in outcome.fits if f.status == "fitted")
    done = sum(1 for b in outcome.backtests if b.status == "done")
    click.echo(
        f"Refreshed: {fitted}/{len(outcome.fits)} fitters fitted, {done} backtests; report {page / 'index.md'}; "
        f"slowest step {slowest} ({seconds:.1f} s)"
    )


commands = [refresh]
