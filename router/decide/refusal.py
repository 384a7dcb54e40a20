"""Pure: an engine's "that does not fit" answer, read for the numbers it states.

The prompt size lanerouter routes by is an estimate (characters / 4); text in scripts that
take more tokens per character (Chinese, Japanese, emoji, base64) can be well over it. The
engines that refuse such a prompt say how many tokens it really has, so the request can be
sent again with an output cap from the engine's own count, or moved to a lane that holds it:

- vLLM, prompt alone too long: "This model's maximum context length is 2048 tokens. However,
  your prompt contains at least 2049 input tokens, ..." (a lower bound: it stops counting);
- vLLM, prompt plus output limit too long: "... maximum context length is 4096 tokens and your
  request has 2778 input tokens (8000 > 4096 - 2778)", or in older releases "However, you
  requested 10778 tokens (2778 in the messages, 8000 in the completion)";
- llama.cpp: `exceed_context_size_error` with `n_prompt_tokens` and `n_ctx` fields.
ik_llama.cpp truncates instead of refusing, so nothing comes back to read.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

MAXIMUM = re.compile(r"maximum context length is (\d+) tokens")
PROMPT_COUNTS = (
    re.compile(r"prompt contains at least (\d+) input tokens"),
    re.compile(r"request has (\d+) input tokens"),
    re.compile(r"\((\d+) in the messages"),
)


@dataclass(frozen=True, slots=True)
class PromptCount:
    """The engine's own numbers: the prompt's tokens and the context it has for a request."""

    tokens: int
    ctx: int
    at_least: bool = False  # the engine stopped counting once the prompt was over its context


def context_refusal(status: int, body: bytes) -> PromptCount | None:
    """The numbers in a 400 that refuses a request for its size, or None for any other answer."""
    if status != 400 or len(body) > 65536:
        return None
    try:
        error = json.loads(body).get("error")
    except (ValueError, AttributeError, RecursionError):
        return None
    if not isinstance(error, dict):
        return None
    return llamacpp_numbers(error) or vllm_numbers(error.get("message"))


def llamacpp_numbers(error: dict[str, object]) -> PromptCount | None:
    if error.get("type") != "exceed_context_size_error":
        return None
    tokens, ctx = count(error.get("n_prompt_tokens")), count(error.get("n_ctx"))
    return PromptCount(tokens, ctx) if tokens and ctx else None


def vllm_numbers(message: object) -> PromptCount | None:
    if not isinstance(message, str) or (maximum := MAXIMUM.search(message)) is None:
        return None
    for pattern in PROMPT_COUNTS:
        if found := pattern.search(message):
            bound = pattern is PROMPT_COUNTS[0]
            return PromptCount(int(found.group(1)), int(maximum.group(1)), bound)
    return None


def count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None
