"""What one engine event tells the meter: does it carry content, does it report tokens.

llama.cpp, ik_llama.cpp and vLLM write compact JSON, so `compact_content` decides most events
with a few byte searches. Any other valid serialization (spaces or newlines between tokens,
`\\uXXXX` escapes in keys, `event:` after `data:`) makes it answer None, and the event is
decoded instead (`decoded_facts`). The two agree by construction: "content" is a non-empty
string under one of CONTENT_KEYS, or a `tool_calls` list that starts with an object, anywhere
in the event's JSON; named events (Anthropic, responses) count by their name alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from router.stream.sse import decode
from router.stream.usage import Tokens, tokens_in

CONTENT_NAMES = ("content", "reasoning_content", "reasoning", "text")
CONTENT_KEYS = tuple(f'"{name}"'.encode() for name in CONTENT_NAMES)
TOOL_CALLS = b'"tool_calls"'
# An escaped "_" or lowercase letter (\u005f, \u0061-\u007a) could spell a key we look for.
KEY_ESCAPES = (b"\\u005", b"\\u006", b"\\u007")
CR, QUOTE = ord("\r"), ord('"')


def named_content(name: str | bytes) -> bool:
    if isinstance(name, bytes):
        name = name.decode("ascii", "replace")
    return name == "content_block_delta" or (
        name.startswith("response.") and name.endswith(".delta")
    )


def compact_content(block: bytes) -> bool | None:
    """Whether the event carries content, when its bytes decide it; None when they cannot."""
    if block.find(b"\\") != -1 and escapes_a_key(block):  # find: twice as fast as `in` here
        return None
    if block.startswith(b"event:"):
        name = block[6:].split(b"\n", 1)[0].split(b"\r", 1)[0]  # lines may end in CR alone
        return named_content(name.strip())
    # One line and its blank line (LF or CRLF): no more `data:` lines, no `event:` after them.
    # Written out, not called: this runs for every relayed token.
    end, size = block.find(b"\n"), len(block)
    if end != size - 2 and not (end == size - 3 and block[end - 1] == CR):
        return None
    verdict: bool | None = False
    for key in CONTENT_KEYS:
        at = block.find(key)
        while at != -1:
            at += len(key)
            if block.startswith(b':"', at):
                if block[at + 2] != QUOTE:  # a non-empty string
                    return True
            elif not block.startswith(b":n", at):  # neither "" nor null: not compact JSON
                verdict = None
            at = block.find(key, at)
    return tool_calls_verdict(block, verdict)


def escapes_a_key(block: bytes) -> bool:
    return b"\\u00" in block and any(escape in block for escape in KEY_ESCAPES)


def tool_calls_verdict(block: bytes, verdict: bool | None) -> bool | None:
    at = block.find(TOOL_CALLS)
    while at != -1:
        value = block[at + len(TOOL_CALLS) : at + len(TOOL_CALLS) + 3]
        if value == b":[{":
            return True
        if value not in (b":[]", b":nu"):
            verdict = None
        at = block.find(TOOL_CALLS, at + len(TOOL_CALLS))
    return verdict


@dataclass(frozen=True, slots=True)
class Facts:
    content: bool
    tokens: Tokens
    usage_only: bool  # `choices: []` with usage: the chunk `include_usage` adds


NOTHING = Facts(content=False, tokens=Tokens(), usage_only=False)


def decoded_facts(block: bytes) -> Facts:
    """Everything the meter wants from one event, by decoding it (any valid serialization)."""
    event = decode(block)
    if event is None:
        return NOTHING
    try:
        obj = json.loads(event.data)
    except ValueError:
        obj = None  # `[DONE]` or not JSON: nothing to count, the bytes still go through
    named = event.name != "message"  # Anthropic and responses events count by their name
    content = named_content(event.name) if named else has_content(obj)
    usage_only = isinstance(obj, dict) and obj.get("choices") == [] and "usage" in obj
    return Facts(content=content, tokens=tokens_in(obj), usage_only=usage_only)


def has_content(value: Any) -> bool:
    if isinstance(value, list):
        return any(has_content(item) for item in value)
    if not isinstance(value, dict):
        return False
    for key, inner in value.items():
        if key in CONTENT_NAMES and isinstance(inner, str) and inner:
            return True
        if key == "tool_calls" and isinstance(inner, list) and inner and isinstance(inner[0], dict):
            return True
        if isinstance(inner, dict | list) and has_content(inner):
            return True
    return False


def carries_content(block: bytes) -> bool:
    verdict = compact_content(block)
    return verdict if verdict is not None else decoded_facts(block).content
