"""One proxied request, start to end: read -> classify -> choose lane -> upstream -> relay."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response

from router.body import read_json_object
from router.config import Settings
from router.errors import RouterError
from router.exchange import Exchange, outcome_for_status, request_id
from router.intent import classify
from router.meter import Measurement
from router.payload import needs_usage_request, upstream_body
from router.recorder import Recorder
from router.relay import exchange_headers, relay
from router.reuse import fingerprints
from router.routing import RouteTable, choose_lane
from router.upstream import Upstreams

log = logging.getLogger("lanerouter")


class Proxy:
    def __init__(
        self, settings: Settings, table: RouteTable, upstreams: Upstreams, recorder: Recorder
    ) -> None:
        self.settings, self.table = settings, table
        self.upstreams, self.recorder = upstreams, recorder

    async def handle(self, request: Request, path: str, apply_defaults: bool) -> Response:
        rid = request_id(request.headers.get("x-request-id"))
        exchange = Exchange(rid, path, Measurement(arrived=self.recorder.now()))
        try:
            return await self.forward(request, exchange, apply_defaults)
        except RouterError as exc:
            exchange.status = exc.status
            exchange.outcome = outcome_for_status(exc.status)
            exc.headers = exchange_headers(exchange)
            log.warning("%s -> %s (%s): %s", path, exchange.lane, exchange.reason, exc.message)
            self.recorder.done(exchange)
            raise

    async def forward(self, request: Request, exchange: Exchange, apply_defaults: bool) -> Response:
        body = await read_json_object(request, self.settings.server.max_body_bytes)
        intent = classify(body)
        route = choose_lane(self.table, intent, request.headers.get("x-lane"))
        exchange.lane, exchange.reason = route.lane, route.reason
        self.recorder.started(exchange)
        lane = self.settings.lanes[route.lane]
        ask_usage = needs_usage_request(lane.engine, exchange.endpoint, body)
        content = upstream_body(body, lane, apply_defaults, ask_usage)
        exchange.conversation = fingerprints(body)
        if self.recorder.keep_text:
            exchange.prompt_text = intent.last_user_text
        query = request.url.query
        target = f"{exchange.endpoint}?{query}" if query else exchange.endpoint
        upstream = await self.upstreams.open(
            route.lane, target, request.headers.items(), content, exchange.request_id
        )
        log.info(
            "%s -> %s (%s) %d", exchange.endpoint, route.lane, route.reason, upstream.status_code
        )
        return await relay(
            upstream,
            exchange,
            self.recorder,
            base_url=lane.base_url,
            strip_usage=ask_usage,
            keep_text=self.recorder.keep_text,
        )
