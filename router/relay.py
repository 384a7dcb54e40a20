"""Relaying an engine's answer to the client: bytes unchanged, each chunk as soon as it arrives."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
from starlette.responses import Response, StreamingResponse

from router.errors import RouterError, sse_error_event
from router.routing import Route
from router.upstream import HOP_BY_HOP, connection_tokens, upstream_errors

NOT_RELAYED = HOP_BY_HOP | {"content-length", "server", "date"}
STREAM_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


def route_headers(route: Route) -> dict[str, str]:
    return {"x-lane": route.lane, "x-route-reason": route.reason}


def relayed_headers(upstream: httpx.Response, route: Route) -> dict[str, str]:
    pairs = [(k.lower(), v) for k, v in upstream.headers.multi_items()]
    dropped = NOT_RELAYED | connection_tokens(pairs)
    headers = {k: v for k, v in pairs if k not in dropped}
    return headers | route_headers(route)


def is_event_stream(upstream: httpx.Response) -> bool:
    content_type: str = upstream.headers.get("content-type", "")
    return content_type.startswith("text/event-stream")


async def relay(upstream: httpx.Response, route: Route, base_url: str) -> Response:
    headers = relayed_headers(upstream, route)
    if is_event_stream(upstream):
        stream = relay_stream(upstream, route.lane, base_url)
        return StreamingResponse(stream, upstream.status_code, headers | STREAM_HEADERS)
    try:
        with upstream_errors(route.lane, base_url):
            body = b"".join([chunk async for chunk in upstream.aiter_raw()])
    finally:
        await upstream.aclose()
    return Response(body, upstream.status_code, headers)


async def relay_stream(upstream: httpx.Response, lane: str, base_url: str) -> AsyncIterator[bytes]:
    """Yield the engine's bytes as they come; a failure after the start ends in an SSE error."""
    try:
        with upstream_errors(lane, base_url):
            async for chunk in upstream.aiter_raw():
                yield chunk
    except RouterError as exc:
        # The 200 and part of the stream are gone already: end with a well-formed event.
        yield sse_error_event(exc)
    finally:
        # Also runs when the client disconnects: closing drops the engine connection at once,
        # which is what makes llama.cpp stop generating and free its slot.
        await upstream.aclose()
