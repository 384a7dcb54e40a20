"""Where finished exchanges go: Prometheus metrics, the request log, the reuse tracker."""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry

from router.config import Settings
from router.observe.exchange import NO_LANE, Exchange
from router.observe.metrics import Metrics
from router.observe.reqlog import RequestLog
from router.observe.reuse import ConversationTracker


class Recorder:
    """The relay's Observer. The clock is injectable so tests can drive time."""

    def __init__(
        self,
        settings: Settings,
        registry: CollectorRegistry,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.metrics = Metrics(registry, list(settings.lanes))
        self.log = RequestLog(settings.request_log.destination, settings.request_log.include_text)
        self.conversations = ConversationTracker()
        self.now = clock

    @property
    def keep_text(self) -> bool:
        return self.log.include_text

    def started(self, exchange: Exchange) -> None:
        self.metrics.started(exchange)

    def done(self, exchange: Exchange) -> None:
        """The exchange ended: give its slot back and record it, exactly once."""
        if exchange.finished:
            return
        exchange.finished = True
        if exchange.release is not None:
            exchange.release()
        routed = exchange.lane != NO_LANE
        if routed and exchange.conversation:
            self.track_reuse(exchange)
        self.metrics.done(exchange, routed)
        self.log.write(exchange)

    def track_reuse(self, exchange: Exchange) -> None:
        tokens = exchange.measurement.tokens.resolved()
        if tokens.prompt is None or tokens.cached is None:
            return
        lane, prints, now = exchange.lane, exchange.conversation, self.now()
        exchange.reprocessed = self.conversations.reprocessed(lane, prints, tokens.cached, now)
        self.conversations.remember(lane, prints, tokens.prompt, now)

    def close(self) -> None:
        self.log.close()
