"""CORS for browser-based clients, off unless `server.cors_origins` lists origins ("*": any).

A preflight (`OPTIONS` with `Access-Control-Request-Method`) from an allowed origin is answered
here with 204; every answer to an allowed origin carries `Access-Control-Allow-Origin`. Other
origins get no CORS headers (the browser then refuses), and requests without an Origin header
(editors, agents, curl) pass untouched.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PREFLIGHT_MAX_AGE = "600"
EXPOSED = "x-lane, x-route-reason, x-request-id, x-max-tokens-capped, retry-after"


class Cors:
    def __init__(self, app: ASGIApp, origins: tuple[str, ...]) -> None:
        self.app = app
        self.origins = frozenset(origins)

    def allowed(self, origin: str) -> bool:
        return "*" in self.origins or origin in self.origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        origin = header(scope, b"origin") if scope["type"] == "http" else None
        if origin is None or not self.allowed(origin):
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS" and header(scope, b"access-control-request-method"):
            await preflight(send, origin, header(scope, b"access-control-request-headers"))
            return
        added = [(b"access-control-allow-origin", origin.encode()), (b"vary", b"origin"),
                 (b"access-control-expose-headers", EXPOSED.encode())]  # fmt: skip

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *added]}
            await send(message)

        await self.app(scope, receive, with_cors)


async def preflight(send: Send, origin: str, requested: str | None) -> None:
    headers = [
        (b"access-control-allow-origin", origin.encode()),
        (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
        (b"access-control-allow-headers", (requested or "authorization, content-type").encode()),
        (b"access-control-max-age", PREFLIGHT_MAX_AGE.encode()),
        (b"vary", b"origin"),
        (b"content-length", b"0"),
    ]
    await send({"type": "http.response.start", "status": 204, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None
