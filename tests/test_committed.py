"""A committed stream's one owner: whatever ends the stream, the lane's slot goes back and the
request is recorded exactly once, with what the relay found."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import pytest

from router.dispatch.admission import LaneGate, Slot
from router.observe.exchange import Finished, Outcome
from router.stream.committed import CommittedStream, Ending


class Broke(Exception):
    pass


async def relay(ending: Ending, fail: bool = False) -> AsyncGenerator[bytes, None]:
    yield b"data: 1\n\n"
    if fail:
        raise Broke
    yield b"data: 2\n\n"
    ending.outcome = Outcome.OK


def owned(fail: bool = False) -> tuple[CommittedStream, LaneGate, list[Finished]]:
    gate, ended, ending = LaneGate("chat", 1, 0, 1.0), [], Ending()
    stream = CommittedStream(relay(ending, fail), ending, ended.append)
    gate.free -= 1  # the slot the dispatch took
    stream.hold(Slot(gate))
    return stream, gate, ended


async def test_a_stream_read_to_its_end() -> None:
    stream, gate, ended = owned()
    assert [chunk async for chunk in stream] == [b"data: 1\n\n", b"data: 2\n\n"]
    assert (ended, gate.free) == ([], 0)  # nothing ends until its sender says so
    await stream.aclose()
    assert ended == [Finished(200, Outcome.OK)]
    assert gate.free == 1


async def test_a_stream_closed_before_it_began() -> None:
    stream, gate, ended = owned()
    cleaned: list[str] = []
    stream.cleanups.append(lambda: cleaned.append("dispatch given up"))
    await stream.aclose()
    await stream.aclose()
    assert ended == [Finished(200, Outcome.CLIENT_DISCONNECTED)]
    assert (gate.free, cleaned) == (1, ["dispatch given up"])


async def test_a_stream_the_client_leaves_halfway() -> None:
    stream, gate, ended = owned()
    assert await anext(aiter(stream)) == b"data: 1\n\n"
    await stream.aclose()
    assert ended == [Finished(200, Outcome.CLIENT_DISCONNECTED)]
    assert gate.free == 1


async def test_a_relay_that_fails() -> None:
    stream, gate, ended = owned(fail=True)
    with pytest.raises(Broke):
        async for _ in stream:
            pass
    await stream.aclose()
    assert ended == [Finished(200, Outcome.CLIENT_DISCONNECTED)]  # the relay never said it ended
    assert gate.free == 1
