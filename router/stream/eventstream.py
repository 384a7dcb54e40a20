"""The response that carries a relayed event stream: raw ASGI, one `send` per upstream read."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Protocol

from starlette.responses import Response
from starlette.types import Receive, Scope, Send


class Chunks(Protocol):
    """A committed stream (router.stream.committed): its chunks, and its one end."""

    def __aiter__(self) -> AsyncIterator[bytes]: ...

    async def aclose(self) -> None: ...


class EventStreamResponse(Response):
    """Like Starlette's StreamingResponse minus its per-response task group and per-chunk
    checks. `gone` is the request's one disconnect watcher (`Incoming.gone`): a client that
    leaves cancels the relay, and the stream's end (`aclose`) closes the engine stream."""

    def __init__(
        self, chunks: Chunks, status: int, headers: Mapping[str, str], gone: asyncio.Future[None]
    ) -> None:
        self.chunks, self.gone = chunks, gone
        self.status_code = status
        self.background = None
        self.init_headers(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        task = asyncio.current_task()
        assert task is not None
        gone = self.gone
        client_left = False

        def on_gone(_: object) -> None:
            nonlocal client_left
            if not gone.cancelled():
                client_left = True
                task.cancel()

        gone.add_done_callback(on_gone)
        try:
            await send({"type": "http.response.start", "status": self.status_code,
                        "headers": self.raw_headers})  # fmt: skip
            async for chunk in self.chunks:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            # Before the last send: completing the response makes `receive` report a disconnect.
            gone.remove_done_callback(on_gone)
            # And the stream's end is recorded (log line, metrics) before the client sees it.
            await self.chunks.aclose()
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError:
            if not client_left:
                raise
            task.uncancel()  # the cancellation was ours: the client left, nothing to report
        finally:
            gone.remove_done_callback(on_gone)
            with contextlib.suppress(BaseException):
                await self.chunks.aclose()
