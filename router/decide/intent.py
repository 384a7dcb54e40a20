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


MAX_TURNS = 32  # user turns kept for the conversation rule, latest first (read lazily)


@dataclass(frozen=True, slots=True)
class Intent:
    model: str | None
    has_tools: bool
    system_text: str
    last_user_text: str
    user_texts: tuple[str, ...] = ()  # the user turns' texts, latest first
    fill_in_the_middle: bool = False  # a completions `suffix`: an editor's autocomplete


def classify(body: Mapping[str, Any]) -> Intent:
    messages = _as_list(body.get("messages")) or _as_list(body.get("input"))
    model = body.get("model")
    user_texts = _user_texts(body, messages)
    return Intent(
        model=model if isinstance(model, str) else None,
        has_tools=bool(body.get("tools") or body.get("functions")) or _has_tool_turns(messages),
        system_text=_system_text(body, messages),
        last_user_text=user_texts[0] if user_texts else "",
        user_texts=user_texts,
        fill_in_the_middle=isinstance(body.get("suffix"), str),
    )


def _as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _word(item: dict[str, Any], key: str) -> str | None:
    """A field that should be a string, or None: a client may send anything there (a dict
    would not even be hashable for a set lookup)."""
    value = item.get(key)
    return value if isinstance(value, str) else None


def role_of(message: dict[str, Any]) -> str | None:
    return _word(message, "role")


def _has_tool_turns(messages: list[Any]) -> bool:
    for message in messages:
        if not isinstance(message, dict):
            continue
        if _word(message, "role") in TOOL_ROLES or _word(message, "type") in TOOL_BLOCK_TYPES:
            return True
        if message.get("tool_calls") or message.get("function_call"):
            return True
        blocks = message.get("content")
        if isinstance(blocks, list) and any(
            isinstance(b, dict) and _word(b, "type") in TOOL_BLOCK_TYPES for b in blocks
        ):
            return True
    return False


def _system_text(body: Mapping[str, Any], messages: list[Any]) -> str:
    parts = [text_of(body.get("system")), text_of(body.get("instructions"))]
    parts += [
        text_of(m.get("content"))
        for m in messages
        if isinstance(m, dict) and _word(m, "role") in SYSTEM_ROLES
    ]
    return "\n".join(p for p in parts if p)


def _user_texts(body: Mapping[str, Any], messages: list[Any]) -> tuple[str, ...]:
    texts = []
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            texts.append(text_of(message.get("content")))
            if len(texts) == MAX_TURNS:
                break
    if not messages:  # completions carry a prompt; responses may carry a bare string input
        texts.append(text_of(body.get("prompt")) or text_of(body.get("input")))
    return tuple(texts)


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
