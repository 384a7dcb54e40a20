"""Deciding what a simulated engine generates for one request: the reply or the tool call,
truncation at max_tokens, and how much of the prompt its cache would hold."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from router.demo.plan import (
    DEFAULT_REPLY,
    Dialect,
    Plan,
    ToolCall,
    answered_a_tool,
    estimate_tokens,
    max_tokens_of,
    split_pieces,
    tool_call_for,
)
from router.demo.script import Behaviour


@dataclass(frozen=True, slots=True)
class Profile:
    dialect: Dialect
    model: str
    decode_tps: float
    prefill_tps: float
    ctx_size: int = 32768


def reply_for(body: dict[str, Any], tool: ToolCall | None) -> str:
    if tool is not None:
        return "I'll use a tool for that."
    if answered_a_tool(body):
        return "Thanks: the tool's result has what was asked, so that is the answer."
    return DEFAULT_REPLY


# Where the simulated engines call tools, as the real ones do on every endpoint.
TOOL_PATHS = frozenset({"/v1/chat/completions", "/v1/messages", "/v1/responses"})


def plan_for(
    profile: Profile, path: str, body: dict[str, Any], behaviour: Behaviour, last_prompt: str
) -> tuple[Plan, str]:
    """The plan for one request, and its prompt (what the next request's cache reuse is
    measured against)."""
    prompt = json.dumps([body.get(k) for k in ("system", "messages", "prompt", "input")])
    cached = min(common_prefix(prompt, last_prompt) // 4, estimate_tokens(prompt) - 1)
    cached = max(cached, 0) if behaviour.cached_tokens is None else behaviour.cached_tokens
    tool = tool_call_for(body) if path in TOOL_PATHS else None
    reply = behaviour.reply or reply_for(body, tool)
    pieces = split_pieces(reply)
    limit = max_tokens_of(body)
    truncated = limit is not None and len(pieces) + (tool is not None) > limit
    if truncated:
        pieces, tool = pieces[: limit or 0], None
    finish = "length" if truncated else ("tool_calls" if tool else "stop")
    dialect = profile.dialect
    echoed = body.get("model") if dialect == "ik_llamacpp" else None
    plan = Plan(
        dialect=dialect,
        model=echoed if isinstance(echoed, str) else profile.model,
        pieces=pieces,
        tool_call=tool,
        finish_reason="stop" if dialect == "ik_llamacpp" else finish,
        prompt_tokens=estimate_tokens(prompt),
        cached_tokens=cached,
        include_usage=wants_usage(body),
        ctx_size=profile.ctx_size,
    )
    return plan, prompt


def common_prefix(a: str, b: str) -> int:
    same = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        same += 1
    return same


def wants_usage(body: dict[str, Any]) -> bool:
    options = body.get("stream_options")
    return isinstance(options, dict) and options.get("include_usage") is True
