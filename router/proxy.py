"""One proxied request, start to end: read -> classify -> choose lanes -> dispatch -> respond.

Until a lane has answered, the request is this module's: an error on the way is recorded here.
From then on it is router.respond's."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.responses import Response

from router.config import Settings
from router.decide.bodies import Addressed, LaneBodies
from router.decide.candidates import (
    Candidate,
    allowed_candidates,
    estimate_prompt_tokens,
    plan_candidates,
)
from router.decide.intent import classify
from router.decide.routing import RouteTable, choose_lane
from router.dispatch.dispatcher import Dispatcher, QueueSpot
from router.dispatch.limits import EngineLimits
from router.errors import ClientGone, RouterError, body_errors
from router.http.incoming import Incoming, watch
from router.observe.exchange import Exchange, Finished, Outcome, outcome_for_status, request_id
from router.observe.recorder import Recorder
from router.observe.reuse import conversation_id, fingerprints
from router.respond import Responder
from router.stream.drain import Drain, cut_short
from router.stream.meter import Measurement
from router.stream.relay import exchange_headers

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
        self.responder = Responder(settings, recorder, drain, dispatcher.states.mark)

    async def handle(self, request: Incoming, path: str, apply_defaults: bool) -> Response:
        rid = request_id(request.header("x-request-id"))
        exchange = Exchange(rid, path, Measurement(arrived=self.recorder.now()))
        try:
            return await self.forward(request, exchange, apply_defaults)
        except RouterError as exc:
            gone = isinstance(exc, ClientGone)
            outcome = Outcome.CLIENT_DISCONNECTED if gone else outcome_for_status(exc.status)
            exc.headers = exchange_headers(exchange)
            log.warning("%s -> %s (%s): %s", path, exchange.lane, exchange.reason, exc.message)
            self.recorder.finished(exchange, Finished(exc.status, outcome))
            raise
        except BaseException as exc:
            # Whatever went wrong, the request is counted (its slot went back where it was held).
            cancelled = isinstance(exc, asyncio.CancelledError)
            outcome = Outcome.CLIENT_DISCONNECTED if cancelled else Outcome.UPSTREAM_ERROR
            self.recorder.finished(exchange, Finished(499 if cancelled else 500, outcome))
            raise

    async def forward(
        self, request: Incoming, exchange: Exchange, apply_defaults: bool
    ) -> Response:
        server = self.settings.server
        body = await request.json_object(server.max_body_bytes, server.max_json_containers)
        exchange.streamed = body.get("stream") is True  # also for a request refused from here on
        with body_errors():
            candidates, prompt_estimate = self.plan(request, exchange, body)
        to = Addressed(exchange.endpoint, request.query, request.headers, exchange.request_id)
        bodies = LaneBodies(
            self.settings, self.limits.ctx, to, body, apply_defaults, prompt_estimate
        )
        spot = QueueSpot()
        opening = self.dispatcher.open(candidates, bodies, spot, exchange.conversation)
        dispatching = asyncio.ensure_future(opening)
        self.drain.track(dispatching)
        if body.get("stream") is True and await self.queued_long(request, dispatching, spot):
            # Waiting for a slot: commit the stream and keep the client's line alive.
            exchange.lane = spot.lane or exchange.lane
            return self.responder.queued(request, dispatching, exchange, body)
        try:
            opened, waited = await watch(request, dispatching)
        except asyncio.CancelledError:
            if error := cut_short(dispatching):
                raise error from None
            raise
        return await self.responder.answer(request, opened, waited, exchange, body)

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
        if request.key is not None:
            exchange.key = request.key.name
            key = request.key
            candidates = allowed_candidates(key.name, key.lanes, route, candidates)
        exchange.lane, exchange.reason = candidates[0].lane, candidates[0].reason
        exchange.planned_lane = candidates[0].lane
        exchange.conversation = fingerprints(body)
        exchange.conversation_id = conversation_id(body)
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
