"""Incremental Server-Sent Events framing and decoding, pure: bytes in, events out.

`EventSplitter` cuts a byte stream into raw event blocks without copying in the common case (one
event per network read), so the relay can forward exact bytes. `decode` turns one block into
fields per the HTML spec (https://html.spec.whatwg.org/multipage/server-sent-events.html):
lines end in CRLF, LF or CR; an event ends at a blank line; `data` lines join with LF; one
space after the colon is dropped; lines starting with ":" are comments (pings).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from router.errors import UpstreamError

# A line terminator followed by another one is a blank line, i.e. the end of an event. The
# atomic groups stop "\r\n" alone from being read as the two terminators "\r" then "\n".
BLANK_LINE = re.compile(rb"(?>\r\n|\r|\n)(?>\r\n|\r|\n)")
LINE_END = re.compile(rb"\r\n|\r|\n")
# Far above any real event (a token, a tool call's delta, a usage report); an engine that sends
# more without ending the event is broken, and holding it would only grow lanerouter's memory.
MAX_EVENT_BYTES = 8 * 1024 * 1024
TAIL = 3  # bytes of an unfinished event a blank line may begin in ("\r\n\r" + "\n")


class EventSplitter:
    """Feeds on network chunks; returns each complete event block with its terminator. An
    event that arrives in many reads is kept as its parts and searched only where its end can
    be (the new read and the few bytes before it), so its cost is linear in its size."""

    def __init__(self, max_event: int = MAX_EVENT_BYTES) -> None:
        self.parts: list[bytes] = []  # the unfinished event, as it arrived
        self.tail = b""  # its last few bytes, where a blank line may have begun
        self.size = 0
        self.max_event = max_event
        self.crlf = False  # once a CR is seen, the slower spec-complete search is used

    def feed(self, chunk: bytes) -> list[bytes]:
        self.crlf = self.crlf or b"\r" in chunk
        if self.parts:
            if not self.ends_in(self.tail + chunk):
                self.keep(chunk)
                return []
            self.parts.append(chunk)
            chunk, self.parts, self.size, self.tail = b"".join(self.parts), [], 0, b""
        events, rest = self._split_any(chunk) if self.crlf else self.split(chunk)
        if rest:
            self.keep(rest)
        return events

    def ends_in(self, window: bytes) -> bool:
        if self.crlf:
            return BLANK_LINE.search(window) is not None
        return window.find(b"\n\n") >= 0

    def keep(self, part: bytes) -> None:
        self.parts.append(part)
        self.size += len(part)
        self.tail = (self.tail + part[-TAIL:])[-TAIL:]
        if self.size > self.max_event:
            raise UpstreamError(
                f"the engine sent an event of over {self.max_event} bytes without ending it"
            )

    @staticmethod
    def split(data: bytes) -> tuple[list[bytes], bytes]:
        if data.endswith(b"\n\n") and data.find(b"\n\n") == len(data) - 2:
            return [data], b""  # the hot path: exactly one whole event, no copy
        events, start = [], 0
        end = data.find(b"\n\n")
        while end != -1:
            events.append(data[start : end + 2])
            start = end + 2
            end = data.find(b"\n\n", start)
        return events, data[start:]

    @staticmethod
    def _split_any(data: bytes) -> tuple[list[bytes], bytes]:
        # An event is whole at its blank line, even when that ends in a CR whose LF may still be
        # in flight: such an LF then starts the next block as an empty line, which decodes to
        # nothing and is forwarded with it, so no byte is lost and no event waits for a read.
        events, start = [], 0
        for match in BLANK_LINE.finditer(data):
            events.append(data[start : match.end()])
            start = match.end()
        return events, data[start:]

    def flush(self) -> bytes:
        """Whatever is left once the stream ended (an unterminated last event)."""
        rest = b"".join(self.parts)
        self.parts, self.size, self.tail = [], 0, b""
        return rest


@dataclass(frozen=True, slots=True)
class Event:
    name: str  # "message" when the block has no `event:` line
    data: str
    comments: tuple[str, ...] = ()


def decode(block: bytes) -> Event | None:
    """Decode one event block; None when it carries no data (a ping or a blank block)."""
    name, data, comments = "message", [], []
    for raw in LINE_END.split(block):
        line = raw.decode("utf-8", "replace")
        if not line:
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if not field:
            comments.append(value)
        elif field == "event":
            name = value
        elif field == "data":
            data.append(value)
    if not data:
        return None
    return Event(name=name, data="\n".join(data), comments=tuple(comments))
