"""The human text of a request or an answer, only for the request log when asked for."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from router.decide.intent import text_of
from router.stream.sse import decode


def delta_text(obj: Any) -> str:
    if not isinstance(obj, dict):
        return ""
    if isinstance(obj.get("delta"), str):  # responses API
        return str(obj["delta"])
    delta = obj.get("delta")
    if isinstance(delta, dict):  # Anthropic content_block_delta
        return str(delta.get("text") or delta.get("thinking") or delta.get("partial_json") or "")
    choices = obj.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    delta = choice.get("delta") or {}
    parts = [delta.get(k) for k in ("reasoning_content", "reasoning", "content")]
    parts.append(choice.get("text"))
    return "".join(p for p in parts if isinstance(p, str))


def stream_text(blocks: Iterable[bytes]) -> str:
    texts = []
    for block in blocks:
        event = decode(block)
        if event is not None:
            try:
                texts.append(delta_text(json.loads(event.data)))
            except ValueError:
                continue
    return "".join(texts)


def body_text(body: bytes) -> str:
    try:
        obj = json.loads(body)
    except ValueError:
        return ""
    if not isinstance(obj, dict):
        return ""
    choice = (obj.get("choices") or [{}])[0]
    if isinstance(choice, dict):
        message = choice.get("message") or {}
        found = text_of(message.get("content")) or text_of(choice.get("text"))
        if found:
            return found
    return text_of(obj.get("content"))
