"""Waiting for an engine's next bytes, with a deadline for each silent period.

One timer per silent period rather than one per read: it re-arms for whatever is left of the
span when it fires early. Silence counts from the moment the reader starts waiting, so time
the relay spent on a slow client is not charged to the engine.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class Silence:
    def __init__(self, span: float, timed_out: Callable[[float], None]) -> None:
        self.loop = asyncio.get_running_loop()
        self.span, self.timed_out = span, timed_out
        self.waiter: asyncio.Future[None] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.since = self.loop.time()

    async def wait(self) -> None:
        """Until `wake()`, or until `span` seconds pass without it (then `timed_out(span)`)."""
        self.since = self.loop.time()
        self.waiter = self.loop.create_future()
        if self.timer is None:
            self.timer = self.loop.call_later(self.span, self.check)
        try:
            await self.waiter
        finally:
            self.waiter = None

    def wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def rearm(self, span: float) -> None:
        """A new span from the next wait on (the first byte's deadline gives way to the gap's)."""
        self.span = span
        self.stop()

    def stop(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def check(self) -> None:
        self.timer = None
        if self.waiter is None or self.waiter.done():  # not waiting, or woken already
            return
        silent = self.loop.time() - self.since
        if silent >= self.span:
            self.timed_out(self.span)
        else:
            self.timer = self.loop.call_later(self.span - silent, self.check)
