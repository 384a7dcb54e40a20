"""From a lane that has taken the request to the client's response, with one owner each.

A whole body: the `with` around relaying it holds the lane's slot, and the proxy records how it
ended. A stream: once its 200 goes out, the committed stream (router.stream.committed) owns the
slot and the record. A queued stream commits before any lane has taken it, and takes the slot
into the same owner when its turn comes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Callable
from functools import partial
from typing import Any

from starlette.responses import Response

from router.config import Settings
from router.decide.budget import sent_limit
from router.decide.payload import needs_usage_request, streams_for_assembly
from router.dispatch.dispatcher import Opened, abandon
from router.dispatch.health import LaneState
from router.http.incoming import Incoming, watch
from router.observe.exchange import Exchange, Finished, outcome_for_status
from router.observe.recorder import Recorder
from router.stream.committed import CommittedStream, Ending
from router.stream.drain import Drain
from router.stream.eventstream import EventStreamResponse
from router.stream.queued import wait_then_relay
from router.stream.relay import (
    STREAM_HEADERS,
    Relaying,
    exchange_headers,
    is_event_stream,
    relay_body,
    relay_events,
    relayed_headers,
)

log = logging.getLogger("lanerouter")
Dispatching = asyncio.Future[tuple[Opened, float]]
MarkLane = Callable[[str, LaneState, str], object]  # LaneStates.mark


class Responder:
    def __init__(
        self, settings: Settings, recorder: Recorder, drain: Drain, mark: MarkLane
    ) -> None:
        self.settings, self.recorder, self.drain, self.mark = settings, recorder, drain, mark

    async def answer(
        self, request: Incoming, opened: Opened, waited: float, exchange: Exchange,
        body: dict[str, Any],
    ) -> Response:  # fmt: skip
        how = self.take(opened, waited, exchange, body)
        upstream = opened.response
        if is_event_stream(upstream) and not how.assembled:
            ending = Ending()
            stream = self.committed(relay_events(upstream, exchange, how, ending), ending, exchange)
            stream.hold(opened.slot)
            headers = relayed_headers(upstream, exchange) | STREAM_HEADERS
            return EventStreamResponse(stream, upstream.status, headers, request.gone())
        with opened.slot:
            response, text = await watch(request, relay_body(upstream, exchange, how))
        status = response.status_code
        self.recorder.finished(exchange, Finished(status, outcome_for_status(status), text))
        return response

    def queued(
        self, request: Incoming, dispatching: Dispatching, exchange: Exchange,
        body: dict[str, Any],
    ) -> Response:  # fmt: skip
        """Commit the stream while it waits for a slot; keepalives keep the client's line."""
        ending = Ending()

        def relay_opened(dispatched: tuple[Opened, float]) -> AsyncGenerator[bytes, None]:
            opened, waited = dispatched
            stream.hold(opened.slot)
            how = self.take(opened, waited, exchange, body)
            return relay_events(opened.response, exchange, how, ending)

        every = self.settings.server.queue_keepalive
        events = wait_then_relay(dispatching, every, ending, relay_opened, abandon)
        stream = self.committed(events, ending, exchange)
        stream.cleanups.append(partial(abandon, dispatching))  # closed before it began
        headers = exchange_headers(exchange) | STREAM_HEADERS
        headers["content-type"] = "text/event-stream"
        return EventStreamResponse(stream, 200, headers, request.gone())

    def committed(
        self, events: AsyncGenerator[bytes, None], ending: Ending, exchange: Exchange
    ) -> CommittedStream:
        exchange.streamed = True
        return CommittedStream(events, ending, partial(self.recorder.finished, exchange))

    def take(
        self, opened: Opened, waited: float, exchange: Exchange, body: dict[str, Any]
    ) -> Relaying:
        """The request is at its lane's engine: count it in flight, and how to relay it."""
        exchange.lane, exchange.reason, exchange.cap = opened.lane, opened.reason, opened.cap
        exchange.engine_name = opened.engine.name
        exchange.measurement.queue_wait = waited
        exchange.started = True
        self.recorder.started(exchange)
        status = opened.response.status
        log.info("%s -> %s (%s) %d", exchange.endpoint, opened.lane, opened.reason, status)
        lane = self.settings.lanes[opened.lane]
        return Relaying(
            clock=self.recorder.now,
            drain=self.drain,
            base_url=opened.engine.base_url,
            strip_usage=needs_usage_request(lane.engine, exchange.endpoint, body),
            keep_text=self.recorder.keep_text,
            assembled=streams_for_assembly(lane.engine, exchange.endpoint, body),
            # ik_llama.cpp always says "stop", even when it stopped at the limit it was sent.
            length_at=sent_limit(exchange.cap, body) if lane.engine == "ik_llamacpp" else None,
            # An engine that dies mid-answer is down until a probe finds it back.
            broke=partial(self.mark, opened.engine.key, "down"),
        )
