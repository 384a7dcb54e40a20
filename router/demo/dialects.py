"""Which wire format a simulated engine answers in, by dialect and endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from router.demo import anthropic_wire, llama_wire, responses_wire, vllm_wire
from router.demo.plan import Plan, Step


def stream_steps(path: str, plan: Plan, prompt_ms: float, predicted_ms: float) -> Iterator[Step]:
    vllm = plan.dialect == "vllm"
    if path == "/v1/completions":
        stream = vllm_wire.completion_stream if vllm else llama_wire.completion_stream
        return stream(plan, prompt_ms, predicted_ms)
    if path == "/v1/messages":
        return anthropic_wire.anthropic_stream(plan)
    if path == "/v1/responses":
        return responses_wire.responses_stream(plan)
    chat = vllm_wire.chat_stream if vllm else llama_wire.chat_stream
    return chat(plan, prompt_ms, predicted_ms)


def whole_body(path: str, plan: Plan, prompt_ms: float, predicted_ms: float) -> dict[str, Any]:
    vllm = plan.dialect == "vllm"
    if path == "/v1/completions":
        body = vllm_wire.completion_body if vllm else llama_wire.completion_body
        return body(plan, prompt_ms, predicted_ms)
    if path == "/v1/messages":
        return anthropic_wire.anthropic_message(plan)
    if path == "/v1/responses":
        return responses_wire.response_object(plan, "completed")
    message = vllm_wire.chat_message if vllm else llama_wire.chat_message
    return message(plan, prompt_ms, predicted_ms)
