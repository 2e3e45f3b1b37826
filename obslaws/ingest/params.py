"""Parameter counts read from a checkpoint's safetensors headers (no weights are loaded)."""

from __future__ import annotations

import math
from pathlib import Path

from obslaws.errors import ValidationError


def safetensors_parameters(path: Path) -> int:
    """Number of parameters in one ``.safetensors`` file: the product of each tensor's shape.

    Only the header is read (``safe_open`` maps the file; ``get_slice`` loads no data);
    ``save_pretrained`` stores tied weights once, so this matches
    ``sum(p.numel() for p in model.parameters())``.
    """
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="numpy") as handle:
            return sum(math.prod(handle.get_slice(name).get_shape()) for name in handle.keys())  # noqa: SIM118
    except (SafetensorError, OSError) as exc:
        raise ValidationError(str(path), None, "header", f"not a readable safetensors file: {exc}") from exc


def checkpoint_parameters(directory: str | Path) -> int | None:
    """Total parameters of a local checkpoint folder (all ``*.safetensors`` shards), or None."""
    folder = Path(directory).expanduser()
    if not folder.is_dir():
        return None
    shards = sorted(folder.glob("*.safetensors"))
    return sum(safetensors_parameters(p) for p in shards) if shards else None
