"""Typed errors. Library code raises these; the CLI turns them into one-line messages."""

from __future__ import annotations


class ObslawsError(Exception):
    """Base class for every error obslaws raises on purpose."""


class ValidationError(ObslawsError):
    """Bad input data. The message names the file, row and field."""

    def __init__(self, file: str, row: int | None, field: str | None, problem: str) -> None:
        self.file, self.row, self.field, self.problem = file, row, field, problem
        where = file
        if row is not None:
            where += f", row {row}"
        if field is not None:
            where += f", field {field!r}"
        super().__init__(f"{where}: {problem}")


class StoreError(ObslawsError):
    """The database cannot be opened, migrated or written."""


class PluginError(ObslawsError):
    """A plugin failed to load or registered something invalid."""


class FitterError(ObslawsError):
    """A fitter was used against its contract (for example predict before fit)."""


class NotFittedError(FitterError):
    """predict() was called before fit()."""


class OfflineError(ObslawsError):
    """A network resource (the Hugging Face hub) was needed but cannot be reached."""
