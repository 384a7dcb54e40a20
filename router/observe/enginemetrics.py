"""Per engine of each lane (labels `lane` and `engine`, both names from the config, so the
series are bounded and exist from the start): what each engine answered, how much of its
prompts it found in its prompt cache, and how requests were placed across a lane's engines.
Beside `lanerouter_prompt_reprocessed` per lane, these show what cache affinity buys."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter

from router.config import LaneConfig
from router.enginerefs import lane_engines
from router.observe.exchange import Exchange

CHOICES = ("affinity", "spilled", "least_loaded", "after_failure")  # engineorder.Choice


class EngineMetrics:
    def __init__(self, registry: CollectorRegistry, lanes: Mapping[str, LaneConfig]) -> None:
        def counter(name: str, doc: str, *more: str) -> Counter:
            return Counter(name, doc, ["lane", "engine", *more], registry=registry)

        self.requests = counter("lanerouter_engine_requests", "Requests each engine answered")
        self.prompt_tokens = counter(
            "lanerouter_engine_prompt_tokens", "Prompt tokens each engine was sent"
        )
        self.cached_tokens = counter(
            "lanerouter_engine_cached_tokens", "Prompt tokens each engine found in its cache"
        )
        self.reprocessed = counter(
            "lanerouter_engine_prompt_reprocessed",
            "Continued conversations each engine processed again in full (no cache reuse)",
        )
        self.placements = counter(
            "lanerouter_engine_placements",
            "Requests placed on each engine, by why it was chosen",
            "choice",
        )
        # (lane, engine) -> its four series, and the placement series by choice
        self.series: dict[tuple[str, str], tuple[Counter, Counter, Counter, Counter]] = {}
        self.placed_series: dict[tuple[str, str, str], Counter] = {}
        self.adopt(lanes)

    def adopt(self, lanes: Mapping[str, LaneConfig]) -> None:
        """Series for every engine of a (re)loaded config, at zero from the start."""
        for lane, refs in lane_engines(lanes).items():
            for ref in refs:
                labels = (lane, ref.name)
                if labels in self.series:
                    continue
                self.series[labels] = tuple(  # type: ignore[assignment]
                    m.labels(*labels)
                    for m in (self.requests, self.prompt_tokens, self.cached_tokens,
                              self.reprocessed)
                )  # fmt: skip
                for choice in CHOICES:
                    self.placed_series[(*labels, choice)] = self.placements.labels(*labels, choice)

    def placed(self, lane: str, engine: str, why: str) -> None:
        self.placed_series[(lane, engine, why)].inc()

    def done(self, exchange: Exchange, reprocessed: bool) -> None:
        """An answered request: counted at the engine that answered it."""
        if exchange.engine_name is None:
            return
        requests, prompt, cached, again = self.series[(exchange.lane, exchange.engine_name)]
        tokens = exchange.measurement.tokens.resolved()
        requests.inc()
        prompt.inc(tokens.prompt or 0)
        cached.inc(tokens.cached or 0)
        if reprocessed:
            again.inc()
