"""The life of one engine answer, as a checked state machine.

    HEAD ──> BODY ──> COMPLETE ──> RELEASED
      │        │                      ^
      └────────┴──> FAILED ───────────┘     (and HEAD or BODY straight to RELEASED: closed early)

An answer fails only before it is complete (a connection lost after the last byte is no failure)
and is released once. Anything else is a bug in lanerouter or an engine breaking HTTP, and
`advance` refuses it.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from router.errors import IllegalTransition


class Phase(StrEnum):
    HEAD = "head"  # waiting for the status line and headers
    BODY = "body"  # headers in; body bytes arrive
    COMPLETE = "complete"  # the whole answer is in
    FAILED = "failed"  # broke, timed out or spoke malformed HTTP before it was complete
    RELEASED = "released"  # the connection went back to the pool or was closed


ALLOWED: Mapping[Phase, frozenset[Phase]] = {
    Phase.HEAD: frozenset({Phase.BODY, Phase.FAILED, Phase.RELEASED}),
    Phase.BODY: frozenset({Phase.COMPLETE, Phase.FAILED, Phase.RELEASED}),
    Phase.COMPLETE: frozenset({Phase.RELEASED}),
    Phase.FAILED: frozenset({Phase.RELEASED}),
    Phase.RELEASED: frozenset(),
}
UNFINISHED = frozenset({Phase.HEAD, Phase.BODY})


def advance(now: Phase, to: Phase) -> Phase:
    if to not in ALLOWED[now]:
        raise IllegalTransition(f"an engine answer cannot go from {now} to {to}")
    return to
