"""The meter on scripted streams with exact timestamps: what the user's hand measurements were."""

from __future__ import annotations

import json
from typing import Any

import pytest
from captures import CAPTURES, response_body

from router.stream.events import carries_content
from router.stream.meter import Measurement, StreamMeter, measure_body


def chunk(delta: dict[str, Any] | None = None, **top: Any) -> bytes:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": None}]
    return (
        b"data: " + json.dumps({"choices": choices} | top, separators=(",", ":")).encode() + b"\n\n"
    )


ROLE = chunk({"role": "assistant", "content": None})
VLLM_ROLE = chunk({"role": "assistant", "content": ""})
PING = b": ping\n\n"
PROGRESS = chunk({}, prompt_progress={"total": 100, "cache": 0, "processed": 50, "time_ms": 9})
FINISH = chunk({})
DONE = b"data: [DONE]\n\n"


def text(piece: str) -> bytes:
    return chunk({"content": piece})


def usage(prompt: int, completion: int, cached: int | None = None) -> bytes:
    details = {} if cached is None else {"prompt_tokens_details": {"cached_tokens": cached}}
    return chunk(None, usage={"prompt_tokens": prompt, "completion_tokens": completion} | details)


def run(
    timeline: list[tuple[float, bytes]], *, strip: bool = False, queue: float = 0.0
) -> tuple[Measurement, bytes]:
    """Arrival at t=0; feed each (time, bytes); return the measurement and the client's bytes."""
    m = Measurement(arrived=0.0, queue_wait=queue)
    meter = StreamMeter(m, strip_usage=strip)
    out = b"".join(meter.feed(data, at) for at, data in timeline)
    out += meter.finish(timeline[-1][0])
    return m, out


def test_role_chunk_and_pings_do_not_start_ttft() -> None:
    m, _ = run(
        [
            (0.1, ROLE),
            (0.5, PING),
            (0.9, PROGRESS),
            (2.0, text("Hi")),
            (2.5, text(" there")),
            (3.0, FINISH),
            (3.0, DONE),
        ]
    )
    assert m.ttft == 2.0
    assert m.content_events == 2
    assert m.completion_tokens == 2  # no usage at all: counted events
    assert m.decode_tps == pytest.approx(1 / 0.5)
    assert m.prefill_tps is None  # prompt size unknown
    assert m.gaps == [0.5]


def test_decode_and_prefill_rates_from_usage() -> None:
    events = [(0.05, VLLM_ROLE)] + [(1.0 + i * 0.1, text("x")) for i in range(5)]
    m, _ = run(
        [*events, (1.4, FINISH), (1.4, usage(prompt=100, completion=5, cached=20))], queue=0.2
    )
    assert m.ttft == 1.0
    assert m.decode_tps == pytest.approx((5 - 1) / 0.4)
    assert m.prefill_tps == pytest.approx((100 - 20) / (1.0 - 0.2))
    assert m.gaps == pytest.approx([0.1] * 4)


def test_usage_count_beats_event_count() -> None:
    # Tool-call arguments are coalesced: fewer events than tokens.
    m, _ = run([(1.0, text("a")), (2.0, text("b")), (3.0, usage(10, 21))])
    assert m.completion_tokens == 21
    assert m.decode_tps == pytest.approx(20 / 1.0)


@pytest.mark.parametrize(
    "delta",
    [
        {"reasoning": "hmm"},
        {"reasoning_content": "hmm"},
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "f", "arguments": ""},
                }
            ]
        },
    ],
    ids=["vllm-reasoning", "llamacpp-reasoning", "tool-call-only"],
)
def test_reasoning_and_tool_calls_are_content(delta: dict[str, Any]) -> None:
    m, _ = run([(0.1, VLLM_ROLE), (0.7, chunk(delta)), (0.8, chunk(delta))])
    assert m.ttft == 0.7
    assert m.content_events == 2


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        (b'data: {"choices":[{"text":" a","index":0}]}\n\n', True),
        (b'data: {"choices":[{"text":"","index":0,"finish_reason":"length"}]}\n\n', False),
        (b'event: content_block_delta\ndata: {"type":"content_block_delta"}\n\n', True),
        (b'event: message_delta\ndata: {"type":"message_delta","usage":{}}\n\n', False),
        (b'event: response.output_text.delta\ndata: {"delta":"x"}\n\n', True),
        (b'event: response.completed\ndata: {"response":{"text":"all of it"}}\n\n', False),
        (text('say \\"content\\":\\"x'), True),
        (chunk({"content": ""}), False),
        (PING, False),
    ],
    ids=[
        "completions-text",
        "completions-empty",
        "anthropic-delta",
        "anthropic-message-delta",
        "responses-delta",
        "responses-completed",
        "escaped-quotes",
        "empty-content",
        "ping",
    ],
)
def test_content_detection(block: bytes, expected: bool) -> None:
    assert carries_content(block) is expected


def test_injected_usage_event_is_removed_and_nothing_else() -> None:
    stream = [(0.1, VLLM_ROLE), (0.2, text("a")), (0.3, FINISH), (0.3, usage(9, 1)), (0.3, DONE)]
    m, out = run(stream, strip=True)
    assert out == VLLM_ROLE + text("a") + FINISH + DONE
    assert (m.tokens.prompt, m.tokens.completion) == (9, 1)
    _, untouched = run(stream)
    assert untouched == b"".join(data for _, data in stream)


def test_events_split_across_reads_are_forwarded_whole() -> None:
    first, second = text("hello"), text("world")
    stream = first + second
    m = Measurement(arrived=0.0)
    meter = StreamMeter(m)
    assert meter.feed(stream[:10], 1.0) == b""
    assert meter.feed(stream[10 : len(first) + 5], 1.1) == first
    assert meter.feed(stream[len(first) + 5 :], 1.2) == second
    assert m.ttft == 1.1  # the first event was whole at 1.1


def test_ik_llama_tokens_come_from_timings() -> None:
    # ik_llama.cpp has no cache_n: prompt = n_past + 1 - predicted_n, cached = prompt - prompt_n.
    finish = chunk({}, timings={"prompt_n": 23, "predicted_n": 40, "n_ctx": 4096, "n_past": 69})
    m, _ = run([(1.0, text("a")), (2.0, text("b")), (2.0, finish)])
    tokens = m.tokens.resolved()
    assert (tokens.prompt, tokens.cached, m.completion_tokens) == (30, 7, 40)


def test_anthropic_usage_spreads_over_two_events() -> None:
    start = {
        "type": "message_start",
        "message": {
            "usage": {"input_tokens": 5, "cache_read_input_tokens": 25, "output_tokens": 0}
        },
    }
    delta = {"type": "message_delta", "usage": {"output_tokens": 24}}
    frames = [
        (0.1, b"event: message_start\ndata: " + json.dumps(start).encode() + b"\n\n"),
        (0.5, b'event: content_block_delta\ndata: {"type":"content_block_delta"}\n\n'),
        (0.9, b"event: message_delta\ndata: " + json.dumps(delta).encode() + b"\n\n"),
    ]
    m, _ = run(frames)
    tokens = m.tokens.resolved()
    assert (tokens.prompt, tokens.cached, m.completion_tokens) == (30, 25, 24)
    assert m.ttft == 0.5


CAPTURED = [
    # (capture, prompt, cached, completion) as the engine reported them in that capture
    ("llamacpp/chat_stream.txt", 30, 0, 40),
    ("llamacpp/chat_stream_include_usage.txt", 30, 25, 40),
    ("llamacpp/completions_stream.txt", 4, 1, 20),
    ("ik_llama/chat_stream.txt", 30, 7, 40),
    ("ik_llama/chat_stream_include_usage.txt", 30, 29, 40),
    ("vllm/chat_stream_include_usage.txt", 20, None, 16),
    ("vllm/prefix_cache_stream_3rd.txt", 803, 768, 5),
    ("llamacpp/anthropic_messages_stream.txt", 30, 25, 24),
    ("vllm/scripted_anthropic_think_text_tool_stream.txt", 261, 256, 64),
]


@pytest.mark.parametrize(
    ("capture", "prompt", "cached", "completion"), CAPTURED, ids=[c[0] for c in CAPTURED]
)
def test_real_streams_give_the_engines_counts(
    capture: str, prompt: int, cached: int | None, completion: int
) -> None:
    body = response_body(CAPTURES / capture)
    m, out = run([(0.001 * i, body[i : i + 97]) for i in range(0, len(body), 97)])
    tokens = m.tokens.resolved()
    assert (tokens.prompt, tokens.cached, m.completion_tokens) == (prompt, cached, completion)
    assert out == body


def test_non_streamed_body() -> None:
    body = (CAPTURES / "llamacpp/chat_nonstream.txt").read_bytes().split(b"\n")[-3]
    m = Measurement(arrived=1.0)
    measure_body(m, body, now=1.5)
    assert (m.tokens.resolved().prompt, m.completion_tokens, m.ttft) == (50, 32, None)
    assert m.ended == 1.5


def test_an_always_stop_engine_that_stopped_at_its_limit_says_length() -> None:
    at_limit = chunk({}, timings={"prompt_n": 5, "predicted_n": 40, "n_past": 44})
    at_limit = at_limit.replace(
        b'"choices":[', b'"choices":[{"finish_reason":"stop","index":0}],"x":['
    )
    meter = StreamMeter(Measurement(arrived=0.0), length_at=40)
    assert b'"finish_reason":"length"' in meter.feed(at_limit, 1.0)
    under = StreamMeter(Measurement(arrived=0.0), length_at=41)
    assert under.feed(at_limit, 1.0) == at_limit  # stopped by itself: untouched
    anthropic = (
        b'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},'
        b'"usage":{"output_tokens":8},"timings":{"predicted_n":8}}\n\n'
    )
    out = StreamMeter(Measurement(arrived=0.0), length_at=8).feed(anthropic, 1.0)
    assert b'"stop_reason":"max_tokens"' in out


@pytest.mark.parametrize("limit", [40, 41])
def test_the_count_after_the_finish_event_decides_it(limit: int) -> None:
    # With include_usage, ik_llama.cpp's finish event carries no timings: the count of
    # generated tokens (40 here) comes on the usage event after it.
    raw = response_body(CAPTURES / "ik_llama/chat_stream_include_usage.txt")
    meter, now = StreamMeter(Measurement(arrived=0.0), length_at=limit), 1.0
    out = b"".join(meter.feed(raw[i : i + 97], now) for i in range(0, len(raw), 97))
    out += meter.release() + meter.finish(now)
    if limit == 40:
        assert out == raw.replace(b'"finish_reason":"stop"', b'"finish_reason":"length"')
    else:
        assert out == raw  # it stopped by itself
