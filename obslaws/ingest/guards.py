"""What keeps one bad input from harming an ingest: a guarded parse and a cap on new benchmarks.

Every ingestor reads its inputs through :func:`guarded_parse`, so that whatever a parser raises
on a hostile file (a RecursionError on 100,000 nested brackets, a MemoryError, an encoding
error, a bug of a third-party reader) becomes a :class:`ValidationError` naming the file, and
the ingest skips that file and goes on. :class:`BenchmarkBudget` refuses a file that would add
an absurd number of benchmarks (every benchmark becomes a ``score_matrix`` column).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TypeVar

from obslaws.errors import ObslawsError, ValidationError
from obslaws.ingest.types import Problem

T = TypeVar("T")

# Defaults of the caps on new benchmarks; the CLI's --max-new-benchmarks(-per-file) raise them.
MAX_NEW_PER_FILE = 2_000
MAX_NEW_PER_RUN = 10_000


def guarded_parse(label: str, parse: Callable[[], T]) -> T:
    """``parse()``, with any failure turned into a ValidationError naming ``label`` (the file).

    Examples
    --------
    >>> import json
    >>> guarded_parse("deep.json", lambda: json.loads("[" * 100_000))
    Traceback (most recent call last):
    ...
    obslaws.errors.ValidationError: deep.json: nested too deeply to parse (RecursionError)
    """
    try:
        return parse()
    except ValidationError:
        raise
    except ObslawsError as exc:
        raise ValidationError(label, None, None, str(exc).removeprefix(f"{label}: ")) from exc
    except RecursionError as exc:
        raise ValidationError(label, None, None, "nested too deeply to parse (RecursionError)") from exc
    except MemoryError as exc:
        raise ValidationError(label, None, None, "too large to parse in memory (MemoryError)") from exc
    except UnicodeError as exc:
        raise ValidationError(label, None, None, f"not valid UTF-8 text: {exc}") from exc
    except OSError as exc:
        raise ValidationError(label, None, None, f"cannot read: {exc.strerror or exc}") from exc
    except Exception as exc:  # noqa: BLE001 - any parser failure skips this file, named, not the ingest
        text = " ".join(str(exc).split())[:300]
        raise ValidationError(label, None, None, f"cannot parse: {type(exc).__name__}: {text}") from exc


@dataclass
class BenchmarkBudget:
    """How many new benchmarks one file, and one ingest, may add.

    Examples
    --------
    >>> budget = BenchmarkBudget(per_file=2, per_run=3)
    >>> budget.admit("a.json", {"x", "y"}) is None
    True
    >>> print(budget.admit("b.json", {"z", "w"}))
    b.json: would add 2 new benchmarks, past the 3 one ingest may add (--max-new-benchmarks raises it)
    """

    per_file: int = MAX_NEW_PER_FILE
    per_run: int = MAX_NEW_PER_RUN
    added: int = 0

    def __post_init__(self) -> None:
        if self.per_file < 0 or self.per_run < 0:
            raise ObslawsError("the caps on new benchmarks must be >= 0")

    def admit(self, label: str, new: Collection[str]) -> Problem | None:
        """None (and the names counted) if ``label`` may add ``new`` benchmarks, else the problem."""
        if len(new) > self.per_file:
            return Problem(
                label,
                None,
                f"would add {len(new):,} new benchmarks, more than {self.per_file:,} per file "
                "(--max-new-benchmarks-per-file raises it)",
            )
        if self.added + len(new) > self.per_run:
            return Problem(
                label,
                None,
                f"would add {len(new):,} new benchmarks, past the {self.per_run:,} one ingest may add "
                "(--max-new-benchmarks raises it)",
            )
        self.added += len(new)
        return None
