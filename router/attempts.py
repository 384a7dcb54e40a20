"""Attempts on one lane: send, and retry connect errors, timeouts before the first byte and
429/502/503/504 answers with jittered backoff (tenacity), marking the lane's state from what
the engine said. `dispatch` decides which lanes to try."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import NamedTuple, Protocol

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt
from tenacity import wait_random_exponential as jittered

from router.answer import Answer
from router.config import LaneConfig
from router.errors import EngineAnswer, LaneUnreachable, RouterError
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


class DispatchEvents(Protocol):
    """What the dispatcher reports (the metrics module implements it)."""

    def retried(self, lane: str, cause: str) -> None: ...

    def failed_over(self, from_lane: str, to_lane: str, cause: str) -> None: ...

    def waited(self, lane: str, seconds: float) -> None: ...


class LaneAttempts:
    def __init__(
        self,
        lanes: dict[str, LaneConfig],
        upstreams: Upstreams,
        states: LaneStates,
        events: DispatchEvents,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.lanes, self.upstreams, self.states = lanes, upstreams, states
        self.events, self.sleep = events, sleep

    async def run(self, lane: str, build: Build) -> Answer:
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
            body = await response.aread()  # and closes it
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
