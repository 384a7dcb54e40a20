"""One proxied request, start to end: read -> classify -> choose lanes -> dispatch -> relay."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator
from typing import Any

from starlette.responses import Response

from router.config import LaneConfig, Settings
from router.decide.bodies import Addressed, LaneBodies
from router.decide.budget import sent_limit
from router.decide.candidates import Candidate, estimate_prompt_tokens, plan_candidates
from router.decide.intent import classify
from router.decide.payload import needs_usage_request, streams_for_assembly
from router.decide.routing import RouteTable, choose_lane
from router.dispatch.dispatcher import Dispatcher, Opened, QueueSpot
from router.dispatch.limits import EngineLimits
from router.dispatch.queued import wait_then_relay
from router.errors import ClientGone, RouterError
from router.http.incoming import Incoming, watch
from router.observe.exchange import Exchange, Outcome, outcome_for_status, request_id
from router.observe.recorder import Recorder
from router.observe.reuse import fingerprints
from router.stream.drain import Drain
from router.stream.eventstream import EventStreamResponse
from router.stream.meter import Measurement
from router.stream.relay import (
    STREAM_HEADERS,
    Relaying,
    exchange_headers,
    is_event_stream,
    relay,
    relay_events,
)

log = logging.getLogger("lanerouter")


class Proxy:
    def __init__(
        self,
        settings: Settings,
        table: RouteTable,
        dispatcher: Dispatcher,
        recorder: Recorder,
        drain: Drain,
        limits: EngineLimits | None = None,
    ) -> None:
        self.settings, self.table = settings, table
        self.dispatcher, self.recorder, self.drain = dispatcher, recorder, drain
        self.limits = limits or EngineLimits(settings.lanes)

    async def handle(self, request: Incoming, path: str, apply_defaults: bool) -> Response:
        rid = request_id(request.header("x-request-id"))
        exchange = Exchange(rid, path, Measurement(arrived=self.recorder.now()))
        try:
            return await self.forward(request, exchange, apply_defaults)
        except RouterError as exc:
            exchange.status = exc.status
            gone = isinstance(exc, ClientGone)
            exchange.outcome = (
                Outcome.CLIENT_DISCONNECTED if gone else outcome_for_status(exc.status)
            )
            exc.headers = exchange_headers(exchange)
            log.warning("%s -> %s (%s): %s", path, exchange.lane, exchange.reason, exc.message)
            self.recorder.done(exchange)
            raise
        except BaseException as exc:
            # Whatever went wrong, the lane's slot goes back and the request is counted.
            cancelled = isinstance(exc, asyncio.CancelledError)
            exchange.status = 499 if cancelled else 500
            exchange.outcome = Outcome.CLIENT_DISCONNECTED if cancelled else Outcome.UPSTREAM_ERROR
            self.recorder.done(exchange)
            raise

    async def forward(
        self, request: Incoming, exchange: Exchange, apply_defaults: bool
    ) -> Response:
        body = await request.json_object(self.settings.server.max_body_bytes)
        exchange.streamed = body.get("stream") is True  # also for a request refused from here on
        candidates, prompt_estimate = self.plan(request, exchange, body)
        to = Addressed(exchange.endpoint, request.query, request.headers, exchange.request_id)
        bodies = LaneBodies(
            self.settings, self.limits.ctx, to, body, apply_defaults, prompt_estimate
        )
        spot = QueueSpot()
        dispatching = asyncio.ensure_future(self.dispatcher.open(candidates, bodies, spot))
        if body.get("stream") is True and await self.queued_long(request, dispatching, spot):
            # Waiting for a slot: commit the stream and keep the client's line alive.
            exchange.lane = spot.lane or exchange.lane
            return self.queued_stream(dispatching, exchange, body)
        opened, waited = await watch(request, dispatching)
        return await self.relay_opened(request, opened, waited, exchange, body)

    def plan(
        self, request: Incoming, exchange: Exchange, body: dict[str, Any]
    ) -> tuple[list[Candidate], int]:
        """Route, then the lanes that may answer in order; and the prompt's estimated size."""
        intent = classify(body)
        route = choose_lane(self.table, intent, request.header("x-lane"))
        exchange.lane, exchange.reason = route.lane, route.reason  # for errors from here on
        estimate = estimate_prompt_tokens(body)
        min_answer = self.settings.routing.min_answer_tokens
        lanes = self.settings.lanes
        candidates = plan_candidates(route, lanes, estimate, min_answer, self.limits.ctx)
        exchange.lane, exchange.reason = candidates[0].lane, candidates[0].reason
        exchange.conversation = fingerprints(body)
        if self.recorder.keep_text:
            exchange.prompt_text = intent.last_user_text
        return candidates, estimate

    async def queued_long(
        self, request: Incoming, dispatching: asyncio.Future[Any], spot: QueueSpot
    ) -> bool:
        """Whether the dispatch still waits in a lane queue after one keepalive interval."""
        keepalive = self.settings.server.queue_keepalive
        while not dispatching.done():
            gone = request.gone()
            await asyncio.wait(
                {dispatching, gone}, timeout=keepalive, return_when=asyncio.FIRST_COMPLETED
            )
            if gone.done() and not dispatching.done():
                dispatching.cancel()
                raise ClientGone("the client disconnected")
            if not dispatching.done() and spot.lane is not None:
                return True
        return False

    async def relay_opened(
        self,
        request: Incoming,
        opened: Opened,
        waited: float,
        exchange: Exchange,
        body: dict[str, Any],
    ) -> Response:
        self.take(opened, waited, exchange)
        lane = self.settings.lanes[opened.lane]
        log.info(
            "%s -> %s (%s) %d",
            exchange.endpoint,
            opened.lane,
            opened.reason,
            opened.response.status_code,
        )
        how = self.relaying(lane, exchange, body)
        if is_event_stream(opened.response) and not how.assembled:
            # Hands back a streaming response at once; it sees a disconnect by itself.
            return await relay(opened.response, exchange, how)
        return await watch(request, relay(opened.response, exchange, how))

    def relaying(self, lane: LaneConfig, exchange: Exchange, body: dict[str, Any]) -> Relaying:
        return Relaying(
            observer=self.recorder,
            drain=self.drain,
            base_url=lane.base_url,
            strip_usage=needs_usage_request(lane.engine, exchange.endpoint, body),
            keep_text=self.recorder.keep_text,
            assembled=streams_for_assembly(lane.engine, exchange.endpoint, body),
            # ik_llama.cpp always says "stop", even when it stopped at the limit it was sent.
            length_at=sent_limit(exchange.cap, body) if lane.engine == "ik_llamacpp" else None,
        )

    def take(self, opened: Opened, waited: float, exchange: Exchange) -> None:
        exchange.lane, exchange.reason, exchange.cap = opened.lane, opened.reason, opened.cap
        exchange.measurement.queue_wait = waited
        exchange.release = opened.gate.leave
        self.recorder.started(exchange)

    def queued_stream(
        self,
        dispatching: asyncio.Future[tuple[Opened, float]],
        exchange: Exchange,
        body: dict[str, Any],
    ) -> Response:
        headers = (
            exchange_headers(exchange) | STREAM_HEADERS | {"content-type": "text/event-stream"}
        )
        every = self.settings.server.queue_keepalive

        def relay_opened(opened: Opened, waited: float) -> AsyncGenerator[bytes, None]:
            self.take(opened, waited, exchange)
            how = self.relaying(self.settings.lanes[opened.lane], exchange, body)
            return relay_events(opened.response, exchange, how)

        events = wait_then_relay(dispatching, every, exchange, self.recorder, relay_opened)
        return EventStreamResponse(events, 200, headers)
