"""Serialisation shared by the simulated dialects: compact JSON, SSE frames, ids."""

from __future__ import annotations

import json
import secrets
from typing import Any

from router.demo.plan import Plan

DONE = b"data: [DONE]\n\n"


def dumps(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def sse(obj: object) -> bytes:
    return b"data: " + dumps(obj) + b"\n\n"


def event(name: str, data: dict[str, Any]) -> bytes:
    """A named SSE event (Anthropic's and the Responses API's framing)."""
    return b"event: " + name.encode() + b"\ndata: " + dumps(data) + b"\n\n"


def new_id(prefix: str, hex_chars: int = 16) -> str:
    return prefix + secrets.token_hex(hex_chars // 2)


def tool_arguments(plan: Plan) -> str:
    return "".join(plan.tool_call.argument_pieces) if plan.tool_call else ""


def tool_call_message(plan: Plan, call_id: str) -> list[dict[str, Any]]:
    if plan.tool_call is None:
        return []
    function = {"name": plan.tool_call.name, "arguments": tool_arguments(plan)}
    return [{"id": call_id, "type": "function", "function": function}]
