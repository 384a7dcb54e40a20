"""Chaos against fake engines on loopback: what the client sees, and what the metrics say."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from conftest import PROFILES, SPEED, Engine, settings_for
from helpers import Samples, metric, post_and_leave, samples, until, value, wait_for
from test_errors import closed_port, last_event
from test_proxy import HELLO

from router.config import Settings
from router.demo.engine import SimEngine
from router.demo.script import Behaviour
from router.http.serving import BackgroundServer

LONG = " ".join(f"w{i}" for i in range(400))
CHAT = "/v1/chat/completions"


def quick(
    engines: dict[str, Engine], lanes: dict[str, dict[str, Any]] | None = None, **server: Any
) -> Settings:
    """Settings with fast probes, keepalives and retries, so chaos plays out in moments."""
    lanes = {name: {"retry_backoff": 0.01} | (lanes or {}).get(name, {}) for name in PROFILES}
    return settings_for(
        engines, lanes, **({"probe_interval": 0.05, "queue_keepalive": 0.2} | server)
    )


@pytest.fixture
def start_engine() -> Iterator[Callable[[str], Engine]]:
    started: list[Engine] = []

    def start(lane: str) -> Engine:
        sim = SimEngine(PROFILES[lane], speed=SPEED)
        started.append(Engine(sim, BackgroundServer(sim, log_level="critical").start()))
        return started[-1]

    yield start
    for engine in started:
        engine.server.stop()


def test_engine_down_at_start_fails_over(
    engines: dict[str, Engine], start_router: Callable[[Settings], str]
) -> None:
    dead = f"http://127.0.0.1:{closed_port()}"
    url = start_router(quick(engines, {"chat": {"base_url": dead}}))
    response = httpx.post(url + CHAT, json=HELLO)
    assert response.status_code == 200
    assert (response.headers["x-lane"], response.headers["x-route-reason"]) == (
        "tools",
        "failover:chat",
    )
    assert len(engines["tools"].script.received) == 1
    metrics = samples(url)
    assert (
        value(
            metrics, "lanerouter_failovers_total", from_lane="chat", to_lane="tools", cause="down"
        )
        == 1
    )
    assert value(metrics, "lanerouter_lane_state", lane="chat", state="down") == 1
    assert value(metrics, "lanerouter_lane_state", lane="tools", state="ready") == 1
    assert httpx.get(url + "/readyz").json()["lanes"]["chat"]["state"] == "down"


def test_engine_killed_mid_stream_is_never_failed_over(
    engines: dict[str, Engine], start_router: Callable[[Settings], str]
) -> None:
    url = start_router(quick(engines))
    engines["chat"].script.push(Behaviour(reply=LONG, die_after=5))
    with httpx.stream("POST", url + CHAT, json=HELLO | {"stream": True}) as response:
        received = b"".join(response.iter_raw())
    assert response.status_code == 200
    assert last_event(received)["error"]["type"] == "upstream_error"
    assert received.count(b'"id":"chatcmpl-') == len(engines["chat"].script.sent)
    assert engines["tools"].script.received == []
    wait_for(
        lambda: (
            value(
                samples(url),
                "lanerouter_requests_total",
                lane="chat",
                reason="default",
                endpoint="chat",
                outcome="upstream_aborted",
            )
            == 1
        )
    )


def test_silent_engine_is_retried_then_failed_over(
    engines: dict[str, Engine], start_router: Callable[[Settings], str]
) -> None:
    url = start_router(quick(engines, {"chat": {"first_byte_timeout": 0.2}}))
    # Accepts the connection but never sends a byte (ik_llama.cpp sends no headers early).
    engines["chat"].script.push(*[Behaviour(first_token_delay=30)] * 2)
    response = httpx.post(url + CHAT, json=HELLO | {"stream": True}, timeout=10)
    assert response.status_code == 200
    assert response.headers["x-lane"] == "tools"
    assert response.headers["x-route-reason"] == "failover:chat"
    assert response.text.endswith("data: [DONE]\n\n")
    assert len(engines["chat"].script.received) == 2
    metrics = samples(url)
    assert (
        value(metrics, "lanerouter_upstream_retries_total", lane="chat", cause="upstream_timeout")
        == 1
    )
    assert (
        value(
            metrics,
            "lanerouter_failovers_total",
            from_lane="chat",
            to_lane="tools",
            cause="upstream_timeout",
        )
        == 1
    )


def test_loading_engine_then_recovers(
    engines: dict[str, Engine], start_router: Callable[[Settings], str]
) -> None:
    url = start_router(quick(engines))
    engines["audit"].script.loading = True
    wait_for(lambda: httpx.get(url + "/readyz").json()["lanes"]["audit"]["state"] == "loading")
    response = httpx.post(url + CHAT, json=HELLO | {"model": "audit"})
    assert response.status_code == 503  # audit has no stand-in lane
    assert response.json()["error"]["code"] == "lane_unavailable"
    assert response.headers["retry-after"] == "1"
    assert engines["audit"].script.received == []  # skipped without trying
    metrics = samples(url)
    assert value(metrics, "lanerouter_lane_state", lane="audit", state="loading") == 1
    assert (
        value(
            metrics,
            "lanerouter_requests_total",
            lane="audit",
            reason="model",
            endpoint="chat",
            outcome="upstream_error",
        )
        == 1
    )
    engines["audit"].script.loading = False
    wait_for(lambda: httpx.get(url + "/readyz").json()["lanes"]["audit"]["state"] == "ready")
    assert httpx.post(url + CHAT, json=HELLO | {"model": "audit"}).status_code == 200
    metrics = samples(url)
    assert value(metrics, "lanerouter_lane_state", lane="audit", state="ready") == 1
    assert (
        value(
            metrics,
            "lanerouter_requests_total",
            lane="audit",
            reason="model",
            endpoint="chat",
            outcome="ok",
        )
        == 1
    )


def test_engine_answering_503_loading_is_retried_and_marked(
    engines: dict[str, Engine], start_router: Callable[[Settings], str]
) -> None:
    url = start_router(quick(engines, probe_interval=60))
    loading = {"error": {"message": "Loading model", "type": "unavailable_error", "code": 503}}
    engines["audit"].script.push(Behaviour(status=503, error=loading))
    response = httpx.post(url + CHAT, json=HELLO | {"model": "audit"})
    assert response.status_code == 200  # the retry got through
    assert (
        value(samples(url), "lanerouter_upstream_retries_total", lane="audit", cause="status_503")
        == 1
    )


async def test_queue_full_is_429_and_queued_requests_wait(
    engines: dict[str, Engine], start_router: Callable[[Settings], str]
) -> None:
    url = start_router(quick(engines, {"audit": {"queue_depth": 1}}))
    script, release = engines["audit"].script, threading.Event()
    script.push(Behaviour(reply=LONG[:400], pause_after=1, resume=release), Behaviour())
    body = HELLO | {"model": "audit", "max_tokens": 500}
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        holder = asyncio.create_task(client.post(CHAT, json=body | {"stream": True}))
        await until(lambda: script.in_flight == 1, "the first request holds the one slot")
        waiting = asyncio.create_task(client.post(CHAT, json=body))
        await until(lambda: metric(url, "lanerouter_queue_depth", lane="audit") == 1, "queued")
        rejected = await client.post(CHAT, json=body)
        assert rejected.status_code == 429
        assert (
            value(
                samples(url),
                "lanerouter_requests_total",
                lane="audit",
                reason="model",
                endpoint="chat",
                outcome="rejected",
            )
            == 1
        )
        assert rejected.json()["error"]["code"] == "queue_full"
        assert rejected.headers["retry-after"] == "1"
        release.set()
        assert (await holder).status_code == 200
        served = await waiting
    assert served.status_code == 200
    log = [r.body for r in engines["audit"].script.received]
    assert len(log) == 2  # the rejected one never reached the engine
    metrics = samples(url)
    assert value(metrics, "lanerouter_queue_wait_seconds_count", lane="audit") == 2
    assert value(metrics, "lanerouter_queue_wait_seconds_sum", lane="audit") > 0  # one waited


async def test_queued_stream_is_kept_alive_with_comments(
    engines: dict[str, Engine], start_router: Callable[[Settings], str]
) -> None:
    url = start_router(quick(engines))
    script, release = engines["audit"].script, threading.Event()
    script.push(Behaviour(reply=" ".join(["x"] * 40), pause_after=1, resume=release))
    body = HELLO | {"model": "audit", "stream": True, "max_tokens": 500}
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        holder = asyncio.create_task(client.post(CHAT, json=body))
        await until(lambda: script.in_flight == 1, "the first stream holds the one slot")
        async with client.stream("POST", CHAT, json=body) as response:
            chunks = response.aiter_raw()
            first = await anext(chunks)  # while the slot is still held
            release.set()
            rest = b"".join([chunk async for chunk in chunks])
        await holder
    assert response.headers["x-lane"] == "audit"
    assert first == b": queued\n\n"
    assert rest.endswith(b"data: [DONE]\n\n")
    metrics = samples(url)
    assert value(metrics, "lanerouter_queue_wait_seconds_count", lane="audit") == 2
    assert value(metrics, "lanerouter_queue_wait_seconds_sum", lane="audit") > 0


async def test_client_leaving_the_queue_gives_up_its_place(
    engines: dict[str, Engine], start_router: Callable[[Settings], str]
) -> None:
    url = start_router(quick(engines))
    script, release = engines["audit"].script, threading.Event()
    script.push(Behaviour(reply=" ".join(["x"] * 60), pause_after=1, resume=release))
    body = HELLO | {"model": "audit", "max_tokens": 500}

    def depth() -> float:
        return metric(url, "lanerouter_queue_depth", lane="audit")

    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        holder = asyncio.create_task(client.post(CHAT, json=body | {"stream": True}))
        await until(lambda: script.in_flight == 1, "the first request holds the one slot")
        leaving = asyncio.create_task(client.post(CHAT, json=body))
        await until(lambda: depth() == 1, "the second request is queued")
        leaving.cancel()  # the client gives up: its connection closes
        with pytest.raises(asyncio.CancelledError):
            await leaving
        await until(lambda: depth() == 0, "the queue forgot it")
        release.set()
        await holder
    left = {
        "lane": "audit",
        "reason": "model",
        "endpoint": "chat",
        "outcome": "client_disconnected",
    }
    await until(lambda: metric(url, "lanerouter_requests_total", **left) == 1, "counted as left")
    assert len(script.received) == 1  # the one that left never got there


def test_non_streaming_client_leaving_stops_the_engine(
    engines: dict[str, Engine], start_router: Callable[[Settings], str]
) -> None:
    url = start_router(quick(engines))
    script = engines["audit"].script
    script.push(Behaviour(reply=LONG, pause_after=1, resume=threading.Event()))
    body = json.dumps(HELLO | {"model": "audit", "max_tokens": 400}).encode()
    post_and_leave(url, CHAT, body, leave_when=lambda: script.in_flight == 1)
    # lanerouter streamed from llama.cpp; closing that stream stops the generation.
    wait_for(lambda: script.aborted == 1)
    assert script.completed == 0
    assert json.dumps(script.received[-1].body).count('"stream": true') == 1
    wait_for(
        lambda: (
            value(
                samples(url),
                "lanerouter_requests_total",
                lane="audit",
                reason="model",
                endpoint="chat",
                outcome="client_disconnected",
            )
            == 1
        )
    )
    assert value(samples(url), "lanerouter_inflight_requests", lane="audit") == 0


async def test_hundred_streams_while_a_lane_dies(
    engines: dict[str, Engine],
    start_router: Callable[[Settings], str],
    start_engine: Callable[[str], Engine],
) -> None:
    chat = start_engine("chat")
    settings = quick(engines, {"chat": {"base_url": chat.url, "max_concurrency": 100}})
    url = start_router(settings)
    # 40 streams finish; 60 are mid-stream (3 tokens sent, held there) when the engine dies;
    # 20 more arrive once it is down.
    held = Behaviour(reply=LONG, pause_after=3, resume=threading.Event())
    chat.script.push(*[Behaviour(reply="a short answer")] * 40, *[held] * 60)

    async def one(client: httpx.AsyncClient) -> tuple[int, bytes]:
        body = HELLO | {"stream": True, "max_tokens": 500}
        async with client.stream("POST", CHAT, json=body) as response:
            return response.status_code, b"".join([c async for c in response.aiter_raw()])

    limits = httpx.Limits(max_connections=None)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        runs = [asyncio.create_task(one(client)) for _ in range(100)]
        await until(
            lambda: chat.script.completed == 40 and chat.script.in_flight == 60,
            "40 streams done and 60 held mid-stream",
        )
        await asyncio.to_thread(chat.server.stop)
        runs += [asyncio.create_task(one(client)) for _ in range(20)]
        results = await asyncio.wait_for(asyncio.gather(*runs), 60)  # none hangs
    finished = failed = 0
    for status, stream in results:
        assert status == 200
        ids = {
            json.loads(line[6:]).get("id")
            for line in stream.decode().splitlines()
            if line.startswith("data: {") and '"error"' not in line
        }
        assert len(ids) <= 1, "answered by more than one engine"
        if stream.endswith(b"data: [DONE]\n\n"):
            finished += 1
        else:
            assert "error" in last_event(stream)
            failed += 1
    assert (finished, failed) == (60, 60)

    def counted(metrics: Samples, lane: str, reason: str, outcome: str) -> float:
        labels = {"lane": lane, "reason": reason, "endpoint": "chat", "outcome": outcome}
        return value(metrics, "lanerouter_requests_total", **labels)

    def all_counted() -> bool:
        metrics = samples(url)
        ok = counted(metrics, "chat", "default", "ok")
        moved = counted(metrics, "tools", "failover:chat", "ok")
        aborted = counted(metrics, "chat", "default", "upstream_aborted")
        return (ok + moved, aborted) == (finished, failed)

    # What the clients saw is what the metrics say: every request counted once, by how it ended.
    await until(all_counted, "each request counted by how it ended")
    metrics = samples(url)
    assert counted(metrics, "chat", "default", "ok") == 40
    assert value(metrics, "lanerouter_inflight_requests", lane="chat") == 0
    assert value(metrics, "lanerouter_lane_state", lane="chat", state="down") == 1


async def test_full_queue_spills_to_the_fallback_lane(
    engines: dict[str, Engine], start_router: Callable[[Settings], str]
) -> None:
    url = start_router(quick(engines, {"chat": {"queue_depth": 0}}))
    script, release = engines["chat"].script, threading.Event()
    script.push(Behaviour(reply=LONG[:400], pause_after=1, resume=release))
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        body = HELLO | {"max_tokens": 500}
        holder = asyncio.create_task(client.post(CHAT, json=body | {"stream": True}))
        await until(lambda: script.in_flight == 1, "chat's one slot is taken")
        spilled = await client.post(CHAT, json=body)
        release.set()
        await holder
    assert spilled.status_code == 200
    assert (spilled.headers["x-lane"], spilled.headers["x-route-reason"]) == (
        "tools",
        "failover:chat",
    )
    assert (
        value(
            samples(url),
            "lanerouter_failovers_total",
            from_lane="chat",
            to_lane="tools",
            cause="queue_full",
        )
        == 1
    )


def test_context_fit_moves_or_refuses(router_url: str, engines: dict[str, Engine]) -> None:
    # About 40k tokens: more than tools' 32K, fits chat's 64K.
    big = {"messages": [{"role": "user", "content": "x " * 80_000}], "max_tokens": 100}
    tools = {"type": "function", "function": {"name": "f", "parameters": {}}}
    moved = httpx.post(router_url + CHAT, json=big | {"tools": [tools]}, timeout=30)
    assert moved.status_code == 200
    assert (moved.headers["x-lane"], moved.headers["x-route-reason"]) == ("chat", "context")
    refused = httpx.post(router_url + CHAT, json=big | {"model": "audit"}, timeout=30)
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "context_length_exceeded"
    assert engines["audit"].script.received == []


def test_an_engine_dying_mid_stream_marks_its_lane_down_until_a_probe(
    engines: dict[str, Engine], start_router: Callable[[Settings], str]
) -> None:
    # Probes an hour apart: only the failed stream can have marked the lane down.
    url = start_router(quick(engines, probe_interval=3600))
    engines["chat"].script.push(Behaviour(reply=LONG, die_after=3))
    with httpx.stream("POST", url + CHAT, json=HELLO | {"stream": True}) as response:
        b"".join(response.iter_raw())
    assert value(samples(url), "lanerouter_lane_state", lane="chat", state="down") == 1
    retry = httpx.post(url + CHAT, json=HELLO)  # the next request goes straight to the fallback
    assert retry.headers["x-lane"] == "tools" and len(engines["chat"].script.received) == 1
