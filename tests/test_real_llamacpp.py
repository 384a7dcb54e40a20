"""lanerouter in front of a real llama.cpp `llama-server` (b11434, Gemma 3 270M) as the audit lane.

A recording tap between lanerouter and the engine shows the exact bytes the engine sent.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from captures import CAPTURES, data_events
from conftest import Engine, settings_for
from helpers import free_port, post_and_leave, wait_for
from real_engines import QWEN3_CODER_TEMPLATE, llama_server, needs_llama
from tap import Tap

from router.config import Settings

pytestmark = needs_llama
LONG_PROMPT = "Here is a long story about the sea and the ships on it. " * 60


@dataclass
class Routed:
    url: str
    engine: str
    tap: Tap
    log: Path

    def client(self) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.url + "/v1", api_key="sk-none", max_retries=0)

    def log_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.read_text().splitlines()]


@pytest.fixture(scope="module")
def llama() -> Iterator[str]:
    with llama_server(free_port(), extra=f"--chat-template-file {QWEN3_CODER_TEMPLATE}") as url:
        yield url


def route_to(
    engines: dict[str, Engine],
    engine_url: str,
    start_router: Callable[[Settings], str],
    tmp_path: Path,
    **lane: Any,
) -> Routed:
    tap = Tap(int(engine_url.rsplit(":", 1)[1]))
    audit = {"base_url": tap.url, "engine": "llamacpp", "ctx_size": 4096} | lane
    settings = settings_for(engines, {"audit": audit}, probe_interval=60)
    log = tmp_path / "requests.jsonl"
    settings = settings.model_copy(
        update={"request_log": settings.request_log.model_copy(update={"destination": str(log)})}
    )
    return Routed(start_router(settings), engine_url, tap, log)


@pytest.fixture
def routed(
    llama: str, engines: dict[str, Engine], start_router: Callable[[Settings], str], tmp_path: Path
) -> Routed:
    return route_to(engines, llama, start_router, tmp_path)


def ask(text: str = "Write one sentence about the sea.", **extra: Any) -> dict[str, Any]:
    return {
        "model": "audit",
        "messages": [{"role": "user", "content": text}],
        "max_tokens": 24,
        "temperature": 0,
    } | extra


def stream_raw(url: str, path: str, body: dict[str, Any]) -> bytes:
    with httpx.stream("POST", url + path, json=body | {"stream": True}, timeout=120) as r:
        assert r.status_code == 200, r.read()
        assert r.headers["x-lane"] == "audit"
        return b"".join(r.iter_raw())


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/chat/completions", ask()),
        ("/v1/chat/completions", ask(stream_options={"include_usage": True})),
        ("/v1/completions", {"model": "audit", "prompt": "The sea is", "max_tokens": 20}),
        ("/v1/messages", ask()),
    ],
    ids=["chat", "chat-usage", "completions", "anthropic"],
)
def test_stream_is_the_engines_bytes(routed: Routed, path: str, body: dict[str, Any]) -> None:
    received = stream_raw(routed.url, path, body)
    assert received == routed.tap.last_body()
    assert received.count(b"\n\n") > 10


def test_openai_client_stream_and_non_stream(routed: Routed) -> None:
    with routed.client() as client:
        check_openai_client(client, routed)


def check_openai_client(client: openai.OpenAI, routed: Routed) -> None:
    streamed = client.chat.completions.create(stream=True, **ask())
    text = "".join(c.choices[0].delta.content or "" for c in streamed if c.choices)
    assert text
    completion = client.chat.completions.create(**ask())
    # Non-streaming: lanerouter streamed from llama.cpp and built the engine's usual body.
    engine_events = data_events(routed.tap.last_body())
    assert completion.choices[0].message.content == "".join(
        e["choices"][0]["delta"].get("content") or "" for e in engine_events if e["choices"]
    )
    assert completion.usage is not None and completion.usage.completion_tokens == 24
    assert completion.usage.completion_tokens == engine_events[-1]["usage"]["completion_tokens"]
    text_completion = client.completions.create(model="audit", prompt="The sea is", max_tokens=8)
    assert text_completion.choices[0].text


def test_metered_tokens_equal_the_engines(routed: Routed) -> None:
    body = ask(LONG_PROMPT, stream_options={"include_usage": True})
    for _ in range(2):
        stream_raw(routed.url, "/v1/chat/completions", body)
    usage_event = [e for e in data_events(routed.tap.last_body()) if e.get("usage")][-1]
    first, second = routed.log_lines()
    assert second["completion_tokens"] == usage_event["usage"]["completion_tokens"]
    assert second["prompt_tokens"] == usage_event["usage"]["prompt_tokens"]
    assert second["cached_tokens"] == usage_event["timings"]["cache_n"]
    assert second["cached_tokens"] > 0.9 * second["prompt_tokens"]  # the same prompt again
    assert first["cached_tokens"] < second["cached_tokens"]
    assert second["ttft_ms"] > 0 and second["decode_tps"] > 0


def test_meter_agrees_with_the_engines_own_timings(routed: Routed) -> None:
    # 64 tokens whatever the model would say (ignore_eos), so the rate is over a real stretch.
    body = ask(LONG_PROMPT, max_tokens=64, ignore_eos=True)
    stream_raw(routed.url, "/v1/chat/completions", body)
    timings = [e for e in data_events(routed.tap.last_body()) if e.get("timings")][-1]["timings"]
    [line] = routed.log_lines()
    engine_tps, metered_tps = timings["predicted_per_second"], line["decode_tps"]
    print(f"\ndecode tok/s: engine {engine_tps:.1f}, lanerouter {metered_tps:.1f}")
    print(f"engine prompt_ms {timings['prompt_ms']:.1f}, lanerouter ttft_ms {line['ttft_ms']:.1f}")
    assert timings["predicted_n"] == line["completion_tokens"] == 64
    assert abs(metered_tps - engine_tps) <= 0.15 * engine_tps
    assert line["ttft_ms"] >= timings["prompt_ms"]  # TTFT includes the engine's prefill


def slots_busy(engine_url: str) -> bool:
    return any(slot["is_processing"] for slot in httpx.get(engine_url + "/slots").json())


def predicted(engine_url: str) -> float:
    for line in httpx.get(engine_url + "/metrics").text.splitlines():
        if line.startswith("llamacpp:tokens_predicted_total "):
            return float(line.split()[1])
    raise AssertionError("llamacpp:tokens_predicted_total not in the engine's metrics")


# Unless it is stopped, the engine writes all 3000 (ignore_eos): half a minute here.
UNSTOPPABLE = ask(max_tokens=3000, ignore_eos=True)


def test_client_leaving_a_stream_frees_the_slot(routed: Routed) -> None:
    before = predicted(routed.engine)
    body = UNSTOPPABLE | {"stream": True}
    with httpx.stream("POST", routed.url + "/v1/chat/completions", json=body) as response:
        chunks = response.iter_raw()
        for _ in range(3):
            next(chunks)
        assert slots_busy(routed.engine)
    wait_for(lambda: not slots_busy(routed.engine), "the engine's slot is free again")
    assert predicted(routed.engine) - before < 3000  # it stopped: it did not write them all
    assert (
        httpx.post(routed.url + "/v1/chat/completions", json=ask(), timeout=30).status_code == 200
    )


def test_client_leaving_a_non_streaming_request_frees_the_slot(routed: Routed) -> None:
    before = predicted(routed.engine)
    request = json.dumps(UNSTOPPABLE).encode()
    post_and_leave(routed.url, "/v1/chat/completions", request, lambda: slots_busy(routed.engine))
    # The client has gone before any answer.
    wait_for(lambda: not slots_busy(routed.engine), "the engine's slot is free again")
    assert predicted(routed.engine) - before < 3000


def test_anthropic_messages_not_streamed(routed: Routed) -> None:
    response = httpx.post(routed.url + "/v1/messages", json=ask(), timeout=60)
    assert response.status_code == 200
    assert response.content == routed.tap.last_body()
    assert response.json()["content"][0]["type"] == "text"


def test_tool_call_deltas_pass_intact(routed: Routed) -> None:
    request = (CAPTURES / "llamacpp/tools_stream_toolcall.txt").read_text().split("\n")[5]
    body = json.loads(request) | {"model": "audit", "max_tokens": 40}
    received = stream_raw(routed.url, "/v1/chat/completions", body)
    assert received == routed.tap.last_body()
    calls = [
        e["choices"][0]["delta"]["tool_calls"]
        for e in data_events(received)
        if e["choices"] and e["choices"][0]["delta"].get("tool_calls")
    ]
    assert calls and calls[0][0]["function"]["name"] == "get_weather"


def test_lane_is_down_before_the_server_and_ready_after(
    engines: dict[str, Engine], start_router: Callable[[Settings], str]
) -> None:
    port = free_port()
    audit = {"base_url": f"http://127.0.0.1:{port}", "engine": "llamacpp", "ctx_size": 4096}
    url = start_router(settings_for(engines, {"audit": audit}, probe_interval=0.1))

    def state() -> str:
        return str(httpx.get(url + "/readyz").json()["lanes"]["audit"]["state"])

    assert state() in ("down", "loading")
    with llama_server(port):
        wait_for(lambda: state() == "ready", "the lane is ready once the engine is")
        response = httpx.post(url + "/v1/chat/completions", json=ask(), timeout=60)
        assert response.status_code == 200


def test_two_slots_serve_two_streams_at_once(
    engines: dict[str, Engine], start_router: Callable[[Settings], str], tmp_path: Path
) -> None:
    with llama_server(free_port(), parallel=2) as engine_url:
        routed = route_to(engines, engine_url, start_router, tmp_path, max_concurrency=2)
        # -c 4096 over two slots: llama-server's /props says 2048 per slot, and that is used.

        def audit() -> dict[str, Any]:
            return dict(httpx.get(routed.url + "/readyz").json()["lanes"]["audit"])

        wait_for(lambda: audit()["ctx_from"] == "engine", "the engine's limits are read")
        assert audit()["ctx_size"] == 2048
        long = UNSTOPPABLE | {"stream": True}
        with httpx.stream("POST", routed.url + "/v1/chat/completions", json=long) as first:
            next(first.iter_raw())
            # While the first holds one slot (half a minute of work left), a second request
            # is answered whole: lanerouter let both reach the engine at once.
            second = stream_raw(routed.url, "/v1/chat/completions", ask(max_tokens=16))
            assert second.endswith(b"data: [DONE]\n\n")
            # What the engine has sent for the first so far (through the tap): not its end.
            assert b"data: [DONE]" not in routed.tap.responses[0]
        routed.tap.close()
