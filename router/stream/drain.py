"""Graceful shutdown: stop taking requests, let streams run for a grace period, then end them
with a well-formed SSE error event instead of a cut connection."""

from __future__ import annotations

import asyncio
import logging

from router.engine.answer import Answer
from router.errors import RouterError, ShuttingDown

log = logging.getLogger("lanerouter")


class Drain:
    """Knows every engine response being relayed, so it can end them all at the deadline."""

    def __init__(self) -> None:
        self.active: set[Answer] = set()
        self.closing = False

    def add(self, response: Answer) -> None:
        self.active.add(response)

    def discard(self, response: Answer) -> None:
        self.active.discard(response)

    def begin(self, grace: float) -> None:
        """Called as the server stops accepting: in `grace` seconds, end what still runs."""
        log.info("shutting down: %d stream(s) may finish within %g s", len(self.active), grace)
        loop = asyncio.get_running_loop()
        loop.call_later(grace, lambda: loop.create_task(self.expire()))

    async def expire(self) -> None:
        self.closing = True
        for response in list(self.active):
            # Closing the engine's socket makes the pending read fail at once; the relay
            # turns that into the stream's last event.
            response.abort()

    def error_for(self, error: RouterError) -> RouterError:
        if self.closing:
            return ShuttingDown("lanerouter is shutting down; the answer was cut short")
        return error
