"""What each lane is sent for one request: the body in that lane's dialect, with the output cap
its context leaves after the prompt. The prompt's size is the estimate until an engine has
refused the request and counted it (router.decide.refusal); from then on every lane is sized by that
count, and a lane it does not fit in is passed over (ContextTooLong) before taking its slot."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from router.config import Settings
from router.decide.budget import Cap, answer_room
from router.decide.payload import lane_body
from router.decide.refusal import PromptCount
from router.errors import ContextTooLong, body_errors


class Outgoing(NamedTuple):
    """What one lane is sent: path and query, the client's headers, the body for that lane."""

    target: str
    headers: list[tuple[str, str]]
    content: bytes
    request_id: str


@dataclass(frozen=True, slots=True)
class Addressed:
    """Where the request goes on every lane, and what it carries besides the body."""

    endpoint: str
    query: str
    headers: list[tuple[str, str]]
    request_id: str

    @property
    def target(self) -> str:
        return f"{self.endpoint}?{self.query}" if self.query else self.endpoint


class LaneBodies:
    def __init__(
        self,
        settings: Settings,
        ctx_of: Callable[[str], int],
        addressed: Addressed,
        body: Mapping[str, Any],
        apply_defaults: bool,
        estimate: int,
    ) -> None:
        self.settings, self.ctx_of, self.addressed = settings, ctx_of, addressed
        self.body, self.apply_defaults, self.estimate = body, apply_defaults, estimate
        self.count: tuple[str, PromptCount] | None = None  # the lane that counted, and its count
        self.cap: Cap | None = None  # the cap of the body built last: the lane that answers

    def counted(self, lane: str, count: PromptCount) -> None:
        self.count = lane, count

    def outgoing(self, lane: str) -> Outgoing:
        config = self.settings.lanes[lane]
        tokens, ctx = self.size_on(lane)
        counted = self.count is not None
        min_answer = self.settings.routing.min_answer_tokens
        if counted and answer_room(config.engine, ctx, tokens, counted) < min_answer:
            at_least = "at least " if self.count and self.count[1].at_least else ""
            raise ContextTooLong(
                f"the prompt has {at_least}{tokens} tokens (counted by its engine): lane "
                f"{lane!r} ({ctx} tokens of context) cannot leave the {min_answer} tokens an "
                "answer needs"
            )
        to = self.addressed
        with body_errors():
            content, self.cap = lane_body(
                config, to.endpoint, self.body, self.apply_defaults, tokens, ctx, counted
            )
        return Outgoing(to.target, to.headers, content, to.request_id)

    def size_on(self, lane: str) -> tuple[int, int]:
        """The prompt's tokens and the lane's context: the engine's own numbers where known."""
        if self.count is None:
            return self.estimate, self.ctx_of(lane)
        counted_on, count = self.count
        return count.tokens, count.ctx if counted_on == lane else self.ctx_of(lane)
