"""Shared admission's link to Redis: the subscription it hears grants on (one connection per
process, whatever the number of waiters, read by one task), and whether Redis answers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry, Counter, Gauge
from redis import asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

log = logging.getLogger("lanerouter.admission")


def where(url: str) -> str:
    """The server a Redis URL names, for logs: host and port (or socket path), never a password."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return parts.path
    return f"{parts.hostname}:{parts.port or 6379}"


class Link:
    def __init__(self, url: str, channel: str, granted: Callable[[str], None]) -> None:
        # A client of its own, without a read timeout: the subscription is idle between grants.
        # A Redis that dies closes the socket; one that hangs fails the next renewal, which
        # drops this link.
        self.client = aioredis.Redis.from_url(
            url, socket_connect_timeout=1.0, socket_keepalive=True
        )
        self.channel, self.granted = channel, granted
        self.pubsub: PubSub | None = None
        self.reader: asyncio.Task[None] | None = None

    async def listen(self) -> None:
        """Subscribe, unless subscribed already; raises RedisError or OSError if it cannot."""
        if self.reader is not None and not self.reader.done():
            return
        self.drop()
        pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self.channel)
        except BaseException:
            await pubsub.aclose()  # type: ignore[no-untyped-call]
            raise
        self.pubsub = pubsub
        self.reader = asyncio.create_task(self.read(pubsub), name="shared-admission-grants")

    async def read(self, pubsub: PubSub) -> None:
        try:
            while True:
                # Waits on the socket for the next grant (no command is sent while it waits).
                message = await pubsub.get_message(timeout=None)
                if message is not None and message.get("type") == "message":
                    self.granted(message["data"].decode())
        except (RedisError, OSError) as exc:
            # The next renewal finds Redis gone too, or subscribes again.
            log.debug("shared admission: the grants subscription ended: %r", exc)

    def drop(self) -> None:
        if self.reader is not None:
            self.reader.cancel()
            self.reader = None
        if self.pubsub is not None:
            pubsub, self.pubsub = self.pubsub, None
            task = asyncio.get_running_loop().create_task(pubsub.aclose())  # type: ignore[no-untyped-call]
            task.add_done_callback(lambda done: done.cancelled() or done.exception())

    async def close(self) -> None:
        self.drop()
        with contextlib.suppress(RedisError, OSError):
            await self.client.aclose()


class Reach:
    """Whether Redis answers, as this process last found: each change logged and a gauge."""

    def __init__(self, where: str, registry: CollectorRegistry) -> None:
        self.where = where
        self.shared: bool | None = None  # None until Redis first answers or fails
        self.answered = False  # Redis has answered at least once (readiness waits for it)
        self.gauge = Gauge(
            "lanerouter_admission_shared",
            "1 while lane slots are shared through Redis, 0 while per-process limits apply",
            registry=registry,
            multiprocess_mode="livemin",  # with workers: 0 while any of them is on its own
        )
        self.fallbacks = Counter(
            "lanerouter_admission_fallbacks",
            "Requests admitted by this process's own limits because Redis was unreachable",
            ["lane"],
            registry=registry,
        )

    def lost(self, exc: BaseException) -> None:
        if self.shared is not False:
            log.warning(
                "shared admission: Redis at %s is unreachable (%s); each process applies the "
                "lanes' limits on its own until Redis answers again",
                self.where, type(exc).__name__,
            )  # fmt: skip
        self.shared = False
        self.gauge.set(0)

    def regained(self) -> None:
        if self.shared is not True:
            log.info("shared admission: Redis at %s answers; lanes' slots are shared", self.where)
        self.shared = self.answered = True
        self.gauge.set(1)
