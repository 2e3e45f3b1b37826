"""Ingest commands: ``ingest lm-eval|card|leaderboard|eee`` (and plugins' ingestors), ``eval``."""

from __future__ import annotations

import contextlib

import click

from obslaws.cli.common import Context

LOCAL_RAY = "local"  # --ray given without an address


def _print(report) -> None:  # noqa: ANN001 - an IngestReport; kept import-free for a fast --help
    for line in report.lines():
        click.echo(line)


def _ingest_plugins():  # noqa: ANN202 - an IngestPlugins; kept import-free for a fast --help
    from obslaws.ingest.plugins import load_ingest_plugins
    from obslaws.plugins import plugin_manager

    return load_ingest_plugins(plugin_manager())


def _context(obj: Context):  # noqa: ANN202 - an IngestContext, as above
    from obslaws.ingest.plugins import ingest_context
    from obslaws.plugins import plugin_manager

    return ingest_context(obj.connect(), plugin_manager())


def _finish(report, allow_skips: bool, note: str | None = None) -> None:  # noqa: ANN001 - an IngestReport
    """Print the summary (and ``note``); exit 1 when nothing was read, or (unless ``allow_skips``)
    when some input was skipped or some value rejected, so that scripts see it."""
    _print(report)
    if note:
        click.echo(note)
    if report.files == 0:
        click.echo("Error: no input was read (exit status 1)", err=True)
        raise click.exceptions.Exit(1)
    if not allow_skips and (report.skipped or report.rejected):
        click.echo(
            f"{len(report.skipped)} input(s) skipped, {len(report.rejected)} value(s) rejected: exit status 1 "
            "(--allow-skips exits 0)",
            err=True,
        )
        raise click.exceptions.Exit(1)


allow_skips_option = click.option(
    "--allow-skips", is_flag=True, help="Exit 0 even when some inputs were skipped or values rejected."
)


class IngestGroup(click.Group):
    """``obslaws ingest NAME``: the built-in subcommands, then any ingestor a plugin registered."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = set(super().list_commands(ctx))
        # A broken plugin must not break --help; running it reports the error.
        with contextlib.suppress(Exception):
            names |= set(_ingest_plugins().ingestors)
        return sorted(names)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = super().get_command(ctx, name)
        if command is not None:
            return command
        ingestor = _ingest_plugins().ingestors.get(name)
        if ingestor is None:
            return None

        @click.command(name=name, help=ingestor.description or f"Ingest with the plugin ingestor {name!r}.")
        @click.argument("paths", nargs=-1, required=True)
        @allow_skips_option
        @click.pass_obj
        def run(obj: Context, paths: tuple[str, ...], allow_skips: bool) -> None:
            _finish(ingestor(_context(obj), list(paths)), allow_skips)

        return run


@click.group(cls=IngestGroup)
def ingest() -> None:
    """Load results into the database: lm-eval files, model cards, leaderboard dumps."""


@ingest.command("lm-eval")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=False))
@click.option("--family", default=None, help="Family for models the files create (default: derived from the name).")
@click.option(
    "--batch-size", type=click.IntRange(min=1), default=2000, show_default=True, help="Files per transaction."
)
@click.option("--progress/--no-progress", default=True, show_default=True, help="Progress bar on standard error.")
@click.option(
    "--max-new-benchmarks",
    type=click.IntRange(min=0),
    default=None,
    help="New benchmarks this ingest may add (default 10,000); a file past it is skipped.",
)
@click.option(
    "--max-new-benchmarks-per-file",
    type=click.IntRange(min=0),
    default=None,
    help="New benchmarks one file may add (default 2,000); a file with more is skipped.",
)
@allow_skips_option
@click.pass_obj
def ingest_lm_eval(
    ctx: Context,
    paths: tuple[str, ...],
    family: str | None,
    batch_size: int,
    progress: bool,
    max_new_benchmarks: int | None,
    max_new_benchmarks_per_file: int | None,
    allow_skips: bool,
) -> None:
    """lm-evaluation-harness results: PATHS are files or folders (searched for *.json).

    Reads 0.4.x output, the older format (Pythia's evaluations) and the Open LLM Leaderboard's
    per-model result files (v1 and v2). A malformed file is reported and skipped, as is a value
    that cannot be stored (an accuracy outside [0, 1], NaN, a number written as text). Exit
    status: 0 when everything was read, 1 when something was skipped (or nothing read), 2 for
    a usage error.
    """
    from obslaws.ingest.guards import BenchmarkBudget
    from obslaws.ingest.lm_eval_ingest import ingest_lm_eval as run

    caps = {"per_file": max_new_benchmarks_per_file, "per_run": max_new_benchmarks}
    budget = BenchmarkBudget(**{k: v for k, v in caps.items() if v is not None})
    report = run(_context(ctx), list(paths), family=family, batch_size=batch_size, progress=progress, budget=budget)
    _finish(report, allow_skips)


@ingest.command("card")
@click.argument("refs", nargs=-1, required=True)
@click.option("--revision", default=None, help="Hub revision for hub ids.")
@click.option("--model-id", default=None, help="The model a local card describes (default: its model_name or folder).")
@allow_skips_option
@click.pass_obj
def ingest_card(
    ctx: Context, refs: tuple[str, ...], revision: str | None, model_id: str | None, allow_skips: bool
) -> None:
    """Hugging Face model cards: REFS are hub ids (needs the network) or local README.md files/folders.

    A hub id followed by a local path reads that path as the hub model's card
    (``obslaws ingest card EleutherAI/pythia-1b ./my-model/README.md``). A card that cannot be
    read is reported and skipped; the others land.
    """
    from obslaws.ingest.cards import ingest_cards

    _finish(ingest_cards(_context(ctx), list(refs), revision=revision, model_id=model_id), allow_skips)


@ingest.command("leaderboard")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["oll-v1", "oll-v2"]),
    default=None,
    help="The dump's leaderboard version (default: detected from its columns).",
)
@allow_skips_option
@click.pass_obj
def ingest_leaderboard(ctx: Context, files: tuple[str, ...], fmt: str | None, allow_skips: bool) -> None:
    """Open LLM Leaderboard tabular dumps (CSV or parquet), one row per model, newest wins.

    Layouts: the leaderboard's own tables (v1; v2 with ``BBH``, ``BBH Raw``, ...) and the v2
    export third-party scrapers save (``model_name``, ``evaluations_bbh_value``, ...), detected
    from the columns.
    """
    from obslaws.ingest.leaderboard import ingest_leaderboard as run

    _finish(run(_context(ctx), list(files), format=fmt), allow_skips)


class EvalBatchSize(click.ParamType):
    """lm-eval's batch size: a positive integer, ``auto`` or ``auto:N``."""

    name = "batch size"

    def convert(self, value, param, ctx):  # noqa: ANN001, ANN201 - click's signature
        text = str(value).strip()
        if text.isdigit() and int(text) >= 1:
            return int(text)
        if text == "auto" or (text.startswith("auto:") and text[5:].isdigit() and int(text[5:]) >= 1):
            return text
        self.fail(f"{value!r} is neither an integer >= 1 nor 'auto' (or 'auto:N')", param, ctx)


EVAL_BATCH_SIZE = EvalBatchSize()


@ingest.command("eee")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=False))
@allow_skips_option
@click.pass_obj
def ingest_eee(ctx: Context, paths: tuple[str, ...], allow_skips: bool) -> None:
    """Every Eval Ever result files: PATHS are files or folders (searched for *.json).

    Each file is validated against the format's eval.schema.json; a bad file is reported and
    skipped. Models are matched through model_aliases (names that match none become new models:
    see `obslaws names unresolved`).
    """
    from obslaws.ingest.eee import extra_counts
    from obslaws.ingest.eee import ingest_eee as run

    report = run(_context(ctx), list(paths))
    counts = extra_counts(report)
    note = f"models: {counts['models matched']} matched to existing rows, {counts['models created']} new"
    _finish(report, allow_skips, note)


def _ray_address(ctx: Context, param: click.Parameter, address: str | None) -> str | None:
    """Refuse a checkpoint taken as --ray's value; eager, so before a missing MODEL is reported."""
    from pathlib import Path

    if address is not None and address != LOCAL_RAY and Path(address).exists():
        raise click.BadParameter(
            f"{address!r} is a file or folder, not a Ray address: put --ray after the models or write --ray=ADDRESS",
            param_hint="--ray",
        )
    return address


@click.command("eval")
@click.argument("models", nargs=-1, required=True, metavar="MODEL...")
@click.option("--tasks", required=True, help="Comma-separated lm-eval task names.")
@click.option("--revision", default=None, help="Checkpoint revision (e.g. step3000).")
@click.option(
    "--num-fewshot", type=click.IntRange(min=0), default=None, help="Few-shot examples (default: each task's own)."
)
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda or cuda:N.")
@click.option("--batch-size", type=EVAL_BATCH_SIZE, default="auto", show_default=True, help="An integer or 'auto'.")
@click.option(
    "--limit",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Items per task (a fraction if < 1), for quick checks.",
)
@click.option(
    "--include-path", type=click.Path(file_okay=False, exists=True), default=None, help="Folder of task YAML."
)
@click.option(
    "--only-included", is_flag=True, help="Do not index lm-eval's built-in tasks (faster; tasks must be included)."
)
@click.option("--backend", type=click.Choice(["hf", "vllm"]), default="hf", show_default=True)
@click.option(
    "--model-id", default=None, help="Id of the model row (default: the hub id, or the folder's absolute path)."
)
@click.option("--family", default=None, help="Family of a new model row (default: derived from the name).")
@click.option(
    "--ray",
    "ray_address",
    is_flag=False,
    flag_value=LOCAL_RAY,
    default=None,
    is_eager=True,
    callback=_ray_address,
    metavar="[ADDRESS]",
    help="One Ray task per (model, task) cell. Alone: a local Ray; with an address (host:port, auto, "
    "ray://...): join that cluster. Put it after the models, or write --ray=ADDRESS.",
)
@click.option(
    "--cpus-per-cell", type=float, default=1.0, show_default=True, help="With --ray: CPUs each cell asks for."
)
@click.option(
    "--gpus-per-model",
    type=int,
    default=1,
    show_default=True,
    help="With --device cuda: GPUs per model (vllm: tensor parallel; hf: parallelize); each Ray cell asks for them.",
)
@click.option(
    "--retries", type=int, default=3, show_default=True, help="With --ray: reruns of a cell whose worker died."
)
@click.option(
    "--progress/--no-progress", default=True, show_default=True, help="With --ray: a progress bar over cells."
)
@click.pass_obj
def eval_command(
    ctx: Context,
    models: tuple[str, ...],
    tasks: str,
    revision: str | None,
    num_fewshot: int | None,
    device: str,
    batch_size: str | int,
    limit: float | None,
    include_path: str | None,
    only_included: bool,
    backend: str,
    model_id: str | None,
    family: str | None,
    ray_address: str | None,
    cpus_per_cell: float,
    gpus_per_model: int,
    retries: int,
    progress: bool,
) -> None:
    """Evaluate each MODEL (a checkpoint folder or hub id) with lm-evaluation-harness and store the results.

    Finished (model, revision, task, shots, harness version) cells are cached: rerunning after an
    interruption evaluates only what is missing. With --ray the cells run as Ray tasks and this
    process alone writes the database (docs/scale.md).
    """
    from obslaws.evaluate.cells import EvalOptions

    names = [t.strip() for t in tasks.split(",") if t.strip()]
    if not names:
        raise click.BadParameter("no task named", param_hint="--tasks")
    if model_id is not None and len(models) > 1:
        raise click.BadParameter("names one model: give one MODEL with it", param_hint="--model-id")
    options = EvalOptions(
        num_fewshot=num_fewshot,
        device=device,
        batch_size=batch_size,
        limit=int(limit) if limit is not None and limit >= 1 else limit,
        include_path=include_path,
        include_defaults=not only_included,
        backend=backend,
        gpus_per_model=gpus_per_model,
    )
    common = {"revision": revision, "model_id": model_id, "family": family}
    if ray_address is None:
        _eval_here(ctx, models, names, options, common)
    else:
        _eval_on_ray(ctx, models, names, options, common, ray_address, cpus_per_cell, retries, progress)


def _eval_here(ctx: Context, models, names, options, common) -> None:  # noqa: ANN001 - see eval_command
    from dataclasses import asdict

    from obslaws.evaluate.local import run_eval

    context = _context(ctx)
    for model in models:
        report = run_eval(context, model, names, **asdict(options), **common)
        click.echo(f"model {report.extra['model_id']}")
        click.echo(f"evaluated: {', '.join(report.extra['evaluated']) or '-'}")
        click.echo(f"cached (already done): {', '.join(report.extra['cached']) or '-'}")
        _print(report)


def _eval_on_ray(ctx: Context, models, names, options, common, address, cpus, retries, progress) -> None:  # noqa: ANN001

    from obslaws.errors import ObslawsError
    from obslaws.evaluate.distributed import RayOptions, run_eval_ray

    def each(cell, error: str | None) -> None:  # noqa: ANN001 - a Cell
        if not progress:  # one line per cell instead of the bar
            click.echo(f"stored {cell}" if error is None else f"failed {cell}: {error}")

    ray_options = RayOptions(address=None if address == LOCAL_RAY else address, cpus_per_cell=cpus, max_retries=retries)
    report = run_eval_ray(_context(ctx), models, names, options, ray_options, progress=progress, on_cell=each, **common)
    evaluated, cached, failed = (report.extra[k] for k in ("evaluated", "cached", "failed"))
    click.echo(f"cells: {len(evaluated)} evaluated, {len(cached)} cached (already done), {len(failed)} failed")
    click.echo(
        f"Ray start {report.extra['ray_start_seconds']:.1f} s; driver busy {report.extra['driver_seconds']:.2f} s"
    )
    for line in failed:
        click.echo(f"failed: {line}")
    _print(report)
    if failed:
        raise ObslawsError(f"{len(failed)} cell(s) failed (listed above); a rerun retries only those")


commands = [ingest, eval_command]
