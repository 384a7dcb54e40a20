"""Reading one engine answer: status and headers, then body bytes as each socket read brings
them, with first-byte and idle timeouts and back-pressure on a slow client. Its phases are a
checked state machine (router.engine.phase). Bytes after the end of the answer (an engine
writing a second response on the connection) never reach the client: the connection closes."""

from __future__ import annotations

from collections.abc import Callable

import httptools

from router.engine.phase import UNFINISHED, Phase, advance
from router.engine.silence import Silence
from router.engine.wire import EngineConnection, Headers, close_delimited
from router.errors import Broken, TimedOut, Trailing, Unanswered, WireError

# Above this much unread body the socket is paused, so a slow client holds the engine back
# instead of filling lanerouter's memory.
HIGH_WATER = 256 * 1024
# Real engines answer with a few hundred bytes of status line and headers.
MAX_HEAD_BYTES = 64 * 1024

GiveBack = Callable[[EngineConnection], None]


class Answer:
    """The engine's answer on one connection: status and headers, then body reads."""

    def __init__(self, conn: EngineConnection, give_back: GiveBack, idle_timeout: float) -> None:
        self.conn, self.give_back, self.idle_timeout = conn, give_back, idle_timeout
        self.silence = Silence(idle_timeout, self.timed_out)
        self.parser = httptools.HttpResponseParser(self)
        self.status = 0
        self.raw_headers: list[tuple[str, str]] = []
        self.headers = Headers(self.raw_headers)
        self.parts: list[bytes] = []
        self.buffered = self.head_bytes = 0
        self.phase = Phase.HEAD
        self.paused = self.keep_alive = self.received_any = self.informational = False
        self.until_close = False  # the body ends when the engine closes the connection
        self.error: WireError | None = None  # set as the answer becomes FAILED
        conn.answer = self

    # llhttp callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self.raw_headers.append((name.decode("latin-1").lower(), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        if self.phase is not Phase.HEAD:
            raise Trailing  # a second response on the connection
        if self.parser.get_status_code() < 200:  # "100 Continue" and the like: not the answer
            self.informational = True
            self.raw_headers.clear()
            return
        self.status = self.parser.get_status_code()
        # Asked now: llhttp forgets it once the message is complete.
        self.keep_alive = self.parser.should_keep_alive()
        self.until_close = close_delimited(self.status, self.raw_headers)
        self.phase = advance(self.phase, Phase.BODY)

    def on_body(self, body: bytes) -> None:
        self.parts.append(body)
        self.buffered += len(body)

    def on_message_complete(self) -> None:
        if self.informational:
            self.informational = False
        else:
            self.phase = advance(self.phase, Phase.COMPLETE)

    # from the connection
    def feed(self, data: bytes) -> None:
        self.received_any = True
        if self.phase not in UNFINISHED:
            self.conn.close()  # bytes past the end of the answer: the connection is not sound
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            if not isinstance(exc.__context__, Trailing):
                self.fail(Broken(f"malformed HTTP from the engine: {exc}"))
            self.conn.close()
            return
        if self.phase is Phase.HEAD:
            self.head_bytes += len(data)
            if self.head_bytes > MAX_HEAD_BYTES:
                self.fail(Broken(f"the engine's response head is over {MAX_HEAD_BYTES} bytes"))
                self.conn.close()
                return
        if self.buffered > HIGH_WATER and not self.paused:
            self.paused = True
            self.conn.pause(True)
        self.silence.wake()

    def lost(self, exc: Exception | None) -> None:
        if self.phase is Phase.BODY and self.until_close and not (exc or self.conn.aborted):
            self.phase = advance(self.phase, Phase.COMPLETE)  # its end, not a failure
            self.silence.wake()
            return
        detail = f": {exc}" if exc else ""
        kind = Broken if self.received_any else Unanswered
        self.fail(kind(f"the engine closed the connection{detail}"))

    def fail(self, error: WireError) -> None:
        """The first failure of an unfinished answer wins; after its end nothing can fail it."""
        if self.phase in UNFINISHED:
            self.phase, self.error = advance(self.phase, Phase.FAILED), error
        self.silence.wake()

    def timed_out(self, span: float) -> None:
        what = "the first byte" if self.phase is Phase.HEAD else "the next chunk"
        self.fail(TimedOut(f"no answer within {span:g} s waiting for {what}"))
        self.conn.close()

    # for the relay
    async def head(self, first_byte_timeout: float) -> None:
        """Wait for status and headers; from then on the timeout is the idle gap."""
        self.silence.rearm(first_byte_timeout)
        while self.phase is Phase.HEAD:
            await self.silence.wait()
        if self.error is not None:
            raise self.error
        if self.phase is Phase.RELEASED:
            raise Broken("the answer was closed before its head arrived")
        self.silence.rearm(self.idle_timeout)

    async def read(self) -> bytes:
        """All body bytes that arrived since the last read (b"" at the end of the answer)."""
        while True:
            if self.phase is Phase.COMPLETE:
                # Back in the pool before the relay writes the last bytes to the client, who
                # may send its next request the moment it has them.
                body = self.take()  # b"" once they have all been read
                self.release(reusable=self.keep_alive)
                return body
            if self.parts:
                return self.take()
            if self.error is not None:
                raise self.error
            if self.phase is Phase.RELEASED:
                return b""  # closed by its reader: nothing more will come
            await self.silence.wait()

    def take(self) -> bytes:
        parts = self.parts
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        parts.clear()
        self.buffered = 0
        if self.paused:
            self.paused = False
            self.conn.pause(False)
        return data

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
        if self.phase is Phase.RELEASED:
            return  # closing is safe to repeat: every path out of a relay closes its answer
        complete = self.phase is Phase.COMPLETE
        self.phase = advance(self.phase, Phase.RELEASED)
        self.silence.stop()
        self.conn.answer = None
        done_cleanly = reusable and complete and not self.conn.closed
        if done_cleanly:
            self.give_back(self.conn)
        else:
            self.conn.close()
