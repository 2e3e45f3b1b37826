"""Fitting commands: plugins, fit, predict (backtest: obslaws.cli.backtest), and the options they share."""

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
@click.option(
    "--date",
    "release_date",
    type=DATE,
    default=None,
    help="Hypothetical model: release date (YYYY-MM-DD); it does not change a --model's.",
)
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
    """Fit FITTER (stored, idempotent) and predict --model ... or a hypothetical model.

    --params, --tokens, --flops, --family, --date and --name describe one hypothetical model,
    predicted beside the --model ones (which are predicted as stored); it needs a size.
    """
    import datetime as dt

    from obslaws.data import FitData
    from obslaws.fitting.horizon import extrapolation_notes
    from obslaws.fitting.store import fit_and_store, hypothetical_models, predict_and_store
    from obslaws.store.read import load_fit_data

    hypothetical = any(v is not None for v in (params, tokens, flops, family, release_date, name))
    if not model_ids and not hypothetical:
        raise click.UsageError("name models with --model, or describe one with --params/--tokens/--family")
    if hypothetical and params is None and tokens is None and flops is None:
        # --date alone beside --model used to predict a second, sizeless model "hypothetical:model"
        raise click.UsageError(
            "--date, --family and --name describe a hypothetical model, and a hypothetical model needs a "
            "size (--params, --tokens or --flops)"
            + ("; they do not change the --model models, which are predicted as stored" if model_ids else "")
        )
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
    learned = model.learned_parameters()
    for query in queries:  # where the forecast leaves what the fitter checked (obslaws/fitting/horizon.py)
        for note in extrapolation_notes(fitter, learned, query.models):
            click.echo(note, err=True)
    if fmt == "json":
        emit_json({"fit_id": fit_id, "fitter": fitter, "predictions": out.drop("fit_id").to_dicts()})
    else:
        click.echo(f"fit {fit_id}: predictions stored in table predictions")
        emit(out.drop("fit_id"), "table")


commands = [plugins, fit, predict]
