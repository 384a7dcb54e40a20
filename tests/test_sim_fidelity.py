"""The simulated engines must speak like the real ones: their events have the same shape as
the raw captures of real llama.cpp, ik_llama.cpp and vLLM servers in tests/captures/."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from captures import CAPTURES

from router.demo.engine import SimEngine
from router.demo.plan import Dialect
from router.demo.planner import Profile


def capture_events(name: str) -> list[dict[str, Any]]:
    lines = (CAPTURES / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line[len("data: ") :]) for line in lines if line.startswith("data: {")]


def shape(event: dict[str, Any]) -> tuple[tuple[str, ...], ...]:
    choice = (event.get("choices") or [{}])[0]
    return (
        tuple(event),
        tuple(choice),
        tuple(choice.get("delta") or ()),
        tuple(event.get("timings") or ()),
    )


def distinct(shapes: list[tuple[tuple[str, ...], ...]]) -> list[tuple[tuple[str, ...], ...]]:
    return list(dict.fromkeys(shapes))


def simulate(dialect: Dialect, path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    """Run one request through the engine's ASGI app directly and collect its SSE events."""
    engine = SimEngine(Profile(dialect, "m", 1e6, 1e6), speed=1.0)
    sent: list[bytes] = []
    request = json.dumps(body).encode()
    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "headers": [],
        "query_string": b"",
        "client": ("127.0.0.1", 1),
    }
    messages = [{"type": "http.request", "body": request, "more_body": False}]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop()
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message.get("body", b""))

    asyncio.run(engine(scope, receive, send))
    lines = b"".join(sent).decode().splitlines()
    return [json.loads(line[len("data: ") :]) for line in lines if line.startswith("data: {")]


CHAT = {
    "messages": [{"role": "user", "content": "Write one sentence about the sea."}],
    "stream": True,
}
CASES = [
    ("llamacpp", "llamacpp/chat_stream.txt", "/v1/chat/completions", CHAT | {"max_tokens": 4}),
    (
        "llamacpp",
        "llamacpp/chat_stream_include_usage.txt",
        "/v1/chat/completions",
        CHAT | {"max_tokens": 4, "stream_options": {"include_usage": True}},
    ),
    (
        "llamacpp",
        "llamacpp/completions_stream.txt",
        "/v1/completions",
        {"prompt": "The sea is", "max_tokens": 4, "stream": True},
    ),
    ("ik_llamacpp", "ik_llama/chat_stream.txt", "/v1/chat/completions", CHAT | {"max_tokens": 4}),
    (
        "ik_llamacpp",
        "ik_llama/chat_stream_include_usage.txt",
        "/v1/chat/completions",
        CHAT | {"max_tokens": 4, "stream_options": {"include_usage": True}},
    ),
    (
        "vllm",
        "vllm/chat_stream_thinking_off.txt",
        "/v1/chat/completions",
        CHAT | {"max_tokens": 4, "stream_options": {"include_usage": True}},
    ),
    (
        "vllm",
        "vllm/completions_stream_include_usage.txt",
        "/v1/completions",
        {
            "prompt": "def hello():",
            "max_tokens": 4,
            "stream": True,
            "stream_options": {"include_usage": True},
        },
    ),
]


@pytest.mark.parametrize(("dialect", "capture", "path", "body"), CASES, ids=[c[1] for c in CASES])
def test_stream_events_have_the_captured_shapes(
    dialect: Dialect, capture: str, path: str, body: dict[str, Any]
) -> None:
    real = distinct([shape(e) for e in capture_events(capture)])
    simulated = distinct([shape(e) for e in simulate(dialect, path, body)])
    # vLLM's usage event gains prompt_tokens_details with --enable-prompt-tokens-details.
    assert simulated == real


@pytest.mark.parametrize(
    ("dialect", "capture"),
    [
        ("llamacpp", "llamacpp/chat_stream_include_usage.txt"),
        ("ik_llamacpp", "ik_llama/chat_stream_include_usage.txt"),
        ("vllm", "vllm/prefix_cache_stream_3rd.txt"),
    ],
)
def test_usage_has_the_captured_keys(dialect: Dialect, capture: str) -> None:
    body = CHAT | {"max_tokens": 4, "stream_options": {"include_usage": True}}
    [real] = [e["usage"] for e in capture_events(capture) if "usage" in e]
    [simulated] = [
        e["usage"] for e in simulate(dialect, "/v1/chat/completions", body) if "usage" in e
    ]
    assert list(simulated) == list(real)
    assert list(simulated["prompt_tokens_details"]) == list(real["prompt_tokens_details"])


def without_reasoning(types: list[str], events: list[dict[str, Any]]) -> list[str]:
    """Event types, less those of reasoning items (the tiny model thinks; the sim does not)."""
    reasoning = {e["item"]["id"] for e in events if e.get("item", {}).get("type") == "reasoning"}
    return [t for t, e in zip(types, events, strict=True)
            if e.get("item_id") not in reasoning and e.get("item", {}).get("id") not in reasoning
            and "reasoning" not in t]  # fmt: skip


def runs(types: list[str]) -> list[str]:
    """One entry per run of equal types: three deltas in a row are one step of the sequence."""
    return [t for i, t in enumerate(types) if i == 0 or t != types[i - 1]]


def test_responses_stream_follows_vllms_event_sequence() -> None:
    real = capture_events("vllm/responses_stream.txt")
    ours = simulate("vllm", "/v1/responses", {"input": "hi", "stream": True})
    real_types = without_reasoning([e["type"] for e in real], real)
    our_types = [e["type"] for e in ours]
    assert runs(our_types) == runs(real_types)
    assert [e["sequence_number"] for e in ours] == list(range(len(ours)))
    assert len({e["response"]["id"] for e in ours if "response" in e}) == 1  # one response id
