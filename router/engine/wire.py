"""HTTP/1.1 to an engine on the hot path: the connection, the errors, the headers.

httpx/httpcore spent about 25 us per relayed chunk (h11 parsing each chunk in Python, a cancel
scope around every read). This layer (with `answer` and `enginepool`) lets llhttp (httptools,
which uvicorn already uses) parse in C, and hands all that one socket read held to the relay as
one piece, however many chunks it carried: the engine's own pacing is kept, and a busy relay
pays per read, not per token.
"""

from __future__ import annotations

import asyncio
from typing import Protocol, cast


class Headers:
    """The few header lookups the relay needs, on the engine's list (names lower-cased)."""

    def __init__(self, raw: list[tuple[str, str]]) -> None:
        self.raw = raw

    def get(self, name: str, default: str = "") -> str:
        return next((v for k, v in self.raw if k == name), default)

    def items(self) -> list[tuple[str, str]]:
        return self.raw


class Receiver(Protocol):
    """What reads one answer off a connection (`answer.Answer`)."""

    def feed(self, data: bytes) -> None: ...

    def lost(self, exc: Exception | None) -> None: ...


class EngineConnection(asyncio.Protocol):
    """One keep-alive connection; it serves one answer at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.answer: Receiver | None = None
        self.closed = False
        self.aborted = False  # closed by lanerouter, not by the engine
        self.idle_since = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        if self.answer is None:  # bytes nobody asked for: the connection cannot be trusted
            self.close()
        else:
            self.answer.feed(data)

    def eof_received(self) -> bool:
        return False  # let the transport close; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.answer is not None:
            self.answer.lost(exc)

    def close(self) -> None:
        # abort, not close: nothing is left to send, and a TLS close would first wait for the
        # engine's close_notify (an unfinished answer must be dropped at once, and at shutdown
        # the loop may be gone before that exchange ends).
        self.closed = self.aborted = True
        if self.transport is not None:
            self.transport.abort()

    def pause(self, paused: bool) -> None:
        if self.transport is not None and not self.closed:
            (self.transport.pause_reading if paused else self.transport.resume_reading)()


def close_delimited(status: int, headers: list[tuple[str, str]]) -> bool:
    """A body with neither a length nor chunks ends when the engine closes (RFC 9112 6.3)."""
    names = {name for name, _ in headers}
    framed = "content-length" in names or "transfer-encoding" in names
    return not framed and status not in (204, 304)
