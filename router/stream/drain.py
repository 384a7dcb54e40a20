"""Graceful shutdown: stop taking requests, let what runs finish for a grace period, then end
the rest, each in its own shape: a stream with one SSE error event, a request still waiting
for a slot or for the engine's first byte with a `shutting_down` error (JSON, or an SSE event
when its stream was already committed). No queued request starts after the deadline."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from router.engine.answer import Answer
from router.errors import RouterError, ShuttingDown

log = logging.getLogger("lanerouter")


class Drain:
    """Knows every engine response being relayed, so it can end them all at the deadline."""

    def __init__(self) -> None:
        self.active: set[Answer] = set()
        self.waiting: set[asyncio.Future[Any]] = set()  # dispatches not yet answered
        self.closing = False
        self.draining = False  # set as the server stops accepting; closing at the deadline

    def track(self, dispatching: asyncio.Future[Any]) -> None:
        """A request on its way to a lane (queued, or waiting for the engine's first byte)."""
        self.waiting.add(dispatching)
        dispatching.add_done_callback(self.waiting.discard)

    def add(self, response: Answer) -> None:
        self.active.add(response)

    def discard(self, response: Answer) -> None:
        self.active.discard(response)

    def begin(self, grace: float) -> None:
        """Called as the server stops accepting: in `grace` seconds, end what still runs."""
        self.draining = True
        log.info("shutting down: %d stream(s) may finish within %g s", len(self.active), grace)
        loop = asyncio.get_running_loop()
        loop.call_later(grace, lambda: loop.create_task(self.expire()))

    async def expire(self) -> None:
        self.closing = True
        for dispatching in list(self.waiting):
            dispatching.cancel()  # its owner answers `shutting_down` (see `cut_short`)
        for response in list(self.active):
            # Closing the engine's socket makes the pending read fail at once; the relay
            # turns that into the stream's last event.
            response.abort()

    def error_for(self, error: RouterError) -> RouterError:
        if self.closing:
            return ShuttingDown("lanerouter is shutting down; the answer was cut short")
        return error


def cut_short(dispatching: asyncio.Future[Any]) -> ShuttingDown | None:
    """The error for a request whose dispatch the drain cancelled; None when the cancellation
    is the request's own (its client left)."""
    task = asyncio.current_task()
    if dispatching.cancelled() and not (task and task.cancelling()):
        return ShuttingDown("lanerouter is shutting down; the request did not reach a lane")
    return None
