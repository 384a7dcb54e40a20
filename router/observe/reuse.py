"""Spotting "forcing full prompt re-processing": a conversation continued on the same lane that
got (almost) none of its earlier prompt back from the engine's prompt cache.

Heuristic: each request's message list is fingerprinted message by message (a running hash,
so every prefix has one). A request *continues* an earlier one on the same lane when the
earlier request's whole message list is a proper prefix of its own, seen within `window`
seconds. It was *re-processed* when its cached prompt tokens are under `min_reuse` (10%) of
the earlier request's prompt tokens, which it shares by construction. Prompts under 64 tokens
are ignored. llama.cpp shows this with SWA/hybrid models, and on a single slot shared by
interleaved conversations.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from router.decide.intent import SYSTEM_ROLES, role_of

MIN_PROMPT = 64


def fingerprints(body: Mapping[str, Any]) -> tuple[bytes, ...]:
    """A running hash after each message (the system prompt first, when separate)."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return ()
    system = body.get("system")
    parts = ([system] if system is not None else []) + messages
    running, prints = hashlib.blake2b(digest_size=16), []
    for part in parts:
        running.update(json.dumps(part, sort_keys=True, separators=(",", ":")).encode())
        prints.append(running.copy().digest())
    return tuple(prints)


def conversation_id(body: Mapping[str, Any]) -> str | None:
    """What stays the same across one conversation's turns: its system prompt and its first
    user message (16 hex digits of their hash); None without a message list."""
    messages = body.get("messages") or body.get("input")
    if not isinstance(messages, list):
        return None
    system = [m for m in messages if isinstance(m, dict) and role_of(m) in SYSTEM_ROLES]
    first = next((m for m in messages if isinstance(m, dict) and role_of(m) == "user"), None)
    opening = [body.get("system"), body.get("instructions"), system, first]
    digest = hashlib.blake2b(json.dumps(opening, sort_keys=True).encode(), digest_size=8)
    return digest.hexdigest()


class ConversationTracker:
    def __init__(self, window: float = 600.0, capacity: int = 4096, min_reuse: float = 0.1):
        self.window, self.capacity, self.min_reuse = window, capacity, min_reuse
        self.seen: OrderedDict[tuple[str, bytes], tuple[float, int]] = OrderedDict()

    def reprocessed(self, lane: str, prints: tuple[bytes, ...], cached: int, now: float) -> bool:
        """Whether this request continues an earlier one yet got almost no cache reuse."""
        for prefix in reversed(prints[:-1]):
            earlier = self.seen.get((lane, prefix))
            if earlier is not None and now - earlier[0] <= self.window:
                prompt = earlier[1]
                return prompt >= MIN_PROMPT and cached < self.min_reuse * prompt
        return False

    def remember(self, lane: str, prints: tuple[bytes, ...], prompt: int, now: float) -> None:
        if not prints:
            return
        key = (lane, prints[-1])
        self.seen[key] = (now, prompt)
        self.seen.move_to_end(key)
        while len(self.seen) > self.capacity:
            self.seen.popitem(last=False)
