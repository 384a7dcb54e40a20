"""The response that carries a relayed event stream: raw ASGI, one `send` per upstream read."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Mapping
from typing import Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send


class EventStreamResponse(Response):
    """Like Starlette's StreamingResponse minus its per-response task group and per-chunk
    checks; a client that leaves cancels the relay, whose cleanup closes the engine stream."""

    def __init__(
        self, chunks: AsyncGenerator[bytes, None], status: int, headers: Mapping[str, str]
    ) -> None:
        self.chunks = chunks
        self.status_code = status
        self.background = None
        self.init_headers(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        task = asyncio.current_task()
        assert task is not None
        gone = asyncio.Event()
        watcher = asyncio.ensure_future(cancel_when_gone(receive, task, gone))
        try:
            await send({"type": "http.response.start", "status": self.status_code,
                        "headers": self.raw_headers})  # fmt: skip
            async for chunk in self.chunks:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            # Before the last send: completing the response wakes the watcher with a disconnect.
            watcher.cancel()
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError:
            if not gone.is_set():
                raise
            task.uncancel()  # the cancellation was ours: the client left, nothing to report
        finally:
            watcher.cancel()
            with contextlib.suppress(BaseException):
                await self.chunks.aclose()


async def cancel_when_gone(receive: Receive, task: asyncio.Task[Any], gone: asyncio.Event) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    gone.set()
    task.cancel()
