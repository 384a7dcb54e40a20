"""Pure classification of a request body into what routing needs to know about it.

Understands the four request shapes lanerouter relays: OpenAI chat (`messages`), OpenAI
completions (`prompt`), OpenAI responses (`instructions` + `input`) and Anthropic messages
(`system` + `messages` with content blocks).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

TOOL_ROLES = frozenset({"tool", "function"})
TOOL_BLOCK_TYPES = frozenset({"tool_use", "tool_result", "function_call", "function_call_output"})
SYSTEM_ROLES = frozenset({"system", "developer"})


@dataclass(frozen=True, slots=True)
class Intent:
    model: str | None
    has_tools: bool
    system_text: str
    last_user_text: str


def classify(body: Mapping[str, Any]) -> Intent:
    messages = _as_list(body.get("messages")) or _as_list(body.get("input"))
    model = body.get("model")
    return Intent(
        model=model if isinstance(model, str) else None,
        has_tools=bool(body.get("tools") or body.get("functions")) or _has_tool_turns(messages),
        system_text=_system_text(body, messages),
        last_user_text=_last_user_text(body, messages),
    )


def _as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _has_tool_turns(messages: list[Any]) -> bool:
    for message in messages:
        if not isinstance(message, dict):
            continue
        if message.get("role") in TOOL_ROLES or message.get("type") in TOOL_BLOCK_TYPES:
            return True
        if message.get("tool_calls") or message.get("function_call"):
            return True
        blocks = _as_list(message.get("content"))
        if any(isinstance(b, dict) and b.get("type") in TOOL_BLOCK_TYPES for b in blocks):
            return True
    return False


def _system_text(body: Mapping[str, Any], messages: list[Any]) -> str:
    parts = [text_of(body.get("system")), text_of(body.get("instructions"))]
    parts += [
        text_of(m.get("content"))
        for m in messages
        if isinstance(m, dict) and m.get("role") in SYSTEM_ROLES
    ]
    return "\n".join(p for p in parts if p)


def _last_user_text(body: Mapping[str, Any], messages: list[Any]) -> str:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return text_of(message.get("content"))
    # Completions carry a prompt; responses may carry a bare string input.
    return text_of(body.get("prompt")) or text_of(body.get("input"))


def text_of(content: object) -> str:
    """The text of a message content: a string, or a list of text parts/blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = (text_of(part) for part in content)
        return "\n".join(t for t in texts if t)
    if isinstance(content, dict) and content.get("type") in (None, "text", "input_text"):
        return text_of(content.get("text"))
    return ""
