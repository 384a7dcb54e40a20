"""Asking each lane's engine whether it can serve, in the engine's own terms."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from router.engine.upstream import Upstreams
from router.errors import RouterError

LaneState = Literal["ready", "loading", "busy", "down"]
STATES: tuple[LaneState, ...] = ("ready", "loading", "busy", "down")
PROBE_TIMEOUT = 2.0


@dataclass(frozen=True, slots=True)
class LaneHealth:
    state: LaneState
    detail: str

    @property
    def reachable(self) -> bool:
        return self.state in ("ready", "busy")


def state_from_health(status: int, body: bytes) -> LaneHealth:
    """Map a `GET /health` answer; the same rules hold for llama.cpp, ik_llama.cpp and vLLM."""
    text = body.decode("utf-8", "replace")[:200]
    if status == 200:
        # ik_llama.cpp answers 200 with "no slot available" when every slot is busy.
        busy = "no slot available" in text
        return LaneHealth("busy" if busy else "ready", text or "ok")
    if status == 503 and "loading" in text.lower():
        return LaneHealth("loading", text)
    if status == 503 and "no slot available" in text:
        return LaneHealth("busy", text)  # ik_llama.cpp with ?fail_on_no_slot=1
    return LaneHealth("down", f"HTTP {status}: {text}")


async def probe(upstreams: Upstreams, lane: str) -> LaneHealth:
    try:
        response = await upstreams.get(lane, "/health", PROBE_TIMEOUT)
    except RouterError as exc:
        return LaneHealth("down", exc.detail)
    return state_from_health(response.status, response.body)
