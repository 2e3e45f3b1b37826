"""Tiny local checkpoints and lm-eval tasks: real models and tasks with no download.

Used by the tests, ``scripts/gpu_check.sh`` and ``scripts/bench/bench_ray.py``:

    python -m obslaws.evaluate.tiny OUT_DIR

builds three GPT-NeoX widths (32, 64, 96), a Llama (hidden 64), all with 2 layers and a
byte-level BPE tokenizer trained here, plus a multiple-choice task (``tiny_mc``) and a
perplexity task (``tiny_ppl``) whose data are local JSONL files. ``--gpu`` adds three Llamas
whose heads are large enough for vLLM (``scripts/gpu_check.sh``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

WIDTHS = (32, 64, 96)
GPU_WIDTHS = (128, 256, 384)  # head size 64: vLLM's attention kernels take no smaller
TASKS = ("tiny_mc", "tiny_ppl")
TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "Paris is the capital of France.",
    "Water boils at 100 degrees.",
    "A cat sat on the mat and looked at the dog.",
]
QUESTIONS = [
    {"question": "What is the capital of France?", "choices": ["Paris", "London", "Rome"], "label": 0},
    {"question": "What boils at 100 degrees?", "choices": ["Iron", "Water", "Stone"], "label": 1},
    {"question": "Which animal jumps over the dog?", "choices": ["cat", "fox", "cow"], "label": 1},
    {"question": "The dog is?", "choices": ["lazy", "quick", "blue"], "label": 0},
    {"question": "Where did the cat sit?", "choices": ["on the mat", "in Rome", "at 100 degrees"], "label": 0},
]
MC_YAML = """task: tiny_mc
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: multiple_choice
doc_to_text: "Question: {{{{question}}}}\\nAnswer:"
doc_to_choice: "{{{{choices}}}}"
doc_to_target: label
metric_list:
  - metric: acc
    aggregation: mean
    higher_is_better: true
  - metric: acc_norm
    aggregation: mean
    higher_is_better: true
metadata:
  version: 1.0
"""
PPL_YAML = """task: tiny_ppl
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: loglikelihood_rolling
doc_to_text: ""
doc_to_target: "{{{{text}}}}"
metric_list:
  - metric: word_perplexity
    aggregation: weighted_perplexity
    higher_is_better: false
  - metric: bits_per_byte
    aggregation: bits_per_byte
    higher_is_better: false
metadata:
  version: 1.0
"""


def _tokenizer() -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    # Every byte in the initial alphabet: nothing is ever unknown.
    trainer = trainers.BpeTrainer(
        vocab_size=400, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=["<|endoftext|>"]
    )
    tok.train_from_iterator(TEXTS * 5, trainer)
    end = "<|endoftext|>"
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=end, bos_token=end, unk_token=end, pad_token=end)


def build_tasks(root: Path) -> Path:
    """The two YAML tasks and their JSONL data under ``root/tasks`` (absolute data paths)."""
    tasks = Path(root).resolve() / "tasks"
    tasks.mkdir(parents=True, exist_ok=True)
    (tasks / "mc.jsonl").write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS))
    (tasks / "text.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in TEXTS))
    (tasks / "tiny_mc.yaml").write_text(MC_YAML.format(data=tasks / "mc.jsonl"))
    (tasks / "tiny_ppl.yaml").write_text(PPL_YAML.format(data=tasks / "text.jsonl"))
    return tasks


def build_tiny(root: Path) -> dict[str, Path]:
    """Save the tiny checkpoints and tasks under ``root``; keys ``neox-32`` ... ``llama``, ``tasks``."""
    import torch
    from transformers import GPTNeoXConfig, GPTNeoXForCausalLM

    root = Path(root).resolve()
    tokenizer = _tokenizer()
    out: dict[str, Path] = {}
    for width in WIDTHS:
        torch.manual_seed(width)
        config = GPTNeoXConfig(
            vocab_size=len(tokenizer),
            hidden_size=width,
            num_hidden_layers=2,
            num_attention_heads=4,
            intermediate_size=4 * width,
            max_position_embeddings=256,
        )
        out[f"neox-{width}"] = root / f"tiny-neox-{width}"
        GPTNeoXForCausalLM(config).save_pretrained(out[f"neox-{width}"])
        tokenizer.save_pretrained(out[f"neox-{width}"])
    out["llama"] = _llama(root / "tiny-llama-64", tokenizer, 64, heads=4)
    out["tasks"] = build_tasks(root)
    return out


def _llama(folder: Path, tokenizer: Any, width: int, heads: int) -> Path:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=width,
        num_hidden_layers=2,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        intermediate_size=2 * width,
        max_position_embeddings=256,
    )
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def build_gpu_models(root: Path) -> dict[str, Path]:
    """Three Llamas (hidden 128, 256, 384) with 64-dimensional heads, a size vLLM's kernels take."""
    root = Path(root).resolve()
    tokenizer = _tokenizer()
    return {f"llama-{w}": _llama(root / f"tiny-llama-{w}", tokenizer, w, heads=w // 64) for w in GPU_WIDTHS}


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[2:] not in ([], ["--gpu"]):
        sys.exit("usage: python -m obslaws.evaluate.tiny OUT_DIR [--gpu]")
    built = build_tiny(Path(sys.argv[1]))
    if sys.argv[2:] == ["--gpu"]:
        built.update(build_gpu_models(Path(sys.argv[1])))
    for name, path in built.items():
        print(f"{name}\t{path}")
