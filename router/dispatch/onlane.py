"""Within one lane that gave the request a slot: its engines in the order placement gives,
each with its attempts, until one answers. A failing engine is skipped here; only when all
of them failed does the dispatcher move to the next lane."""

from __future__ import annotations

from typing import Protocol

from router.decide.bodies import Outgoing
from router.decide.budget import Cap
from router.decide.refusal import PromptCount
from router.dispatch.admission import Slot
from router.dispatch.attempts import DispatchEvents, LaneAttempts
from router.dispatch.lanestate import LaneStates
from router.dispatch.placement import EngineHold, Placement
from router.engine.answer import Answer
from router.enginerefs import EngineRef
from router.errors import ContextTooLong, Failure, LaneFailed, PromptRefused, Retryable


class Bodies(Protocol):
    """What each lane is sent (router.decide.bodies builds it)."""

    cap: Cap | None  # the output cap in the body built last

    def outgoing(self, lane: str) -> Outgoing: ...  # ContextTooLong: it does not fit there

    def counted(self, lane: str, count: PromptCount) -> None: ...


class LaneEngines:
    def __init__(
        self,
        attempts: LaneAttempts,
        placement: Placement,
        states: LaneStates,
        events: DispatchEvents,
    ) -> None:
        self.attempts, self.placement, self.states, self.events = (
            attempts, placement, states, events
        )  # fmt: skip

    async def place(
        self, lane: str, outgoing: Outgoing, bodies: Bodies, prints: tuple[bytes, ...], slot: Slot
    ) -> tuple[EngineRef, Answer, EngineHold] | None:
        """Send to the lane's engines in turn, best placed first, until one answers; None if
        none of them is usable."""
        order, why = self.placement.order(lane, prints, self.states.usable)
        if not order:  # all of them failed while the request waited for its slot
            return None
        hold, failure = self.placement.take(order[0], slot), None
        try:
            for index, engine in enumerate(order):
                if index:
                    hold.move(engine.key)
                try:
                    response = await self.send(engine, outgoing, bodies)
                except Retryable as failed:
                    failure = failed
                    continue
                self.placement.remember(engine, prints)
                self.events.placed(lane, engine.name, why if index == 0 else "after_failure")
                return engine, response, hold
        except BaseException:
            hold.leave()
            raise
        hold.leave()
        assert failure is not None
        raise failure

    async def send(self, engine: EngineRef, outgoing: Outgoing, bodies: Bodies) -> Answer:
        lane = engine.lane
        try:
            try:
                return await self.attempts.run(engine, outgoing)
            except PromptRefused as refused:
                # The engine counted the prompt: once more, with the cap its numbers give.
                bodies.counted(lane, refused.count)
                self.events.retried(lane, "context")
                return await self.attempts.run(engine, outgoing_for(bodies, lane))
        except ContextTooLong as exc:
            raise LaneFailed(Failure("context", exc)) from None


def outgoing_for(bodies: Bodies, lane: str) -> Outgoing:
    try:
        return bodies.outgoing(lane)
    except ContextTooLong as exc:
        raise LaneFailed(Failure("context", exc)) from None
