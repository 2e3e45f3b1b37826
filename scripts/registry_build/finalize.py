"""After loading: hand-kept corrections, compute, checkpoint sizes, families, validation."""

from __future__ import annotations

from pathlib import Path

from .core import META_FIELDS, BuildError, Registry, read_hand_csv, same
from .domains import check_domains_used, family_domain
from .names import EXTRA_FAMILY_GROUPS


def apply_corrections(reg: Registry, path: Path) -> int:
    """Apply registry/corrections.csv. Each row names the wrong value a source gives; the build
    fails if no source gives it any more (the error was fixed upstream or the data changed)."""
    rows = read_hand_csv(path)
    for row in rows:
        model, fld = row["model_id"], row["field"]
        where = f"{path.name}: {model} {fld}"
        if model not in reg.models:
            raise BuildError(f"{where}: unknown model")
        if fld not in META_FIELDS:
            raise BuildError(f"{where}: field must be one of {META_FIELDS}")
        if row["source_id"] not in reg.sources:
            raise BuildError(f"{where}: unknown source {row['source_id']!r}")
        raw = reg.raw_meta.get(model, {})
        # Sources give one size column; it may be the total or the active count.
        candidates = dict(raw.get(fld, {}))
        if fld == "params_active":
            candidates.update(raw.get("params_total", {}))
        if row["wrong_value"] == "":
            if candidates:
                raise BuildError(f"{where}: marked as missing in the sources, but sources give {candidates}")
        elif not any(same(float(row["wrong_value"]), v) for v in candidates.values()):
            raise BuildError(f"{where}: wrong_value {row['wrong_value']} no longer in the source data {candidates}")
        reg.models[model][fld] = float(row["value"])
        reg.models[model].setdefault("_corrected", set()).add(fld)
    return len(rows)


def derive_compute(reg: Registry) -> None:
    """Checkpoints take their final model's sizes; dense models have active = total;
    flops = 6 * params_active * tokens where both are known, else the source's figure."""
    for row in reg.models.values():
        if row["checkpoint_of"]:
            final = reg.models[row["checkpoint_of"]]
            for fld in ("params_total", "params_active", "params_non_embedding"):
                row[fld] = final[fld]
    for row in reg.models.values():
        if row["params_active"] is None:
            row["params_active"] = row["params_total"]
        if row["params_active"] is not None and row["tokens"] is not None:
            row["flops"] = 6.0 * row["params_active"] * row["tokens"]
            row["flops_basis"] = "6*params_active*tokens"
        elif row["flops"] is not None:
            row["flops_basis"] = f"reported:{row['source_id']}"
        else:
            row["flops_basis"] = None
        row.pop("_corrected", None)


def build_families(reg: Registry) -> None:
    """One families row per family used; group from Sloth's Family where Sloth defines it, domain
    from domains.py."""
    orgs: dict[str, dict[str, int]] = {}
    for row in reg.models.values():
        org = row["organization"]
        if org:
            counts = orgs.setdefault(row["family"], {})
            counts[org] = counts.get(org, 0) + 1
    for family in sorted({row["family"] for row in reg.models.values()}):
        group = reg.sloth_group.get(family) or EXTRA_FAMILY_GROUPS.get(family)
        if group is None and family in reg.families:  # registered by a loader (joins.new_family)
            group = reg.families[family]["family_group"]
        if group is None:
            # a base family from ObsScaling/Pythia that Sloth also uses as a Family value
            if family in reg.sloth_group.values():
                group = family
            else:
                raise BuildError(f"family {family!r} has no family_group; add it to names.py")
        counts = orgs.get(family, {})
        org = max(sorted(counts), key=counts.get) if counts else None
        reg.add_family(family, group, org, domain=family_domain(family))
    check_domains_used(reg)


def add_self_aliases(reg: Registry) -> None:
    """Every model id is an alias of itself. (The rows are checked by the loader's own checks,
    obslaws.registry_check, on the files about to be written: see core.check_rendered.)"""
    for model in reg.models:
        reg.add_alias(model, model, reg.models[model]["source_id"])
