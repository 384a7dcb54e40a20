"""One request's record as it flows: where it went, how it ended, what was measured."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from router.decide.budget import Cap
from router.stream.meter import Measurement


class Outcome(StrEnum):
    OK = "ok"
    CLIENT_ERROR = "client_error"
    UPSTREAM_ERROR = "upstream_error"
    CLIENT_DISCONNECTED = "client_disconnected"
    UPSTREAM_ABORTED = "upstream_aborted"
    REJECTED = "rejected"


# Metric label values for endpoints: a fixed set, never the client's path.
ENDPOINTS = {
    "/v1/chat/completions": "chat",
    "/v1/completions": "completions",
    "/v1/responses": "responses",
    "/v1/messages": "messages",
    "/v1/messages/count_tokens": "count_tokens",
    "/v1/embeddings": "embeddings",
}
NO_LANE = "none"


def outcome_for_status(status: int) -> Outcome:
    if status < 400:
        return Outcome.OK
    if status == 429:
        return Outcome.REJECTED
    return Outcome.CLIENT_ERROR if status < 500 else Outcome.UPSTREAM_ERROR


def request_id(given: str | None) -> str:
    """The client's X-Request-Id when it is a sane token, else a new one."""
    if given and len(given) <= 128 and given.isprintable():
        return given
    return uuid.uuid4().hex


@dataclass
class Exchange:
    request_id: str
    endpoint: str
    measurement: Measurement
    lane: str = NO_LANE
    reason: str = NO_LANE
    status: int = 0
    outcome: Outcome = Outcome.OK
    streamed: bool = False
    cap: Cap | None = None  # the output limit lanerouter set on the body sent upstream
    reprocessed: bool = False  # a continued conversation that got no prompt-cache reuse
    prompt_text: str | None = None  # only kept when the request log asks for text
    completion_text: str | None = None
    conversation: tuple[bytes, ...] = field(default=(), repr=False)
    inflight: bool = False  # counted in the in-flight gauge of its lane
    release: Callable[[], None] | None = None  # gives the lane's slot back, once
    finished: bool = False


class Observer(Protocol):
    """What the relay reports to: a clock, and the start and end of each exchange."""

    def now(self) -> float: ...

    def started(self, exchange: Exchange) -> None: ...

    def done(self, exchange: Exchange) -> None: ...
