"""The ASGI layer that asks for a client key (router.http.auth) before anything else runs.

Open without a key: the orchestrator's probes (`/healthz`, `/readyz`), CORS preflights, and
`/metrics` and the status page unless `auth.protect_metrics`. The key found is handed on in
the ASGI scope (`CLIENT_KEY`); its concurrency place is held until the answer, streamed or not,
has gone out.
"""

from __future__ import annotations

from contextlib import ExitStack

from starlette.types import ASGIApp, Receive, Scope, Send

from router.errors import RouterError
from router.http.auth import KeyRing
from router.http.front import error_response
from router.http.incoming import CLIENT_KEY

PROBES = frozenset({"/healthz", "/readyz"})
# What an operator watches (router/status.py): open like /metrics unless that is protected.
WATCHING = frozenset({"/metrics", "/ui", "/ui/app.js", "/ui/style.css", "/api/status",
                      "/api/events", "/api/requests"})  # fmt: skip


def open_paths(protect_metrics: bool) -> frozenset[str]:
    """The paths answered without a key."""
    return PROBES if protect_metrics else PROBES | WATCHING


class KeyGuard:
    def __init__(self, app: ASGIApp, ring: KeyRing, protect_metrics: bool) -> None:
        self.app, self.ring = app, ring
        self.open = open_paths(protect_metrics)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "OPTIONS" or scope["path"] in self.open:
            await self.app(scope, receive, send)
            return
        headers = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope["headers"]]
        with ExitStack() as holding:
            try:
                key = self.ring.identify(headers)
                holding.enter_context(self.ring.held(key))
            except RouterError as exc:
                await error_response(exc)(scope, receive, send)
                return
            scope[CLIENT_KEY] = key
            await self.app(scope, receive, send)
