"""A client's request as lanerouter reads it, straight off the ASGI scope (no framework objects
on the hot path), and the one watcher per request that notices the client leaving."""

from __future__ import annotations

import asyncio
import json
import zlib
from collections.abc import Awaitable
from typing import Any, TypeVar

from starlette.types import Receive, Scope

from router.errors import BadRequest, ClientGone, PayloadTooLarge, UnsupportedEncoding
from router.http.auth import ClientKey

CLIENT_KEY = "lanerouter.client_key"  # where the key guard leaves the request's client key

T = TypeVar("T")


class Incoming:
    def __init__(self, scope: Scope, receive: Receive) -> None:
        self.receive = receive
        # uvicorn hands header names lower-cased already.
        self.headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        self.query: str = scope.get("query_string", b"").decode("latin-1")
        self.key: ClientKey | None = scope.get(CLIENT_KEY)  # set by the key guard, if on
        self.watcher: asyncio.Future[None] | None = None

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k == name), None)

    async def json_object(self, limit: int, max_containers: int) -> dict[str, Any]:
        encoding = self.header("content-encoding")
        if (encoding or "identity").strip().lower() in ("", "identity"):
            raw = await self.body(limit, max_containers)  # counted as it arrives
        else:
            raw = decoded(await self.body(limit), encoding, limit)
            check_containers(raw.count(b"[") + raw.count(b"{"), max_containers)
        body = parse_json(raw)
        if not isinstance(body, dict):
            raise BadRequest("request body must be a JSON object", code="invalid_json")
        return body

    async def body(self, limit: int, max_containers: int | None = None) -> bytes:
        """The whole body, within `limit` bytes; with `max_containers`, refused as soon as it
        holds more "[" and "{" bytes than that (one read at a time, never all at once)."""
        declared = self.header("content-length") or ""
        if declared.isdigit() and int(declared) > limit:
            raise too_large(limit)
        chunks: list[bytes] = []
        size, containers, more = 0, 0, True
        while more:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                raise ClientGone("the client disconnected while sending its request")
            chunk, more = message.get("body", b""), message.get("more_body", False)
            size += len(chunk)
            if size > limit:
                raise too_large(limit)
            if max_containers is not None:
                containers += chunk.count(b"[") + chunk.count(b"{")
                check_containers(containers, max_containers)
            chunks.append(chunk)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def gone(self) -> asyncio.Future[None]:
        """Done when the client disconnects. One watcher, started on first use and shared by
        whoever waits (a queue, the engine's first byte, the stream), as only one may read."""
        if self.watcher is None:
            self.watcher = asyncio.ensure_future(self.until_disconnect())
        return self.watcher

    async def until_disconnect(self) -> None:
        while (await self.receive())["type"] != "http.disconnect":
            pass

    def close(self) -> None:
        if self.watcher is not None:
            self.watcher.cancel()


def check_containers(counted: int, max_containers: int) -> None:
    """A body of millions of tiny arrays (30 MB of `[],` takes seconds to parse, on the loop
    every stream shares) is refused before parsing, by its bracket bytes counted at memchr
    speed; brackets inside strings count too, so the bound is generous."""
    if counted > max_containers:
        raise BadRequest(
            f"request body holds over {max_containers} JSON arrays and objects "
            "(server.max_json_containers)",
            code="body_too_complex",
        )


def parse_json(raw: bytes) -> Any:
    """JSON as RFC 8259 has it: NaN and Infinity, which Python would accept, are refused (an
    engine could not read them back), as are numbers too long to convert and nesting too deep to
    parse; each a 400 that names what is wrong."""
    try:
        return json.loads(raw, parse_constant=not_json)
    except RecursionError:
        raise BadRequest("request body is nested too deeply", code="invalid_json") from None
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError, too many digits
        raise BadRequest(f"request body is not valid JSON: {exc}", code="invalid_json") from None


def not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON number")


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"request body is larger than the limit of {limit} bytes")


async def watch(incoming: Incoming, work: Awaitable[T]) -> T:
    """Await `work`, but give it up as soon as the client disconnects."""
    task = asyncio.ensure_future(work)
    if not task.done():
        waits: set[asyncio.Future[Any]] = {task, incoming.gone()}
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    if not task.done():
        task.cancel()
        raise ClientGone("the client disconnected")
    return task.result()


# Content-Encoding -> the zlib window bits to try: gzip framing; zlib framing, then raw
# deflate (which some clients send as "deflate").
WBITS = {"gzip": (31,), "x-gzip": (31,), "deflate": (15, -15)}


def decoded(raw: bytes, encoding: str | None, limit: int) -> bytes:
    """A compressed request body, decoded; the body limit applies to the decoded size, so a
    small bomb cannot unpack into gigabytes (decoding stops one byte past the limit)."""
    name = (encoding or "identity").strip().lower()
    if name in ("", "identity"):
        return raw
    if name not in WBITS:
        raise UnsupportedEncoding(
            f"Content-Encoding {encoding!r} is not supported; send gzip, deflate or none"
        )
    for wbits in WBITS[name]:
        try:
            body = zlib.decompressobj(wbits).decompress(raw, limit + 1)
        except zlib.error:
            continue
        if len(body) > limit:
            raise too_large(limit)
        return body
    raise BadRequest(f"request body is not valid {name}", code="invalid_body")
