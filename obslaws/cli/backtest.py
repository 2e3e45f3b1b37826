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
    help="A protocol option as KEY=VALUE (JSON when it parses), e.g. -P start=2023-07-01, "
    "-P 'cutoffs=[1e22,1e23]', -P folds=3, -P base_only=true (time-split, rolling-forecast: base models "
    "only); -P date=, cutoff=, n_train= and groups= do what their flags do.",
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

    flags = {"n_train": n_train, "groups": groups, "cutoff": cutoff, "date": date}
    options = protocol_option_values(protocol, protocol_options, flags)
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
    interval = summary["mae_interval_pt"]  # over resampled test families
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
        f"average MAE {avg['mae_pt']:.2f} points"
        + ("" if interval is None else f" (90% interval over resampled families {interval[0]:.2f}-{interval[1]:.2f})")
        + f", MSE {avg['mse']:.4g}"
        + ("" if noise is None else f"; noise floor {noise:.2f} points")
    )
    from obslaws.backtest.base import UNTRAINED

    for split, targets in summary.get(UNTRAINED, {}).items():  # no training model was scored on them
        click.echo(f"not scored at split {split}: {', '.join(targets)} (no training model has a score)")


# Protocol options that have a flag of their own: the flag, and the protocols it applies to.
FLAGGED = {
    "n_train": ("--n-train", ("family-holdout", "rolling-forecast")),
    "groups": ("--groups", ("family-holdout",)),
    "cutoff": ("--cutoff", ("compute-cutoff",)),
    "date": ("--date", ("time-split",)),
}


def protocol_option_values(protocol: str, items: tuple[str, ...], flags: dict[str, Any]) -> dict[str, Any]:
    """The protocol's options: the -P KEY=VALUE pairs and the flags given (None: not given).

    An option with a flag may come as either; -P date=... used to be overwritten by an absent
    --date. Both at once, or a flag of another protocol, is a usage error.
    """
    options = parse_option_values(items)
    for key, value in flags.items():
        if value is None:
            continue
        flag, protocols = FLAGGED[key]
        if protocol not in protocols:
            if key in ("n_train", "groups"):
                raise click.UsageError(
                    "--n-train applies to family-holdout and rolling-forecast, --groups to family-holdout"
                )
            raise click.UsageError(f"{flag} applies to --protocol {protocols[0]} only")
        if key in options:
            raise click.UsageError(f"{flag} and -P {key}=... both given; give one")
        options[key] = value
    return options


def json_options(options: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in options.items() if k != "benchmarks" and v is not None)


commands = [backtest]
