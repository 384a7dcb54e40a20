"""Noticing a client that left while lanerouter waits (for a slot, an engine, a whole body)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from starlette.requests import Request

from router.errors import ClientGone

T = TypeVar("T")


async def watch(request: Request, work: Awaitable[T]) -> T:
    """Await `work`, but give it up as soon as the client disconnects."""
    task = asyncio.ensure_future(work)
    if task.done():
        return task.result()  # nothing to wait for: no listener task needed
    gone = asyncio.ensure_future(disconnected(request))
    try:
        await asyncio.wait({task, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
    if not task.done():
        task.cancel()
        raise ClientGone("the client disconnected")
    return task.result()


async def disconnected(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass
