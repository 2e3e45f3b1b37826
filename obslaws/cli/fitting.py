"""Fitting commands: plugins, fit, predict, backtest."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import Any

import click
import polars as pl

from obslaws.cli.common import Context, emit, emit_json
from obslaws.errors import ObslawsError

OUTPUT = click.Choice(["table", "json"])
POSITIVE = click.FloatRange(min=0, min_open=True)


class IsoDate(click.ParamType):
    """A YYYY-MM-DD date, passed on as that text."""

    name = "YYYY-MM-DD"

    def convert(self, value, param, ctx):  # noqa: ANN001, ANN201 - click's signature
        from datetime import date

        try:
            return date.fromisoformat(str(value)).isoformat()
        except ValueError:
            self.fail(f"{value!r} is not a date YYYY-MM-DD", param, ctx)


DATE = IsoDate()


def parse_option_values(items: tuple[str, ...]) -> dict[str, Any]:
    """``key=value`` pairs; values are JSON literals when they parse (numbers, true, lists), else strings."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not key=value", param_hint="-o")
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        out[key] = value
    return out


hyperparameter_option = click.option(
    "-o",
    "--option",
    "hyper",
    multiple=True,
    metavar="KEY=VALUE",
    help="A fitter hyperparameter (repeatable); VALUE is read as JSON when it parses, else as a string.",
)


def _not_empty(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not value.strip():
        raise click.BadParameter("empty: name a set (oll-v1, oll-v2, ...) or a comma list of benchmarks")
    return value


benchmarks_option = click.option(
    "--benchmarks",
    default=None,
    callback=_not_empty,
    help="Target benchmarks: a set (oll-v1, oll-v2, oll-all, obsscaling-base) or a comma list. "
    "Default: the fitter's own default set (obslaws plugins --format json lists it).",
)
source_option = click.option(
    "--source", default=None, help="Use only this source's scores (e.g. sloth-data-v2); default: preferred scores."
)


def _fitter(name: str, hyper: tuple[str, ...]) -> tuple[Any, str]:
    from obslaws.fitting.lookup import get_fitters

    info = get_fitters()[name]
    return info.create(**parse_option_values(hyper)), info.plugin


def _targets(benchmarks: str | Sequence[str] | None) -> tuple[str, ...] | None:
    from obslaws.benchmark_sets import resolve_benchmarks

    return resolve_benchmarks(benchmarks) if benchmarks is not None else None


def _usable_data(conn: Any, model: Any, benchmarks: str | None, source: str | None, checkpoints: bool | None) -> Any:
    """The data ``model`` is fitted on: the named benchmarks (default: the fitter's own set),
    less the models and targets it cannot use, which one line on stderr names."""
    from obslaws.fitting.selection import select_for
    from obslaws.store.read import load_fit_data

    selection = select_for(model, functools.partial(load_fit_data, conn), benchmarks, source, checkpoints)
    note = selection.note(model.name, model.requires.min_models)
    if note:
        click.echo(note, err=True)
    return selection.data


@click.command()
@click.option("--format", "fmt", type=OUTPUT, default="table", show_default=True, help="Output format.")
def plugins(fmt: str) -> None:
    """List installed plugins, their versions and hooks, and the fitters each registered."""
    from obslaws.fitting.lookup import get_fitters
    from obslaws.plugins import describe_plugins, plugin_manager

    pm = plugin_manager()
    fitters = get_fitters(pm)
    infos = describe_plugins(pm)
    by_plugin: dict[str, list[str]] = {}
    for info in fitters.values():
        by_plugin.setdefault(info.plugin, []).append(info.name)
    if fmt == "json":
        emit_json(
            {
                "plugins": [
                    {
                        "name": p.name,
                        "module": p.module,
                        "distribution": p.distribution,
                        "version": p.version,
                        "hooks": p.hooks,
                        "fitters": sorted(by_plugin.get(p.name, [])),
                    }
                    for p in infos
                ],
                "fitters": [info.as_dict() for info in fitters.values()],
            }
        )
        return
    emit(
        pl.DataFrame(
            [
                {
                    "plugin": p.name,
                    "distribution": p.distribution or "",
                    "version": p.version or "",
                    "hooks": ", ".join(p.hooks),
                    "fitters": ", ".join(sorted(by_plugin.get(p.name, []))),
                }
                for p in infos
            ],
            schema=["plugin", "distribution", "version", "hooks", "fitters"],
        ),
        "table",
    )


@click.command()
@click.argument("fitter")
@benchmarks_option
@source_option
@hyperparameter_option
@click.option(
    "--checkpoints/--no-checkpoints",
    default=None,
    help="Include training checkpoints (default: as the fitter asks; loss2loss reads the OLMo ladder's).",
)
@click.option("--format", "fmt", type=OUTPUT, default="table", show_default=True, help="Output format.")
@click.pass_obj
def fit(
    ctx: Context,
    fitter: str,
    benchmarks: str | None,
    source: str | None,
    hyper: tuple[str, ...],
    checkpoints: bool | None,
    fmt: str,
) -> None:
    """Fit FITTER on the shared table and store the fit (a `fits` row; idempotent).

    With no --benchmarks it fits the fitter's default set; models lacking what the fitter needs,
    and benchmarks too few of them score, are left out, and one line says which.
    """
    from obslaws.fitting.store import fit_and_store
    from obslaws.store.query import read_frame

    model, plugin = _fitter(fitter, hyper)
    conn = ctx.connect()
    data = _usable_data(conn, model, benchmarks, source, checkpoints)
    fit_id = fit_and_store(conn, model, data, plugin=plugin)
    row = read_frame(
        conn,
        "SELECT fit_id, fitter, fitter_version, plugin, n_models, benchmarks, duration_s FROM fits WHERE fit_id = ?",
        [fit_id],
    )
    if fmt == "json":
        out = row.to_dicts()[0]
        out["hyperparameters"] = model.get_params()
        out["learned"] = model.learned_parameters()
        emit_json(out)
    else:
        click.echo(f"fit {fit_id}: {fitter} on {data.models.height} models, {len(data.targets)} benchmarks")
        emit(row.with_columns(pl.col("benchmarks").list.join(",")), "table")


def _resolve_model(conn: Any, name: str) -> str:
    """The model id of a model id or alias."""
    rows = conn.execute(
        "SELECT model_id FROM models WHERE model_id = ? UNION SELECT model_id FROM model_aliases "
        "WHERE alias = ? OR lower(alias) = lower(?)",
        [name, name, name],
    ).fetchall()
    if not rows:
        raise ObslawsError(f"unknown model {name!r}; see: obslaws models")
    return rows[0][0]


@click.command()
@click.argument("fitter")
@click.option("--model", "model_ids", multiple=True, help="A model id or alias to predict (repeatable).")
@click.option("--params", type=POSITIVE, default=None, help="Hypothetical model: parameters (a count, e.g. 7e9).")
@click.option("--tokens", type=POSITIVE, default=None, help="Hypothetical model: training tokens (e.g. 2e12).")
@click.option("--flops", type=POSITIVE, default=None, help="Hypothetical model: training FLOPs (default 6ND).")
@click.option("--family", default=None, help="Hypothetical model: its family (a known one uses its efficiency).")
@click.option("--date", "release_date", type=DATE, default=None, help="Hypothetical model: release date (YYYY-MM-DD).")
@click.option("--name", default=None, help="Hypothetical model: the id to store its predictions under.")
@benchmarks_option
@source_option
@hyperparameter_option
@click.option("--format", "fmt", type=OUTPUT, default="table", show_default=True, help="Output format.")
@click.pass_obj
def predict(
    ctx: Context,
    fitter: str,
    model_ids: tuple[str, ...],
    params: float | None,
    tokens: float | None,
    flops: float | None,
    family: str | None,
    release_date: str | None,
    name: str | None,
    benchmarks: str | None,
    source: str | None,
    hyper: tuple[str, ...],
    fmt: str,
) -> None:
    """Fit FITTER (stored, idempotent) and predict --model ... or a hypothetical model."""
    import datetime as dt

    from obslaws.data import FitData
    from obslaws.fitting.store import fit_and_store, hypothetical_models, predict_and_store
    from obslaws.store.read import load_fit_data

    hypothetical = any(v is not None for v in (params, tokens, flops, family, release_date, name))
    if not model_ids and not hypothetical:
        raise click.UsageError("name models with --model, or describe one with --params/--tokens/--family")
    model, plugin = _fitter(fitter, hyper)
    conn = ctx.connect()
    resolved = [_resolve_model(conn, model_id) for model_id in model_ids]
    data = _usable_data(conn, model, benchmarks, source, None)
    fit_id = fit_and_store(conn, model, data, plugin=plugin)
    queries: list[FitData] = []
    if resolved:
        everything = load_fit_data(conn, data.targets)  # query models need not be training models
        queries.append(everything.select_models(resolved).hide_scores(data.targets))
    if hypothetical:
        date = dt.date.fromisoformat(release_date) if release_date else None
        group = domain = None
        if family is not None:
            found = conn.execute("SELECT family_group, domain FROM families WHERE family = ?", [family]).fetchall()
            group, domain = found[0] if found else (None, None)
        frame = hypothetical_models(
            model_id=name,
            params=params,
            tokens=tokens,
            flops=flops,
            family=family,
            family_group=group,
            domain=domain,
            release_date=date,
        )
        queries.append(FitData.build(frame, None, None, data.benchmarks, targets=data.targets))
    frames = [predict_and_store(conn, model, fit_id, query) for query in queries]
    out = pl.concat(frames) if frames else pl.DataFrame()
    if fmt == "json":
        emit_json({"fit_id": fit_id, "fitter": fitter, "predictions": out.drop("fit_id").to_dicts()})
    else:
        click.echo(f"fit {fit_id}: predictions stored in table predictions")
        emit(out.drop("fit_id"), "table")


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


commands = [plugins, fit, predict, backtest]
