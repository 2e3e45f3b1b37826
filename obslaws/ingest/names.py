"""Model names as sources write them: model_args strings, hub ids, local paths, checkpoints, families."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
_SHA = re.compile(r"^[0-9a-f]{40}$")
_STEP = re.compile(r"^(?:global_)?step[-_]?(\d+)$", re.IGNORECASE)
# A size token: 7b, 1.4b, 70m, 8x7b's 7b, 1_6b; bounded by separators (Sloth's Family2 rule:
# the lower-case model name with the size removed).
_SIZE_TOKEN = r"\d+(?:[._]\d+)?[bmk]\d*"
_SIZE = re.compile(rf"(?:(?<=[-_.x/])|^)({_SIZE_TOKEN})(?=$|[-_.])")


def parse_model_args(model_args: Any) -> dict[str, str]:
    """``pretrained=x,revision=y`` (or a dict, as 0.4.x allows) as a dict of strings.

    Examples
    --------
    >>> parse_model_args("pretrained=EleutherAI/pythia-v1.1-70m,revision=step143000")
    {'pretrained': 'EleutherAI/pythia-v1.1-70m', 'revision': 'step143000'}
    """
    if model_args is None:
        return {}
    if isinstance(model_args, dict):
        return {str(k): str(v) for k, v in model_args.items()}
    out: dict[str, str] = {}
    for part in str(model_args).split(","):
        key, sep, value = part.partition("=")
        if sep:
            out[key.strip()] = value.strip()
    return out


def is_local_path(name: str) -> bool:
    """A filesystem path rather than a hub id (absolute, relative with ./, ~, or several slashes)."""
    return name.startswith(("/", ".", "~")) or name.count("/") > 1 or "\\" in name


def is_hub_id(name: str) -> bool:
    """Looks like ``org/name`` or ``name`` on the Hugging Face hub."""
    return bool(_HUB_ID.match(name)) and not is_local_path(name)


@dataclass(frozen=True)
class ModelName:
    """A model as a source names it, split into its repository name and checkpoint."""

    name: str  # hub id or short name, without revision
    revision: str | None = None  # a checkpoint revision (never 'main' or a commit sha)
    step: int | None = None

    @property
    def full(self) -> str:
        """The id of the checkpoint: ``name@revision`` (``EleutherAI/pythia-1b@step3000``)."""
        return self.name if self.revision is None else f"{self.name}@{self.revision}"


def model_name(pretrained: str, revision: str | None = None) -> ModelName:
    """Canonical spelling of a model reference.

    A local path keeps the whole path (slashes normalised): two checkpoints in folders of the
    same name (``/data/alice/run1/final``, ``/data/bob/run7/final``) are two models. Revision
    ``main`` or a 40-hex commit sha is the model itself (leaderboards pin the commit they
    evaluated), any other revision a checkpoint.

    Examples
    --------
    >>> model_name("EleutherAI/pythia-1b", "step3000")
    ModelName(name='EleutherAI/pythia-1b', revision='step3000', step=3000)
    >>> model_name("/tmp/models//tiny-64/").full
    '/tmp/models/tiny-64'
    """
    name = pretrained.strip()
    if "@" in name and revision is None:
        name, _, revision = name.partition("@")
    if is_local_path(name):
        name = local_path_id(name)
    rev = (revision or "").strip() or None
    if rev is not None and (rev == "main" or _SHA.match(rev)):
        rev = None
    step = None
    if rev is not None:
        match = _STEP.match(rev)
        if match:
            step = int(match.group(1))
            rev = f"step{step}"
    return ModelName(name, rev, step)


def local_path_id(path: str) -> str:
    """A local path as a model id: forward slashes, no repeated or trailing ones, ``/./`` removed.

    Examples
    --------
    >>> local_path_id("./ckpt//run1/./final/")
    './ckpt/run1/final'
    """
    text = re.sub(r"/+", "/", path.replace("\\", "/"))
    while "/./" in text:
        text = text.replace("/./", "/")
    return text.rstrip("/") or text


def short_name(model_id: str) -> str:
    """The repository name without organisation and checkpoint."""
    return model_id.split("@")[0].split("/")[-1]


def organization(model_id: str) -> str | None:
    """The hub organisation of a model id (None for a bare name or a local path)."""
    base = model_id.split("@")[0]
    if "/" not in base or is_local_path(base):
        return None
    return base.split("/")[0]


def family_from_name(model_id: str) -> str:
    """A family for a new model: the lower-case repository name with the size removed.

    Follows the convention of the registry's families (Sloth's ``Family2``).

    Examples
    --------
    >>> family_from_name("meta-llama/Llama-2-7b-chat-hf")
    'llama-2-chat-hf'
    >>> family_from_name("EleutherAI/pythia-1.4b-deduped")
    'pythia-deduped'
    >>> family_from_name("mistralai/Mixtral-8x7B-v0.1")
    'mixtral-8x-v0.1'
    """
    name = short_name(model_id).lower()
    stripped = _SIZE.sub("", name)
    stripped = re.sub(r"([-_.])[-_.]+", r"\1", stripped).strip("-_.")
    return stripped or name


# Leaderboard `Type` column (emoji and text) -> models.variant.
_VARIANTS = (
    ("pretrained", "base"),  # also "continuously pretrained"
    ("merge", "merge"),
    ("chat", "instruct"),
    ("instruction", "instruct"),
    ("fine-tuned", "finetune"),
    ("finetune", "finetune"),
)


def variant_from_type(type_text: str | None) -> str:
    """``🟢 pretrained`` -> base, ``💬 chat models ...`` -> instruct, ``🤝 base merges ...`` -> merge,
    ``🔶 fine-tuned ...`` -> finetune; unknown (``?``, ``❓ other``) -> finetune, since most
    leaderboard submissions are community fine-tunes.

    Examples
    --------
    >>> variant_from_type("🟩 continuously pretrained")
    'base'
    """
    text = (type_text or "").lower()
    for needle, variant in _VARIANTS:
        if needle in text:
            return variant
    return "finetune"


def variant_from_name(model_id: str, base_model: str | None = None) -> str:
    """A guess for a model seen without a type (the registry's convention).

    A model built on another organisation's base model is a fine-tune; otherwise instruct/chat
    names are instruct, a base model makes a fine-tune, anything else is base.

    Examples
    --------
    >>> variant_from_name("HenryJJ/Instruct_Mistral-7B", "mistralai/Mistral-7B-v0.1")
    'finetune'
    >>> variant_from_name("mistralai/Mistral-7B-Instruct-v0.1", "mistralai/Mistral-7B-v0.1")
    'instruct'
    """
    if base_model and organization(base_model) != organization(model_id):
        return "finetune"
    name = short_name(model_id).lower()
    if any(word in name for word in ("instruct", "chat", "-it", "sft", "dpo", "rlhf")):
        return "instruct"
    return "finetune" if base_model else "base"
