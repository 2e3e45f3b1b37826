"""The DuckDB store: connection, migrations, idempotent writes, views."""

from obslaws.store.connection import connect, default_path, transaction
from obslaws.store.upsert import WriteStats, upsert

__all__ = ["WriteStats", "connect", "default_path", "transaction", "upsert"]
