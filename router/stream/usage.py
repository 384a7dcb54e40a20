"""Token counts as each engine and API shape reports them, read from one parsed JSON object.

OpenAI chat/completions  usage{prompt_tokens, completion_tokens,
                               prompt_tokens_details{cached_tokens}}
llama.cpp family         timings{cache_n (llama.cpp only), prompt_n, predicted_n, n_past (ik)}
Anthropic messages       usage{input_tokens (uncached), cache_read_input_tokens,
                               output_tokens}, in `message_start` and `message_delta`
OpenAI responses         response.usage{input_tokens, output_tokens,
                                        input_tokens_details{cached_tokens}}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Tokens:
    prompt: int | None = None
    cached: int | None = None
    completion: int | None = None
    # From llama.cpp-family `timings`: the engine's own counts.
    prompt_n: int | None = None
    predicted_n: int | None = None
    n_past: int | None = None

    def merge(self, newer: Tokens) -> Tokens:
        """Later reports win field by field (Anthropic sends input first, output last)."""
        # Built field by field: dataclasses.replace costs ten times more, on every request.
        mine, theirs = self.fields(), newer.fields()
        pairs = zip(mine, theirs, strict=True)
        return Tokens(*(new if new is not None else old for old, new in pairs))

    def fields(self) -> tuple[int | None, ...]:
        return (self.prompt, self.cached, self.completion, self.prompt_n, self.predicted_n,
                self.n_past)  # fmt: skip

    def resolved(self) -> Tokens:
        """Fill in what only follows from other fields; see the meter's definitions."""
        prompt, completion, cached = self.prompt, self.completion, self.cached
        if completion is None:
            completion = self.predicted_n
        if prompt is None and self.n_past is not None and self.predicted_n is not None:
            # ik_llama.cpp: n_past = prompt tokens + generated tokens - 1.
            prompt = self.n_past + 1 - self.predicted_n
        if prompt is None and cached is not None and self.prompt_n is not None:
            prompt = cached + self.prompt_n  # llama.cpp: prompt = cache_n + prompt_n
        if cached is None and prompt is not None and self.prompt_n is not None:
            cached = max(prompt - self.prompt_n, 0)
        return Tokens(prompt, cached, completion, self.prompt_n, self.predicted_n, self.n_past)


def tokens_in(obj: object) -> Tokens:
    """Whatever token counts this object carries (an SSE event's JSON or a whole body)."""
    if not isinstance(obj, dict):
        return Tokens()
    found = from_timings(obj.get("timings"))
    for holder in (obj, obj.get("message"), obj.get("response")):
        if isinstance(holder, dict) and isinstance(holder.get("usage"), dict):
            found = found.merge(from_usage(holder["usage"]))
    return found


def from_usage(usage: dict[str, Any]) -> Tokens:
    if "prompt_tokens" in usage or "completion_tokens" in usage:
        details = usage.get("prompt_tokens_details") or {}
        return Tokens(
            prompt=as_int(usage.get("prompt_tokens")),
            completion=as_int(usage.get("completion_tokens")),
            cached=as_int(details.get("cached_tokens")),
        )
    if "cache_read_input_tokens" in usage or "output_tokens" in usage:
        if "input_tokens_details" in usage:  # responses API: input includes the cached part
            cached = as_int((usage["input_tokens_details"] or {}).get("cached_tokens"))
            return Tokens(
                as_int(usage.get("input_tokens")), cached, as_int(usage.get("output_tokens"))
            )
        uncached = as_int(usage.get("input_tokens"))
        read = as_int(usage.get("cache_read_input_tokens")) or 0
        prompt = None if uncached is None else uncached + read
        output = as_int(usage.get("output_tokens"))
        return Tokens(
            prompt=prompt, cached=read if prompt is not None else None, completion=output or None
        )
    return Tokens()


def from_timings(timings: object) -> Tokens:
    if not isinstance(timings, dict):
        return Tokens()
    return Tokens(
        cached=as_int(timings.get("cache_n")),
        prompt_n=as_int(timings.get("prompt_n")),
        predicted_n=as_int(timings.get("predicted_n")),
        n_past=as_int(timings.get("n_past")),
    )


def as_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
