"""Pure: which lanes may answer a routed request, in order, and why. No I/O, no clock.

The chosen lane comes first, then its configured fallback chain. A lane whose context cannot
hold the request is left out; when that moves the request off its chosen lane, the reason
is `context`. Any other later lane answers with the reason `failover:<chosen lane>`.

The prompt size is an estimate: the characters of the JSON of everything that becomes the
prompt (system, messages, prompt, input, tools), divided by 4, the usual characters per
token of BPE vocabularies on English and code. It is rough; the engine has the last word.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from router.config import LaneConfig
from router.errors import BadRequest
from router.routing import Route

PROMPT_FIELDS = ("system", "instructions", "messages", "prompt", "input", "tools", "functions")
OUTPUT_LIMITS = ("max_tokens", "max_completion_tokens", "max_output_tokens", "n_predict")
CHARS_PER_TOKEN = 4


class ContextTooLong(BadRequest):
    code = "context_length_exceeded"


@dataclass(frozen=True, slots=True)
class Candidate:
    lane: str
    reason: str


def estimate_prompt_tokens(body: Mapping[str, Any]) -> int:
    parts = {key: body[key] for key in PROMPT_FIELDS if key in body}
    return len(json.dumps(parts, ensure_ascii=False)) // CHARS_PER_TOKEN


def requested_output(body: Mapping[str, Any]) -> int:
    for key in OUTPUT_LIMITS:
        value = body.get(key)
        if isinstance(value, int) and value > 0:
            return value
    return 0


def plan_candidates(
    route: Route, lanes: Mapping[str, LaneConfig], prompt_tokens: int, output_tokens: int
) -> list[Candidate]:
    chain = list(dict.fromkeys([route.lane, *lanes[route.lane].fallback]))
    needed = prompt_tokens + output_tokens
    fitting = [lane for lane in chain if needed <= lanes[lane].ctx_size]
    if not fitting:
        sizes = ", ".join(f"{lane}: {lanes[lane].ctx_size}" for lane in chain)
        raise ContextTooLong(
            f"the request needs about {needed} tokens ({prompt_tokens} estimated prompt + "
            f"{output_tokens} max output), more than any lane it may use holds ({sizes})"
        )
    moved = fitting[0] != route.lane
    first_reason = "context" if moved else route.reason
    return [
        Candidate(lane, first_reason if i == 0 else f"failover:{route.lane}")
        for i, lane in enumerate(fitting)
    ]
