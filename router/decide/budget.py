"""How much of a lane's context is left for the answer: one rule for choosing a lane by context
and for every output cap, so that no request is admitted to a lane that could only answer in a
token or two. Pure.

A client's `max_tokens` (or `max_completion_tokens`, `max_output_tokens`) is a ceiling, not a
reservation: agents send 32,000 or 64,000 by default. A lane fits when the prompt leaves at
least `min_answer` tokens; a larger ceiling than the room is capped to the room.

The prompt size is an estimate (router.decide.candidates): characters / 4. How far to trust it
depends on the engine: vLLM and llama.cpp refuse a prompt that does not fit with an error that
names the real count, so the estimate is taken as it is; ik_llama.cpp truncates silently, so its
room leaves half the estimate again as margin. Once an engine has refused the prompt and said
how many tokens it has (router.decide.refusal), that count is used as it is: `counted`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from router.config import EngineKind

OUTPUT_LIMITS = ("max_tokens", "max_completion_tokens", "max_output_tokens", "n_predict")
TEMPLATE_TOKENS = 16  # the chat template's own tokens around the messages
SILENT_TRUNCATION: frozenset[EngineKind] = frozenset({"ik_llamacpp"})


@dataclass(frozen=True, slots=True)
class Cap:
    key: str  # the body field that carries it
    asked: int | None  # what the client asked for (None: nothing)
    tokens: int

    @property
    def note(self) -> str | None:
        """ "asked->sent" when a client's ceiling was lowered (X-Max-Tokens-Capped)."""
        return f"{self.asked}->{self.tokens}" if self.asked is not None else None


def sent_limit(cap: Cap | None, body: Mapping[str, Any]) -> int | None:
    """The output limit the engine got: the cap, else the client's own, else none."""
    asked = asked_output(body)
    return cap.tokens if cap else (asked[1] if asked else None)


def answer_room(
    engine: EngineKind, ctx_size: int, prompt_tokens: int, counted: bool = False
) -> int:
    if counted:  # the engine's own count, chat template included
        return ctx_size - prompt_tokens
    margin = prompt_tokens // 2 if engine in SILENT_TRUNCATION else 0
    return ctx_size - prompt_tokens - margin - TEMPLATE_TOKENS


def asked_output(body: Mapping[str, Any]) -> tuple[str, int] | None:
    for key in OUTPUT_LIMITS:
        value = body.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return key, value
    return None


def output_cap(
    engine: EngineKind, body: Mapping[str, Any], ctx_size: int, prompt_tokens: int,
    needs_one: bool, counted: bool = False,
) -> Cap | None:  # fmt: skip
    """The output limit to send, when it differs from the client's: a ceiling above the room,
    or (`needs_one`: an engine that must have one) the room when the client set none."""
    room = max(1, answer_room(engine, ctx_size, prompt_tokens, counted))
    asked = asked_output(body)
    if asked is not None:
        key, value = asked
        return Cap(key, value, room) if value > room else None
    return Cap("max_tokens", None, room) if needs_one else None
