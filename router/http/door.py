"""Limits at the door, below the ASGI app: uvicorn's HTTP/1.1 protocol (httptools) with a cap
on the request head's size and header count (431), and deadlines for receiving the head and
the body (408), so that slow or endless senders are closed instead of held. Idle keep-alive
and the number of open connections are uvicorn's own settings (`door_options`)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from router.config import ServerConfig
from router.errors import Refused

REASONS = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}
# After a refusal the client may still be sending; closing then would make the kernel answer
# its next bytes with a reset, which can destroy the refusal before the client reads it. So,
# as nginx's lingering close does, send FIN after the answer and read (and drop) what still
# comes for a while: the client closes once it has read the answer.
LINGER_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class DoorLimits:
    max_head_bytes: int
    max_headers: int
    head_timeout: float
    body_timeout: float


class Door(HttpToolsProtocol):
    limits: DoorLimits  # set on the subclass `door_protocol` makes

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.head_bytes = self.headers_seen = 0
        self.tail = b""  # the last bytes of the head so far, where its blank line may begin
        self.in_head, self.refusal, self.lingering = True, 0, False
        self.deadline: asyncio.TimerHandle | None = None
        self.arm(self.limits.head_timeout)

    def arm(self, seconds: float) -> None:
        self.disarm()
        self.deadline = self.loop.call_later(seconds, self.too_slow)

    def disarm(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    def too_slow(self) -> None:
        self.deadline = None
        started = self.cycle is not None and self.cycle.response_started
        self.refuse(408 if not started else 0, b"the request did not arrive in time")

    def refuse(self, status: int, message: bytes) -> None:
        if status and not self.transport.is_closing():
            head = b"HTTP/1.1 %d %s\r\ncontent-type: text/plain\r\ncontent-length: %d\r\n" % (
                status, REASONS[status], len(message))  # fmt: skip
            self.transport.write(head + b"connection: close\r\n\r\n" + message)
        if not status or self.lingering or self.transport.is_closing():
            self.transport.close()
            return
        self.lingering = True
        self.transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)

    def data_received(self, data: bytes) -> None:
        if self.lingering:
            return  # refused: what still comes is read only so that it causes no reset
        if self.in_head:
            # Only the head counts: a read may bring the head and the start of the body.
            end = (self.tail + data).find(b"\r\n\r\n")
            self.head_bytes += len(data) if end < 0 else end + 4 - len(self.tail)
            self.tail = data[-3:]
            if self.head_bytes > self.limits.max_head_bytes:
                self.refuse(431, b"the request head is too large")
                return
        super().data_received(data)
        if self.refusal:  # a callback below stopped the parser at a limit
            self.refuse(self.refusal, b"too many request headers")

    def send_400_response(self, msg: str) -> None:
        if not self.refusal:  # the parser error was ours: refused above instead
            super().send_400_response(msg)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.in_head, self.headers_seen = True, 0
        if self.deadline is None:
            self.arm(self.limits.head_timeout)

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers_seen += 1
        if self.headers_seen > self.limits.max_headers:
            self.refusal = 431
            raise Refused
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self.in_head, self.head_bytes, self.tail = False, 0, b""
        self.arm(self.limits.body_timeout)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self.disarm()
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self.disarm()
        super().connection_lost(exc)


def door_protocol(limits: DoorLimits) -> type[Door]:
    return type("LimitedDoor", (Door,), {"limits": limits})


def door_options(server: ServerConfig) -> dict[str, Any]:
    """uvicorn.Config options for lanerouter's own listening socket."""
    limits = DoorLimits(server.max_head_bytes, server.max_headers, server.head_timeout,
                        server.body_timeout)  # fmt: skip
    return {
        "http": door_protocol(limits),
        "timeout_keep_alive": server.keepalive_timeout,
        "limit_concurrency": server.max_connections,
    }
