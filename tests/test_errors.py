"""Bad input and failing engines: clear OpenAI-style errors, never a traceback, never a hang."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from conftest import Engine, settings_for
from test_proxy import HELLO, post, stream_bytes

from router.app import create_app
from router.config import Settings
from router.demo.script import Behaviour
from router.engine.upstream import Upstreams
from router.errors import LaneUnreachable
from router.http.serving import BackgroundServer


def assert_error(response: httpx.Response, status: int, code: str | int) -> dict[str, Any]:
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) >= {"message", "type", "code"}
    assert error["code"] == code
    assert "Traceback" not in response.text
    return dict(error)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def last_event(stream: bytes) -> dict[str, Any]:
    events = [e for e in stream.split(b"\n\n") if e.strip()]
    assert events[-1].startswith(b"data: ")
    return dict(json.loads(events[-1][len(b"data: ") :]))


def test_malformed_json_is_400(router_url: str) -> None:
    error = assert_error(
        post(router_url, "/v1/chat/completions", b'{"messages": ['), 400, "invalid_json"
    )
    assert "not valid JSON" in error["message"]


def test_non_object_json_is_400(router_url: str) -> None:
    assert_error(post(router_url, "/v1/chat/completions", [1, 2]), 400, "invalid_json")


def test_unknown_lane_header_is_400_listing_lanes(router_url: str) -> None:
    error = assert_error(
        post(router_url, "/v1/chat/completions", HELLO, **{"X-Lane": "gpu"}), 400, "unknown_lane"
    )
    assert "auto, audit, chat, tools" in error["message"]


def test_body_over_limit_is_413(
    engines: dict[str, Engine], start_router: Callable[[Settings], str]
) -> None:
    url = start_router(settings_for(engines, max_body_bytes=1000))
    big = HELLO | {"messages": [{"role": "user", "content": "x" * 2000}]}
    assert_error(post(url, "/v1/chat/completions", big), 413, "payload_too_large")
    assert engines["chat"].script.received == []
    # Chunked upload without Content-Length is cut off at the limit too.
    chunks = iter([b'{"messages": [{"role": "user", "content": "', b"y" * 2000, b'"}]}'])
    response = httpx.post(url + "/v1/chat/completions", content=chunks, timeout=10)
    assert_error(response, 413, "payload_too_large")


def test_unreachable_lane_is_502_naming_it(
    engines: dict[str, Engine], start_router: Callable[[Settings], str]
) -> None:
    dead = f"http://127.0.0.1:{closed_port()}"
    url = start_router(settings_for(engines, {"audit": {"base_url": dead}}))
    for stream in (False, True):
        response = post(url, "/v1/chat/completions", HELLO | {"stream": stream, "model": "audit"})
        error = assert_error(response, 502, "lane_unreachable")
        assert "'audit'" in error["message"] and dead in error["message"]
        assert response.headers["x-lane"] == "audit"
        assert response.headers["x-route-reason"] == "model"


def test_engine_error_passes_through(router_url: str, engines: dict[str, Engine]) -> None:
    body = {
        "error": {
            "code": 400,
            "message": "request (6024 tokens) exceeds the available context size (4096 tokens)",
            "type": "exceed_context_size_error",
        }
    }
    for stream in (False, True):
        engines["audit"].script.push(Behaviour(status=400, error=body))
        response = post(
            router_url, "/v1/chat/completions", HELLO | {"stream": stream}, **{"X-Lane": "audit"}
        )
        assert response.status_code == 400
        assert response.json() == body
        assert response.headers["x-lane"] == "audit"


def test_stream_that_dies_midway_ends_with_sse_error(
    router_url: str, engines: dict[str, Engine]
) -> None:
    engines["chat"].script.push(Behaviour(die_after=4))
    body = HELLO | {"max_tokens": 100}
    response, received = stream_bytes(router_url, "/v1/chat/completions", body)
    assert response.status_code == 200
    sent = b"".join(engines["chat"].script.sent)
    assert received.startswith(sent)
    error = last_event(received)["error"]
    assert error["type"] == "upstream_error"
    assert "'chat'" in error["message"]
    assert b"[DONE]" not in received


def test_stalled_stream_hits_idle_timeout(
    engines: dict[str, Engine], start_router: Callable[[Settings], str]
) -> None:
    url = start_router(settings_for(engines, {"chat": {"idle_timeout": 0.3}}))
    engines["chat"].script.push(Behaviour(stall_after=3))
    response, received = stream_bytes(url, "/v1/chat/completions", HELLO | {"max_tokens": 50})
    assert response.status_code == 200  # committed before the stall: the error is in-stream
    assert received.startswith(b"".join(engines["chat"].script.sent))
    assert last_event(received)["error"]["code"] == "upstream_timeout"
    metrics = httpx.get(url + "/metrics").text
    assert (
        'lanerouter_requests_total{endpoint="chat",lane="chat",outcome="upstream_aborted",'
        'reason="default"} 1.0'
    ) in metrics


def test_slow_first_token_is_not_an_idle_timeout(
    engines: dict[str, Engine], start_router: Callable[[Settings], str]
) -> None:
    lanes = {"audit": {"idle_timeout": 0.2, "first_byte_timeout": 10.0}}
    url = start_router(settings_for(engines, lanes))
    # llama.cpp sends no headers until its first token: a long prefill is silence.
    engines["audit"].script.push(Behaviour(first_token_delay=0.6))
    response, received = stream_bytes(url, "/v1/chat/completions", HELLO, **{"X-Lane": "audit"})
    assert response.status_code == 200
    assert received.endswith(b"data: [DONE]\n\n")


def test_first_byte_timeout_is_504(
    engines: dict[str, Engine], start_router: Callable[[Settings], str]
) -> None:
    url = start_router(settings_for(engines, {"audit": {"first_byte_timeout": 0.2}}))
    # One retry (the default) times out as well; audit has no fallback lane.
    engines["audit"].script.push(*[Behaviour(first_token_delay=2.0)] * 2)
    response = post(url, "/v1/chat/completions", HELLO | {"stream": True, "model": "audit"})
    assert_error(response, 504, "upstream_timeout")
    assert len(engines["audit"].script.received) == 2
    assert response.headers["x-lane"] == "audit"


def test_unknown_path_and_wrong_method(router_url: str) -> None:
    assert_error(httpx.get(router_url + "/v1/nope"), 404, "not_found")
    assert_error(httpx.get(router_url + "/v1/chat/completions"), 405, "method_not_allowed")


class ExplodingUpstreams(Upstreams):
    async def open(self, *args: Any, **kwargs: Any) -> httpx.Response:
        raise RuntimeError("internal detail that must not leak")


def test_internal_error_is_plain_500_without_traceback(engines: dict[str, Engine]) -> None:
    settings = settings_for(engines)
    app = create_app(settings, upstreams=ExplodingUpstreams(settings))
    server = BackgroundServer(app, log_level="critical").start()
    try:
        response = post(server.url, "/v1/chat/completions", HELLO)
    finally:
        server.stop()
    error = assert_error(response, 500, "internal_error")
    assert "internal detail" not in response.text
    assert error["type"] == "server_error"


def test_stream_ending_inside_an_event_ends_with_an_error(
    router_url: str, engines: dict[str, Engine]
) -> None:
    engines["chat"].script.push(Behaviour(reply="a b c", tail=b'data: {"choices":[{"delta'))
    response, received = stream_bytes(router_url, "/v1/chat/completions", HELLO)
    assert response.status_code == 200
    assert b'{"delta' not in received  # no half event reaches the client
    assert received.startswith(b"".join(engines["chat"].script.sent))
    assert "inside an event" in last_event(received)["error"]["message"]


async def test_engine_closing_without_an_answer_is_an_unreachable_lane(
    engines: dict[str, Engine],
) -> None:
    async def close_at_once(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()  # what an engine shutting down under load does to new connections

    server = await asyncio.start_server(close_at_once, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    settings = settings_for(engines, {"chat": {"base_url": f"http://127.0.0.1:{port}"}})
    upstreams = Upstreams(settings)
    try:
        with pytest.raises(LaneUnreachable) as err:
            await upstreams.open("chat", "/v1/chat/completions", [], b"{}", "r1")
    finally:
        await upstreams.aclose()
        server.close()
    assert "closed the connection" in err.value.message


class Boom(httpx.AsyncByteStream):
    async def __aiter__(self) -> AsyncIterator[bytes]:
        raise RuntimeError("something nobody foresaw")
        yield b""  # pragma: no cover


class BrokenBodies(Upstreams):
    async def open(self, *args: Any, **kwargs: Any) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "application/json"}, stream=Boom())


def test_an_unforeseen_failure_still_gives_the_slot_back(engines: dict[str, Engine]) -> None:
    settings = settings_for(engines, {"audit": {"queue_timeout": 0.5}})
    app = create_app(settings, upstreams=BrokenBodies(settings))
    server = BackgroundServer(app, log_level="critical").start()
    try:
        # audit has one slot: a leaked slot would turn the second request into a 429.
        for _ in range(2):
            assert_error(
                post(server.url, "/v1/embeddings", {"model": "audit"}), 500, "internal_error"
            )
        metrics = httpx.get(server.url + "/metrics").text
    finally:
        server.stop()
    assert 'lanerouter_inflight_requests{lane="audit"} 0.0' in metrics
    assert 'outcome="upstream_error",reason="model"} 2.0' in metrics


def test_assembled_answer_with_a_broken_event_is_a_502(
    engines: dict[str, Engine], start_router: Callable[[Settings], str]
) -> None:
    url = start_router(settings_for(engines, {"audit": {"queue_timeout": 0.5}}))
    engines["audit"].script.push(Behaviour(reply="a b", tail=b"data: {not json}\n\n"))
    assert_error(
        post(url, "/v1/chat/completions", HELLO | {"model": "audit"}), 502, "upstream_error"
    )
    assert post(url, "/v1/chat/completions", HELLO | {"model": "audit"}).status_code == 200
