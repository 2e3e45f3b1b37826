"""Names that did not resolve, and the one lookup every source's names go through.

`lookup` is `ModelResolver.lookup` (ids and aliases, case-insensitively when unambiguous) plus
the bare repository name, since HELM and EEE prefix API models with their developer
(`openai/gpt-4o-2024-05-13`) where the registry keeps the API name (`gpt-4o-2024-05-13`).
"""

from __future__ import annotations

from obslaws.ingest.resolve import ModelResolver


def lookup(resolver: ModelResolver, name: str) -> str | None:
    """The model `name` denotes: an id or alias (case-insensitively when unambiguous), else the
    bare repository name (`openai/gpt-4o-2024-05-13` finds `gpt-4o-2024-05-13`)."""
    found = resolver.lookup(name)
    if found is None and "/" in name:
        bare = resolver.lookup(name.split("/")[-1])
        # only an API name without a namespace: `ark/ep-1` must not find another developer's `deepseek/ep-1`
        found = bare if bare is not None and "/" not in bare else None
    return found
