"""The few raw-ASGI helpers the simulated engine needs (a framework would cost more per token)."""

from __future__ import annotations

import json
from typing import Any

Receive = Any
Send = Any
Dialect = str


async def wait_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def read_body(receive: Receive) -> bytes:
    chunks, more = [], True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks)


def parse_json(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def error(message: str, type_: str, code: int) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "type": type_}}


def stream_headers() -> list[tuple[bytes, bytes]]:
    return [(b"content-type", b"text/event-stream"), (b"x-accel-buffering", b"no")]


async def send_start(send: Send, status: int, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})


async def send_json(send: Send, status: int, body: object, *, raw: bytes | None = None) -> None:
    data = raw if raw is not None else json.dumps(body, separators=(",", ":")).encode()
    headers = [(b"content-type", b"application/json; charset=utf-8")]
    headers.append((b"content-length", str(len(data)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


async def send_health(send: Send, dialect: Dialect) -> None:
    if dialect == "vllm":
        await send_json(send, 200, None, raw=b"")
    elif dialect == "ik_llamacpp":
        await send_json(send, 200, {"status": "ok", "slots_idle": 1, "slots_processing": 0})
    else:
        await send_json(send, 200, {"status": "ok"})
