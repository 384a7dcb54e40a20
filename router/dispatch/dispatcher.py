"""Getting a request to an engine that answers: queue, retries, failover, all before commit.

For each candidate lane in order: skip it if it is known `down` or `loading`; wait for a slot
(queue full or too long: next lane); send, with retries on the lane (`attempts`); give up on
the lane after its `retries` and move to the next. Nothing here runs
once the engine's answer has started to reach the client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from router.config import LaneConfig
from router.decide.bodies import Outgoing
from router.decide.budget import Cap
from router.decide.candidates import Candidate
from router.decide.refusal import PromptCount
from router.dispatch.admission import Gate, Slot
from router.dispatch.attempts import DispatchEvents, LaneAttempts
from router.dispatch.lanestate import LaneStates
from router.engine.answer import Answer
from router.engine.upstream import Upstreams
from router.errors import (
    ContextTooLong,
    Failure,
    LaneFailed,
    LaneUnavailable,
    LaneUnreachable,
    PromptRefused,
    Rejected,
    RouterError,
)


class Bodies(Protocol):
    """What each lane is sent (router.decide.bodies builds it)."""

    cap: Cap | None  # the output cap in the body built last

    def outgoing(self, lane: str) -> Outgoing: ...  # ContextTooLong: it does not fit there

    def counted(self, lane: str, count: PromptCount) -> None: ...


@dataclass(slots=True)
class QueueSpot:
    lane: str | None = None  # the lane whose queue the request waits in, if it waits
    seconds: float = 0.0  # time spent waiting in lane queues so far


@dataclass(frozen=True, slots=True)
class Opened:
    lane: str
    reason: str
    response: Answer
    slot: Slot  # the lane's place at its engine: whoever relays the answer gives it back
    cap: Cap | None  # the output cap the answering lane was sent, if any


class Dispatcher:
    def __init__(
        self,
        lanes: dict[str, LaneConfig],
        upstreams: Upstreams,
        states: LaneStates,
        gates: Mapping[str, Gate],
        events: DispatchEvents,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.lanes, self.states, self.gates = lanes, states, gates
        self.events, self.clock = events, clock
        self.attempts = LaneAttempts(lanes, upstreams, states, events, sleep)

    async def open(
        self, candidates: Sequence[Candidate], bodies: Bodies, queue: QueueSpot | None = None
    ) -> tuple[Opened, float]:
        """The first lane that answers, and the seconds spent waiting in lane queues.

        `queue` tells the caller, while it waits, in which lane's queue the request stands.
        """
        spot = queue or QueueSpot()
        failure: Failure | None = None
        for index, candidate in enumerate(candidates):
            if failure is not None:
                self.events.failed_over(candidates[index - 1].lane, candidate.lane, failure.cause)
            try:
                return await self.try_lane(candidate, bodies, spot), spot.seconds
            except LaneFailed as failed:
                failure = failed.failure
        assert failure is not None
        raise failure.error

    async def try_lane(self, candidate: Candidate, bodies: Bodies, spot: QueueSpot) -> Opened:
        """Open the request on one lane, or raise LaneFailed saying why not."""
        lane, gate = candidate.lane, self.gates[candidate.lane]
        if not self.states.usable(lane):
            raise LaneFailed(Failure(self.states.state(lane), self.unusable(lane)))
        outgoing = self.outgoing(bodies, lane)
        slot = await self.enter(gate, spot)
        try:
            response = await self.send(lane, outgoing, bodies)
        except BaseException:
            slot.release()
            raise
        return Opened(lane, candidate.reason, response, slot, bodies.cap)

    async def send(self, lane: str, outgoing: Outgoing, bodies: Bodies) -> Answer:
        try:
            try:
                return await self.attempts.run(lane, outgoing)
            except PromptRefused as refused:
                # The engine counted the prompt: once more, with the cap its numbers give.
                bodies.counted(lane, refused.count)
                self.events.retried(lane, "context")
                return await self.attempts.run(lane, self.outgoing(bodies, lane))
        except ContextTooLong as exc:
            raise LaneFailed(Failure("context", exc)) from None

    @staticmethod
    def outgoing(bodies: Bodies, lane: str) -> Outgoing:
        try:
            return bodies.outgoing(lane)
        except ContextTooLong as exc:
            raise LaneFailed(Failure("context", exc)) from None

    async def enter(self, gate: Gate, spot: QueueSpot) -> Slot:
        started, spot.lane = self.clock(), gate.lane
        self.events.queueing(gate.lane, 1)
        try:
            slot = await gate.enter()
        except Rejected as exc:
            raise LaneFailed(Failure(exc.code, exc)) from None
        finally:
            self.events.queueing(gate.lane, -1)
            spot.lane = None
            spot.seconds += self.clock() - started
        self.events.waited(gate.lane, self.clock() - started)
        return slot

    def unusable(self, lane: str) -> RouterError:
        health, url = self.states.health[lane], self.lanes[lane].base_url
        if health.state == "loading":
            return LaneUnavailable(f"lane {lane!r} at {url} is loading its model")
        return LaneUnreachable(f"lane {lane!r} is unreachable at {url}: {health.detail}")


def abandon(dispatching: asyncio.Future[tuple[Opened, float]]) -> None:
    """Stop a dispatch nobody waits for; if it got through already, undo that."""
    if not dispatching.done():
        dispatching.cancel()
        return
    if dispatching.cancelled() or dispatching.exception() is not None:
        return
    opened, _ = dispatching.result()
    opened.response.close()
    opened.slot.release()
