"""What a simulated engine will generate for one request, decided before the first byte."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

Dialect = Literal["llamacpp", "ik_llamacpp", "vllm"]
# Steps of a stream: send now, after the prefill (first-token) delay, or after one token delay.
Pace = Literal["now", "first", "token"]
Step = tuple[Pace, bytes]

DEFAULT_REPLY = (
    "Here is a small, tested helper:\n\n```python\ndef chunked(items, size):\n"
    '    """Yield successive lists of at most `size` items."""\n'
    "    batch = []\n    for item in items:\n        batch.append(item)\n"
    "        if len(batch) == size:\n            yield batch\n            batch = []\n"
    "    if batch:\n        yield batch\n```\n\nIt keeps memory flat for any input length, "
    "and the last batch may be shorter than `size`."
)
PIECE = re.compile(r"\s*\S+|\s+")


@dataclass(frozen=True, slots=True)
class ToolCall:
    name: str
    argument_pieces: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Plan:
    dialect: Dialect
    model: str
    pieces: tuple[str, ...]
    tool_call: ToolCall | None
    finish_reason: str
    prompt_tokens: int
    cached_tokens: int
    include_usage: bool
    ctx_size: int

    @property
    def completion_tokens(self) -> int:
        tool_pieces = len(self.tool_call.argument_pieces) + 1 if self.tool_call else 0
        return len(self.pieces) + tool_pieces


def split_pieces(text: str) -> tuple[str, ...]:
    """Roughly one piece per token: a word with its leading white space."""
    return tuple(PIECE.findall(text))


def estimate_tokens(text: str) -> int:
    return max(1, len(text) // 4)


def tool_call_for(body: dict[str, Any]) -> ToolCall | None:
    """A plausible call of the first tool offered, with placeholder values for required args."""
    tools = body.get("tools") or []
    first = tools[0] if tools and isinstance(tools[0], dict) else None
    if first is None:
        return None
    function = first.get("function", first)  # OpenAI nests it; Anthropic does not
    params = function.get("parameters") or function.get("input_schema") or {}
    required = params.get("required") or list(params.get("properties", {}))[:1]
    arguments = json.dumps({name: f"<{name}>" for name in required})
    pieces = tuple(re.findall(r".{1,6}", arguments, re.DOTALL))
    return ToolCall(name=str(function.get("name", "tool")), argument_pieces=pieces)


def max_tokens_of(body: dict[str, Any]) -> int | None:
    for key in ("max_tokens", "max_completion_tokens", "max_output_tokens", "n_predict"):
        value = body.get(key)
        if isinstance(value, int) and value >= 0:
            return value
    return None
