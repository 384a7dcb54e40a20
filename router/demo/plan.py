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


READ_ONLY = ("read", "view", "list", "ls", "glob", "grep", "search", "find", "cat", "get")


def tool_call_for(body: dict[str, Any]) -> ToolCall | None:
    """One believable call of an offered tool (a read-only one where there is one), with
    arguments that fit its schema; none once a tool's result came back: then the turn is text,
    so an agent session against the demo ends by itself."""
    functions = [t.get("function", t) for t in body.get("tools") or [] if isinstance(t, dict)]
    if not functions or answered_a_tool(body):
        return None
    named = [f for f in functions if isinstance(f.get("name"), str)]
    reads = [f for f in named if any(w in f["name"].lower() for w in READ_ONLY)]
    function = (reads or named or functions)[0]
    params = function.get("parameters") or function.get("input_schema") or {}
    properties = params.get("properties") or {}
    required = params.get("required") or list(properties)[:1]
    values = {name: value_for(name, properties.get(name) or {}) for name in required}
    pieces = tuple(re.findall(r".{1,6}", json.dumps(values), re.DOTALL))
    return ToolCall(name=str(function.get("name", "tool")), argument_pieces=pieces)


def value_for(name: str, schema: dict[str, Any]) -> Any:
    """A harmless value of the parameter's type: a read-only command, a file that exists."""
    kind = schema.get("type")
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    if kind in ("integer", "number"):
        return 1
    if kind == "boolean":
        return False
    if kind == "array":
        return []
    if kind == "object":
        return {}
    lowered = name.lower()
    for hint, value in (
        ("command", "ls"),
        ("cmd", "ls"),
        ("path", "README.md"),
        ("file", "README.md"),
        ("url", "http://127.0.0.1/"),
        ("pattern", "TODO"),
    ):
        if hint in lowered:
            return value
    return "README"  # fmt: skip


def answered_a_tool(body: dict[str, Any]) -> bool:
    """Whether the last turn is a tool's result (OpenAI, Anthropic or responses shape)."""
    turns = body.get("messages") or body.get("input")
    last = turns[-1] if isinstance(turns, list) and turns else None
    if not isinstance(last, dict):
        return False
    if last.get("role") in ("tool", "function") or last.get("type") == "function_call_output":
        return True
    blocks = last.get("content")
    return isinstance(blocks, list) and any(
        isinstance(b, dict) and b.get("type") == "tool_result" for b in blocks
    )


def max_tokens_of(body: dict[str, Any]) -> int | None:
    for key in ("max_tokens", "max_completion_tokens", "max_output_tokens", "n_predict"):
        value = body.get(key)
        if isinstance(value, int) and value >= 0:
            return value
    return None
