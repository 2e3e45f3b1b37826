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
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Processes for the backtests (default: the number of cores, at most 4).",
)
@click.option(
    "--allow-skips", is_flag=True, help="Go on without a source file that cannot be read (default: stop, naming it)."
)
@click.pass_obj
def refresh(
    ctx: Context,
    config_path: str | None,
    out_dir: str,
    force: bool,
    quiet: bool,
    workers: int | None,
    allow_skips: bool,
) -> None:
    """Ingest what is new, refit every fitter, run the backtests and write the report.

    After it commits, it publishes a read-only copy of the database beside it
    (NAME.snapshot.duckdb) for `obslaws sql` to read while the next refresh holds the file.
    A report that is missing or older than the database (a refresh killed while writing it)
    is rebuilt even when nothing is new.
    """
    from obslaws.plugins import plugin_manager
    from obslaws.refresh.config import load_config
    from obslaws.refresh.parallel import Workers, default_workers
    from obslaws.refresh.pipeline import refresh as run_refresh
    from obslaws.refresh.publish import report_is_current, write_report_atomically
    from obslaws.report.build import build_report

    config = load_config(config_path)
    conn = ctx.connect()
    pm = plugin_manager()
    say = (lambda _line: None) if quiet else (lambda line: click.echo(line, err=True))
    # one set of worker processes for the fits, the backtests and the report's figures
    with Workers(default_workers() if workers is None else workers) as shared:
        options = {"pm": pm, "progress": say, "workers": workers, "allow_skips": allow_skips, "shared": shared}
        outcome = run_refresh(conn, config, force=force, **options)
        out = Path(out_dir)
        if outcome.nothing_new and not report_is_current(out, outcome.state_hash):
            say(f"Nothing new, but the report in {out}/ is missing or older than the database: rebuilding it")
            outcome = run_refresh(conn, config, force=True, **options)
        _publish_snapshot(ctx, conn, say, changed=not outcome.nothing_new)
        if outcome.nothing_new:
            previous = outcome.previous or {}
            click.echo(
                f"Nothing new since refresh {previous.get('refresh_id')} "
                f"({previous.get('finished_at'):%Y-%m-%d %H:%M}): database unchanged, refit skipped; report in {out}/"
            )
            return
        say("[5/5] report")
        stamp = {"refresh_id": outcome.refresh_id, "state_hash": outcome.state_hash}
        page = write_report_atomically(
            lambda staging: build_report(conn, outcome, config, staging, pm, workers=workers, shared=shared), out, stamp
        )
    slowest, seconds = outcome.slowest_step
    fitted = sum(1 for f in outcome.fits if f.status == "fitted")
    done = sum(1 for b in outcome.backtests if b.status == "done")
    click.echo(
        f"Refreshed: {fitted}/{len(outcome.fits)} fitters fitted, {done} backtests; report {page / 'index.md'}; "
        f"slowest step {slowest} ({seconds:.1f} s)"
    )


def _publish_snapshot(ctx: Context, conn, say, *, changed: bool) -> None:  # noqa: ANN001
    """A read-only copy for readers while the next refresh holds the file (none for :memory:)."""
    from obslaws.store.snapshot import publish_snapshot, snapshot_path

    path = ctx.path()
    if path == ":memory:" or (not changed and snapshot_path(path).exists()):
        return
    say(f"      snapshot for readers: {publish_snapshot(conn, path)}")


commands = [refresh]
