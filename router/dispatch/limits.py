"""What each engine says about its own limits, read when its lane is probed.

llama.cpp and ik_llama.cpp report their context per slot in `GET /props`
(`default_generation_settings.n_ctx`, with `total_slots`); vLLM reports `max_model_len` for
its model in `GET /v1/models`. Where an engine says so, its number wins over the config's
`ctx_size` for lane fit and output caps (a wrong config would otherwise admit requests the
engine then truncates or refuses), and the disagreement is logged once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from router.config import EngineKind, LaneConfig
from router.enginerefs import lane_engines

log = logging.getLogger("lanerouter")
LIMITS_PATH: dict[EngineKind, str] = {
    "llamacpp": "/props",
    "ik_llamacpp": "/props",
    "vllm": "/v1/models",
}


def reported_context(engine: EngineKind, body: bytes) -> int | None:
    """The context per request slot an engine's answer states, if it states one."""
    try:
        data: Any = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    if engine == "vllm":
        models = data.get("data")
        first = models[0] if isinstance(models, list) and models else {}
        value = first.get("max_model_len") if isinstance(first, dict) else None
    else:
        settings = data.get("default_generation_settings")
        value = settings.get("n_ctx") if isinstance(settings, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


class EngineLimits:
    """Per lane, the context to plan with: the smallest its engines report once known (a
    request may go to any of them), else the config's."""

    def __init__(self, lanes: Mapping[str, LaneConfig]) -> None:
        self.configured = {name: lane.ctx_size for name, lane in lanes.items()}
        self.lane_of = {e.key: e.lane for refs in lane_engines(lanes).values() for e in refs}
        self.reported: dict[str, int] = {}  # lane -> context
        self.by_engine: dict[str, int] = {}  # engine key -> context

    def ctx(self, lane: str) -> int:
        return self.reported.get(lane, self.configured[lane])

    def known(self, engine: str) -> bool:
        return engine in self.by_engine

    def source(self, lane: str) -> str:
        return "engine" if lane in self.reported else "config"

    def learn(self, engine: str, ctx: int) -> None:
        lane = self.lane_of[engine]
        self.by_engine[engine] = ctx
        smallest = min(c for key, c in self.by_engine.items() if self.lane_of[key] == lane)
        if smallest != self.configured[lane] and self.reported.get(lane) != smallest:
            log.warning(
                "lane %s: the engine reports a context of %d tokens per slot, the config says "
                "ctx_size = %d; using the engine's", lane, smallest, self.configured[lane],
            )  # fmt: skip
        self.reported[lane] = smallest
