"""Finding the CSV row a parser refused without naming it.

polars refuses a file with a row longer than its header ("found more fields than defined in
'Schema'") but does not say which row; every bad input must be named by file, row and field, so
the readers of CSVs (the registry loader, the leaderboard ingest) look the row up here.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path


def long_row(source: Path | bytes) -> tuple[int, int, int] | None:
    """(row, fields, header fields) of the first row with more fields than the header, else None.

    Rows are counted as the registry's errors count them: 1 is the header.

    Examples
    --------
    >>> long_row(b"a,b\\n1,2\\n3,4,5\\n")
    (3, 3, 2)
    >>> long_row(b"a,b\\n1,2\\n") is None
    True
    """
    data = source if isinstance(source, bytes) else source.read_bytes()
    reader = csv.reader(io.StringIO(data.decode("utf-8", errors="replace"), newline=""))
    header = next(reader, [])
    for row, fields in enumerate(reader, start=2):
        if len(fields) > len(header):
            return row, len(fields), len(header)
    return None


def long_row_problem(source: Path | bytes) -> tuple[int, str] | None:
    """The first over-long row and a sentence saying what is wrong with it, else None."""
    found = long_row(source)
    if found is None:
        return None
    row, fields, header = found
    return row, f"{fields} fields where the header has {header} (an unquoted comma?)"
