"""Chat and completions bodies of llama.cpp `llama-server` and ik_llama.cpp, as captured.

Both: compact JSON, keys `choices, created, id, model, (system_fingerprint), object`, the first
chat event role-only with `content: null`, `timings` on the finish event, or, when the request
set `stream_options.include_usage`, on one more `choices: []` event that carries `usage` too.
ik_llama.cpp: no `system_fingerprint`, no `cache_n` (it has `n_ctx` and `n_past`), `model`
echoes the request, and `finish_reason` is always "stop".
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from router.demo.plan import Pace, Plan, Step
from router.demo.wire import DONE, new_id, sse, tool_call_message


def usage(plan: Plan) -> dict[str, Any]:
    return {
        "completion_tokens": plan.completion_tokens,
        "prompt_tokens": plan.prompt_tokens,
        "total_tokens": plan.prompt_tokens + plan.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": plan.cached_tokens},
    }


def timings(plan: Plan, prompt_ms: float, predicted_ms: float) -> dict[str, Any]:
    prompt_n, predicted_n = plan.prompt_tokens - plan.cached_tokens, plan.completion_tokens
    result: dict[str, Any] = {"cache_n": plan.cached_tokens} if plan.dialect == "llamacpp" else {}
    result |= {
        "prompt_n": prompt_n,
        "prompt_ms": prompt_ms,
        "prompt_per_token_ms": prompt_ms / max(prompt_n, 1),
        "prompt_per_second": prompt_n / max(prompt_ms, 1e-6) * 1000,
        "predicted_n": predicted_n,
        "predicted_ms": predicted_ms,
        "predicted_per_token_ms": predicted_ms / max(predicted_n, 1),
        "predicted_per_second": predicted_n / max(predicted_ms, 1e-6) * 1000,
    }
    if plan.dialect == "ik_llamacpp":
        result |= {"n_ctx": plan.ctx_size, "n_past": plan.prompt_tokens + predicted_n - 1}
    return result


class Envelope:
    def __init__(self, plan: Plan, obj: str) -> None:
        self.plan, self.obj = plan, obj
        self.created, self.id = int(time.time()), new_id("chatcmpl-", 32)

    def wrap(self, choices: list[Any], **extra: Any) -> dict[str, Any]:
        # Key order as the server writes it: only stream chunks of chat carry `id` up front.
        chunk = self.obj == "chat.completion.chunk"
        body: dict[str, Any] = {"choices": choices, "created": self.created}
        body |= {"id": self.id} if chunk else {}
        body["model"] = self.plan.model
        if self.plan.dialect == "llamacpp":
            body["system_fingerprint"] = "b11434-unknown"
        body["object"] = self.obj
        body |= {"usage": extra["usage"]} if "usage" in extra else {}
        body |= {} if chunk else {"id": self.id}
        return body | extra


def chat_deltas(plan: Plan) -> Iterator[dict[str, Any]]:
    yield from ({"content": piece} for piece in plan.pieces)
    if plan.tool_call is not None:
        function = {"name": plan.tool_call.name, "arguments": ""}
        call = {"index": 0, "id": new_id("", 32), "type": "function", "function": function}
        yield {"tool_calls": [call]}
        for piece in plan.tool_call.argument_pieces:
            yield {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}


def choice(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {"finish_reason": finish, "index": 0, "delta": delta}


def chat_stream(plan: Plan, prompt_ms: float, predicted_ms: float) -> Iterator[Step]:
    env = Envelope(plan, "chat.completion.chunk")
    # Nothing at all, not even headers, until the first token exists.
    yield "first", sse(env.wrap([choice({"role": "assistant", "content": None}, None)]))
    for i, delta in enumerate(chat_deltas(plan)):
        pace: Pace = "token" if i else "now"
        yield pace, sse(env.wrap([choice(delta, None)]))
    yield from tail(plan, env, [choice({}, plan.finish_reason)], prompt_ms, predicted_ms)


def tail(
    plan: Plan, env: Envelope, finish: list[Any], prompt_ms: float, predicted_ms: float
) -> Iterator[Step]:
    engine_timings = timings(plan, prompt_ms, predicted_ms)
    if plan.include_usage:
        yield "now", sse(env.wrap(finish))
        yield "now", sse(env.wrap([], usage=usage(plan), timings=engine_timings))
    else:
        yield "now", sse(env.wrap(finish, timings=engine_timings))
    yield "now", DONE


def chat_message(plan: Plan, prompt_ms: float, predicted_ms: float) -> dict[str, Any]:
    env = Envelope(plan, "chat.completion")
    message: dict[str, Any] = {"role": "assistant", "content": "".join(plan.pieces) or None}
    if plan.tool_call is not None:
        message["tool_calls"] = tool_call_message(plan, new_id("", 32))
    choices = [{"finish_reason": plan.finish_reason, "index": 0, "message": message}]
    return env.wrap(choices, usage=usage(plan), timings=timings(plan, prompt_ms, predicted_ms))


def text_choice(text: str, finish: str | None) -> dict[str, Any]:
    return {"text": text, "index": 0, "logprobs": None, "finish_reason": finish}


def completion_stream(plan: Plan, prompt_ms: float, predicted_ms: float) -> Iterator[Step]:
    env = Envelope(plan, "text_completion")
    for i, piece in enumerate(plan.pieces):
        yield ("token" if i else "first"), sse(env.wrap([text_choice(piece, None)]))
    # The finish event of /v1/completions always carries usage and timings.
    extra = {"usage": usage(plan), "timings": timings(plan, prompt_ms, predicted_ms)}
    yield "now", sse(env.wrap([text_choice("", plan.finish_reason)], **extra))
    yield "now", DONE


def completion_body(plan: Plan, prompt_ms: float, predicted_ms: float) -> dict[str, Any]:
    env = Envelope(plan, "text_completion")
    choices = [text_choice("".join(plan.pieces), plan.finish_reason)]
    return env.wrap(choices, usage=usage(plan), timings=timings(plan, prompt_ms, predicted_ms))
