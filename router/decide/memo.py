"""Remembering what was read of a text, for texts that come back with every request. Pure in
effect: an answer from memory is the answer reading would give."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Memo(Generic[T]):
    """Texts already read: an agent sends the same system prompt and the conversation's earlier
    turns with every request, and reading them again would cost more than the decision."""

    def __init__(self, read: Callable[[str], T], size: int = 4096) -> None:
        self.read_text, self.size = read, size
        # Keyed by length and hash, not by the text: a turn may be 48K characters, and Python's
        # string hash is keyed per process, so nobody can make two texts collide on purpose.
        self.seen: dict[tuple[int, int], T] = {}

    def read(self, text: str) -> T:
        key = (len(text), hash(text))
        if key in self.seen:
            return self.seen[key]
        if len(self.seen) >= self.size:
            del self.seen[next(iter(self.seen))]  # the oldest
        self.seen[key] = found = self.read_text(text)
        return found
