"""What the status page shows, kept in memory: the streams in flight (read live from their
measurements), the last finished requests, and the token-weighted decode rate per lane over
recent windows. Bounded: a ring of records, and rates for the last hour only."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

from router.observe.exchange import Exchange

RECENT = 1000  # finished records kept (the status page shows the latest; bench reads its own)
MINUTES = 60  # decode rates kept per lane, summed by the minute: memory does not grow with load


class LiveBoard:
    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock  # the measurements' clock (elapsed times)
        self.inflight: dict[int, Exchange] = {}
        self.recent: deque[dict[str, Any]] = deque(maxlen=RECENT)
        # lane -> [minute, sum of n_i * tps_i, sum of n_i], one entry per minute with answers
        self.rates: dict[str, deque[list[float]]] = {}

    def started(self, exchange: Exchange) -> None:
        self.inflight[id(exchange)] = exchange

    def finished(self, exchange: Exchange, record: dict[str, Any]) -> None:
        self.inflight.pop(id(exchange), None)
        self.recent.append(record)
        tokens, rate = record.get("completion_tokens"), record.get("decode_tps")
        if tokens and rate is not None:
            minutes = self.rates.setdefault(record["lane"], deque(maxlen=MINUTES))
            minute = record["ts"] // 60
            if not minutes or minutes[-1][0] != minute:
                minutes.append([minute, 0.0, 0.0])
            minutes[-1][1] += tokens * rate
            minutes[-1][2] += tokens

    def streams(self) -> list[dict[str, Any]]:
        """The answers being relayed now, oldest first, with their live decode rate."""
        now = self.clock()
        return [
            {
                "request_id": e.request_id,
                "lane": e.lane,
                "reason": e.reason,
                "elapsed_s": round(now - e.measurement.arrived, 1),
                "tokens": e.measurement.completion_tokens or 0,
                "tok_s": None if (rate := e.measurement.decode_tps) is None else round(rate, 1),
            }
            for e in sorted(self.inflight.values(), key=lambda e: e.measurement.arrived)
        ]

    def last(self, count: int, id_prefix: str = "") -> list[dict[str, Any]]:
        """The latest finished records, newest first (those whose id starts with id_prefix)."""
        found = (r for r in reversed(self.recent) if r["request_id"].startswith(id_prefix))
        return [r for _, r in zip(range(count), found, strict=False)]

    def weighted_decode(self, seconds: float) -> dict[str, float]:
        """sum(n_i * tps_i) / sum(n_i) per lane over the last `seconds` (whole minutes)."""
        since, rates = (time.time() - seconds) // 60, {}
        for lane, minutes in self.rates.items():
            recent = [(w, n) for minute, w, n in minutes if minute >= since]
            tokens = sum(n for _, n in recent)
            if tokens:
                rates[lane] = round(sum(w for w, _ in recent) / tokens, 1)
        return rates
