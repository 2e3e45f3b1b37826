"""families.csv's `domain` (hand-kept): the families trained mostly on code or on mathematics.

Such families score far below general models of their size and tokens on commonsense benchmarks
(HellaSwag, WinoGrande, ARC), so fitters need to know them. A family is marked only where its
model card or paper says its training data is mostly code (or mathematics), or that it is a general
model further trained or fine-tuned for code; every other family is a general model (empty).
Left general on purpose: `codegen-nl` (CodeGen's natural-language models, trained on the Pile
only), `lemur-chat-v1` (Llama 2 trained on text and code alike), `dracarys2-*` (a coding fine-tune
of general instruct models), `deepseek-r1-distill-qwen` (its 1.5B and 7B come from Qwen2.5-Math,
its 14B and 32B from general Qwen2.5: one family, two domains), `mobilellm-r1-base` (general web
text with math and code added).
"""

from __future__ import annotations

from .core import BuildError, Registry

CODE = "code"
MATH = "math"

# family -> (domain, the source that says so)
FAMILY_DOMAINS: dict[str, tuple[str, str]] = {
    "code-davinci-002": (
        CODE,
        "https://platform.openai.com/docs/model-index-for-researchers: code-davinci-002, the Codex base "
        "model for code completion",
    ),
    "codellama": (
        CODE,
        "Roziere et al., Code Llama, arXiv:2308.12950: Llama 2 further trained on 500B tokens of code",
    ),
    "codellama-instruct": (CODE, "arXiv:2308.12950: Code Llama - Instruct, fine-tuned from Code Llama"),
    "codeqwen1.5": (
        CODE,
        "https://huggingface.co/Qwen/CodeQwen1.5-7B: pretrained on about 3 trillion tokens of code data",
    ),
    "deepseek-coder-base": (
        CODE,
        "Guo et al., DeepSeek-Coder, arXiv:2401.14196: 2T tokens, 87% source code",
    ),
    "deepseek-coder-v2-base": (
        CODE,
        "DeepSeek-Coder-V2, arXiv:2406.11931: DeepSeek-V2 further pre-trained on 6T tokens, 60% source code",
    ),
    "deepseek-coder-v2-instruct": (CODE, "arXiv:2406.11931: DeepSeek-Coder-V2-Instruct"),
    "deepseek-coder-v2-lite-base": (CODE, "arXiv:2406.11931: DeepSeek-Coder-V2-Lite-Base"),
    "deepseek-coder-v2-lite-instruct": (CODE, "arXiv:2406.11931: DeepSeek-Coder-V2-Lite-Instruct"),
    "gpt-5-codex": (
        CODE,
        "https://openai.com/index/introducing-upgrades-to-codex/: a version of GPT-5 optimised for agentic coding",
    ),
    "grok-code-fast-1": (
        CODE,
        "https://x.ai/news/grok-code-fast-1: pre-trained on a corpus rich in programming content, for agentic coding",
    ),
    "ling-coder-base": (
        CODE,
        "Ling-Coder-lite, arXiv:2503.17793: Ling-lite further trained on code-centric data",
    ),
    "opencoder-base": (
        CODE,
        "Huang et al., OpenCoder, arXiv:2411.04905: 2.5T tokens, 90% raw code",
    ),
    "qwen2.5-coder": (
        CODE,
        "Hui et al., Qwen2.5-Coder Technical Report, arXiv:2409.12186: 5.5T tokens of code-related data",
    ),
    "qwen2.5-coder-instruct": (CODE, "arXiv:2409.12186: Qwen2.5-Coder-Instruct"),
    "qwen3-coder-a35b-instruct": (
        CODE,
        "https://qwenlm.github.io/blog/qwen3-coder/: Qwen3-Coder-480B-A35B, pre-trained on 7.5T tokens, 70% code",
    ),
    "seed-coder-base": (
        CODE,
        "ByteDance Seed, Seed-Coder, arXiv:2506.03524: pre-trained on 6T tokens of code-centric data",
    ),
    "starcoder2": (
        CODE,
        "https://huggingface.co/bigcode/starcoder2-15b: trained on The Stack v2 (source code); arXiv:2402.19173",
    ),
    "starcoderbase": (
        CODE,
        "Li et al., StarCoder, arXiv:2305.06161: StarCoderBase trained on 1T tokens of The Stack (source code)",
    ),
    "eurus-2-prime": (
        MATH,
        "https://huggingface.co/PRIME-RL/Eurus-2-7B-SFT: Eurus-2-7B-PRIME is trained from Qwen2.5-Math-7B-Base",
    ),
}


def family_domain(family: str) -> str | None:
    """The family's domain, or None for a general model."""
    entry = FAMILY_DOMAINS.get(family)
    return entry[0] if entry else None


def check_domains_used(reg: Registry) -> None:
    """Every family the table names is one the registry builds (a renamed family fails the build)."""
    stale = sorted(set(FAMILY_DOMAINS) - set(reg.families))
    if stale:
        raise BuildError(f"domains.py names families the registry does not have: {stale}")
