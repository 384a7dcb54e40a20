"""Anthropic messages, OpenAI responses and embeddings bodies, shaped like the engines' own."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import Any

from router.sim.plan import Pace, Plan, Step
from router.sim.wire import dumps


def event(name: str, data: dict[str, Any]) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + dumps(data) + b"\n\n"


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
                "input": arguments,
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
    stop = {"stop_reason": STOP_REASONS.get(plan.finish_reason, "end_turn"), "stop_sequence": None}
    usage = {"output_tokens": plan.completion_tokens}
    yield "now", event("message_delta", {"type": "message_delta", "delta": stop, "usage": usage})
    yield "now", event("message_stop", {"type": "message_stop"})


def response_object(plan: Plan, status: str) -> dict[str, Any]:
    text = "".join(plan.pieces) if status == "completed" else ""
    output = [
        {
            "id": "msg_" + secrets.token_hex(8),
            "type": "message",
            "role": "assistant",
            "status": status,
            "content": [{"type": "output_text", "text": text}],
        }
    ]
    usage = {
        "input_tokens": plan.prompt_tokens,
        "input_tokens_details": {"cached_tokens": plan.cached_tokens},
        "output_tokens": plan.completion_tokens,
        "total_tokens": plan.prompt_tokens + plan.completion_tokens,
    }
    return {
        "id": "resp_" + secrets.token_hex(8),
        "created_at": int(time.time()),
        "model": plan.model,
        "object": "response",
        "output": output if status == "completed" else [],
        "status": status,
        "usage": usage if status == "completed" else None,
    }


def responses_stream(plan: Plan) -> Iterator[Step]:
    seq = iter(range(1_000_000))

    def ev(kind: str, **data: Any) -> bytes:
        return event(kind, data | {"sequence_number": next(seq), "type": kind})

    yield "now", ev("response.created", response=response_object(plan, "in_progress"))
    for i, piece in enumerate(plan.pieces):
        pace: Pace = "token" if i else "first"
        yield pace, ev("response.output_text.delta", output_index=0, content_index=0, delta=piece)
    yield "now", ev("response.completed", response=response_object(plan, "completed"))


def embeddings_body(plan: Plan, inputs: list[Any]) -> dict[str, Any]:
    data = [
        {"object": "embedding", "index": i, "embedding": [((i + k) % 7) / 7 for k in range(8)]}
        for i, _ in enumerate(inputs)
    ]
    usage = {"prompt_tokens": plan.prompt_tokens, "total_tokens": plan.prompt_tokens}
    return {"object": "list", "data": data, "model": plan.model, "usage": usage}
