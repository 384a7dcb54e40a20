"""Prometheus collectors on an injected registry. Label values come from config or enums only."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.registry import Collector

from router.exchange import ENDPOINTS, Exchange

# From a 7 tok/s CPU lane to 100+ tok/s GPU lanes, and TTFTs from 10 ms to minutes.
TTFT_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120, 300, 600)
DECODE_BUCKETS = (2, 4, 6, 7, 8, 10, 15, 20, 30, 40, 50, 60, 70, 80, 90, 100, 125, 150, 200, 300)
PREFILL_BUCKETS = (
    10,
    25,
    50,
    75,
    100,
    150,
    200,
    300,
    500,
    750,
    1000,
    1500,
    2000,
    3000,
    5000,
    10000,
    20000,
)
GAP_BUCKETS = (
    0.002,
    0.005,
    0.0075,
    0.01,
    0.0125,
    0.015,
    0.02,
    0.03,
    0.05,
    0.075,
    0.1,
    0.13,
    0.15,
    0.2,
    0.3,
    0.5,
    1,
    2.5,
    5,
)
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1200)


class BulkHistogram(Collector):
    """A per-lane histogram that takes a whole stream's inter-token gaps at once.

    `Histogram.observe` takes a lock and walks buckets per call; at hundreds of tokens per
    stream that cost lands on every relayed chunk. Here a stream adds its gaps at the end.
    """

    def __init__(self, name: str, doc: str, lanes: Iterable[str], buckets: Sequence[float]):
        self.name, self.doc, self.bounds = name, doc, tuple(buckets)
        self.counts = {lane: [0] * (len(self.bounds) + 1) for lane in lanes}
        self.sums = dict.fromkeys(self.counts, 0.0)

    def observe_many(self, lane: str, values: Iterable[float]) -> None:
        counts, bounds, total = self.counts[lane], self.bounds, 0.0
        for value in values:
            counts[bisect_left(bounds, value)] += 1
            total += value
        self.sums[lane] += total

    def collect(self) -> Iterator[HistogramMetricFamily]:
        family = HistogramMetricFamily(self.name, self.doc, labels=["lane"])
        for lane, counts in self.counts.items():
            running, buckets = 0, []
            for bound, count in zip([*map(str, self.bounds), "+Inf"], counts, strict=True):
                running += count
                buckets.append((bound, running))
            family.add_metric([lane], buckets, self.sums[lane])
        yield family


class Metrics:
    def __init__(self, registry: CollectorRegistry, lanes: Sequence[str]) -> None:
        def lane_counter(name: str, doc: str) -> Counter:
            return Counter(name, doc, ["lane"], registry=registry)

        self.requests = Counter(
            "lanerouter_requests",
            "Requests by lane, route reason, endpoint and outcome",
            ["lane", "reason", "endpoint", "outcome"],
            registry=registry,
        )
        self.ttft = Histogram(
            "lanerouter_ttft_seconds",
            "Arrival to first content event",
            ["lane"],
            buckets=TTFT_BUCKETS,
            registry=registry,
        )
        self.decode = Histogram(
            "lanerouter_decode_tokens_per_second",
            "Decode rate per stream",
            ["lane"],
            buckets=DECODE_BUCKETS,
            registry=registry,
        )
        self.prefill = Histogram(
            "lanerouter_prefill_tokens_per_second",
            "Uncached prompt tokens / (TTFT - queue wait)",
            ["lane"],
            buckets=PREFILL_BUCKETS,
            registry=registry,
        )
        self.duration = Histogram(
            "lanerouter_request_duration_seconds",
            "Arrival to last byte",
            ["lane", "endpoint"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.gaps = BulkHistogram(
            "lanerouter_inter_token_seconds", "Gap between content events", lanes, GAP_BUCKETS
        )
        registry.register(self.gaps)
        self.prompt_tokens = lane_counter("lanerouter_prompt_tokens", "Prompt tokens")
        self.cached_tokens = lane_counter(
            "lanerouter_cached_prompt_tokens", "Prompt tokens served from the engine's prompt cache"
        )
        self.completion_tokens = lane_counter("lanerouter_completion_tokens", "Completion tokens")
        self.decode_tokens = lane_counter(
            "lanerouter_decode_tokens",
            "Completion tokens of streams with a decode rate (sum of n_i)",
        )
        self.decode_weighted = lane_counter(
            "lanerouter_decode_tps_token_weighted",
            "Sum of n_i * decode_tps_i; divide by decode_tokens",
        )
        self.reprocessed = lane_counter(
            "lanerouter_prompt_reprocessed",
            "Continued conversations that got no prompt-cache reuse",
        )
        self.inflight = Gauge(
            "lanerouter_inflight_requests", "Requests in flight", ["lane"], registry=registry
        )
        for lane in lanes:  # every lane's series exist from the start, at zero
            for metric in (
                self.ttft,
                self.decode,
                self.prefill,
                self.inflight,
                self.prompt_tokens,
                self.cached_tokens,
                self.completion_tokens,
                self.decode_tokens,
                self.decode_weighted,
                self.reprocessed,
            ):
                metric.labels(lane)

    def started(self, exchange: Exchange) -> None:
        self.inflight.labels(exchange.lane).inc()

    def done(self, exchange: Exchange, routed: bool) -> None:
        lane, m = exchange.lane, exchange.measurement
        endpoint = ENDPOINTS.get(exchange.endpoint, "other")
        self.requests.labels(lane, exchange.reason, endpoint, exchange.outcome.value).inc()
        if not routed:
            return
        self.inflight.labels(lane).dec()
        if m.ended is not None:
            self.duration.labels(lane, endpoint).observe(m.ended - m.arrived)
        self.observe_tokens(exchange)

    def observe_tokens(self, exchange: Exchange) -> None:
        lane, m = exchange.lane, exchange.measurement
        tokens = m.tokens.resolved()
        completion, ttft, decode, prefill = m.completion_tokens, m.ttft, m.decode_tps, m.prefill_tps
        if ttft is not None:
            self.ttft.labels(lane).observe(ttft)
        if prefill is not None:
            self.prefill.labels(lane).observe(prefill)
        if decode is not None and completion is not None:
            self.decode.labels(lane).observe(decode)
            self.decode_tokens.labels(lane).inc(completion)
            self.decode_weighted.labels(lane).inc(completion * decode)
        self.gaps.observe_many(lane, m.gaps)
        self.prompt_tokens.labels(lane).inc(tokens.prompt or 0)
        self.cached_tokens.labels(lane).inc(tokens.cached or 0)
        self.completion_tokens.labels(lane).inc(completion or 0)
        if exchange.reprocessed:
            self.reprocessed.labels(lane).inc()
