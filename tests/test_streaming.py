"""Streaming behaviour a user feels: events arrive as the engine makes them; leaving frees it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import httpx
from conftest import Engine, settings_for
from helpers import wait_for
from test_proxy import HELLO

from router.config import Settings
from router.demo.script import Behaviour

LONG_REPLY = " ".join(f"word{i}" for i in range(200))


def test_events_reach_the_client_one_at_a_time(router_url: str, engines: dict[str, Engine]) -> None:
    # The engine writes each token only once the test allows it, and the test allows the next
    # only once the client holds the last one: any batching or buffering in lanerouter would
    # leave the client waiting for an event the engine is not allowed to write.
    script, permits = engines["chat"].script, threading.Semaphore(1)
    script.push(Behaviour(reply="one two three four five six", permits=permits))
    received, contents = b"", 0
    body = HELLO | {"stream": True}
    with httpx.stream("POST", router_url + "/v1/chat/completions", json=body, timeout=30) as r:
        for chunk in r.iter_raw():
            received += chunk
            if received.count(b'"content":"') > contents:
                contents = received.count(b'"content":"')
                assert contents == sum(b'"content":"' in event for event in script.sent)
                permits.release()
    assert contents == 6
    assert received == b"".join(script.sent)


def test_client_disconnect_closes_the_engine_stream(
    router_url: str, engines: dict[str, Engine]
) -> None:
    script = engines["audit"].script
    # The engine holds after 3 tokens until it is released (never) or its client leaves.
    script.push(Behaviour(reply=LONG_REPLY, pause_after=3, resume=threading.Event()))
    body = HELLO | {"stream": True, "max_tokens": 500}
    headers = {"X-Lane": "audit"}
    url = router_url + "/v1/chat/completions"
    with httpx.stream("POST", url, json=body, headers=headers, timeout=10) as response:
        next(response.iter_raw())  # the stream has begun; the client leaves
    wait_for(lambda: script.aborted == 1, "the engine saw its connection close")
    assert script.completed == 0


def test_single_slot_engine_is_free_for_the_next_request(
    router_url: str, engines: dict[str, Engine]
) -> None:
    script = engines["audit"].script
    script.push(Behaviour(reply=LONG_REPLY, pause_after=1, resume=threading.Event()))
    url = router_url + "/v1/chat/completions"
    body = HELLO | {"stream": True, "max_tokens": 500, "model": "audit"}
    with httpx.stream("POST", url, json=body, timeout=10) as response:
        next(response.iter_raw())
    second = httpx.post(url, json=HELLO | {"model": "audit"}, timeout=10)
    assert second.status_code == 200
    assert script.completed == 1  # only the second one ran to its end


async def test_hundreds_of_streams_never_wait_for_a_pool_slot(
    engines: dict[str, Engine], start_router: Callable[[Settings], str]
) -> None:
    # Admission control allows all 150 at once here; the HTTP pool must not be the limit.
    router_url = start_router(settings_for(engines, {"tools": {"max_concurrency": 150}}))
    script = engines["tools"].script
    streams = 150  # past httpx's default pool of 100 connections
    script.push(*[Behaviour(reply="a b c", hold_until_in_flight=streams)] * streams)
    body = HELLO | {"stream": True, "model": "tools"}
    limits = httpx.Limits(max_connections=None)

    async def one(client: httpx.AsyncClient) -> bytes:
        async with client.stream("POST", "/v1/chat/completions", json=body) as response:
            return b"".join([chunk async for chunk in response.aiter_raw()])

    async with httpx.AsyncClient(base_url=router_url, limits=limits, timeout=30) as client:
        results = await asyncio.gather(*(one(client) for _ in range(streams)))
    assert all(r.endswith(b"data: [DONE]\n\n") for r in results)
    # All of them were at the engine at once: none queued behind a proxy pool.
    assert script.peak_in_flight == streams
