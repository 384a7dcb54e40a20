"""Attempts on one lane: send, and retry connect errors, timeouts before the first byte and
429/502/503/504 answers with jittered backoff, marking the lane's state from what the engine
said. `dispatch` decides which lanes to try.

A plain loop rather than tenacity: tenacity's machinery cost 50-90 us per request here
(measured on the success path alone), a tenth of all lanerouter's per-request work."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Protocol

from router.config import LaneConfig
from router.decide.bodies import Outgoing
from router.decide.refusal import context_refusal
from router.dispatch.lanestate import LaneStates
from router.engine.answer import Answer
from router.engine.upstream import Upstreams
from router.enginerefs import EngineRef
from router.errors import (
    EngineAnswer,
    Failure,
    LaneUnreachable,
    PromptRefused,
    Retryable,
    RouterError,
    UpstreamError,
)

RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_BACKOFF = 5.0


def backoff(base: float, attempt: int) -> float:
    """Full jitter: a uniform wait up to base * 2^attempt seconds, at most MAX_BACKOFF, so that
    requests that failed together do not retry together."""
    return random.uniform(0.0, min(MAX_BACKOFF, base * 2**attempt))


class DispatchEvents(Protocol):
    """What the dispatcher reports (the metrics module implements it)."""

    def retried(self, lane: str, cause: str) -> None: ...

    def failed_over(self, from_lane: str, to_lane: str, cause: str) -> None: ...

    def waited(self, lane: str, seconds: float) -> None: ...

    def queueing(self, lane: str, change: int) -> None: ...  # +1 asks for a slot, -1 has one

    def placed(self, lane: str, engine: str, why: str) -> None: ...  # which of a lane's engines


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

    async def run(self, engine: EngineRef, outgoing: Outgoing) -> Answer:
        """The engine's answer, after up to the lane's `retries` more tries; else Retryable."""
        config, attempt = self.lanes[engine.lane], 0
        while True:
            try:
                return await self.once(engine, outgoing)
            except Retryable as failed:
                if attempt == config.retries:
                    raise
                self.events.retried(engine.lane, failed.failure.cause)
            attempt += 1
            await self.sleep(backoff(config.retry_backoff, attempt))

    async def once(self, engine: EngineRef, outgoing: Outgoing) -> Answer:
        try:
            response = await self.upstreams.open(engine.key, *outgoing)
        except LaneUnreachable as exc:
            self.states.mark(engine.key, "down", exc.detail)
            raise Retryable(Failure("connect", exc)) from exc
        except RouterError as exc:  # timeout before the first byte, or a dropped connection
            raise Retryable(Failure(exc.code, exc)) from exc
        status = response.status
        if 300 <= status < 400:  # an engine has nowhere to send a client: never relayed
            response.close()
            where = f"lane {engine.lane!r} at {engine.base_url}"
            raise UpstreamError(f"{where} answered a redirect ({status})")
        if status in RETRY_STATUSES or status == 400 or self.broken(engine.lane, status):
            body = await response.read_all()  # and closes it
            answer = EngineAnswer(status, body, response.headers.get("content-type"))
            if (count := context_refusal(status, body)) is not None:
                raise PromptRefused(count, answer)
            self.note_failure(engine.key, status, body)
            if status in RETRY_STATUSES:
                raise Retryable(Failure(f"status_{status}", answer))
            raise answer
        return response

    def broken(self, lane: str, status: int) -> bool:
        # ik_llama.cpp answers client errors with 500: not a sign the engine is broken.
        return status >= 500 and not (status == 500 and self.lanes[lane].engine == "ik_llamacpp")

    def note_failure(self, engine: str, status: int, body: bytes) -> None:
        text = body[:200].decode("utf-8", "replace")
        if status == 503 and "loading" in text.lower():
            self.states.mark(engine, "loading", text)
        elif status == 429:
            self.states.mark(engine, "busy", text)
        elif status >= 500:
            self.states.mark(engine, "down", f"HTTP {status}: {text}")
