"""Getting a request to an engine that answers: queue, retries, failover, all before commit.

For each candidate lane in order: skip it if it is known `down` or `loading`; wait for a slot
(queue full or too long: next lane); send, retrying connect errors, timeouts before the first
byte and 429/502/503/504 answers with jittered backoff (tenacity); give up on the lane after
`retries`, mark it down where the failure says so, and move to the next. Nothing here runs
once the engine's answer has started to reach the client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt
from tenacity import wait_random_exponential as jittered

from router.admission import LaneGate, Rejected
from router.answer import Answer
from router.candidates import Candidate
from router.config import LaneConfig
from router.errors import EngineAnswer, LaneUnavailable, LaneUnreachable, RouterError
from router.lanestate import LaneStates
from router.upstream import Upstreams

RETRY_STATUSES = frozenset({429, 502, 503, 504})


class Outgoing(NamedTuple):
    """What one lane is sent: path and query, the client's headers, the body for that lane."""

    target: str
    headers: list[tuple[str, str]]
    content: bytes
    request_id: str


Build = Callable[[str], Outgoing]


class Retryable(Exception):
    def __init__(self, cause: str, error: RouterError) -> None:
        super().__init__(cause)
        self.cause, self.error = cause, error


@dataclass(slots=True)
class QueueSpot:
    lane: str | None = None  # the lane whose queue the request waits in, if it waits
    seconds: float = 0.0  # time spent waiting in lane queues so far


Failure = tuple[str, RouterError]  # the cause (a metric label) and the error for the client


class LaneFailed(Exception):
    def __init__(self, failure: Failure) -> None:
        super().__init__(failure[0])
        self.failure = failure


@dataclass(frozen=True, slots=True)
class Opened:
    lane: str
    reason: str
    response: Answer
    gate: LaneGate


class DispatchEvents(Protocol):
    """What the dispatcher reports (the metrics module implements it)."""

    def retried(self, lane: str, cause: str) -> None: ...

    def failed_over(self, from_lane: str, to_lane: str, cause: str) -> None: ...

    def waited(self, lane: str, seconds: float) -> None: ...


class Dispatcher:
    def __init__(
        self,
        lanes: dict[str, LaneConfig],
        upstreams: Upstreams,
        states: LaneStates,
        gates: dict[str, LaneGate],
        events: DispatchEvents,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.lanes, self.upstreams, self.states, self.gates = lanes, upstreams, states, gates
        self.events, self.clock, self.sleep = events, clock, sleep

    async def open(
        self, candidates: Sequence[Candidate], build: Build, queue: QueueSpot | None = None
    ) -> tuple[Opened, float]:
        """The first lane that answers, and the seconds spent waiting in lane queues.

        `queue` tells the caller, while it waits, in which lane's queue the request stands.
        """
        spot = queue or QueueSpot()
        failure: Failure | None = None
        for index, candidate in enumerate(candidates):
            if failure is not None:
                self.events.failed_over(candidates[index - 1].lane, candidate.lane, failure[0])
            try:
                return await self.try_lane(candidate, build, spot), spot.seconds
            except LaneFailed as failed:
                failure = failed.failure
        assert failure is not None
        raise failure[1]

    async def try_lane(self, candidate: Candidate, build: Build, spot: QueueSpot) -> Opened:
        """Open the request on one lane, or raise LaneFailed saying why not."""
        lane, gate = candidate.lane, self.gates[candidate.lane]
        if not self.states.usable(lane):
            raise LaneFailed((self.states.state(lane), self.unusable(lane)))
        await self.enter(gate, spot)
        try:
            response = await self.attempts(lane, build)
        except Retryable as exc:
            gate.leave()
            raise LaneFailed((exc.cause, exc.error)) from None
        except BaseException:
            gate.leave()
            raise
        return Opened(lane, candidate.reason, response, gate)

    async def enter(self, gate: LaneGate, spot: QueueSpot) -> None:
        started, spot.lane = self.clock(), gate.lane
        try:
            await gate.enter()
        except Rejected as exc:
            raise LaneFailed((exc.code, exc)) from None
        finally:
            spot.lane = None
            spot.seconds += self.clock() - started
        self.events.waited(gate.lane, self.clock() - started)

    def unusable(self, lane: str) -> RouterError:
        health, url = self.states.health[lane], self.lanes[lane].base_url
        if health.state == "loading":
            return LaneUnavailable(f"lane {lane!r} at {url} is loading its model")
        return LaneUnreachable(f"lane {lane!r} is unreachable at {url}: {health.detail}")

    async def attempts(self, lane: str, build: Build) -> Answer:
        try:
            return await self.once(lane, build)
        except Retryable as failed:
            if self.lanes[lane].retries == 0:
                raise
            return await self.retry(lane, build, failed)

    async def retry(self, lane: str, build: Build, failed: Retryable) -> Answer:
        """tenacity takes over after a failed first attempt (most requests never get here, and
        building its machinery costs more than the rest of the dispatch)."""
        config = self.lanes[lane]

        def count_retry(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            self.events.retried(lane, error.cause if isinstance(error, Retryable) else "other")

        retrying = AsyncRetrying(
            stop=stop_after_attempt(config.retries + 1),
            wait=jittered(multiplier=config.retry_backoff, max=5.0),
            retry=retry_if_exception_type(Retryable),
            before_sleep=count_retry,
            reraise=True,
            sleep=self.sleep,
        )
        first: Retryable | None = failed
        async for attempt in retrying:
            with attempt:
                if first is not None:  # replayed, so tenacity counts it and backs off
                    replay, first = first, None
                    raise replay
                return await self.once(lane, build)
        raise AssertionError("unreachable: tenacity reraises")

    async def once(self, lane: str, build: Build) -> Answer:
        outgoing = build(lane)
        try:
            response = await self.upstreams.open(lane, *outgoing)
        except LaneUnreachable as exc:
            self.states.mark(lane, "down", exc.detail)
            raise Retryable("connect", exc) from exc
        except RouterError as exc:  # timeout before the first byte, or a dropped connection
            raise Retryable(exc.code, exc) from exc
        if response.status_code in RETRY_STATUSES or self.broken(lane, response.status_code):
            body = await response.aread()
            await response.aclose()
            self.note_failure(lane, response.status_code, body)
            answer = EngineAnswer(response.status_code, body, response.headers.get("content-type"))
            if response.status_code in RETRY_STATUSES:
                raise Retryable(f"status_{response.status_code}", answer)
            raise answer
        return response

    def broken(self, lane: str, status: int) -> bool:
        # ik_llama.cpp answers client errors with 500: not a sign the engine is broken.
        return status >= 500 and not (status == 500 and self.lanes[lane].engine == "ik_llamacpp")

    def note_failure(self, lane: str, status: int, body: bytes) -> None:
        text = body[:200].decode("utf-8", "replace")
        if status == 503 and "loading" in text.lower():
            self.states.mark(lane, "loading", text)
        elif status == 429:
            self.states.mark(lane, "busy", text)
        elif status >= 500:
            self.states.mark(lane, "down", f"HTTP {status}: {text}")
