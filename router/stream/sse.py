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

# A line terminator followed by another one is a blank line, i.e. the end of an event. The
# atomic groups stop "\r\n" alone from being read as the two terminators "\r" then "\n".
BLANK_LINE = re.compile(rb"(?>\r\n|\r|\n)(?>\r\n|\r|\n)")
LINE_END = re.compile(rb"\r\n|\r|\n")


class EventSplitter:
    """Feeds on network chunks; returns each complete event block with its terminator."""

    def __init__(self) -> None:
        self.pending = b""
        self.crlf = False  # once a CR is seen, the slower spec-complete search is used

    def feed(self, chunk: bytes) -> list[bytes]:
        data = self.pending + chunk if self.pending else chunk
        self.crlf = self.crlf or b"\r" in chunk
        if self.crlf:
            return self._split_any(data)
        if data.endswith(b"\n\n") and data.find(b"\n\n") == len(data) - 2:
            self.pending = b""
            return [data]  # the hot path: exactly one whole event, no copy
        events, start = [], 0
        end = data.find(b"\n\n")
        while end != -1:
            events.append(data[start : end + 2])
            start = end + 2
            end = data.find(b"\n\n", start)
        self.pending = data[start:]
        return events

    def _split_any(self, data: bytes) -> list[bytes]:
        # An event is whole at its blank line, even when that ends in a CR whose LF may still be
        # in flight: such an LF then starts the next block as an empty line, which decodes to
        # nothing and is forwarded with it, so no byte is lost and no event waits for a read.
        events, start = [], 0
        for match in BLANK_LINE.finditer(data):
            events.append(data[start : match.end()])
            start = match.end()
        self.pending = data[start:]
        return events

    def flush(self) -> bytes:
        """Whatever is left once the stream ended (an unterminated last event)."""
        rest, self.pending = self.pending, b""
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
