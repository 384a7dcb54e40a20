"""Histogram buckets for LLM lanes, and a histogram that takes many observations at once."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.registry import Collector

from router.observe.multiprocess import multiprocess_dir

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
QUEUE_BUCKETS = (0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1200)


class GapHistogram(Protocol):
    def observe_many(self, lane: str, values: Iterable[float]) -> None: ...


class EachHistogram:
    """`observe_many` on a prometheus_client histogram, one value at a time (with workers)."""

    def __init__(self, histogram: Histogram) -> None:
        self.histogram = histogram
        self.children: dict[str, Histogram] = {}

    def observe_many(self, lane: str, values: Iterable[float]) -> None:
        child = self.children.get(lane)
        if child is None:
            child = self.children[lane] = self.histogram.labels(lane)
        for value in values:
            child.observe(value)


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


def gap_histogram(registry: CollectorRegistry, lanes: Sequence[str]) -> GapHistogram:
    """lanerouter_inter_token_seconds{lane}: in bulk, or value by value under workers, whose
    metrics live in shared files that only prometheus_client's own types write."""
    name, doc = "lanerouter_inter_token_seconds", "Gap between content events"
    if multiprocess_dir() is not None:
        return EachHistogram(Histogram(name, doc, ["lane"], buckets=GAP_BUCKETS, registry=registry))
    bulk = BulkHistogram(name, doc, lanes, GAP_BUCKETS)
    registry.register(bulk)
    return bulk
