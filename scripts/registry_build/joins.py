"""Joining the 2025-2026 sources to the models already loaded: one name index, new families.

The newer sources (Swallow leaderboard, Epoch's benchmark hub and notable-models table) name
models by Hugging Face id, Epoch version id or Epoch display name. `NameIndex` finds the model
any of those names already denotes (model ids and aliases, case-insensitively, as
`obslaws.ingest.resolve.ModelResolver` does at ingest time), so a source never creates a
second row for a model another source loaded first.
"""

from __future__ import annotations

import re

from obslaws.ingest.names import family_from_name

from .core import Registry
from .dates import EPOCH_NAME_OVERRIDES
from .names import EXTRA_FAMILY_GROUPS

# Instruct-style suffixes dropped from a family to name its group (base and instruct families
# of one release share a group, as Sloth's Family does).
_GROUP_SUFFIX = re.compile(r"([-_.](instruct|chat|it|base|pt|hf|thinking|think|sft|rl|cpt))+$")


class NameIndex:
    """Lower-case names (model ids and aliases) -> model id; rebuilt per loader."""

    def __init__(self, reg: Registry) -> None:
        self.reg = reg
        self.lower: dict[str, set[str]] = {}
        self.short: dict[str, set[str]] = {}  # repository name without namespace -> models
        for model_id in reg.models:
            self.remember(model_id, model_id)
        for alias, (model_id, _source) in reg.aliases.items():
            self.remember(alias, model_id)
        for model_id, (_source, epoch_name) in EPOCH_NAME_OVERRIDES.items():
            if model_id in reg.models:  # hand-checked Epoch names (dates.py) before they become aliases
                self.remember(epoch_name, model_id)

    def find(self, *names: str | None) -> str | None:
        """The model the first unambiguously known name denotes, else None. A name without a
        namespace (`gpt-oss-120b`) also matches a repository name (`openai/gpt-oss-120b`)."""
        for name in names:
            if not name:
                continue
            hits = self.lower.get(name.lower(), set())
            if not hits and "/" not in name:
                hits = self.short.get(name.lower(), set())
            if len(hits) == 1:
                return next(iter(hits))
        return None

    def remember(self, name: str, model_id: str) -> None:
        self.lower.setdefault(name.lower(), set()).add(model_id)
        if "/" in name:
            self.short.setdefault(name.split("/")[-1].lower(), set()).add(model_id)


def family_group_of(family: str) -> str:
    """`qwen3-base` -> `qwen3`, `gemma-3-pt` -> `gemma-3`, `gpt-4o` -> `gpt-4o`."""
    return _GROUP_SUFFIX.sub("", family) or family


# API versions carry a date or a preview tag that is not part of the family name.
_VERSION_TAG = re.compile(r"[-_](\d{4}-\d{2}-\d{2}|\d{8}|\d{2}-\d{4}|preview.*|exp.*)$")


def new_family(reg: Registry, model_id: str, group: str | None = None) -> str:
    """The family of a model no earlier source knows (Sloth's Family2 rule, display names
    spelt with dashes, API dates dropped), registered with its group."""
    stem = re.sub(r"\s*\(.*?\)", "", model_id).strip().replace(" ", "-")
    family = family_from_name(_VERSION_TAG.sub("", stem))
    existing = reg.families.get(family)
    known = existing["family_group"] if existing else reg.sloth_group.get(family) or EXTRA_FAMILY_GROUPS.get(family)
    if known is None and family in reg.sloth_group.values():
        known = family  # a Sloth Family value used as a family (build_families' rule)
    # The organisation is left to build_families (the family's most common model organisation).
    reg.add_family(family, known or group or family_group_of(family))
    return family


def slug(text: str) -> str:
    """Lower-case id fragment: `Big-Bench Hard (BBH)` -> `big_bench_hard_bbh`."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
