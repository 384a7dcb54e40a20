"""Where finished exchanges go: Prometheus metrics, the request log, the request store, the
reuse tracker."""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry

from router.config import Settings
from router.observe.exchange import NO_LANE, Exchange, Finished
from router.observe.live import LiveBoard
from router.observe.metrics import Metrics
from router.observe.record import request_record
from router.observe.reqlog import RequestLog
from router.observe.reuse import ConversationTracker
from router.observe.store import RequestStore


class Recorder:
    """The relay's Observer. The clock is injectable so tests can drive time."""

    def __init__(
        self,
        settings: Settings,
        registry: CollectorRegistry,
        clock: Callable[[], float] = time.perf_counter,
        store: RequestStore | None = None,
    ) -> None:
        self.metrics = Metrics(registry, settings.lanes, settings.auth.key_metric)
        self.log = RequestLog(settings.request_log.destination, settings.request_log.include_text)
        self.store = store
        self.board = LiveBoard(clock)
        self.engines = {name: lane.engine for name, lane in settings.lanes.items()}
        self.conversations = ConversationTracker()
        self.now = clock

    def adopt(self, settings: Settings) -> None:
        """A reloaded config's lanes (the log, the store and key metrics stay as started)."""
        self.metrics.adopt(settings.lanes)
        self.engines = {name: lane.engine for name, lane in settings.lanes.items()}

    @property
    def keep_text(self) -> bool:
        return self.log.include_text

    def started(self, exchange: Exchange) -> None:
        self.metrics.started(exchange)
        self.board.started(exchange)

    def finished(self, exchange: Exchange, end: Finished) -> None:
        """Record one ended request; its owner calls this once."""
        routed = exchange.lane != NO_LANE
        reprocessed = routed and bool(exchange.conversation) and self.track_reuse(exchange)
        self.metrics.done(exchange, end, routed, reprocessed)
        record = request_record(exchange, end, reprocessed, self.engines.get(exchange.lane))
        self.board.finished(exchange, record)
        self.log.write(record, exchange, end)
        if self.store is not None:
            self.store.record(record)

    def track_reuse(self, exchange: Exchange) -> bool:
        """Whether a continued conversation got none of its prompt back from the cache."""
        tokens = exchange.measurement.tokens.resolved()
        if tokens.prompt is None or tokens.cached is None:
            return False
        lane, prints, now = exchange.lane, exchange.conversation, self.now()
        reprocessed = self.conversations.reprocessed(lane, prints, tokens.cached, now)
        self.conversations.remember(lane, prints, tokens.prompt, now)
        return reprocessed

    def close(self) -> None:
        self.log.close()
        if self.store is not None:
            self.store.close()
