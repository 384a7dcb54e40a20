"""OpenAI-style chat and completions bodies in each engine's dialect, as captured from real ones.

llama.cpp: compact JSON, `system_fingerprint`, `timings` on the finish chunk (with `cache_n`),
an extra `choices: []` usage chunk when `include_usage`. ik_llama.cpp: the same without
`system_fingerprint` or `cache_n` (it has `n_ctx`, `n_past`) and `finish_reason` always "stop".
vLLM: role chunk with `content: ""` sent at once, no timings, usage only when asked.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from typing import Any

from router.sim.plan import Pace, Plan, Step


def dumps(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def sse(obj: object) -> bytes:
    return b"data: " + dumps(obj) + b"\n\n"


DONE = b"data: [DONE]\n\n"


def usage(plan: Plan) -> dict[str, Any]:
    return {
        "completion_tokens": plan.completion_tokens,
        "prompt_tokens": plan.prompt_tokens,
        "total_tokens": plan.prompt_tokens + plan.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": plan.cached_tokens},
    }


def timings(plan: Plan, prompt_ms: float, predicted_ms: float) -> dict[str, Any]:
    prompt_n = plan.prompt_tokens - plan.cached_tokens
    predicted_n = plan.completion_tokens
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
    """The fields every chunk of one response shares, in the dialect's key order."""

    def __init__(self, plan: Plan, obj: str) -> None:
        self.plan = plan
        self.obj = obj
        prefix = "chatcmpl-" if obj.startswith("chat") or plan.dialect != "vllm" else "cmpl-"
        self.id = prefix + secrets.token_hex(8)
        self.created = int(time.time())

    def wrap(self, choices: list[Any], **extra: Any) -> dict[str, Any]:
        obj = self.obj
        if self.plan.dialect == "vllm":
            head = {"id": self.id, "object": obj, "created": self.created}
            return head | {"model": self.plan.model, "choices": choices} | extra
        body: dict[str, Any] = {"choices": choices, "created": self.created, "id": self.id}
        body["model"] = self.plan.model
        if self.plan.dialect == "llamacpp":
            body["system_fingerprint"] = "b11434-unknown"
        return body | {"object": obj} | extra


def chat_choice(plan: Plan, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    if plan.dialect == "vllm":
        return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
    return {"finish_reason": finish, "index": 0, "delta": delta}


def chat_deltas(plan: Plan) -> Iterator[dict[str, Any]]:
    for piece in plan.pieces:
        yield {"content": piece}
    call = plan.tool_call
    if call is None:
        return
    call_id = secrets.token_hex(16)
    function: dict[str, Any] = {"name": call.name}
    if plan.dialect == "vllm":
        yield {
            "tool_calls": [
                {
                    "id": f"chatcmpl-tool-{call_id[:16]}",
                    "type": "function",
                    "index": 0,
                    "function": function,
                }
            ]
        }
    else:
        yield {
            "tool_calls": [
                {
                    "index": 0,
                    "id": call_id,
                    "type": "function",
                    "function": function | {"arguments": ""},
                }
            ]
        }
    for piece in call.argument_pieces:
        yield {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}


def chat_stream(plan: Plan, prompt_ms: float, predicted_ms: float) -> Iterator[Step]:
    env = Envelope(plan, "chat.completion.chunk")
    role_content = "" if plan.dialect == "vllm" else None
    role = sse(env.wrap([chat_choice(plan, {"role": "assistant", "content": role_content}, None)]))
    # vLLM answers at once and then prefills; the llama.cpp family is silent until a token.
    yield ("now", role) if plan.dialect == "vllm" else ("first", role)
    for i, delta in enumerate(chat_deltas(plan)):
        pace: Pace = "token" if i else ("first" if plan.dialect == "vllm" else "now")
        yield pace, sse(env.wrap([chat_choice(plan, delta, None)]))
    finish = chat_choice(plan, {}, plan.finish_reason)
    if plan.dialect == "vllm":
        finish |= {"stop_reason": None}
        yield "now", sse(env.wrap([finish]))
    else:
        yield "now", sse(env.wrap([finish], timings=timings(plan, prompt_ms, predicted_ms)))
    if plan.include_usage:
        extra = {"usage": usage(plan)}
        if plan.dialect != "vllm":
            extra["timings"] = timings(plan, prompt_ms, predicted_ms)
        yield "now", sse(env.wrap([], **extra))
    yield "now", DONE


def chat_message(plan: Plan, prompt_ms: float, predicted_ms: float) -> dict[str, Any]:
    env = Envelope(plan, "chat.completion")
    message: dict[str, Any] = {"role": "assistant", "content": "".join(plan.pieces) or None}
    if plan.tool_call is not None:
        arguments = "".join(plan.tool_call.argument_pieces)
        message["tool_calls"] = [
            {
                "id": secrets.token_hex(16),
                "type": "function",
                "function": {"name": plan.tool_call.name, "arguments": arguments},
            }
        ]
    choice = {"finish_reason": plan.finish_reason, "index": 0, "message": message}
    if plan.dialect == "vllm":
        return env.wrap([choice], usage=usage(plan))
    return env.wrap([choice], usage=usage(plan), timings=timings(plan, prompt_ms, predicted_ms))


def completion_stream(plan: Plan, prompt_ms: float, predicted_ms: float) -> Iterator[Step]:
    env = Envelope(plan, "text_completion")

    def choice(text: str, finish: str | None) -> dict[str, Any]:
        return {"index": 0, "text": text, "logprobs": None, "finish_reason": finish}

    for i, piece in enumerate(plan.pieces):
        yield ("token" if i else "first"), sse(env.wrap([choice(piece, None)]))
    if plan.dialect == "vllm":
        yield "now", sse(env.wrap([choice("", plan.finish_reason)]))
        if plan.include_usage:
            yield "now", sse(env.wrap([], usage=usage(plan)))
    else:
        extra = {"usage": usage(plan), "timings": timings(plan, prompt_ms, predicted_ms)}
        yield "now", sse(env.wrap([choice("", plan.finish_reason)], **extra))
    yield "now", DONE


def completion_body(plan: Plan, prompt_ms: float, predicted_ms: float) -> dict[str, Any]:
    env = Envelope(plan, "text_completion")
    text = "".join(plan.pieces)
    choice = {"index": 0, "text": text, "logprobs": None, "finish_reason": plan.finish_reason}
    return env.wrap([choice], usage=usage(plan))
