"""What a plugin adds to the refresh report (the ``report_sections`` hook), and how the core lays it out."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from obslaws.errors import PluginError
from obslaws.store.query import quote_identifier


@dataclass(frozen=True)
class Figure:
    """A figure the plugin wrote into the report's folder: its file name there, and a caption."""

    file: str
    caption: str


@dataclass(frozen=True)
class ReportSection:
    """One ``##`` section of the report: a title, markdown (paragraphs, tables), figures.

    Examples
    --------
    >>> ReportSection("Notes", "Two fits.", [Figure("notes_fits.png", "fits")]).figures[0].file
    'notes_fits.png'
    """

    title: str
    markdown: str = ""
    figures: Sequence[Figure] = field(default_factory=tuple)


def latest_fit_id(conn: duckdb.DuckDBPyConnection, table: str) -> str | None:
    """The newest fit with rows in ``table`` (a plugin's own table, keyed on ``fit_id``), or None.

    Newest by the ``fits`` row; a backtest's fold fits write no such rows, so they never count.
    """
    rows = conn.execute(
        f"SELECT t.fit_id FROM {quote_identifier(table)} t JOIN fits f USING (fit_id) "
        "ORDER BY f.created_at DESC LIMIT 1"
    ).fetchall()
    return rows[0][0] if rows else None


def _sections_of(plugin: str, result: Any) -> list[ReportSection]:
    items = [] if result is None else result if isinstance(result, (list, tuple)) else [result]
    for item in items:
        if not isinstance(item, ReportSection):
            raise PluginError(f'plugin "{plugin}" returned {item!r} from report_sections(); expected a ReportSection')
    return list(items)


def layout(results: Sequence[tuple[str, Any]], out: Path, drawing: Collection[str] = ()) -> list[str]:
    """Markdown lines for every plugin's sections, given ``(plugin, report_sections result)`` pairs.

    A figure must be a file in ``out`` or one of ``drawing`` (names of figures in ``out`` still
    being drawn, through the hook's ``draw``); two plugins listing the same file is an error
    naming both.
    """
    lines: list[str] = []
    owners: dict[str, str] = {}
    for plugin, result in results:
        for section in _sections_of(plugin, result):
            lines += [f"## {section.title}", ""]
            if section.markdown.strip():
                lines += [section.markdown.strip(), ""]
            for figure in section.figures:
                drawn = figure.file in drawing or (out / figure.file).is_file()
                if Path(figure.file).name != figure.file or not drawn:
                    raise PluginError(
                        f'plugin "{plugin}" listed figure {figure.file!r}, which is not a file in the report folder'
                    )
                if figure.file in owners:
                    raise PluginError(
                        f'figure "{figure.file}" is written by both plugin "{owners[figure.file]}" and plugin '
                        f'"{plugin}"; prefix figure names with the plugin name'
                    )
                owners[figure.file] = plugin
                lines += [f"![{figure.caption}]({figure.file})", ""]
    return lines
