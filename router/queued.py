"""A streaming request that waits for a slot: keepalive comments, and giving up its place."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from router.dispatch import Opened

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
