"""One request's record: what was decided about it (`Exchange`, written by the proxy alone, and
its `Measurement`, by the meter alone), and how it ended (`Finished`, made once by whoever
owns the request at its end: the proxy, or the committed stream). Observers only read them."""

from __future__ import annotations

import uuid
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
    streamed: bool = False
    cap: Cap | None = None  # the output limit lanerouter set on the body sent upstream
    prompt_text: str | None = None  # only kept when the request log asks for text
    conversation: tuple[bytes, ...] = field(default=(), repr=False)
    started: bool = False  # its answer started on a lane: counted in flight there
    key: str | None = None  # the client key's name, when keys are on (never the key)
    planned_lane: str | None = None  # the first lane planned; another answered: failed over
    conversation_id: str | None = None  # the same for every turn of one conversation
    engine_name: str | None = None  # which of its lane's engines answered (config's name)


@dataclass(frozen=True, slots=True)
class Finished:
    """How a request ended."""

    status: int
    outcome: Outcome
    completion_text: str | None = None  # only kept when the request log asks for text


class Observer(Protocol):
    """What a request's owner reports to: a clock, and the start and end of each exchange."""

    def now(self) -> float: ...

    def started(self, exchange: Exchange) -> None: ...

    def finished(self, exchange: Exchange, end: Finished) -> None: ...
