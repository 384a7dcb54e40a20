"""OpenAI Responses bodies and the full event sequence vLLM sends (one response id), and
embeddings bodies, shaped like the engines' own."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import Any

from router.demo.plan import Pace, Plan, Step
from router.demo.wire import event


def message_item(item_id: str, text: str, status: str) -> dict[str, Any]:
    content: list[dict[str, Any]] = [
        {"annotations": [], "text": text, "type": "output_text", "logprobs": None}
    ]
    return {"id": item_id, "content": content if status == "completed" else [],
            "role": "assistant", "status": status, "type": "message"}  # fmt: skip


def call_item(item_id: str, plan: Plan, arguments: str, status: str) -> dict[str, Any]:
    name = plan.tool_call.name if plan.tool_call else "tool"
    return {"id": item_id, "call_id": "call_" + item_id[3:], "name": name,
            "arguments": arguments, "type": "function_call", "status": status}  # fmt: skip


def response_object(
    plan: Plan, status: str, ids: tuple[str, str, str] | None = None
) -> dict[str, Any]:
    """The response as vLLM writes it; `ids`: (response, message item, call item) of a stream."""
    response_id, message_id, call_id = ids or new_response_ids()
    output = [message_item(message_id, "".join(plan.pieces), "completed")]
    if plan.tool_call is not None:
        arguments = "".join(plan.tool_call.argument_pieces)
        output.append(call_item(call_id, plan, arguments, "completed"))
    usage = {
        "input_tokens": plan.prompt_tokens,
        "input_tokens_details": {"cached_tokens": plan.cached_tokens},
        "output_tokens": plan.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": plan.prompt_tokens + plan.completion_tokens,
    }
    done = status in ("completed", "incomplete")
    return {
        "id": response_id,
        "created_at": int(time.time()),
        "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
        "model": plan.model,
        "object": "response",
        "output": output if done else [],
        "status": status,
        "usage": usage if done else None,
    }


def new_response_ids() -> tuple[str, str, str]:
    return (
        "resp_" + secrets.token_hex(8),
        "msg_" + secrets.token_hex(8),
        "fc_" + secrets.token_hex(8),
    )


def responses_stream(plan: Plan) -> Iterator[Step]:
    """vLLM's event sequence: created, in_progress, then per output item added, its part, the
    deltas, done events, and completed; one response id throughout (responses_stream.txt)."""
    seq = iter(range(1_000_000))
    ids = new_response_ids()
    _, message_id, call_id = ids

    def ev(kind: str, **data: Any) -> bytes:
        return event(kind, data | {"sequence_number": next(seq), "type": kind})

    final = "incomplete" if plan.finish_reason == "length" else "completed"
    yield "now", ev("response.created", response=response_object(plan, "in_progress", ids))
    yield "now", ev("response.in_progress", response=response_object(plan, "in_progress", ids))
    yield from message_events(plan, message_id, ev)
    if plan.tool_call is not None:
        yield from call_events(plan, call_id, ev)
    yield "now", ev(f"response.{final}", response=response_object(plan, final, ids))


def message_events(plan: Plan, item_id: str, ev: Any) -> Iterator[Step]:
    text = "".join(plan.pieces)
    where = {"item_id": item_id, "output_index": 0, "content_index": 0}
    part = {"annotations": [], "text": "", "type": "output_text", "logprobs": []}
    yield "now", ev("response.output_item.added", output_index=0,
                    item=message_item(item_id, "", "in_progress"))  # fmt: skip
    yield "now", ev("response.content_part.added", part=part, **where)
    for i, piece in enumerate(plan.pieces):
        pace: Pace = "token" if i else "first"
        yield pace, ev("response.output_text.delta", delta=piece, logprobs=[], **where)
    yield "now", ev("response.output_text.done", text=text, logprobs=[], **where)
    yield "now", ev("response.content_part.done", part=part | {"text": text}, **where)
    yield "now", ev("response.output_item.done", output_index=0,
                    item=message_item(item_id, text, "completed"))  # fmt: skip


def call_events(plan: Plan, item_id: str, ev: Any) -> Iterator[Step]:
    assert plan.tool_call is not None
    arguments = "".join(plan.tool_call.argument_pieces)
    yield "now", ev("response.output_item.added", output_index=1,
                    item=call_item(item_id, plan, "", "in_progress"))  # fmt: skip
    for piece in plan.tool_call.argument_pieces:
        yield "token", ev("response.function_call_arguments.delta", item_id=item_id,
                          output_index=1, delta=piece)  # fmt: skip
    yield "now", ev("response.function_call_arguments.done", item_id=item_id, output_index=1,
                    arguments=arguments)  # fmt: skip
    yield "now", ev("response.output_item.done", output_index=1,
                    item=call_item(item_id, plan, arguments, "completed"))  # fmt: skip


def embeddings_body(plan: Plan, inputs: list[Any]) -> dict[str, Any]:
    data = [
        {"object": "embedding", "index": i, "embedding": [((i + k) % 7) / 7 for k in range(8)]}
        for i, _ in enumerate(inputs)
    ]
    usage = {"prompt_tokens": plan.prompt_tokens, "total_tokens": plan.prompt_tokens}
    return {"object": "list", "data": data, "model": plan.model, "usage": usage}
