"""lanerouter between a client and simulated engines, all on real loopback sockets."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import Engine, settings_for

from router.config import Settings
from router.decide.budget import asked_output

HELLO = {"messages": [{"role": "user", "content": "hello"}], "max_tokens": 12}
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def post(url: str, path: str, body: Any, **headers: str) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(url + path, content=content, headers=headers, timeout=10)


def stream_bytes(
    url: str, path: str, body: dict[str, Any], **headers: str
) -> tuple[httpx.Response, bytes]:
    with httpx.stream(
        "POST", url + path, json=body | {"stream": True}, headers=headers, timeout=10
    ) as response:
        return response, b"".join(response.iter_raw())


@pytest.mark.parametrize("lane", ["audit", "chat", "tools"])
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/chat/completions", HELLO),
        ("/v1/chat/completions", HELLO | {"stream_options": {"include_usage": True}}),
        ("/v1/completions", {"prompt": "def add(a, b):", "max_tokens": 10}),
        ("/v1/messages", HELLO),
        ("/v1/responses", {"input": "hello", "max_output_tokens": 10}),
    ],
    ids=["chat", "chat-usage", "completions", "anthropic", "responses"],
)
def test_stream_is_relayed_byte_for_byte(
    router_url: str, engines: dict[str, Engine], lane: str, path: str, body: dict[str, Any]
) -> None:
    response, received = stream_bytes(router_url, path, body, **{"X-Lane": lane})
    assert response.status_code == 200
    sent = engines[lane].script.sent
    asked = "stream_options" in body or path not in ("/v1/chat/completions", "/v1/completions")
    if lane == "tools" and not asked:
        # lanerouter asked vLLM for usage itself; that one extra event must not reach the client.
        assert b'"choices":[],"usage"' in sent[-2]
        sent = sent[:-2] + sent[-1:]
    plan = engines[lane].script.plans[-1]
    at_limit = plan.completion_tokens == requested_output(body)
    if lane == "chat" and at_limit:
        # ik_llama.cpp says "stop" at max_tokens too: the one change lanerouter makes (on the
        # finish event, from the counts on it or, with a usage event, on the event after it).
        sent = [s.replace(b'"finish_reason":"stop"', b'"finish_reason":"length"') for s in sent]
    assert received == b"".join(sent)
    assert received.count(b"\n\n") >= 5
    assert response.headers["x-lane"] == lane
    assert response.headers["x-route-reason"] == "header"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"
    assert response.headers["content-type"].startswith("text/event-stream")


def requested_output(body: dict[str, Any]) -> int | None:
    asked = asked_output(body)
    return asked[1] if asked else None


def test_tools_stream_carries_tool_call_deltas(router_url: str) -> None:
    body = {"messages": [{"role": "user", "content": "weather in Paris?"}], "tools": [WEATHER]}
    response, received = stream_bytes(router_url, "/v1/chat/completions", body)
    assert response.headers["x-lane"] == "tools"
    assert response.headers["x-route-reason"] == "tools"
    assert b'"tool_calls":[{"id":"chatcmpl-tool-' in received
    assert b'"finish_reason":"tool_calls"' in received


def test_non_streaming_answer_and_headers(router_url: str, engines: dict[str, Engine]) -> None:
    response = post(router_url, "/v1/chat/completions", HELLO | {"model": "audit"})
    assert response.status_code == 200
    assert response.headers["x-lane"] == "audit"
    assert response.headers["x-route-reason"] == "model"
    assert response.headers["content-type"].startswith("application/json")
    answer = response.json()
    assert answer["choices"][0]["message"]["content"]
    assert answer["timings"]["predicted_n"] == answer["usage"]["completion_tokens"]


def test_upstream_body_gets_lane_model_and_defaults_only(
    router_url: str, engines: dict[str, Engine]
) -> None:
    body = {
        "model": "gpt-4o",
        "messages": HELLO["messages"],
        "temperature": 0.2,
        "seed": 7,
        "chat_template_kwargs": {"foo": 1},
    }
    post(router_url, "/v1/chat/completions", body, **{"X-Lane": "tools"})
    sent = engines["tools"].script.received[-1].body
    assert sent is not None
    assert sent["model"] == "qwen3-coder-next-nvfp4"
    # The lane default fills in what the client left out; the client's own keys win.
    assert sent["chat_template_kwargs"] == {"foo": 1, "enable_thinking": False}
    rest = {k: v for k, v in sent.items() if k not in ("model", "chat_template_kwargs")}
    assert rest == {"messages": HELLO["messages"], "temperature": 0.2, "seed": 7}


def test_client_value_beats_lane_default(router_url: str, engines: dict[str, Engine]) -> None:
    body = HELLO | {"chat_template_kwargs": {"enable_thinking": True}}
    post(router_url, "/v1/chat/completions", body, **{"X-Lane": "tools"})
    sent = engines["tools"].script.received[-1].body
    assert sent is not None and sent["chat_template_kwargs"] == {"enable_thinking": True}


def test_defaults_not_added_to_embeddings(router_url: str, engines: dict[str, Engine]) -> None:
    response = post(router_url, "/v1/embeddings", {"input": ["a", "b"]}, **{"X-Lane": "tools"})
    assert response.status_code == 200
    assert len(response.json()["data"]) == 2
    assert engines["tools"].script.received[-1].body == {
        "input": ["a", "b"],
        "model": "qwen3-coder-next-nvfp4",
    }


def test_client_credentials_never_go_upstream(router_url: str, engines: dict[str, Engine]) -> None:
    post(
        router_url,
        "/v1/chat/completions",
        HELLO,
        Authorization="Bearer sk-client-secret",
        **{"X-Api-Key": "sk-ant-client", "Cookie": "session=1", "X-Custom": "kept"},
    )
    headers = engines["chat"].script.received[-1].headers
    assert "authorization" not in headers
    assert "x-api-key" not in headers
    assert "cookie" not in headers
    assert "x-lane" not in headers
    assert headers["x-custom"] == "kept"
    assert headers["host"] == engines["chat"].url.removeprefix("http://")


def test_lane_key_is_sent_instead(
    engines: dict[str, Engine], start_router: Callable[[Settings], str], monkeypatch: Any
) -> None:
    monkeypatch.setenv("CHAT_KEY_FOR_TEST", "lane-secret\n")  # as a Secret made from a file
    url = start_router(settings_for(engines, {"chat": {"api_key_env": "CHAT_KEY_FOR_TEST"}}))
    post(url, "/v1/chat/completions", HELLO, Authorization="Bearer sk-client-secret")
    assert engines["chat"].script.received[-1].headers["authorization"] == "Bearer lane-secret"


def test_hop_by_hop_headers_are_dropped(router_url: str, engines: dict[str, Engine]) -> None:
    post(
        router_url,
        "/v1/chat/completions",
        HELLO,
        Connection="keep-alive, X-Private",
        **{"X-Private": "1", "Te": "trailers", "Upgrade": "h2c"},
    )
    headers = engines["chat"].script.received[-1].headers
    assert not {"x-private", "te", "upgrade"} & set(headers)


def test_query_free_paths_and_count_tokens(router_url: str, engines: dict[str, Engine]) -> None:
    response = post(router_url, "/v1/messages/count_tokens", HELLO, **{"X-Lane": "audit"})
    assert response.status_code == 200
    assert response.json()["input_tokens"] > 0
    assert engines["audit"].script.received[-1].path == "/v1/messages/count_tokens"


def test_query_string_is_forwarded(router_url: str, engines: dict[str, Engine]) -> None:
    # Claude-Code-style agents post to /v1/messages?beta=true.
    response = post(router_url, "/v1/messages?beta=true", HELLO, **{"X-Lane": "tools"})
    assert response.status_code == 200
    received = engines["tools"].script.received[-1]
    assert (received.path, received.query) == ("/v1/messages", "beta=true")


def test_upstream_connections_are_kept_alive(router_url: str, engines: dict[str, Engine]) -> None:
    for _ in range(3):
        post(router_url, "/v1/chat/completions", HELLO, **{"X-Lane": "audit"})
        stream_bytes(router_url, "/v1/chat/completions", HELLO, **{"X-Lane": "audit"})
    ports = {r.client_port for r in engines["audit"].script.received}
    assert len(ports) == 1, ports


def test_paths_without_v1_prefix(router_url: str, engines: dict[str, Engine]) -> None:
    response = post(router_url, "/chat/completions", HELLO, **{"X-Lane": "tools"})
    assert response.status_code == 200
    assert engines["tools"].script.received[-1].path == "/v1/chat/completions"


def test_trailing_slash_is_the_same_endpoint(router_url: str, engines: dict[str, Engine]) -> None:
    response = post(router_url, "/v1/chat/completions/", HELLO, **{"X-Lane": "tools"})
    assert response.status_code == 200
    assert engines["tools"].script.received[-1].path == "/v1/chat/completions"


def test_model_lookup(router_url: str) -> None:
    assert httpx.get(router_url + "/v1/models/qwen3-coder-next:audit").json()["id"] == (
        "qwen3-coder-next:audit"
    )
    assert httpx.get(router_url + "/v1/models/gpt-4o").status_code == 404


def test_ik_llama_gets_a_max_tokens_when_the_client_sent_none(
    router_url: str, engines: dict[str, Engine]
) -> None:
    # Without one, ik_llama.cpp fills its context and aborts (see the reference captures).
    # About 5k prompt tokens on the 64K chat lane: most of the context is left for the answer,
    # and prompt + answer always fit in it.
    long_prompt = {"messages": [{"role": "user", "content": "word " * 4000}]}
    response = post(router_url, "/v1/chat/completions", long_prompt)
    assert (response.status_code, response.headers["x-lane"]) == (200, "chat")
    capped = engines["chat"].script.received[-1].body
    assert capped is not None
    prompt_tokens = engines["chat"].script.plans[-1].prompt_tokens
    assert 50_000 <= capped["max_tokens"] <= 65536 - prompt_tokens
    post(router_url, "/v1/chat/completions", HELLO)
    assert engines["chat"].script.received[-1].body["max_tokens"] == 12  # type: ignore[index]
    post(router_url, "/v1/chat/completions", {"messages": HELLO["messages"], "model": "tools"})
    assert "max_tokens" not in engines["tools"].script.received[-1].body  # type: ignore[operator]


def test_an_agents_max_tokens_is_a_ceiling_not_a_reservation(
    router_url: str, engines: dict[str, Engine]
) -> None:
    # Claude Code asks for 64,000 output tokens with ~85k characters of system prompt and tools:
    # more than the 32K tools lane could hold as a reservation, well within it as a ceiling.
    tools = [{"name": f"tool{i}", "description": "d " * 200, "input_schema": {}} for i in range(40)]
    body = {
        "model": "claude-sonnet-4",
        "max_tokens": 64_000,
        "system": "You are an agent. " * 500,
        "tools": tools,
        "messages": [{"role": "user", "content": "say hi"}],
    }
    response = post(router_url, "/v1/messages", body)
    assert response.status_code == 200
    assert (response.headers["x-lane"], response.headers["x-route-reason"]) == ("tools", "tools")
    sent = engines["tools"].script.received[-1].body
    assert sent is not None
    prompt = engines["tools"].script.plans[-1].prompt_tokens
    asked, capped = response.headers["x-max-tokens-capped"].split("->")
    assert (int(asked), int(capped)) == (64_000, sent["max_tokens"])
    assert 1024 <= sent["max_tokens"] <= 32_768 - prompt  # the answer fits, with real room
    small = post(router_url, "/v1/messages", body | {"max_tokens": 800})
    assert "x-max-tokens-capped" not in small.headers  # a ceiling under the room goes as it is
    assert engines["tools"].script.received[-1].body["max_tokens"] == 800  # type: ignore[index]


def test_gets_answer_without_v1_too(router_url: str) -> None:
    for path in ("/models", "/models/qwen3-coder-next:audit"):
        bare, full = httpx.get(router_url + path), httpx.get(router_url + "/v1" + path)
        assert bare.status_code == full.status_code == 200
        assert (
            bare.json()["data" if path == "/models" else "id"]
            == (full.json()["data" if path == "/models" else "id"])
        )


def test_the_request_log_says_stream_for_a_streaming_request_refused_early(
    engines: dict[str, Engine], start_router: Callable[[Settings], str], tmp_path: Path
) -> None:
    settings = settings_for(engines)
    log = tmp_path / "requests.jsonl"
    logged = settings.request_log.model_copy(update={"destination": str(log)})
    url = start_router(settings.model_copy(update={"request_log": logged}))
    too_big = {
        "model": "audit",
        "stream": True,
        "messages": [{"role": "user", "content": "x" * 80_000}],
    }
    assert post(url, "/v1/chat/completions", too_big).status_code == 400
    [line] = [json.loads(x) for x in log.read_text().splitlines()]
    assert (line["stream"], line["status"], line["outcome"]) == (True, 400, "client_error")


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_compressed_request_bodies_are_read(
    router_url: str, engines: dict[str, Engine], encoding: str
) -> None:
    raw = json.dumps(HELLO).encode()
    packed = gzip.compress(raw) if encoding == "gzip" else zlib.compress(raw)
    headers = {"content-encoding": encoding, "content-type": "application/json"}
    response = httpx.post(router_url + "/v1/chat/completions", content=packed, headers=headers)
    assert response.status_code == 200, response.text
    received = engines["chat"].script.received[-1]
    assert received.body is not None and received.body["messages"] == HELLO["messages"]
    assert "content-encoding" not in received.headers  # it goes upstream decoded


def test_a_compressed_body_over_the_limit_once_decoded_is_413(
    engines: dict[str, Engine], start_router: Callable[[Settings], str]
) -> None:
    url = start_router(settings_for(engines, max_body_bytes=100_000))
    bomb = gzip.compress(
        json.dumps({"messages": [{"role": "user", "content": "a" * 500_000}]}).encode()
    )
    assert len(bomb) < 100_000
    response = httpx.post(url + "/v1/chat/completions", content=bomb,
                          headers={"content-encoding": "gzip"})  # fmt: skip
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    bad = httpx.post(
        url + "/v1/chat/completions", content=b"{}", headers={"content-encoding": "br"}
    )
    assert (bad.status_code, bad.json()["error"]["code"]) == (415, "unsupported_media_type")
    broken = httpx.post(url + "/v1/chat/completions", content=b"not gzip",
                        headers={"content-encoding": "gzip"})  # fmt: skip
    assert (broken.status_code, broken.json()["error"]["code"]) == (400, "invalid_body")


def test_cors_is_off_unless_origins_are_listed(
    router_url: str, engines: dict[str, Engine], start_router: Callable[[Settings], str]
) -> None:
    origin = {"origin": "http://localhost:5173"}
    asks = {"access-control-request-method": "POST"}
    preflight = origin | asks | {"access-control-request-headers": "authorization, content-type"}
    closed = httpx.options(router_url + "/v1/chat/completions", headers=preflight)
    assert "access-control-allow-origin" not in closed.headers
    url = start_router(settings_for(engines, cors_origins=("http://localhost:5173",)))
    opened = httpx.options(url + "/v1/chat/completions", headers=preflight)
    assert opened.status_code == 204
    assert opened.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert "POST" in opened.headers["access-control-allow-methods"]
    assert opened.headers["access-control-allow-headers"] == "authorization, content-type"
    answered = httpx.post(url + "/v1/chat/completions", json=HELLO, headers=origin)
    assert answered.status_code == 200
    assert answered.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert "x-lane" in answered.headers["access-control-expose-headers"]
    other = httpx.post(url + "/v1/chat/completions", json=HELLO, headers={"origin": "http://evil"})
    assert "access-control-allow-origin" not in other.headers


@pytest.mark.parametrize(("stream", "usage"), [(True, False), (True, True), (False, False)])
def test_ik_llama_stopping_at_the_limit_is_reported_as_length(
    router_url: str, engines: dict[str, Engine], stream: bool, usage: bool
) -> None:
    # ik_llama.cpp says "stop" even when max_tokens cut the answer; the client must know.
    # With include_usage its count comes after the finish event.
    body: dict[str, Any] = {"messages": HELLO["messages"], "max_tokens": 3, "stream": stream}
    if usage:
        body["stream_options"] = {"include_usage": True}
    response = post(router_url, "/v1/chat/completions", body)
    assert response.headers["x-lane"] == "chat"
    sent = b"".join(engines["chat"].script.sent) if stream else b""
    if stream:
        assert b'"finish_reason":"stop"' in sent  # what the engine said
        assert b'"finish_reason":"length"' in response.content
        assert b'"finish_reason":"stop"' not in response.content
    else:
        assert response.json()["choices"][0]["finish_reason"] == "length"
    complete = post(router_url, "/v1/chat/completions", HELLO | {"max_tokens": 500})
    assert complete.json()["choices"][0]["finish_reason"] == "stop"  # it finished by itself
