"""Shared admission on a real redis-server: several lanerouters (replicas here, each its own
app, registry and Redis clients) share each lane's slots and its FIFO queue."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from conftest import Engine, settings_for
from helpers import metric, samples, until, value, wait_for
from redisserver import NEEDS, RedisServer
from serveprocess import ServeProcess

from router.config import Settings
from router.configparts import AdmissionConfig
from router.demo.script import Behaviour

pytestmark = pytest.mark.skipif(not RedisServer.installed(), reason=NEEDS)
CHAT = "/v1/chat/completions"
LONG = " ".join(f"w{i}" for i in range(200))
QUEUE = "lanerouter:{audit}:queue"
HELD = "lanerouter:{audit}:held"


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.remove()


def shared(
    engines: dict[str, Engine], url: str, audit: dict[str, Any] | None = None, **admission: Any
) -> Settings:
    """Settings for a replica on Redis at `url`; `audit` changes the audit lane."""
    lanes = {"audit": {"queue_depth": 8} | (audit or {})}
    settings = settings_for(engines, lanes, probe_interval=0.05)
    config = AdmissionConfig(backend="redis", redis_url=url, **admission)
    return settings.model_copy(update={"admission": config})


def asked(text: str) -> dict[str, Any]:
    return {"model": "audit", "max_tokens": 50, "messages": [{"role": "user", "content": text}]}


def order_seen(engines: dict[str, Engine]) -> list[str]:
    return [r.body["messages"][-1]["content"] for r in engines["audit"].script.received if r.body]


async def post(url: str, body: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient(timeout=60) as client:  # a connection of its own
        return await client.post(url + CHAT, json=body)


async def hold_the_slot(
    engines: dict[str, Engine], url: str, text: str = "first"
) -> tuple[asyncio.Task[httpx.Response], threading.Event]:
    """A stream sent to `url` that holds the audit lane's one slot until the event is set."""
    script, release = engines["audit"].script, threading.Event()
    script.push(Behaviour(reply=LONG, pause_after=1, resume=release))
    held = asyncio.create_task(post(url, asked(text) | {"stream": True}))
    await until(lambda: script.in_flight == 1, f"{text!r} holds the one slot")
    return held, release


async def test_one_slot_is_shared_by_replicas_in_arrival_order(
    engines: dict[str, Engine],
    start_router: Callable[[Settings], str],
    redis_server: RedisServer,
    fast_engines: None,
) -> None:
    replicas = [start_router(shared(engines, redis_server.url)) for _ in range(2)]
    script, db = engines["audit"].script, redis_server.client()
    first, release = await hold_the_slot(engines, replicas[0])
    waiting = []
    for n in range(6):  # alternately at each replica, each once the one before is queued
        waiting.append(asyncio.create_task(post(replicas[n % 2], asked(f"waiter {n}"))))
        await until(lambda n=n: db.zcard(QUEUE) == n + 1, f"waiter {n} is in Redis' queue")
    assert script.in_flight == 1  # the other replica did not send its own at once
    release.set()
    assert (await first).status_code == 200
    answers = await asyncio.gather(*waiting)
    assert [a.status_code for a in answers] == [200] * 6
    assert script.peak_in_flight == 1
    assert order_seen(engines) == ["first"] + [f"waiter {n}" for n in range(6)]
    await until(lambda: db.zcard(HELD) == 0, "every slot given back")
    assert db.zcard(QUEUE) == 0
    assert metric(replicas[1], "lanerouter_admission_shared") == 1


async def test_shared_queue_full_and_timeout_are_429_and_leave_no_ticket(
    engines: dict[str, Engine],
    start_router: Callable[[Settings], str],
    redis_server: RedisServer,
    fast_engines: None,
) -> None:
    settings = shared(engines, redis_server.url, {"queue_depth": 1, "queue_timeout": 0.5})
    a, b = start_router(settings), start_router(settings)
    db = redis_server.client()
    first, release = await hold_the_slot(engines, a)
    timing_out = asyncio.create_task(post(b, asked("waits")))
    await until(lambda: db.zcard(QUEUE) == 1, "one waits in Redis' queue")
    full = await post(a, asked("one too many"))
    assert full.status_code == 429 and full.json()["error"]["code"] == "queue_full"
    timed_out = await timing_out
    assert timed_out.status_code == 429
    assert timed_out.json()["error"]["code"] == "queue_timeout"
    await until(lambda: db.zcard(QUEUE) == 0, "the waiter that gave up left the queue")
    release.set()
    assert (await first).status_code == 200
    await until(lambda: db.zcard(HELD) == 0, "the slot is given back")
    assert order_seen(engines) == ["first"]


async def test_without_redis_each_process_keeps_its_limits_until_redis_returns(
    engines: dict[str, Engine],
    start_router: Callable[[Settings], str],
    redis_server: RedisServer,
    fast_engines: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="lanerouter.admission")
    url = start_router(shared(engines, redis_server.url, lease_seconds=0.6))
    redis_server.stop()
    await until(lambda: metric(url, "lanerouter_admission_shared") == 0, "Redis is missed")
    script = engines["audit"].script
    held, release = await hold_the_slot(engines, url)  # served with Redis down
    second = asyncio.create_task(post(url, asked("second")))
    await until(lambda: metric(url, "lanerouter_queue_depth", lane="audit") == 1, "queued")
    assert script.in_flight == 1  # the process's own limit of one still holds
    release.set()
    assert (await held).status_code == 200 and (await second).status_code == 200
    assert "is unreachable" in caplog.text and "on its own" in caplog.text
    fallbacks = value(samples(url), "lanerouter_admission_fallbacks_total", lane="audit")
    assert fallbacks == 2
    redis_server.start()
    await until(lambda: metric(url, "lanerouter_admission_shared") == 1, "Redis is back")
    assert "answers; lanes' slots are shared" in caplog.text
    db = redis_server.client()
    again, release = await hold_the_slot(engines, url, "third")
    await until(lambda: db.zcard(HELD) == 1, "the slot is taken in Redis again")
    release.set()
    assert (await again).status_code == 200
    assert value(samples(url), "lanerouter_admission_fallbacks_total", lane="audit") == 2


def test_readiness_waits_for_redis(
    engines: dict[str, Engine], start_router: Callable[[Settings], str], redis_server: RedisServer
) -> None:
    redis_server.stop()
    url = start_router(shared(engines, redis_server.url, lease_seconds=0.6))
    ready = httpx.get(url + "/readyz", timeout=10)
    assert ready.status_code == 503
    assert ready.json()["admission"] == {
        "backend": "redis", "redis": f"127.0.0.1:{redis_server.port}", "shared": False
    }  # fmt: skip
    redis_server.start()
    wait_for(lambda: httpx.get(url + "/readyz", timeout=10).status_code == 200, "ready")


def redis_env(server: RedisServer, lease: float = 10.0) -> dict[str, str]:
    return {
        "LANEROUTER_ADMISSION__BACKEND": "redis",
        "LANEROUTER_ADMISSION__REDIS_URL": server.url,
        "LANEROUTER_ADMISSION__LEASE_SECONDS": str(lease),
        "LANEROUTER_SERVER__PROBE_INTERVAL": "0.2",
    }


async def test_two_replicas_of_two_workers_send_a_one_slot_lane_one_at_a_time(
    engines: dict[str, Engine], redis_server: RedisServer, fast_engines: None
) -> None:
    replicas = [
        ServeProcess(engines, "--workers", "2", env=redis_env(redis_server)) for _ in range(2)
    ]
    try:
        for replica in replicas:
            replica.ready()
        script, db = engines["audit"].script, redis_server.client()
        first, release = await hold_the_slot(engines, replicas[0].url)
        waiting = []
        for n in range(8):  # new connections at either replica: any of the four workers
            body = asked(f"waiter {n}")
            waiting.append(asyncio.create_task(post(replicas[n % 2].url, body)))
            await until(lambda n=n: db.zcard(QUEUE) == n + 1, f"waiter {n} is in Redis' queue")
        release.set()
        assert (await first).status_code == 200
        assert [a.status_code for a in await asyncio.gather(*waiting)] == [200] * 8
    finally:
        for replica in replicas:
            replica.stop()
    assert script.peak_in_flight == 1
    assert order_seen(engines) == ["first"] + [f"waiter {n}" for n in range(8)]


async def test_a_slot_held_by_a_killed_process_returns_when_its_lease_runs_out(
    engines: dict[str, Engine],
    start_router: Callable[[Settings], str],
    redis_server: RedisServer,
    fast_engines: None,
) -> None:
    holder = ServeProcess(engines, env=redis_env(redis_server, lease=1.0)).ready()
    # The waiter's replica renews only every 10 s (a third of its 30 s lease) and gives up
    # waiting after 8: it is granted the slot because it wakes when the dead holder's lease
    # ends, not at its own next renewal.
    waits = {"queue_timeout": 8.0, "queue_depth": 8}
    other = start_router(shared(engines, redis_server.url, waits, lease_seconds=30.0))
    db = redis_server.client()
    try:
        held, _ = await hold_the_slot(engines, holder.url, "held")  # never released
        (dead_ticket,) = db.zrange(HELD, 0, -1)
        waiter = asyncio.create_task(post(other, asked("waiter")))
        await until(lambda: db.zcard(QUEUE) == 1, "a request of another replica waits")
        holder.process.kill()  # SIGKILL: no LEAVE is ever sent for its slot
        answer = await waiter
        assert answer.status_code == 200
        with pytest.raises(httpx.TransportError):
            await held
    finally:
        holder.stop()
    assert order_seen(engines) == ["held", "waiter"]
    assert dead_ticket not in db.zrange(HELD, 0, -1)
