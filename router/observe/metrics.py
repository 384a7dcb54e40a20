"""Prometheus collectors on an injected registry. Label values come from config or enums only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeVar, cast

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics import MetricWrapperBase

from router.config import LaneConfig
from router.observe.enginemetrics import EngineMetrics
from router.observe.exchange import ENDPOINTS, Exchange, Finished
from router.observe.histograms import (
    DECODE_BUCKETS,
    DURATION_BUCKETS,
    PREFILL_BUCKETS,
    QUEUE_BUCKETS,
    TTFT_BUCKETS,
    gap_histogram,
)

M = TypeVar("M", bound=MetricWrapperBase)


class Metrics:
    def __init__(
        self, registry: CollectorRegistry, lanes: Mapping[str, LaneConfig], key_metric: bool = False
    ) -> None:
        def counter(name: str, doc: str, *labels: str) -> Counter:
            return Counter(name, doc, list(labels or ["lane"]), registry=registry)

        def gauge(name: str, doc: str) -> Gauge:  # summed over live workers
            return Gauge(name, doc, ["lane"], registry=registry, multiprocess_mode="livesum")

        def histogram(name: str, doc: str, buckets: Sequence[float], *labels: str) -> Histogram:
            labelnames = list(labels or ["lane"])
            return Histogram(name, doc, labelnames, buckets=buckets, registry=registry)

        self.requests = counter(
            "lanerouter_requests",
            "Requests by lane, route reason, endpoint and outcome",
            "lane",
            "reason",
            "endpoint",
            "outcome",
        )
        # Client key names come from config only (auth.key_metric turns the series on).
        self.key_requests = (
            counter("lanerouter_key_requests", "Requests by client key and outcome", "key",
                    "outcome") if key_metric else None
        )  # fmt: skip
        self.failovers = counter(
            "lanerouter_failovers",
            "Requests moved to another lane before any content was sent",
            "from_lane",
            "to_lane",
            "cause",
        )
        self.retries = counter(
            "lanerouter_upstream_retries", "Extra attempts on the same lane", "lane", "cause"
        )
        self.ttft = histogram(
            "lanerouter_ttft_seconds", "Arrival to first content event", TTFT_BUCKETS
        )
        self.decode = histogram(
            "lanerouter_decode_tokens_per_second", "Decode rate per stream", DECODE_BUCKETS
        )
        self.prefill = histogram(
            "lanerouter_prefill_tokens_per_second",
            "Uncached prompt tokens / (TTFT - queue wait)",
            PREFILL_BUCKETS,
        )
        self.duration = histogram(
            "lanerouter_request_duration_seconds",
            "Arrival to last byte",
            DURATION_BUCKETS,
            "lane",
            "endpoint",
        )
        self.queue_wait = histogram(
            "lanerouter_queue_wait_seconds", "Wait for a free slot", QUEUE_BUCKETS
        )
        self.gaps = gap_histogram(registry, list(lanes))
        self.prompt_tokens = counter("lanerouter_prompt_tokens", "Prompt tokens")
        self.cached_tokens = counter(
            "lanerouter_cached_prompt_tokens", "Prompt tokens served from the engine's prompt cache"
        )
        self.completion_tokens = counter("lanerouter_completion_tokens", "Completion tokens")
        self.decode_tokens = counter(
            "lanerouter_decode_tokens",
            "Completion tokens of streams with a decode rate (sum of n_i)",
        )
        self.decode_weighted = counter(
            "lanerouter_decode_tps_token_weighted",
            "Sum of n_i * decode_tps_i; divide by decode_tokens",
        )
        self.reprocessed = counter(
            "lanerouter_prompt_reprocessed",
            "Continued conversations that got no prompt-cache reuse",
        )
        self.inflight = gauge("lanerouter_inflight_requests", "Requests in flight")
        self.queue_depth = gauge("lanerouter_queue_depth", "Requests waiting for a slot")
        per_lane = (
            self.ttft,
            self.decode,
            self.prefill,
            self.queue_wait,
            self.inflight,
            self.queue_depth,
            self.prompt_tokens,
            self.cached_tokens,
            self.completion_tokens,
            self.decode_tokens,
            self.decode_weighted,
            self.reprocessed,
        )
        self.engines = EngineMetrics(registry, lanes)
        self.per_lane = per_lane
        self.children: dict[tuple[int, tuple[str, ...]], MetricWrapperBase] = {}
        self.adopt(lanes)

    def adopt(self, lanes: Mapping[str, LaneConfig]) -> None:
        """Every lane's series exist from the start, at zero; a reload adds the new lanes'."""
        for lane in lanes:
            for metric in self.per_lane:
                metric.labels(lane)
        self.engines.adopt(lanes)

    def series(self, metric: M, *values: str) -> M:
        """The labelled child, looked up once: `labels()` costs microseconds on every call."""
        key = (id(metric), values)
        child = self.children.get(key)
        if child is None:
            child = self.children[key] = metric.labels(*values)
        return cast(M, child)

    def retried(self, lane: str, cause: str) -> None:
        self.series(self.retries, lane, cause).inc()

    def failed_over(self, from_lane: str, to_lane: str, cause: str) -> None:
        self.series(self.failovers, from_lane, to_lane, cause).inc()

    def waited(self, lane: str, seconds: float) -> None:
        self.series(self.queue_wait, lane).observe(seconds)

    def queueing(self, lane: str, change: int) -> None:
        self.series(self.queue_depth, lane).inc(change)

    def placed(self, lane: str, engine: str, why: str) -> None:
        self.engines.placed(lane, engine, why)

    def started(self, exchange: Exchange) -> None:
        self.series(self.inflight, exchange.lane).inc()

    def done(self, exchange: Exchange, end: Finished, routed: bool, reprocessed: bool) -> None:
        lane, m = exchange.lane, exchange.measurement
        endpoint = ENDPOINTS.get(exchange.endpoint, "other")
        self.series(self.requests, lane, exchange.reason, endpoint, end.outcome.value).inc()
        if self.key_requests is not None and exchange.key is not None:
            self.series(self.key_requests, exchange.key, end.outcome.value).inc()
        if exchange.started:
            self.series(self.inflight, lane).dec()
        if not routed:
            return
        if m.ended is not None:
            self.series(self.duration, lane, endpoint).observe(m.ended - m.arrived)
        self.observe_tokens(exchange)
        self.engines.done(exchange, reprocessed)
        if reprocessed:
            self.series(self.reprocessed, lane).inc()

    def observe_tokens(self, exchange: Exchange) -> None:
        lane, m = exchange.lane, exchange.measurement
        tokens = m.tokens.resolved()
        completion, ttft, decode, prefill = m.completion_tokens, m.ttft, m.decode_tps, m.prefill_tps
        if ttft is not None:
            self.series(self.ttft, lane).observe(ttft)
        if prefill is not None:
            self.series(self.prefill, lane).observe(prefill)
        if decode is not None and completion is not None:
            self.series(self.decode, lane).observe(decode)
            self.series(self.decode_tokens, lane).inc(completion)
            self.series(self.decode_weighted, lane).inc(completion * decode)
        self.gaps.observe_many(lane, m.gaps)
        self.series(self.prompt_tokens, lane).inc(tokens.prompt or 0)
        self.series(self.cached_tokens, lane).inc(tokens.cached or 0)
        self.series(self.completion_tokens, lane).inc(completion or 0)
