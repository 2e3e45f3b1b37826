"""Resolving the names sources use to canonical model ids, through `model_aliases`."""

from __future__ import annotations

import re

import duckdb

from obslaws.ingest.names import ModelName


def _family_key(family: str) -> str:
    return re.sub(r"[-_.]", "", family.lower())


class ModelResolver:
    """Canonical ids of names, from the database's models and aliases (plus models added since).

    A name matches an alias or model id exactly, else case-insensitively when that is
    unambiguous (Hugging Face ids are case-insensitive). A checkpoint ``name@step3000`` matches
    its own alias, else the checkpoint of whatever ``name`` resolves to.
    """

    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self.exact: dict[str, str] = {}
        self.lower: dict[str, set[str]] = {}
        self.model_family: dict[str, str] = {}
        self.families: dict[str, str] = {}
        self.family_keys: dict[str, str] = {}
        for model_id, family in conn.execute("SELECT model_id, family FROM models").fetchall():
            self.add_model(model_id, family)
        for alias, model_id in conn.execute("SELECT alias, model_id FROM model_aliases").fetchall():
            self.add_alias(alias, model_id)
        for family, group in conn.execute("SELECT family, family_group FROM families").fetchall():
            self.add_family(family, group)

    # -- what the resolver knows -----------------------------------------------------------
    def add_model(self, model_id: str, family: str) -> None:
        self.model_family[model_id] = family
        self.add_alias(model_id, model_id)

    def add_alias(self, alias: str, model_id: str) -> None:
        self.exact.setdefault(alias, model_id)
        self.lower.setdefault(alias.lower(), set()).add(model_id)

    def add_family(self, family: str, group: str) -> None:
        self.families[family] = group
        self.family_keys.setdefault(_family_key(family), family)

    # -- lookups ----------------------------------------------------------------------------
    def lookup(self, name: str) -> str | None:
        """The canonical id of ``name``, or None when unknown or ambiguous."""
        found = self.exact.get(name)
        if found is not None:
            return found
        candidates = self.lower.get(name.lower(), set())
        return next(iter(candidates)) if len(candidates) == 1 else None

    def resolve(self, name: ModelName) -> tuple[str, bool]:
        """(canonical id, whether it already exists) of a model or checkpoint."""
        found = self.lookup(name.full)
        if found is not None:
            return found, True
        if name.revision is not None:
            base = self.lookup(name.name)
            if base is not None:
                candidate = f"{base}@{name.revision}"
                found = self.lookup(candidate)
                return (found, True) if found is not None else (candidate, False)
        return name.full, False

    def existing_family(self, family: str) -> str | None:
        """The family spelt as the database spells it (``open_llama`` finds ``open_llama_``)."""
        if family in self.families:
            return family
        return self.family_keys.get(_family_key(family))
