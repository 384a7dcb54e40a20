"""`serve --demo`: simulated engines on free loopback ports, paced like the user's lanes."""

from __future__ import annotations

from router.config import LaneConfig, Settings
from router.demo.engine import SimEngine
from router.demo.planner import Profile
from router.http.serving import BackgroundServer

# (decode tok/s, prefill tok/s) as measured on the user's hardware.
LANE_PACE = {"audit": (7.6, 117.0), "chat": (85.0, 1500.0), "tools": (80.0, 2500.0)}
ENGINE_PACE = {"llamacpp": (7.6, 117.0), "ik_llamacpp": (85.0, 1500.0), "vllm": (80.0, 2500.0)}


def profile_for(name: str, lane: LaneConfig) -> Profile:
    decode, prefill = LANE_PACE.get(name, ENGINE_PACE[lane.engine])
    return Profile(lane.engine, lane.model, decode, prefill, lane.ctx_size)


def start_simulated_engines(
    settings: Settings, speed: float = 1.0
) -> tuple[Settings, list[BackgroundServer]]:
    """Start one simulated engine per lane and return settings that route to them."""
    servers: list[BackgroundServer] = []
    lanes: dict[str, LaneConfig] = {}
    for name, lane in settings.lanes.items():
        engine = SimEngine(profile_for(name, lane), speed=speed)
        server = BackgroundServer(engine).start()
        servers.append(server)
        lanes[name] = lane.model_copy(update={"base_url": server.url, "api_key_env": ""})
    return settings.model_copy(update={"lanes": lanes}), servers
