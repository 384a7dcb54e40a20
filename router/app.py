"""Wiring only: settings, clients, recorder and routes. No routing rules or relay logic here."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib.metadata import version as package_version

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from prometheus_client import CollectorRegistry
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp

from router.config import Settings
from router.decide.routing import build_route_table
from router.dispatch.admission import admission_gates
from router.dispatch.dispatcher import Dispatcher
from router.dispatch.lanestate import LaneStates, Prober
from router.dispatch.limits import EngineLimits
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
from router.status import add_status_routes, status
from router.stream.drain import Drain

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
) -> ASGIApp:
    """The ASGI app. Clients (closed by the app at shutdown), metrics registry and clock are
    injectable for tests."""
    table = build_route_table(settings)
    ring = load_keys(settings.auth, list(settings.lanes))
    clients = upstreams if upstreams is not None else Upstreams(settings)
    registry = registry if registry is not None else CollectorRegistry()
    store = RequestStore(settings.store, registry) if settings.store.enabled else None
    recorder = Recorder(settings, registry, clock, store)
    states = LaneStates(lane_engines(settings.lanes), registry)
    gates, shared = admission_gates(settings.lanes, settings.admission, registry)
    dispatcher = Dispatcher(settings.lanes, clients, states, gates, recorder.metrics, clock)
    limits = EngineLimits(settings.lanes)
    drain = drain or Drain()
    proxy = Proxy(settings, table, dispatcher, recorder, drain, limits)
    prober = Prober(clients, states, settings.server.probe_interval, limits)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if shared is not None:
            await shared.start()
        await prober.start()
        yield
        await prober.stop()
        if shared is not None:
            await shared.stop()
        recorder.close()
        await clients.aclose()

    # The proxied endpoints are served by `Front`; FastAPI serves the rest, and lanerouter's own
    # OpenAPI description (FastAPI's would list only the info routes).
    app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)
    keyless = open_paths(settings.auth.protect_metrics) if ring is not None else None
    document = openapi_document(list(settings.lanes), package_version("lanerouter"), keyless)
    add_info_routes(app, table, states, registry, limits, shared)
    board = recorder.board
    placement = dispatcher.placement

    def snapshot() -> dict[str, object]:
        return status(settings.lanes, states, gates, board, placement)

    add_status_routes(app, snapshot, board, drain)
    app.get("/openapi.json", include_in_schema=False)(lambda: JSONResponse(document))
    add_error_handlers(app)
    front: ASGIApp = Front(proxy, PROXIED_ENDPOINTS, app)
    if ring is not None:  # no key layer unless keys are configured
        front = KeyGuard(front, ring, settings.auth.protect_metrics)
    origins = settings.server.cors_origins
    return Cors(front, origins) if origins else front  # no CORS layer unless asked for


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
