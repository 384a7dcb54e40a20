"""Getting a request to an engine that answers: queue, retries, failover, all before commit.

For each candidate lane in order: skip it if it is known `down` or `loading`; wait for a slot
(queue full or too long: next lane); send to its engines in placement order, with retries on
each (`onlane`, `attempts`); when all of them failed, move to the next lane. Nothing here runs
once the engine's answer has started to reach the client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from router.config import LaneConfig
from router.decide.budget import Cap
from router.decide.candidates import Candidate
from router.dispatch.admission import Gate, Slot
from router.dispatch.attempts import DispatchEvents, LaneAttempts
from router.dispatch.lanestate import LaneStates
from router.dispatch.onlane import Bodies, LaneEngines, outgoing_for
from router.dispatch.placement import Placement
from router.engine.answer import Answer
from router.engine.upstream import Upstreams
from router.enginerefs import EngineRef
from router.errors import (
    Failure,
    LaneFailed,
    LaneUnavailable,
    LaneUnreachable,
    Rejected,
    RouterError,
)


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
    engine: EngineRef  # which of the lane's engines answers


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
        placement: Placement | None = None,
    ) -> None:
        self.lanes, self.states, self.gates = lanes, states, gates
        self.events, self.clock = events, clock
        self.placement = placement or Placement(lanes)
        attempts = LaneAttempts(lanes, upstreams, states, events, sleep)
        self.engines = LaneEngines(attempts, self.placement, states, events)

    async def open(
        self,
        candidates: Sequence[Candidate],
        bodies: Bodies,
        queue: QueueSpot | None = None,
        conversation: tuple[bytes, ...] = (),
    ) -> tuple[Opened, float]:
        """The first lane that answers, and the seconds spent waiting in lane queues.

        `queue` tells the caller, while it waits, in which lane's queue the request stands;
        `conversation` (its messages' fingerprints) finds the engine that served its earlier
        turns.
        """
        spot = queue or QueueSpot()
        failure: Failure | None = None
        for index, candidate in enumerate(candidates):
            if failure is not None:
                self.events.failed_over(candidates[index - 1].lane, candidate.lane, failure.cause)
            try:
                opened = await self.try_lane(candidate, bodies, spot, conversation)
                return opened, spot.seconds
            except LaneFailed as failed:
                failure = failed.failure
        assert failure is not None
        raise failure.error

    async def try_lane(
        self, candidate: Candidate, bodies: Bodies, spot: QueueSpot, prints: tuple[bytes, ...]
    ) -> Opened:
        """Open the request on one lane, or raise LaneFailed saying why not."""
        lane, gate = candidate.lane, self.gates[candidate.lane]
        if not self.states.lane_usable(lane):
            raise self.unusable(lane)
        outgoing = outgoing_for(bodies, lane)
        slot = await self.enter(gate, spot)
        try:
            placed = await self.engines.place(lane, outgoing, bodies, prints, slot)
        except BaseException:
            slot.release()
            raise
        if placed is None:  # its engines all failed while the request waited for its slot
            slot.release()
            raise self.unusable(lane)
        engine, response, hold = placed
        return Opened(lane, candidate.reason, response, Slot(hold), bodies.cap, engine)

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

    def unusable(self, lane: str) -> LaneFailed:
        health, engines = self.states.lane_health(lane), self.placement.engines[lane]
        url = f" at {engines[0].base_url}" if len(engines) == 1 else ""
        error: RouterError
        if health.state == "loading":
            error = LaneUnavailable(f"lane {lane!r}{url} is loading its model")
        else:
            error = LaneUnreachable(f"lane {lane!r} is unreachable{url}: {health.detail}")
        return LaneFailed(Failure(health.state, error))


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
