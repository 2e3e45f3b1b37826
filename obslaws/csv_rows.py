"""Finding the CSV row whose number of fields differs from its header's.

polars refuses a file with a row longer than its header ("found more fields than defined in
'Schema'") but does not say which row, and reads a row shorter than its header with the missing
columns empty, as if they had been left blank. Every bad input must be named by file, row and
field, so the readers of CSVs (the registry loader, the leaderboard ingest) read them here.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import polars as pl

from obslaws.errors import ValidationError


def ragged_row(source: Path | bytes) -> tuple[int, int, int] | None:
    """(row, fields, header fields) of the first row with more or fewer fields than the header, else None.

    Rows are counted as the registry's errors count them: 1 is the header. An empty line is no
    row with fewer fields: polars reads it as a row of empty values, which the readers refuse
    where a value is required.

    Examples
    --------
    >>> ragged_row(b"a,b\\n1,2\\n3,4,5\\n")
    (3, 3, 2)
    >>> ragged_row(b"a,b,c\\n1,2,3\\n4,5\\n")
    (3, 2, 3)
    >>> ragged_row(b"a,b\\n1,2\\n\\n3,\\n") is None
    True
    """
    data = source if isinstance(source, bytes) else source.read_bytes()
    reader = csv.reader(io.StringIO(data.decode("utf-8", errors="replace"), newline=""))
    header = next(reader, [])
    for row, fields in enumerate(reader, start=2):
        if fields and len(fields) != len(header):
            return row, len(fields), len(header)
    return None


def ragged_row_problem(source: Path | bytes) -> tuple[int, str] | None:
    """The first row with too many or too few fields and a sentence saying what is wrong, else None."""
    found = ragged_row(source)
    if found is None:
        return None
    row, fields, header = found
    cause = "an unquoted comma?" if fields > header else "a row cut short?"
    return row, f"{fields} fields where the header has {header} ({cause})"


def read_text_csv(source: Path | bytes, name: str) -> pl.DataFrame:
    """``source`` as text columns (read once); a row with more or fewer fields than the header is a
    :class:`ValidationError` naming ``name`` and the row. Other polars errors (and ``OSError`` for
    a missing file) propagate for the caller to word."""
    data = source if isinstance(source, bytes) else source.read_bytes()
    try:
        frame = pl.read_csv(data, infer_schema=False)
    except pl.exceptions.PolarsError:
        _refuse_ragged(data, name)  # polars names no row for a long one
        raise
    _refuse_ragged(data, name)  # polars reads a short row with the missing columns empty
    return frame


def _refuse_ragged(data: bytes, name: str) -> None:
    found = ragged_row_problem(data)
    if found is not None:
        raise ValidationError(name, found[0], None, found[1])
