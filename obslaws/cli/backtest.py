"""The backtest command: a fitter under a published protocol, every cell written to `backtests`."""

from __future__ import annotations

from typing import Any

import click

from obslaws.cli.common import Context, emit, emit_json
from obslaws.cli.fitting import (
    DATE,
    OUTPUT,
    POSITIVE,
    _fitter,
    _targets,
    benchmarks_option,
    hyperparameter_option,
    parse_option_values,
    source_option,
)


@click.command()
@click.argument("fitter")
@click.option(
    "--protocol",
    type=click.Choice(
        ["family-holdout", "compute-cutoff", "time-split", "rolling-forecast", "compute-sweep", "cell-holdout"]
    ),
    default="family-holdout",
    show_default=True,
    help="family-holdout (Sloth), compute-cutoff (observational scaling laws), time-split, or the forward "
    "protocols rolling-forecast, compute-sweep and cell-holdout (docs/forecasting.md).",
)
@benchmarks_option
@click.option(
    "--n-train",
    type=click.IntRange(min=0),
    default=None,
    help="family-holdout: smallest models per held-out family in training (1); rolling-forecast: per new family (0).",
)
@click.option(
    "--groups",
    default=None,
    help="family-holdout: 'all' family groups (default) or 'sloth-paper' (exactly the paper's held-out groups).",
)
@click.option("--cutoff", type=POSITIVE, default=None, help="compute-cutoff: train on FLOPs <= this (default 8.4e22).")
@click.option(
    "--date", type=DATE, default=None, help="time-split: train on models released before this date (YYYY-MM-DD)."
)
@click.option(
    "-P",
    "--protocol-option",
    "protocol_options",
    multiple=True,
    help="Another protocol option as KEY=VALUE (JSON when it parses), e.g. -P start=2023-07-01, "
    "-P 'cutoffs=[1e22,1e23]', -P folds=3.",
)
@source_option
@hyperparameter_option
@click.option("--no-write", is_flag=True, help="Do not write the cells and run to the database.")
@click.option("--format", "fmt", type=OUTPUT, default="table", show_default=True, help="Output format.")
@click.pass_obj
def backtest(
    ctx: Context,
    fitter: str,
    protocol: str,
    benchmarks: str | None,
    n_train: int | None,
    groups: str | None,
    cutoff: float | None,
    date: str | None,
    protocol_options: tuple[str, ...],
    source: str | None,
    hyper: tuple[str, ...],
    no_write: bool,
    fmt: str,
) -> None:
    """Backtest FITTER under a published protocol; every cell is written to `backtests`."""
    from obslaws.backtest import run_backtest

    options: dict[str, Any] = parse_option_values(protocol_options)
    if protocol == "family-holdout":
        options.update({"n_train": n_train, "groups": groups})
    elif protocol == "rolling-forecast" and groups is None:
        options["n_train"] = n_train
    elif n_train is not None or groups is not None:
        raise click.UsageError("--n-train applies to family-holdout and rolling-forecast, --groups to family-holdout")
    if protocol == "compute-cutoff":
        options["cutoff"] = cutoff
    elif cutoff is not None:
        raise click.UsageError("--cutoff applies to --protocol compute-cutoff only")
    if protocol == "time-split":
        options["date"] = date
    elif date is not None:
        raise click.UsageError("--date applies to --protocol time-split only")
    model, plugin = _fitter(fitter, hyper)
    conn = ctx.connect()
    result = run_backtest(
        model,
        conn,
        protocol,
        benchmarks=_targets(model.requires.default_benchmarks if benchmarks is None else benchmarks),
        source=source,
        write=not no_write,
        plugin=plugin,
        **options,
    )
    summary = result.summary()
    if fmt == "json":
        emit_json(summary)
        return
    avg = summary["average"]
    noise = summary["noise_floor_pt"]
    click.echo(
        f"{fitter} {protocol} {json_options(result.options)}: {summary['n_groups']} split(s), "
        f"{summary['n_cells']} cells, {result.duration_s:.1f} s"
        + ("" if no_write else f" (backtest {result.backtest_id})")
    )
    emit(result.table(), "table")
    click.echo(
        f"average MAE {avg['mae_pt']:.2f} points, MSE {avg['mse']:.4g}"
        + ("" if noise is None else f"; noise floor {noise:.2f} points")
    )


def json_options(options: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in options.items() if k != "benchmarks" and v is not None)


commands = [backtest]
