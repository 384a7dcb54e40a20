"""The response that carries a relayed event stream: raw ASGI, one `send` per upstream read."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Mapping

from starlette.responses import Response
from starlette.types import Receive, Scope, Send


class EventStreamResponse(Response):
    """Like Starlette's StreamingResponse minus its per-response task group and per-chunk
    checks; a client that leaves cancels the relay, whose cleanup closes the engine stream."""

    # The request's disconnect watcher (`Incoming.gone`), set by `Front` before the call.
    gone: asyncio.Future[None] | None = None

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
        gone = self.gone
        assert gone is not None, "Front gives every stream its request's watcher"
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
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError:
            if not client_left:
                raise
            task.uncancel()  # the cancellation was ours: the client left, nothing to report
        finally:
            gone.remove_done_callback(on_gone)
            with contextlib.suppress(BaseException):
                await self.chunks.aclose()
