"""The one owner of a stream once its 200 has gone out to the client.

It passes the relay's chunks through untouched and, exactly once however the stream ends (to
its end, failed upstream, cut by the client, or closed before it ever started), gives the lane's
slot back and reports how it ended. The relay only writes down what it finds (`Ending`); the
observers only read the `Finished` made from it.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import Protocol

from router.observe.exchange import Finished, Outcome


class Slot(Protocol):
    """A lane's place at its engine (router.dispatch.admission.Slot)."""

    def release(self) -> None: ...


@dataclass(slots=True)
class Ending:
    """How a committed stream is ending, as the relay finds out."""

    status: int = 200
    outcome: Outcome = Outcome.CLIENT_DISCONNECTED  # unless the relay gets to its end
    completion_text: str | None = None


class CommittedStream:
    """The relayed chunks and their one end, `aclose()`, which whoever sends the stream calls
    however the sending ends (router.stream.eventstream does, in a `finally`). Iterating hands
    out the relay's own generator: the owner adds nothing to the path of each chunk."""

    def __init__(
        self,
        events: AsyncGenerator[bytes, None],
        ending: Ending,
        on_done: Callable[[Finished], None],
    ) -> None:
        self.events, self.ending, self.on_done = events, ending, on_done
        self.slot: Slot | None = None
        self.cleanups: list[Callable[[], None]] = []
        self.closed = False

    def hold(self, slot: Slot) -> None:
        """The lane's slot, from the moment the stream's answer has one (queued: later)."""
        self.slot = slot

    def __aiter__(self) -> AsyncGenerator[bytes, None]:
        return self.events

    async def aclose(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            await self.events.aclose()  # the relay's own cleanup: the engine answer closes
        finally:
            for cleanup in self.cleanups:
                cleanup()
            if self.slot is not None:
                self.slot.release()
            end = self.ending
            self.on_done(Finished(end.status, end.outcome, end.completion_text))
