"""The engines behind each lane, as the config lists them: one per lane, or several."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from router.config import LaneConfig


@dataclass(frozen=True, slots=True)
class EngineRef:
    key: str  # "chat" for a lane's only engine, "chat/gpu2" for one of several
    lane: str
    name: str  # its metrics label, from the config: the engine's name, or the lane's
    base_url: str
    slots: int


def lane_engines(lanes: Mapping[str, LaneConfig]) -> dict[str, tuple[EngineRef, ...]]:
    """Each lane's engines. A lane with one engine keys it by the lane's own name, so that
    everything per engine reads exactly as it did per lane."""
    refs: dict[str, tuple[EngineRef, ...]] = {}
    for lane, config in lanes.items():
        servers = config.servers
        refs[lane] = tuple(
            EngineRef(
                key=f"{lane}/{server.name}" if config.engines else lane,
                lane=lane,
                name=server.name or lane,
                base_url=server.base_url,
                slots=server.max_concurrency,
            )
            for server in servers
        )
    return refs
