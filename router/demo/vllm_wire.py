"""Chat and completions bodies of vLLM's OpenAI server (0.32), as captured.

Keys `id, object, created, model, choices`; the role event (`content: ""`) goes out at once,
before prefill; every later choice has `token_ids: null`. A reply cut by `max_tokens` carries
`finish_reason: "length"` on its last token; a natural end is one more empty-delta event.
Usage only with `stream_options.include_usage`, on a `choices: []` event; no `timings`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from router.demo.plan import Pace, Plan, Step
from router.demo.wire import DONE, new_id, sse, tool_call_message

FINGERPRINT = "vllm-0.32.0-sim"


def usage(plan: Plan, chat: bool) -> dict[str, Any]:
    result: dict[str, Any] = {
        "prompt_tokens": plan.prompt_tokens,
        "total_tokens": plan.prompt_tokens + plan.completion_tokens,
        "completion_tokens": plan.completion_tokens,
        # As served with --enable-prompt-tokens-details (prefix caching on).
        "prompt_tokens_details": {"cached_tokens": plan.cached_tokens, "created_cache_tokens": 0},
    }
    return result | ({"completion_tokens_details": {"reasoning_tokens": 0}} if chat else {})


class Envelope:
    def __init__(self, plan: Plan, obj: str, prefix: str) -> None:
        self.head = {"id": new_id(prefix), "object": obj, "created": int(time.time())}
        self.head["model"] = plan.model

    def wrap(self, choices: list[Any], **extra: Any) -> dict[str, Any]:
        return self.head | {"choices": choices} | extra


def chat_deltas(plan: Plan) -> Iterator[dict[str, Any]]:
    yield from ({"content": piece} for piece in plan.pieces)
    if plan.tool_call is not None:
        call_id = new_id("chatcmpl-tool-")
        function = {"name": plan.tool_call.name}
        yield {
            "tool_calls": [{"id": call_id, "type": "function", "index": 0, "function": function}]
        }
        for piece in plan.tool_call.argument_pieces:
            yield {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}


def choice(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    ended = {"stop_reason": None} if finish else {}
    return (
        {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        | ended
        | {"token_ids": None}
    )


def chat_stream(plan: Plan, prompt_ms: float, predicted_ms: float) -> Iterator[Step]:
    env = Envelope(plan, "chat.completion.chunk", "chatcmpl-")
    role = {
        "index": 0,
        "delta": {"role": "assistant", "content": ""},
        "logprobs": None,
        "finish_reason": None,
    }
    yield "now", sse(env.wrap([role], prompt_token_ids=None, prompt_text=None))
    deltas = list(chat_deltas(plan))
    for i, delta in enumerate(deltas):
        pace: Pace = "token" if i else "first"
        cut = plan.finish_reason == "length" and i == len(deltas) - 1
        yield pace, sse(env.wrap([choice(delta, "length" if cut else None)]))
    if plan.finish_reason != "length" or not deltas:
        yield "now", sse(env.wrap([choice({}, plan.finish_reason)]))
    yield from tail(plan, env, chat=True)


def tail(plan: Plan, env: Envelope, chat: bool) -> Iterator[Step]:
    if plan.include_usage:
        extra = {"usage": usage(plan, chat), "system_fingerprint": FINGERPRINT}
        yield "now", sse(env.wrap([], **extra))
    yield "now", DONE


def chat_message(plan: Plan, prompt_ms: float, predicted_ms: float) -> dict[str, Any]:
    env = Envelope(plan, "chat.completion", "chatcmpl-")
    message: dict[str, Any] = {
        "role": "assistant",
        "content": "".join(plan.pieces) or None,
        "tool_calls": tool_call_message(plan, new_id("chatcmpl-tool-")),
        "reasoning": None,
    }
    choices = [
        {
            "index": 0,
            "message": message,
            "logprobs": None,
            "finish_reason": plan.finish_reason,
            "stop_reason": None,
        }
    ]
    return env.wrap(choices, system_fingerprint=FINGERPRINT, usage=usage(plan, chat=True))


def text_choice(text: str, finish: str | None) -> dict[str, Any]:
    return {
        "index": 0,
        "text": text,
        "logprobs": None,
        "finish_reason": finish,
        "stop_reason": None,
        "prompt_token_ids": None,
        "token_ids": None,
    }


def completion_stream(plan: Plan, prompt_ms: float, predicted_ms: float) -> Iterator[Step]:
    env = Envelope(plan, "text_completion", "cmpl-")
    for i, piece in enumerate(plan.pieces):
        last = i == len(plan.pieces) - 1
        finish = plan.finish_reason if last else None
        yield ("token" if i else "first"), sse(env.wrap([text_choice(piece, finish)]))
    yield from tail(plan, env, chat=False)


def completion_body(plan: Plan, prompt_ms: float, predicted_ms: float) -> dict[str, Any]:
    env = Envelope(plan, "text_completion", "cmpl-")
    choices = [text_choice("".join(plan.pieces), plan.finish_reason)]
    return env.wrap(choices, system_fingerprint=FINGERPRINT, usage=usage(plan, chat=False))
