"""What a simulated engine does next, and what it received: the scripting surface for tests."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from router.demo.plan import Plan


@dataclass(frozen=True, slots=True)
class Behaviour:
    """One request's behaviour. Fields left as None follow the engine's profile."""

    status: int = 200
    error: dict[str, Any] | None = None  # with status >= 400: this body, as the engine's JSON
    reply: str | None = None
    first_token_delay: float | None = None
    token_delay: float | None = None
    # "Token events" are the paced ones: the first (after prefill) and each one after it.
    die_after: int | None = None  # drop the connection after this many token events
    stall_after: int | None = None  # go silent (connection kept open) after this many
    cached_tokens: int | None = None  # report this prompt-cache reuse instead of the real one
    tail: bytes = b""  # raw bytes sent after the stream's events (to make it malformed)
    hold_until_in_flight: int | None = None  # start only once this many requests are here (<=10 s)
    # Wait until `resume` is set, after this many token events (a non-streamed answer: before
    # its body): a test holds a slot exactly as long as it needs to. A client leaving ends it.
    pause_after: int | None = None
    resume: threading.Event | None = None
    # Each token event waits for one permit: a test steps the stream event by event.
    permits: threading.Semaphore | None = None


@dataclass(frozen=True, slots=True)
class Received:
    method: str
    path: str
    query: str
    client_port: int  # the same port on two requests means a reused keep-alive connection
    headers: dict[str, str]
    body: dict[str, Any] | None


@dataclass
class Script:
    """Behaviours queued for the next requests, and a record of every request received."""

    queue: deque[Behaviour] = field(default_factory=deque)
    received: list[Received] = field(default_factory=list)
    plans: list[Plan] = field(default_factory=list)  # what was generated: the true token counts
    sent: list[bytes] = field(default_factory=list)  # the body bytes of the latest stream
    loading: bool = False  # answer 503 "Loading model" like llama.cpp at start-up
    health_checks: int = 0
    aborted: int = 0  # generations stopped because the client went away
    completed: int = 0
    in_flight: int = 0
    peak_in_flight: int = 0

    def started(self) -> None:
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def push(self, *behaviours: Behaviour) -> None:
        self.queue.extend(behaviours)

    def next(self) -> Behaviour:
        return self.queue.popleft() if self.queue else Behaviour()

    def record_abort(self) -> None:
        self.aborted += 1

    def reset(self) -> None:
        self.queue.clear()
        self.received.clear()
        self.plans.clear()
        self.sent.clear()
        self.aborted = self.completed = self.in_flight = self.peak_in_flight = 0
        self.health_checks, self.loading = 0, False
