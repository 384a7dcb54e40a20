"""The SSE framer and decoder on every real engine stream captured in tests/captures/,
split at every byte offset: the events must come out the same however the bytes arrive."""

from __future__ import annotations

from pathlib import Path

import pytest
from captures import response_body, sse_captures

from router.errors import UpstreamError
from router.stream.sse import Event, EventSplitter, decode

CAPTURES = sse_captures()


def oracle(body: bytes) -> list[Event]:
    """A naive reading of an LF-only stream, independent of the code under test."""
    events = []
    for block in body.split(b"\n\n"):
        lines = block.decode().split("\n")
        data = [
            line[6:] if line.startswith("data: ") else line[5:]
            for line in lines
            if line.startswith("data:")
        ]
        names = [line[7:] for line in lines if line.startswith("event: ")]
        if data:
            events.append(Event(names[-1] if names else "message", "\n".join(data)))
    return events


def split_feed(body: bytes, *cuts: int) -> list[bytes]:
    splitter, blocks, start = EventSplitter(), [], 0
    for cut in (*cuts, len(body)):
        blocks += splitter.feed(body[start:cut])
        start = cut
    rest = splitter.flush()
    return blocks + ([rest] if rest else [])


def decoded(blocks: list[bytes]) -> list[Event]:
    return [e for e in map(decode, blocks) if e is not None]


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_split_gives_the_same_events(capture: Path) -> None:
    body = response_body(capture)
    whole = split_feed(body)
    assert b"".join(whole) == body  # nothing lost, nothing added
    assert [(e.name, e.data) for e in decoded(whole)] == [(e.name, e.data) for e in oracle(body)]
    for cut in range(1, len(body)):
        assert split_feed(body, cut) == whole, f"split at byte {cut}"


@pytest.mark.parametrize("ending", [b"\r\n", b"\r"], ids=["crlf", "cr"])
@pytest.mark.parametrize("capture", CAPTURES[::10], ids=lambda p: f"{p.parent.name}/{p.name}")
def test_other_line_endings_decode_the_same(capture: Path, ending: bytes) -> None:
    body = response_body(capture)
    converted = body.replace(b"\n", ending)
    expected = decoded(split_feed(body))
    assert decoded(split_feed(converted)) == expected
    for cut in range(1, len(converted), 7):
        assert decoded(split_feed(converted, cut)) == expected, f"split at byte {cut}"


def test_byte_at_a_time() -> None:
    body = response_body(CAPTURES[0])
    assert split_feed(body, *range(1, len(body))) == split_feed(body)


def test_an_event_ending_in_cr_is_whole_at_once() -> None:
    splitter = EventSplitter()
    assert splitter.feed(b"data: a\r\r") == [b"data: a\r\r"]  # not held for a possible LF
    assert splitter.feed(b"\ndata: b\r\n\r\n") == [b"\ndata: b\r\n\r\n"]
    assert [decode(b) for b in (b"data: a\r\r", b"\ndata: b\r\n\r\n")] == [
        Event("message", "a"),
        Event("message", "b"),
    ]


def test_comments_and_fields() -> None:
    [ping, event] = split_feed(b": ping\n\nevent: delta\ndata: a\ndata:b\nid: 7\n\n")
    assert decode(ping) is None
    assert decode(event) == Event("delta", "a\nb")


def test_a_big_event_in_many_reads_comes_out_whole() -> None:
    event = b"data: " + b"x" * 4_000_000 + b"\n\n"
    splitter = EventSplitter()
    reads = [event[i : i + 4096] for i in range(0, len(event), 4096)]
    out = [e for read in reads for e in splitter.feed(read)]
    assert out == [event] and splitter.flush() == b""


@pytest.mark.parametrize("line_end", [b"\n", b"\r\n"])
def test_an_engine_event_past_the_limit_is_refused(line_end: bytes) -> None:
    splitter = EventSplitter(max_event=10_000)
    with pytest.raises(UpstreamError, match="over 10000 bytes"):
        for _ in range(1000):  # single line ends, never a blank line
            splitter.feed(b"data: " + b"y" * 100 + line_end)
