"""Wiring only: settings, clients, recorder and routes. No routing rules or relay logic here."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from importlib.metadata import version as package_version

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from prometheus_client import CollectorRegistry
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp

from router.config import Settings
from router.decide.routing import build_route_table
from router.dispatch.admission import Admission
from router.dispatch.dispatcher import Dispatcher
from router.dispatch.lanestate import LaneStates, Prober
from router.dispatch.limits import EngineLimits
from router.dispatch.placement import Placement
from router.engine.upstream import Upstreams
from router.enginerefs import lane_engines
from router.errors import error_body
from router.http.auth import load_keys
from router.http.cors import Cors
from router.http.front import Front, internal_error
from router.http.keyguard import KeyGuard, open_paths
from router.inforoutes import add_info_routes
from router.observe.recorder import Recorder
from router.observe.store import RequestStore
from router.openapi import openapi_document
from router.proxy import Proxy
from router.reload import Generation, Lasting, Reloadable
from router.status import add_status_routes, status
from router.stream.drain import Drain

SUPERVISOR_VARIABLE = "LANEROUTER_SUPERVISOR_PID"  # set for its workers by `serve --workers`
# Endpoint -> whether the lane's request defaults apply (they are generation parameters).
PROXIED_ENDPOINTS = {
    "/v1/chat/completions": True,
    "/v1/completions": True,
    "/v1/responses": True,
    "/v1/messages": True,
    "/v1/embeddings": False,
    "/v1/messages/count_tokens": False,
}


def create_app(
    settings: Settings,
    *,
    upstreams: Upstreams | None = None,
    registry: CollectorRegistry | None = None,
    clock: Callable[[], float] = time.perf_counter,
    drain: Drain | None = None,
) -> Reloadable:
    """The ASGI app, serving `settings` until `reload` brings others. Clients (closed by the
    app), metrics registry and clock are injectable for tests."""
    registry = registry if registry is not None else CollectorRegistry()
    store = RequestStore(settings.store, registry) if settings.store.enabled else None
    lasting = Lasting(
        recorder=Recorder(settings, registry, clock, store),
        admission=Admission(settings.lanes, settings.admission, registry),
        registry=registry,
        drain=drain or Drain(),
        clock=clock,
    )
    first = build_generation(settings, lasting, None, upstreams)
    return Reloadable(lasting, first, build_generation)


def build_generation(
    settings: Settings,
    lasting: Lasting,
    before: Generation | None,
    upstreams: Upstreams | None = None,
) -> Generation:
    """Everything that serves one config: routes, clients, probes, the pages. `before`: the
    generation it takes over from, on a reload."""
    table = build_route_table(settings)
    ring = load_keys(settings.auth, list(settings.lanes))  # a bad key file: ConfigError
    if ring is not None:  # a key's requests in flight count across reloads
        ring.in_flight = lasting.keys_in_flight
    if before is not None:
        lasting.recorder.adopt(settings)
        lasting.admission.adopt(settings.lanes)
    clients = upstreams if upstreams is not None else Upstreams(settings)
    states = LaneStates(lane_engines(settings.lanes), lasting.registry,
                        before.states if before else None)  # fmt: skip
    placement = Placement(settings.lanes, before=before.placement if before else None)
    recorder, gates = lasting.recorder, lasting.admission.gates
    metrics, clock, drain = recorder.metrics, lasting.clock, lasting.drain
    dispatcher = Dispatcher(settings.lanes, clients, states, gates, metrics, clock,
                            placement=placement)  # fmt: skip
    limits = EngineLimits(settings.lanes)
    proxy = Proxy(settings, table, dispatcher, recorder, drain, limits)
    prober = Prober(clients, states, settings.server.probe_interval, limits)
    # The proxied endpoints are served by `Front`; FastAPI serves the rest, and lanerouter's own
    # OpenAPI description (FastAPI's would list only the info routes).
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    keyless = open_paths(settings.auth.protect_metrics) if ring is not None else None
    document = openapi_document(list(settings.lanes), package_version("lanerouter"), keyless)
    shared = lasting.admission.shared
    add_info_routes(app, table, states, lasting.registry, limits, shared)
    board = recorder.board

    def snapshot() -> dict[str, object]:
        shown = status(settings.lanes, states, gates, board, placement)
        return shown | {"config": lasting.reloads.as_dict(), "reload_pid": reload_pid()}

    add_status_routes(app, snapshot, board, drain)
    app.get("/openapi.json", include_in_schema=False)(lambda: JSONResponse(document))
    add_error_handlers(app)
    front: ASGIApp = Front(proxy, PROXIED_ENDPOINTS, app)
    if ring is not None:  # no key layer unless keys are configured
        front = KeyGuard(front, ring, settings.auth.protect_metrics)
    origins = settings.server.cors_origins
    front = Cors(front, origins) if origins else front  # no CORS layer unless asked for
    return Generation(settings, front, prober, clients, states, placement)


def reload_pid() -> int:
    """The process `lanerouter reload` signals: the workers' supervisor, or this one."""
    return int(os.environ.get(SUPERVISOR_VARIABLE) or os.getpid())


def add_error_handlers(app: FastAPI) -> None:
    async def http_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code)
        body = error_body(str(exc.detail), "invalid_request_error", code or exc.status_code)
        return JSONResponse(body, exc.status_code, headers=exc.headers)

    async def unexpected(_: Request, exc: Exception) -> Response:
        # The traceback goes to the server log only; the client gets a plain message.
        return internal_error()

    async def bad_query(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        where = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return JSONResponse(error_body(where, "invalid_request_error", "invalid_query"), 400)

    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, bad_query)
    app.add_exception_handler(Exception, unexpected)
