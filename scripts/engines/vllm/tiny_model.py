"""Make a tiny random-weight Qwen3 model that a real vLLM can serve, entirely offline.

    python tiny_model.py OUT_DIR

The weights are random (the text is noise); what matters is that vLLM runs its real code on it:
tokenizer, chat template, prefix cache, streaming, and the qwen3 reasoning and qwen3_coder tool
parsers. The tokenizer is a byte-level BPE trained here on this Python's own standard library.
Qwen's markers are single tokens as in the real model: <|im_start|>, <|im_end|> and
<|endoftext|> are special (dropped from output); <think>, <tool_call>, <tool_response> and their
closing tags are ordinary added tokens, so they stay in the text where vLLM's parsers look.
"""

from __future__ import annotations

import json
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import torch
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import GenerationConfig, PreTrainedTokenizerFast, Qwen3Config, Qwen3ForCausalLM

SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
MARKERS = [
    "<think>",
    "</think>",
    "<tool_call>",
    "</tool_call>",
    "<tool_response>",
    "</tool_response>",
]
# The pre-tokenizer split of GPT-2/Qwen2-style tokenizers (contractions, words, digits, runs).
SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)


def training_text() -> Iterator[str]:
    for path in sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py"))[:200]:
        yield path.read_text(encoding="utf-8", errors="ignore")
    yield "What is the weather in Paris? Hello! Let me check. <function=get_weather> " * 40


def train_tokenizer() -> Tokenizer:
    tokenizer = Tokenizer(models.BPE(unk_token=None, byte_fallback=False))
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(SPLIT), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=2000,
        min_frequency=2,
        special_tokens=SPECIAL,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(training_text(), trainer=trainer)
    tokenizer.add_tokens([AddedToken(t, special=False, normalized=False) for t in MARKERS])
    tokenizer.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIAL])
    return tokenizer


def save_model(out: Path, tokenizer: PreTrainedTokenizerFast) -> int:
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in ("<|endoftext|>", "<|im_end|>")}
    torch.manual_seed(0)
    config = Qwen3Config(
        vocab_size=(len(tokenizer) + 63) // 64 * 64,  # padded as real checkpoints are
        hidden_size=128,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=64,
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        bos_token_id=ids["<|endoftext|>"],
        eos_token_id=ids["<|im_end|>"],
        pad_token_id=ids["<|endoftext|>"],
    )
    config.dtype = "bfloat16"
    model = Qwen3ForCausalLM(config).to(torch.bfloat16)
    model.save_pretrained(out)
    stop = [ids["<|im_end|>"], ids["<|endoftext|>"]]
    GenerationConfig(eos_token_id=stop, pad_token_id=ids["<|endoftext|>"]).save_pretrained(out)
    return sum(p.numel() for p in model.parameters())


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    template = (Path(__file__).parent / "chat_template.jinja").read_text()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=train_tokenizer(),
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        model_max_length=4096,
    )
    tokenizer.chat_template = template
    tokenizer.save_pretrained(out)
    (out / "chat_template.jinja").write_text(template)
    params = save_model(out, tokenizer)
    print(json.dumps({"model": str(out), "vocab": len(tokenizer), "parameters": params}))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
