"""Building a llama.cpp-family non-streaming answer from its streamed events.

llama.cpp and ik_llama.cpp keep generating a non-streaming request after its client has gone
(the slot stays busy to the end); a streamed one stops within milliseconds. So lanerouter asks
them for a stream and returns the body they would have sent: the same keys in the same order
(`choices, created, model, [system_fingerprint,] object, usage, id, timings`).
"""

from __future__ import annotations

import json
from typing import Any

from router.errors import UpstreamError
from router.stream.sse import EventSplitter, decode


def chunks_of(stream: bytes) -> list[dict[str, Any]]:
    splitter = EventSplitter()
    found = []
    for block in [*splitter.feed(stream), splitter.flush()]:
        event = decode(block)
        if event is not None and event.data != "[DONE]":
            try:
                obj = json.loads(event.data)
            except ValueError as exc:
                raise UpstreamError(f"the engine sent an event that is not JSON: {exc}") from None
            if isinstance(obj, dict):
                found.append(obj)
    return found


def assemble(path: str, stream: bytes, length_at: int | None = None) -> bytes:
    """`length_at`: the limit an engine that always says "stop" was sent (ik_llama.cpp); an
    answer that reached it finished for "length"."""
    chunks = chunks_of(stream)
    chat = path == "/v1/chat/completions"
    choice = chat_choice(chunks) if chat else text_choice(chunks)
    head = chunks[0] if chunks else {}
    body: dict[str, Any] = {"choices": [choice]}
    body |= {k: head[k] for k in ("created", "model", "system_fingerprint") if k in head}
    body["object"] = "chat.completion" if chat else "text_completion"
    last = {k: v for chunk in chunks for k, v in chunk.items() if k in ("usage", "timings")}
    body |= {"usage": last["usage"]} if "usage" in last else {}
    body |= {"id": head["id"]} if "id" in head else {}
    body |= {"timings": last["timings"]} if "timings" in last else {}
    generated = (last.get("timings") or {}).get("predicted_n")
    if length_at is not None and isinstance(generated, int) and generated >= length_at:
        choice["finish_reason"] = (
            "length" if choice.get("finish_reason") == "stop" else (choice.get("finish_reason"))
        )
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def choices_of(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c["choices"][0] for c in chunks if c.get("choices")]


def chat_choice(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    texts: dict[str, list[str]] = {"content": [], "reasoning_content": []}
    calls: dict[int, dict[str, Any]] = {}
    finish = None
    for choice in choices_of(chunks):
        delta = choice.get("delta") or {}
        for key, parts in texts.items():
            if isinstance(delta.get(key), str):
                parts.append(delta[key])
        for call in delta.get("tool_calls") or []:
            merge_call(calls.setdefault(call.get("index", 0), {}), call)
        finish = choice.get("finish_reason") or finish
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts["content"])}
    if texts["reasoning_content"]:
        message["reasoning_content"] = "".join(texts["reasoning_content"])
    if calls:  # llama.cpp writes each call as type, function, id
        message["tool_calls"] = [
            {
                "type": calls[i].get("type", "function"),
                "function": calls[i]["function"],
                "id": calls[i].get("id", ""),
            }
            for i in sorted(calls)
        ]
    return {"finish_reason": finish, "index": 0, "message": message}


def merge_call(into: dict[str, Any], delta: dict[str, Any]) -> None:
    for key in ("id", "type"):
        if key in delta:
            into[key] = delta[key]
    function = into.setdefault("function", {"name": "", "arguments": ""})
    part = delta.get("function") or {}
    function["name"] += part.get("name") or ""
    function["arguments"] += part.get("arguments") or ""


def text_choice(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    choices = choices_of(chunks)
    finish = next((c["finish_reason"] for c in reversed(choices) if c.get("finish_reason")), None)
    text = "".join(c.get("text") or "" for c in choices)
    return {"text": text, "index": 0, "logprobs": None, "finish_reason": finish}
