"""The outermost ASGI app: proxied POSTs go straight to the proxy, everything else to FastAPI.

FastAPI's stack (error, telemetry and body-limit middleware, exception middleware, exit stack,
dependency solving) cost more per request than lanerouter's own routing, and two of its layers
wrap `send`, i.e. every relayed chunk. The proxied endpoints need none of it: their bodies are
read and checked by `incoming.py`, their errors mapped by `error_response`.
"""

from __future__ import annotations

import logging
from typing import Protocol

from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from router.errors import EngineAnswer, RouterError, error_body, error_json
from router.http.incoming import Incoming

log = logging.getLogger("lanerouter")


class Proxy(Protocol):
    """What answers a proxied request (router.proxy)."""

    async def handle(self, request: Incoming, path: str, apply_defaults: bool) -> Response: ...


class Front:
    def __init__(self, proxy: Proxy, endpoints: dict[str, bool], rest: ASGIApp) -> None:
        # Like llama-server, also answer clients whose base URL lacks the /v1.
        self.routes = {
            served: (path, apply_defaults)
            for path, apply_defaults in endpoints.items()
            for served in (path, path.removeprefix("/v1"))
        }
        self.proxy, self.rest = proxy, rest

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"].rstrip("/") if scope["type"] == "http" else ""
        route = self.routes.get(path)
        if route is None:
            await self.rest(scope, receive, send)
            return
        if scope["method"] != "POST":
            await method_not_allowed()(scope, receive, send)
            return
        incoming = Incoming(scope, receive)
        try:
            response = await self.answer(incoming, *route)
            await response(scope, receive, send)
        finally:
            incoming.close()

    async def answer(self, request: Incoming, path: str, apply_defaults: bool) -> Response:
        try:
            return await self.proxy.handle(request, path, apply_defaults)
        except RouterError as exc:
            return error_response(exc)
        except Exception:
            log.exception("internal error on %s", path)  # the traceback stays in the log
            return internal_error()


def error_response(exc: RouterError) -> Response:
    headers = dict(exc.headers)
    if isinstance(exc, EngineAnswer):  # the engine's own error, exactly as it sent it
        return Response(exc.body, exc.status, headers, media_type=exc.content_type)
    if exc.status in (429, 503):
        headers["retry-after"] = "1"
    return Response(error_json(exc), exc.status, headers, media_type="application/json")


def method_not_allowed() -> Response:
    body = error_body("Method Not Allowed", "invalid_request_error", "method_not_allowed")
    return JSONResponse(body, 405, headers={"allow": "POST"})


def internal_error() -> Response:
    body = error_body("internal error in lanerouter", "server_error", "internal_error")
    return JSONResponse(body, 500)
