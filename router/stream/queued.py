"""A streaming request that waits for a slot: keepalive comments, and giving up its place."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any, TypeVar

from router.errors import RouterError, sse_error_event
from router.observe.exchange import outcome_for_status
from router.stream.committed import Ending
from router.stream.drain import cut_short

QUEUED = b": queued\n\n"
Opened = TypeVar("Opened")  # what the dispatch hands over once a lane has taken the request


async def keepalive_until(dispatching: asyncio.Future[Any], every: float) -> AsyncIterator[bytes]:
    """`: queued` comments, one now and one per interval, until the dispatch is done."""
    yield QUEUED
    while not (await asyncio.wait({dispatching}, timeout=every))[0]:
        yield QUEUED


async def wait_then_relay(
    dispatching: asyncio.Future[Opened],
    every: float,
    ending: Ending,
    relay: Callable[[Opened], AsyncGenerator[bytes, None]],
    abandon: Callable[[asyncio.Future[Opened]], None],
) -> AsyncGenerator[bytes, None]:
    """The committed stream of a queued request: keepalives, then the engine's events (or an
    SSE error when no lane took it). `abandon` gives up the dispatch when the client leaves."""
    try:
        async for comment in keepalive_until(dispatching, every):
            yield comment
        opened = dispatching.result()
    except RouterError as exc:
        ending.status, ending.outcome = exc.status, outcome_for_status(exc.status)
        yield sse_error_event(exc)
        return
    except asyncio.CancelledError:
        if error := cut_short(dispatching):  # the drain ended it at its deadline
            ending.status, ending.outcome = error.status, outcome_for_status(error.status)
            yield sse_error_event(error)
            return
        abandon(dispatching)  # the client left while queued: give up the place in line
        raise
    except BaseException:
        abandon(dispatching)
        raise
    async with contextlib.aclosing(relay(opened)) as events:
        async for chunk in events:
            yield chunk
