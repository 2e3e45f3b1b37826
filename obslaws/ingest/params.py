"""Parameter counts read from a checkpoint's safetensors headers (no weights are loaded)."""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

from obslaws.errors import ValidationError


def safetensors_parameters(path: Path) -> int:
    """Number of parameters in one ``.safetensors`` file: the product of each tensor's shape.

    The header is an 8-byte little-endian length followed by JSON ``{name: {dtype, shape,
    data_offsets}}``; ``save_pretrained`` stores tied weights once, so this matches
    ``sum(p.numel() for p in model.parameters())``.
    """
    with path.open("rb") as handle:
        head = handle.read(8)
        if len(head) != 8:
            raise ValidationError(str(path), None, None, "not a safetensors file (no header)")
        (length,) = struct.unpack("<Q", head)
        if length > 100_000_000:
            raise ValidationError(str(path), None, None, "not a safetensors file (header too long)")
        try:
            header = json.loads(handle.read(length))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValidationError(str(path), None, "header", f"unreadable safetensors header: {exc}") from exc
    return sum(math.prod(t["shape"]) for name, t in header.items() if name != "__metadata__")


def checkpoint_parameters(directory: str | Path) -> int | None:
    """Total parameters of a local checkpoint folder (all ``*.safetensors`` shards), or None."""
    folder = Path(directory).expanduser()
    if not folder.is_dir():
        return None
    shards = sorted(folder.glob("*.safetensors"))
    return sum(safetensors_parameters(p) for p in shards) if shards else None
