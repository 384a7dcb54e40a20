"""Pure: which lanes may answer a routed request, in order, and why. No I/O, no clock.

The chosen lane comes first, then its configured fallback chain. A lane whose context cannot
hold the request is left out; when that moves the request off its chosen lane, the reason
is `context`. Any other later lane answers with the reason `failover:<chosen lane>`.

The prompt size is an estimate: the characters of the JSON of everything that becomes the
prompt (system, messages, prompt, input, tools), divided by 4, the usual characters per
token of BPE vocabularies on English and code. Text outside ASCII takes more tokens per
character (Chinese and Japanese about one a character; Cyrillic, Greek and accents fewer),
so each UTF-8 byte past a character's first counts 1.5 characters more: a CJK character (3
bytes) counts as one token, a Cyrillic one (2 bytes) as 0.6. It is rough, and errs long for
most scripts; an engine that refuses a prompt has the last word (router.decide.refusal).
A lane fits when its context leaves at least `min_answer` tokens for the answer after the
prompt (router.decide.budget: the same rule caps the output limit sent upstream); the client's
`max_tokens` is a ceiling, not a reservation.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from router.config import LaneConfig
from router.decide.budget import answer_room
from router.decide.routing import Route
from router.errors import ContextTooLong, Forbidden

PROMPT_FIELDS = ("system", "instructions", "messages", "prompt", "input", "tools", "functions")
CHARS_PER_TOKEN = 4


@dataclass(frozen=True, slots=True)
class Candidate:
    lane: str
    reason: str


def estimate_prompt_tokens(body: Mapping[str, Any]) -> int:
    parts = {key: body[key] for key in PROMPT_FIELDS if key in body}
    return estimate_text_tokens(json.dumps(parts, ensure_ascii=False))


def estimate_text_tokens(text: str) -> int:
    if text.isascii():  # a flag CPython keeps on every string: free
        return len(text) // CHARS_PER_TOKEN
    extra_bytes = len(text.encode("utf-8", "surrogatepass")) - len(text)
    return (len(text) + extra_bytes * 3 // 2) // CHARS_PER_TOKEN


def plan_candidates(
    route: Route,
    lanes: Mapping[str, LaneConfig],
    prompt_tokens: int,
    min_answer: int,
    ctx_of: Callable[[str], int] | None = None,
) -> list[Candidate]:
    """`ctx_of`: a lane's context as its engine reports it (router.dispatch.limits);
    default: config."""
    ctx = ctx_of or (lambda lane: lanes[lane].ctx_size)
    chain = list(dict.fromkeys([route.lane, *lanes[route.lane].fallback]))
    fitting = [
        lane
        for lane in chain
        if answer_room(lanes[lane].engine, ctx(lane), prompt_tokens) >= min_answer
    ]
    if not fitting:
        sizes = ", ".join(f"{lane}: {ctx(lane)}" for lane in chain)
        raise ContextTooLong(
            f"the prompt is about {prompt_tokens} tokens: no lane it may use leaves the "
            f"{min_answer} tokens an answer needs ({sizes} tokens of context)"
        )
    moved = fitting[0] != route.lane
    first_reason = "context" if moved else route.reason
    return [
        Candidate(lane, first_reason if i == 0 else f"failover:{route.lane}")
        for i, lane in enumerate(fitting)
    ]


def allowed_candidates(
    key: str, lanes: frozenset[str], route: Route, planned: list[Candidate]
) -> list[Candidate]:
    """The planned lanes a client key that may use only `lanes` (empty: all) may have; a lane
    the client forced must be one of them."""
    if not lanes:
        return planned
    allowed = [c for c in planned if c.lane in lanes]
    forced = route.reason in ("header", "model")
    if not allowed or (forced and route.lane not in lanes):
        names = ", ".join(sorted(lanes))
        raise Forbidden(f"key {key!r} may use lane(s) {names}, not {route.lane!r}")
    return allowed
