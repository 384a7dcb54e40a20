"""Reading one engine answer: status and headers, then body bytes as each socket read brings
them, with first-byte and idle timeouts and back-pressure on a slow client."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httptools

from router.engine.wire import EngineConnection, Headers
from router.errors import Broken, TimedOut, Unanswered, WireError

# Above this much unread body the socket is paused, so a slow client holds the engine back
# instead of filling lanerouter's memory.
HIGH_WATER = 256 * 1024

GiveBack = Callable[[EngineConnection], None]


class Answer:
    """The engine's answer on one connection: status and headers, then body reads."""

    def __init__(self, conn: EngineConnection, give_back: GiveBack, idle_timeout: float) -> None:
        self.conn, self.give_back, self.idle_timeout = conn, give_back, idle_timeout
        self.loop = asyncio.get_running_loop()
        self.parser = httptools.HttpResponseParser(self)
        self.status = 0
        self.raw_headers: list[tuple[str, str]] = []
        self.headers = Headers(self.raw_headers)
        self.parts: list[bytes] = []
        self.buffered = 0
        self.paused = self.head_done = self.complete = self.released = self.keep_alive = False
        self.received_any = self.informational = False
        self.error: WireError | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.waiting_since = self.loop.time()
        self.timer: asyncio.TimerHandle | None = None
        self.span = idle_timeout
        conn.answer = self

    # llhttp callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self.raw_headers.append((name.decode("latin-1").lower(), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        if self.parser.get_status_code() < 200:  # "100 Continue" and the like: not the answer
            self.informational = True
            self.raw_headers.clear()
            return
        self.status = self.parser.get_status_code()
        # Asked now: llhttp forgets it once the message is complete.
        self.keep_alive = self.parser.should_keep_alive()
        self.head_done = True

    def on_body(self, body: bytes) -> None:
        self.parts.append(body)
        self.buffered += len(body)

    def on_message_complete(self) -> None:
        if self.informational:
            self.informational = False
        else:
            self.complete = True

    # from the connection
    def feed(self, data: bytes) -> None:
        self.received_any = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self.fail(Broken(f"malformed HTTP from the engine: {exc}"))
            self.conn.close()
            return
        if self.buffered > HIGH_WATER and not self.paused:
            self.paused = True
            self.conn.pause(True)
        self.wake()

    def lost(self, exc: Exception | None) -> None:
        if not self.complete:
            detail = f": {exc}" if exc else ""
            kind = Broken if self.received_any else Unanswered
            self.fail(kind(f"the engine closed the connection{detail}"))

    def fail(self, error: WireError) -> None:
        if self.error is None:
            self.error = error
        self.wake()

    def wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    # for the relay
    async def head(self, first_byte_timeout: float) -> None:
        """Wait for status and headers; from then on the timeout is the idle gap."""
        self.span = first_byte_timeout
        while not self.head_done:
            if self.error is not None:
                raise self.error
            await self.wait()
        self.span = self.idle_timeout
        if self.timer is not None:  # armed for the first byte: the next wait arms anew
            self.timer.cancel()
            self.timer = None

    async def read(self) -> bytes:
        """All body bytes that arrived since the last read (b"" at the end of the answer)."""
        while True:
            if self.parts:
                return self.take()
            if self.complete:
                self.release(reusable=self.keep_alive)
                return b""
            if self.error is not None:
                raise self.error
            await self.wait()

    def take(self) -> bytes:
        parts = self.parts
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        parts.clear()
        self.buffered = 0
        if self.paused:
            self.paused = False
            self.conn.pause(False)
        return data

    async def wait(self) -> None:
        # Silence counts from here: time the relay spent on a slow client is not the engine's.
        self.waiting_since = self.loop.time()
        self.waiter = self.loop.create_future()
        if self.timer is None:
            self.timer = self.loop.call_later(self.span, self.check_idle)
        try:
            await self.waiter
        finally:
            self.waiter = None

    def check_idle(self) -> None:
        # One timer per idle period rather than one per read: it re-arms for what is left.
        self.timer = None
        if self.waiter is None or self.waiter.done():  # not waiting, or woken already
            return
        idle = self.loop.time() - self.waiting_since
        if idle >= self.span:
            what = "the first byte" if not self.head_done else "the next chunk"
            self.fail(TimedOut(f"no answer within {self.span:g} s waiting for {what}"))
            self.conn.close()
        else:
            self.timer = self.loop.call_later(self.span - idle, self.check_idle)

    async def read_all(self) -> bytes:
        """The whole (rest of the) body."""
        parts = []
        try:
            while chunk := await self.read():
                parts.append(chunk)
        finally:
            self.close()
        return b"".join(parts)

    def close(self) -> None:
        """Done with the answer: an unfinished one drops the connection, which is what makes
        llama.cpp stop generating and free its slot. Not a coroutine, so that a cancellation
        (how a client's disconnect arrives) cannot cut it short."""
        self.release(reusable=False)

    def abort(self) -> None:
        """End it now, from outside (shutdown): the pending read fails at once."""
        self.conn.close()

    def release(self, reusable: bool) -> None:
        if self.released:
            return
        self.released = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.conn.answer = None
        done_cleanly = reusable and self.complete and self.error is None and not self.conn.closed
        if done_cleanly:
            self.give_back(self.conn)
        else:
            self.conn.close()
