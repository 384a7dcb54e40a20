"""Metering a relayed stream as it passes, without changing a byte of it.

Definitions (also in the README):
- TTFT: from the request's arrival at lanerouter to the first event that carries content:
  non-empty `delta.content`, `delta.reasoning_content` or `delta.reasoning`, or
  `delta.tool_calls` (chat); non-empty `text` (completions); a `content_block_delta`
  (Anthropic) or a `response.*.delta` (responses). Role-only chunks, SSE comments (pings) and
  llama.cpp `prompt_progress` chunks do not count. Queue wait inside lanerouter is measured
  separately and is part of TTFT.
- completion tokens: the engine's `usage.completion_tokens` (or Anthropic/responses
  `output_tokens`), else llama.cpp's `timings.predicted_n`, else the number of content events.
- prompt tokens: `usage.prompt_tokens` (or its equivalents); for ik_llama.cpp without usage,
  `timings.n_past + 1 - timings.predicted_n`.
- cached prompt tokens: `timings.cache_n` (llama.cpp), `usage.prompt_tokens_details.cached_tokens`
  (vLLM, llama.cpp), Anthropic `cache_read_input_tokens`, or prompt tokens - `timings.prompt_n`
  (ik_llama.cpp, which has no `cache_n`).
- decode tokens/s (TG) = (completion tokens - 1) / (t_last_content - t_first_content), for
  streams with at least two content events.
- prefill tokens/s (PP) = uncached prompt tokens / (TTFT - queue wait).
- Non-streamed answers: total time and tokens from usage; no TTFT (it cannot be observed).

Most events are recognised by a few byte searches (`router.stream.events`); only events that report
tokens, or that are not compact JSON, are decoded, so the cost per relayed token stays small.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field

from router.stream.events import compact_content, decoded_facts
from router.stream.sse import EventSplitter
from router.stream.usage import Tokens, tokens_in


@dataclass
class Measurement:
    arrived: float
    queue_wait: float = 0.0
    first_content: float | None = None
    last_content: float | None = None
    content_events: int = 0
    gaps: list[float] = field(default_factory=list)
    tokens: Tokens = field(default_factory=Tokens)
    ended: float | None = None

    @property
    def ttft(self) -> float | None:
        return None if self.first_content is None else self.first_content - self.arrived

    @property
    def completion_tokens(self) -> int | None:
        resolved = self.tokens.resolved().completion
        return resolved if resolved is not None else (self.content_events or None)

    @property
    def decode_tps(self) -> float | None:
        tokens, first, last = self.completion_tokens, self.first_content, self.last_content
        if self.content_events < 2 or tokens is None or first is None or last is None:
            return None
        return (tokens - 1) / (last - first) if last > first else None

    @property
    def prefill_tps(self) -> float | None:
        tokens, ttft = self.tokens.resolved(), self.ttft
        if tokens.prompt is None or ttft is None or ttft - self.queue_wait <= 0:
            return None
        return (tokens.prompt - (tokens.cached or 0)) / (ttft - self.queue_wait)


# ik_llama.cpp says "stop" even when it stopped at max_tokens; what the client is told instead.
STOPPED = ((b'"finish_reason":"stop"', b'"finish_reason":"length"'),
           (b'"stop_reason":"end_turn"', b'"stop_reason":"max_tokens"'))  # fmt: skip


class StreamMeter:
    """Sees every chunk of one stream; forwards whole events, minus an injected usage event,
    and (`length_at`: an engine that always says "stop") with the true finish reason. That
    engine reports how many tokens it generated on its finish event, or, when the client asked
    for usage, on the event right after it: then the finish event is held until that one."""

    def __init__(
        self, measurement: Measurement, *, strip_usage: bool = False, keep_text: bool = False,
        length_at: int | None = None,
    ) -> None:  # fmt: skip
        self.m = measurement
        self.strip_usage = strip_usage
        self.length_at = length_at
        self.splitter = EventSplitter()
        self.held = b""  # a finish event waiting for the token count that follows it
        # Content events, kept only when the request log wants the completion's text.
        self.content: list[bytes] | None = [] if keep_text else None

    def feed(self, chunk: bytes, now: float) -> bytes:
        events = self.splitter.feed(chunk)
        if len(events) == 1 and events[0] is chunk:
            return self.observe(chunk, now)
        return b"".join([self.observe(e, now) for e in events])

    def observe(self, block: bytes, now: float) -> bytes:
        """Record one event; what of it reaches the client (nothing, for the injected usage)."""
        content = compact_content(block)
        # The hot path, written out since it runs for every relayed token (and `find` costs half
        # of what `in` does on CPython 3.11).
        if content is not None and block.find(b'"usage"') < 0 and block.find(b'"timings"') < 0:
            if content:
                self.count_content(block, now)
                return block
            if self.length_at is None:  # else it may be the finish event, read below
                return block
        facts = decoded_facts(block)
        if facts.content:
            self.count_content(block, now)
        self.m.tokens = self.m.tokens.merge(facts.tokens)
        if self.length_at is not None:
            return self.true_finish(block, facts.tokens.predicted_n, facts.usage_only)
        return b"" if self.strip_usage and facts.usage_only else block

    def true_finish(self, block: bytes, generated: int | None, usage_only: bool) -> bytes:
        """`block`, and a held finish event before it, with "stop" made "length" where the
        engine generated as many tokens as it was allowed."""
        held, self.held = self.held, b""
        if generated is None and not held and any(said in block for said, _ in STOPPED):
            self.held = block  # its count comes with the next event
            return b""
        out = held + (b"" if self.strip_usage and usage_only else block)
        if generated is not None and self.length_at is not None and generated >= self.length_at:
            for said, meant in STOPPED:
                out = out.replace(said, meant)
        return out

    def release(self) -> bytes:
        """A finish event still held when the stream ends, as the engine sent it."""
        held, self.held = self.held, b""
        return held

    def count_content(self, block: bytes, now: float) -> None:
        m = self.m
        if m.last_content is None:
            m.first_content = now
        else:
            m.gaps.append(now - m.last_content)
        m.last_content = now
        m.content_events += 1
        if self.content is not None:
            self.content.append(block)

    def finish(self, now: float) -> bytes:
        """End of stream: the unterminated rest, if any, and the end time."""
        self.m.ended = now
        return self.splitter.flush()


def measure_body(measurement: Measurement, body: bytes, now: float) -> None:
    """A whole (non-streamed) answer: tokens from its usage, timed at its end."""
    measurement.ended = now
    with contextlib.suppress(ValueError):
        measurement.tokens = tokens_in(json.loads(body))
