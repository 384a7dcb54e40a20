"""The meter gives the same answer for the same events however they are serialized.

Every captured real stream (llama.cpp, ik_llama.cpp, vLLM: chat, completions, Anthropic,
responses, tool calls, reasoning) is written again in random valid ways: spaces and newlines
between JSON tokens, shuffled keys, `\\uXXXX` escapes in keys and values, `data:` with or without
its space, JSON spread over several `data:` lines, `event:` after `data:`, CRLF or CR line ends,
events cut in two reads. TTFT, gaps, content events, token counts and rates must not change, and
the client must get the same events (minus the usage chunk lanerouter asked for itself).
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from captures import response_body, sse_captures
from hypothesis import given, settings
from hypothesis import strategies as st

from router.stream.events import carries_content
from router.stream.meter import Measurement, StreamMeter
from router.stream.sse import Event, EventSplitter, decode

STREAMS = sse_captures()
SPACES = ["", "", " ", "  ", "\t", "\n", " \n  "]  # "\n" splits the JSON over data: lines


class Writer:
    """A random but valid way to write JSON and SSE; one instance per generated stream."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.newline = rng.choice(["\n", "\r\n", "\r"])
        self.escape_rate = rng.choice([0.0, 0.05, 0.5])
        self.ascii_only = rng.random() < 0.5
        self.data_space = rng.choice(["", " "])

    def space(self) -> str:
        return self.rng.choice(SPACES)

    def string(self, text: str) -> str:
        return '"' + "".join(map(self.char, text)) + '"'

    def char(self, char: str) -> str:
        if self.rng.random() >= self.escape_rate:
            return json.dumps(char, ensure_ascii=self.ascii_only)[1:-1]
        # Any character may be written as \u escapes of its UTF-16 code units, in either case.
        units = char.encode("utf-16-be")
        hex_case = self.rng.choice(["04x", "04X"])
        return "".join(
            f"\\u{int.from_bytes(units[i : i + 2]):{hex_case}}" for i in (0, 2)[: len(units) // 2]
        )

    def value(self, value: Any) -> str:
        if isinstance(value, dict):
            keys = list(value)
            self.rng.shuffle(keys)
            items = [self.pair(key, value[key]) for key in keys]
            return "{" + self.space() + ("," + self.space()).join(items) + self.space() + "}"
        if isinstance(value, list):
            items = [self.value(item) for item in value]
            return "[" + self.space() + ("," + self.space()).join(items) + self.space() + "]"
        if isinstance(value, str):
            return self.string(value)
        return json.dumps(value)

    def pair(self, key: str, value: Any) -> str:
        return self.string(key) + self.space() + ":" + self.space() + self.value(value)

    def event(self, event: Event) -> bytes:
        try:
            text = self.value(json.loads(event.data))
        except ValueError:
            text = event.data  # [DONE]
        lines = [f"data:{self.data_space}{line}" for line in text.split("\n")]
        lines = [f":{comment}" for comment in event.comments] + lines
        if event.name != "message":
            name = f"event:{self.rng.choice(['', ' '])}{event.name}"
            lines.insert(self.rng.choice([0, len(lines)]), name)
        return (self.newline.join(lines) + self.newline * 2).encode()


def blocks_of(body: bytes) -> list[bytes]:
    splitter = EventSplitter()
    return [*splitter.feed(body), splitter.flush()]


def run(blocks: list[bytes], rng: random.Random | None, strip: bool) -> tuple[Measurement, bytes]:
    """Feed each block at t = its index (ms); with `rng`, each block cut in two reads."""
    m = Measurement(arrived=0.0)
    meter = StreamMeter(m, strip_usage=strip)
    out = []
    for i, block in enumerate(blocks):
        cut = rng.randrange(len(block) + 1) if rng else len(block)
        out += [meter.feed(block[:cut], i / 1000), meter.feed(block[cut:], i / 1000)]
    out.append(meter.finish(len(blocks) / 1000))
    return m, b"".join(out)


def seen(m: Measurement) -> tuple[Any, ...]:
    return (m.ttft, m.content_events, m.gaps, m.tokens.resolved(), m.completion_tokens,
            m.decode_tps, m.prefill_tps)  # fmt: skip


def client_events(out: bytes) -> list[tuple[str, Any]]:
    found = []
    for block in blocks_of(out):
        event = decode(block)
        if event is not None:
            try:
                found.append((event.name, json.loads(event.data)))
            except ValueError:
                found.append((event.name, event.data))
    return found


@pytest.mark.parametrize("capture", STREAMS, ids=lambda p: f"{p.parent.name}/{p.name}")
@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32), strip=st.booleans())
def test_any_valid_serialization_measures_the_same(capture: Path, seed: int, strip: bool) -> None:
    original = blocks_of(response_body(capture))
    rng = random.Random(seed)
    writer = Writer(rng)
    rewritten = [b"" if e is None else writer.event(e) for e in map(decode, original)]
    assert client_events(b"".join(rewritten)) == client_events(b"".join(original))

    before, out_before = run(original, None, strip)
    after, out_after = run(rewritten, rng, strip)
    assert seen(after) == seen(before)
    assert client_events(out_after) == client_events(out_before)


def test_the_captures_cover_every_shape() -> None:
    """The property above is only as good as its streams: they must show each kind of content."""
    events = [e for p in STREAMS for e in map(decode, blocks_of(response_body(p))) if e]
    datas = " ".join(e.data for e in events)
    for needle in ('"tool_calls"', '"reasoning', '"text"', '"usage"', '"timings"', '"choices":[]'):
        assert needle in datas, needle
    names = {e.name for e in events}
    assert {"content_block_delta", "response.output_text.delta"} <= names
    assert {p.parent.name for p in STREAMS} == {"llamacpp", "ik_llama", "vllm"}


@pytest.mark.parametrize(
    "block",
    [
        b'data: {"choices": [{"index": 0, "delta": {"content": " w0"}}]}\n\n',
        b'data:{"choices":[{"delta":{"\\u0063ontent":"x"}}]}\n\n',
        b'data: {"choices":[{"delta":\ndata: {"content":"x"}}]}\n\n',
        b'data: {"choices":[{"delta":{"content":"x"}}]}\r\n\r\n',
        b'data: {"type":"content_block_delta"}\nevent: content_block_delta\n\n',
        b"event: content_block_delta\rdata: {}\r\r",
        b'data: {"choices": [{"delta": {"tool_calls": [{"index": 0}]}}]}\n\n',
    ],
    ids=["python-spaces", "escaped-key", "multi-line-data", "crlf", "event-after", "cr", "tools"],
)
def test_content_in_any_shape(block: bytes) -> None:
    assert carries_content(block)


def test_injected_usage_chunk_with_spaces_is_still_removed() -> None:
    usage = (
        b'data: {"id": "x", "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 1}}'
    )
    m, out = run(
        [b'data: {"choices": [{"delta": {"content": "a"}}]}\n\n', usage + b"\n\n"], None, True
    )
    assert b"usage" not in out
    assert (m.tokens.prompt, m.tokens.completion, m.ttft) == (9, 1, 0.0)
