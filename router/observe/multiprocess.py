"""Metrics from several worker processes (`lanerouter serve --workers N`).

prometheus_client's multiprocess mode: each worker writes its counters, histograms and gauges
to memory-mapped files in one directory, named by PROMETHEUS_MULTIPROC_DIR, and a scrape of
any worker merges them all (counters and histograms summed, each gauge by its mode). The
library decides by that variable when it is imported, so the supervisor sets it before it
starts the workers, and lanerouter follows the same variable.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, generate_latest, multiprocess

VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_dir() -> str | None:
    return os.environ.get(VARIABLE) or None


def scrape(registry: CollectorRegistry) -> bytes:
    """The text of /metrics: this process's registry, or every worker's files merged."""
    where = multiprocess_dir()
    if where is None:
        return generate_latest(registry)
    merged = CollectorRegistry()
    multiprocess.MultiProcessCollector(merged, path=where)  # type: ignore[no-untyped-call]
    return generate_latest(merged)
