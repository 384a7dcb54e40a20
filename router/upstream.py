"""Opening requests to a lane's engine, and the one place where httpx errors become ours."""

from __future__ import annotations

import os
import ssl
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import httpx

from router.config import LaneConfig, Settings
from router.errors import LaneUnreachable, UpstreamError, UpstreamTimeout

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
# The client's credentials never go upstream; the lane's own key is sent instead.
CLIENT_ONLY = frozenset({"host", "content-length", "authorization", "x-api-key", "api-key"})
ROUTER_ONLY = frozenset({"x-lane", "x-request-id", "accept-encoding", "cookie"})
# Below llama.cpp's 5 s keep-alive, so a pooled connection is not reused as the server drops it.
KEEPALIVE_EXPIRY = 4.0


def forwarded_headers(
    headers: Iterable[tuple[str, str]], api_key: str | None, request_id: str
) -> list[tuple[str, str]]:
    pairs = [(k.lower(), v) for k, v in headers]
    dropped = HOP_BY_HOP | CLIENT_ONLY | ROUTER_ONLY | connection_tokens(pairs)
    kept = [(k, v) for k, v in pairs if k not in dropped]
    # Identity keeps the relayed bytes inspectable for metering; engines do not compress anyway.
    kept.append(("accept-encoding", "identity"))
    kept.append(("x-request-id", request_id))  # vLLM uses it as its own request id
    if api_key:
        kept.append(("authorization", f"Bearer {api_key}"))
    return kept


def connection_tokens(pairs: Iterable[tuple[str, str]]) -> frozenset[str]:
    """Headers named in `Connection:` are hop-by-hop too (RFC 9110 section 7.6.1)."""
    values = (v for k, v in pairs if k == "connection")
    return frozenset(t.strip().lower() for v in values for t in v.split(",") if t.strip())


@contextmanager
def upstream_errors(lane: str, url: str) -> Iterator[None]:
    try:
        yield
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        raise LaneUnreachable(f"lane {lane!r} is unreachable at {url}: {describe(exc)}") from exc
    except httpx.TimeoutException as exc:
        raise UpstreamTimeout(f"lane {lane!r} at {url} timed out: {describe(exc)}") from exc
    except httpx.HTTPError as exc:
        raise UpstreamError(f"lane {lane!r} at {url} failed: {describe(exc)}") from exc


def describe(exc: httpx.HTTPError) -> str:
    return str(exc) or type(exc).__name__


# httpcore's pool scans every connection it holds on each request and each close, so one
# pool holding hundreds of streams spends most of the proxy's CPU there (profiled: >50% at
# 256 streams). Each lane gets small pools instead, taken in turn.
CONNECTIONS_PER_SHARD = 16
MAX_SHARDS = 64


class Upstreams:
    """Pooled, keep-alive HTTP clients per lane, so lanes never wait on each other's pool."""

    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None):
        self.lanes = settings.lanes
        # One TLS context for all: each one httpx builds by itself costs about a megabyte.
        tls = httpx.create_ssl_context()
        self.shards = {name: shards_for(lane, transport, tls) for name, lane in self.lanes.items()}
        self.turn = dict.fromkeys(self.lanes, 0)
        self.api_keys = {name: api_key(lane) for name, lane in self.lanes.items()}

    def client(self, lane: str) -> httpx.AsyncClient:
        shards = self.shards[lane]
        self.turn[lane] = (self.turn[lane] + 1) % len(shards)
        return shards[self.turn[lane]]

    async def open(
        self,
        lane: str,
        target: str,
        headers: Iterable[tuple[str, str]],
        content: bytes,
        request_id: str,
    ) -> httpx.Response:
        """POST to `target` (path and query) and return once status and headers arrived."""
        config = self.lanes[lane]
        client = self.client(lane)
        sent = forwarded_headers(headers, self.api_keys[lane], request_id)
        request = client.build_request("POST", target, headers=sent, content=content)
        with upstream_errors(lane, config.base_url):
            try:
                response = await client.send(request, stream=True)
            except AttributeError as exc:
                # httpcore 1.0 asks anyio for the peer of a socket the engine closed during
                # connect and gets AttributeError (seen when an engine shuts down under load).
                raise httpx.ConnectError(f"connection closed while opening: {exc}") from exc
        # httpcore reads this dict when the body iteration starts: from here on the read
        # timeout is the idle gap between chunks, not the wait for the first byte.
        request.extensions["timeout"]["read"] = config.idle_timeout
        return response

    async def get(self, lane: str, path: str, wait: float) -> httpx.Response:
        with upstream_errors(lane, self.lanes[lane].base_url):
            return await self.shards[lane][0].get(path, timeout=wait)

    async def aclose(self) -> None:
        for shards in self.shards.values():
            for client in shards:
                await client.aclose()


def shards_for(
    lane: LaneConfig, transport: httpx.AsyncBaseTransport | None, tls: ssl.SSLContext
) -> list[httpx.AsyncClient]:
    count = min(MAX_SHARDS, -(-lane.max_concurrency // CONNECTIONS_PER_SHARD))
    return [lane_client(lane, transport, tls) for _ in range(count)]


def api_key(lane: LaneConfig) -> str | None:
    """The lane's key, read from the environment variable the config names (never logged)."""
    return os.environ.get(lane.api_key_env) if lane.api_key_env else None


def lane_client(
    lane: LaneConfig, transport: httpx.AsyncBaseTransport | None, tls: ssl.SSLContext
) -> httpx.AsyncClient:
    timeout = httpx.Timeout(
        connect=lane.connect_timeout, read=lane.first_byte_timeout, write=30.0, pool=30.0
    )
    # No connection cap: hundreds of agent streams must never queue for a pool slot here;
    # admission control per lane is a separate, explicit limit.
    limits = httpx.Limits(
        max_connections=None, max_keepalive_connections=256, keepalive_expiry=KEEPALIVE_EXPIRY
    )
    return httpx.AsyncClient(
        base_url=lane.base_url,
        timeout=timeout,
        limits=limits,
        transport=transport,
        trust_env=False,  # a desktop's HTTP_PROXY must not capture loopback engine traffic
        follow_redirects=False,
        verify=tls,
    )
