"""Anthropic messages bodies and streams (`message_start` ... `message_stop`, `tool_use`
blocks), shaped like the engines' own."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

from router.demo.plan import Plan, Step
from router.demo.wire import event

STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}


def anthropic_usage(plan: Plan, output_tokens: int) -> dict[str, int]:
    return {
        "cache_read_input_tokens": plan.cached_tokens,
        "input_tokens": plan.prompt_tokens - plan.cached_tokens,
        "output_tokens": output_tokens,
    }


def anthropic_message(plan: Plan) -> dict[str, Any]:
    content: list[dict[str, Any]] = [{"type": "text", "text": "".join(plan.pieces)}]
    if plan.tool_call is not None:
        arguments = "".join(plan.tool_call.argument_pieces)
        content.append(
            {
                "type": "tool_use",
                "id": "toolu_" + secrets.token_hex(12),
                "name": plan.tool_call.name,
                "input": json.loads(arguments),
            }
        )
    return {
        "id": "msg_" + secrets.token_hex(12),
        "type": "message",
        "role": "assistant",
        "content": content,
        "model": plan.model,
        "stop_reason": STOP_REASONS.get(plan.finish_reason, "end_turn"),
        "stop_sequence": None,
        "usage": anthropic_usage(plan, plan.completion_tokens),
    }


def anthropic_stream(plan: Plan) -> Iterator[Step]:
    start = anthropic_message(plan) | {"content": [], "stop_reason": None}
    start["usage"] = anthropic_usage(plan, 0)
    yield "first", event("message_start", {"type": "message_start", "message": start})
    block = {"type": "text", "text": ""}
    yield (
        "now",
        event(
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": block},
        ),
    )
    for i, piece in enumerate(plan.pieces):
        delta = {"type": "text_delta", "text": piece}
        yield (
            ("token" if i else "now"),
            event(
                "content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}
            ),
        )
    yield "now", event("content_block_stop", {"type": "content_block_stop", "index": 0})
    if plan.tool_call is not None:
        yield from tool_use_events(plan)
    stop = {"stop_reason": STOP_REASONS.get(plan.finish_reason, "end_turn"), "stop_sequence": None}
    usage = {"output_tokens": plan.completion_tokens}
    yield "now", event("message_delta", {"type": "message_delta", "delta": stop, "usage": usage})
    yield "now", event("message_stop", {"type": "message_stop"})


def tool_use_events(plan: Plan) -> Iterator[Step]:
    """A `tool_use` block: its start (empty input), `input_json_delta` pieces, its stop."""
    assert plan.tool_call is not None
    block = {"type": "tool_use", "id": "toolu_" + secrets.token_hex(12),
             "name": plan.tool_call.name, "input": {}}  # fmt: skip
    start = {"type": "content_block_start", "index": 1, "content_block": block}
    yield "now", event("content_block_start", start)
    for piece in plan.tool_call.argument_pieces:
        delta = {"type": "input_json_delta", "partial_json": piece}
        data = {"type": "content_block_delta", "index": 1, "delta": delta}
        yield "token", event("content_block_delta", data)
    yield "now", event("content_block_stop", {"type": "content_block_stop", "index": 1})
