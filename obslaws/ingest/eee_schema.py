"""The Every Eval Ever JSON schema (`eval.schema.json`, shipped in obslaws/ingest/schemas/) and
the validators for the schema versions files declare.

The shipped schema is the format's 0.3.0 (every_eval_ever commit 9bce413). Files written under
0.2.x (the data EEE published before moving it off GitHub) predate three rules 0.3.0 added, and
are checked against the same schema with exactly those rules lifted: `eval_library` and
`model_info.additional_details` (with its `deployment_type`, `model_availability`) required,
and string-only values in `details` / `additional_details` maps. Every other rule holds.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "eee_eval.schema.json"
_FREE_MAPS = ("details", "additional_details")


@cache
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def _major_minor(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in version.split(".")[:2])
    except ValueError:
        return (0, 0)


def _lift_string_maps(node: Any) -> None:
    """`details` / `additional_details` maps accept any JSON value (0.2.x wrote numbers and objects)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _FREE_MAPS and isinstance(value, dict) and value.get("type") == "object":
                value["additionalProperties"] = True
                value.pop("required", None)
            _lift_string_maps(value)
    elif isinstance(node, list):
        for item in node:
            _lift_string_maps(item)


@cache
def legacy_schema() -> dict[str, Any]:
    """The shipped schema with the three 0.3.0 additions lifted (see the module docstring)."""
    relaxed = copy.deepcopy(schema())
    relaxed["required"] = [r for r in relaxed["required"] if r != "eval_library"]
    model_info = relaxed["$defs"]["model_info"]
    model_info["required"] = [r for r in model_info["required"] if r != "additional_details"]
    _lift_string_maps(relaxed)
    return relaxed


@cache
def _validator(legacy: bool):  # noqa: ANN202 - a jsonschema validator
    from jsonschema import Draft7Validator

    return Draft7Validator(legacy_schema() if legacy else schema())


def validation_errors(document: Any) -> list[str]:
    """Every schema violation of one EEE document, as `path: message` lines (empty when valid)."""
    if not isinstance(document, dict):
        return ["the file is not a JSON object"]
    declared = str(document.get("schema_version", ""))
    legacy = _major_minor(declared) < _major_minor(schema()["version"])
    errors = sorted(_validator(legacy).iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    return [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message[:200]}" for e in errors]
