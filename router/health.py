"""Asking each lane's engine whether it can serve, in the engine's own terms."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Literal

from router.errors import RouterError
from router.upstream import Upstreams

LaneState = Literal["ready", "loading", "busy", "down"]
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
    return LaneHealth("down", f"HTTP {status}: {text}")


async def probe(upstreams: Upstreams, lane: str) -> LaneHealth:
    try:
        response = await upstreams.get(lane, "/health", PROBE_TIMEOUT)
    except RouterError as exc:
        return LaneHealth("down", exc.message)
    return state_from_health(response.status_code, response.content)


async def probe_all(upstreams: Upstreams) -> dict[str, LaneHealth]:
    lanes = list(upstreams.lanes)
    results = await asyncio.gather(*(probe(upstreams, lane) for lane in lanes))
    return dict(zip(lanes, results, strict=True))
