"""``obslaws lowrank ...``: the paper reproduction and the per-task robustness table, one command each."""

from __future__ import annotations

import click

from obslaws.cli.common import emit, format_option


@click.group(name="lowrank")
def lowrank_group() -> None:
    """Observational scaling laws (lowrank): reproduction and robustness tables."""


@lowrank_group.command(name="reproduce")
@format_option
@click.pass_obj
def reproduce_command(obj: object, fmt: str) -> None:
    """The paper's compute cut-off backtests on its 77-model default set, and its coefficients.

    Example: obslaws lowrank reproduce --format csv
    """
    from obslaws_lowrank.tables import coefficient_table, reproduction_table

    conn = obj.connect(read_only=True)  # type: ignore[attr-defined]
    emit(reproduction_table(conn), fmt)
    emit(coefficient_table(conn), fmt)


@lowrank_group.command(name="table")
@click.option("--source", default="obsscaling-4d6e1e4", show_default=True, help="Score source to backtest on.")
@click.option("--task", "tasks", multiple=True, help="Only these benchmarks (repeatable); default all tasks.")
@format_option
@click.pass_obj
def table_command(obj: object, source: str, tasks: tuple[str, ...], fmt: str) -> None:
    """lowrank vs the log-FLOPs sigmoid on every emergent, post-training and leaderboard-v2 task.

    Example: obslaws lowrank table --task bigbench_word_unscrambling
    """
    from obslaws_lowrank.tables import robustness_table

    conn = obj.connect(read_only=True)  # type: ignore[attr-defined]
    emit(robustness_table(conn, source=source, tasks=list(tasks) or None), fmt)
