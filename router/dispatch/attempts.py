"""Attempts on one lane: send, and retry connect errors, timeouts before the first byte and
429/502/503/504 answers with jittered backoff (tenacity), marking the lane's state from what
the engine said. `dispatch` decides which lanes to try."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Protocol

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt
from tenacity import wait_random_exponential as jittered

from router.config import LaneConfig
from router.decide.bodies import Outgoing
from router.decide.refusal import context_refusal
from router.dispatch.lanestate import LaneStates
from router.engine.answer import Answer
from router.engine.upstream import Upstreams
from router.errors import (
    EngineAnswer,
    Failure,
    LaneUnreachable,
    PromptRefused,
    Retryable,
    RouterError,
)

RETRY_STATUSES = frozenset({429, 502, 503, 504})


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

    async def run(self, lane: str, outgoing: Outgoing) -> Answer:
        """The engine's answer, after up to the lane's `retries` more tries; else Retryable."""
        config = self.lanes[lane]

        def count_retry(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            cause = error.failure.cause if isinstance(error, Retryable) else "other"
            self.events.retried(lane, cause)

        retrying = AsyncRetrying(
            stop=stop_after_attempt(config.retries + 1),
            wait=jittered(multiplier=config.retry_backoff, max=5.0),
            retry=retry_if_exception_type(Retryable),
            before_sleep=count_retry,
            reraise=True,
            sleep=self.sleep,
        )
        return await retrying(self.once, lane, outgoing)

    async def once(self, lane: str, outgoing: Outgoing) -> Answer:
        try:
            response = await self.upstreams.open(lane, *outgoing)
        except LaneUnreachable as exc:
            self.states.mark(lane, "down", exc.detail)
            raise Retryable(Failure("connect", exc)) from exc
        except RouterError as exc:  # timeout before the first byte, or a dropped connection
            raise Retryable(Failure(exc.code, exc)) from exc
        status = response.status
        if status in RETRY_STATUSES or status == 400 or self.broken(lane, status):
            body = await response.read_all()  # and closes it
            answer = EngineAnswer(status, body, response.headers.get("content-type"))
            if (count := context_refusal(status, body)) is not None:
                raise PromptRefused(count, answer)
            self.note_failure(lane, status, body)
            if status in RETRY_STATUSES:
                raise Retryable(Failure(f"status_{status}", answer))
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
