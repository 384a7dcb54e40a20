"""A streaming request that waits for a slot: keepalive comments, and giving up its place."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable

from router.dispatch.dispatcher import Opened
from router.errors import RouterError, sse_error_event
from router.observe.exchange import Exchange, Observer, Outcome, outcome_for_status

QUEUED = b": queued\n\n"
Dispatching = asyncio.Future[tuple[Opened, float]]


async def keepalive_until(dispatching: Dispatching, every: float) -> AsyncIterator[bytes]:
    """`: queued` comments, one now and one per interval, until the dispatch is done."""
    yield QUEUED
    while not (await asyncio.wait({dispatching}, timeout=every))[0]:
        yield QUEUED


def abandon(dispatching: Dispatching) -> None:
    """Stop a dispatch nobody waits for; if it got through already, undo that."""
    if not dispatching.done():
        dispatching.cancel()
        return
    if dispatching.cancelled() or dispatching.exception() is not None:
        return
    opened, _ = dispatching.result()
    opened.gate.leave()
    opened.response.close()


async def wait_then_relay(
    dispatching: Dispatching,
    every: float,
    exchange: Exchange,
    observer: Observer,
    relay: Callable[[Opened, float], AsyncGenerator[bytes, None]],
) -> AsyncGenerator[bytes, None]:
    """The committed stream of a queued request: keepalives, then the engine's events (or an
    SSE error when no lane took it)."""
    try:
        async for comment in keepalive_until(dispatching, every):
            yield comment
        opened, waited = dispatching.result()
    except RouterError as exc:
        exchange.status, exchange.outcome = exc.status, outcome_for_status(exc.status)
        observer.done(exchange)
        yield sse_error_event(exc)
        return
    except BaseException:  # the client left while queued: give up the place in line
        abandon(dispatching)
        exchange.outcome = Outcome.CLIENT_DISCONNECTED
        observer.done(exchange)
        raise
    async for chunk in relay(opened, waited):
        yield chunk
