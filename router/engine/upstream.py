"""Opening requests to a lane's engine, and the one place where transport errors become ours."""

from __future__ import annotations

import asyncio
import os
import ssl
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import NamedTuple

from router.config import LaneConfig, Settings
from router.engine.answer import Answer
from router.engine.enginepool import EnginePool
from router.enginerefs import lane_engines
from router.errors import (
    ConnectFailed,
    LaneUnreachable,
    RouterError,
    TimedOut,
    Unanswered,
    UpstreamError,
    UpstreamTimeout,
    WireError,
)

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
# The client's credentials never go upstream; the lane's own key is sent instead. The body is
# read whole before it is sent on, so a client's `Expect: 100-continue` is answered here.
CLIENT_ONLY = frozenset(
    {"host", "content-length", "authorization", "x-api-key", "api-key", "anthropic-api-key",
     "x-goog-api-key", "openai-organization", "openai-project", "expect",
     "content-encoding", "content-type"}  # the body goes upstream decoded and re-serialized
)  # fmt: skip
ROUTER_ONLY = frozenset({"x-lane", "x-request-id", "accept-encoding", "cookie"})


def forwarded_headers(
    headers: Iterable[tuple[str, str]], api_key: str | None, request_id: str
) -> list[tuple[str, str]]:
    pairs = [(k.lower(), v) for k, v in headers]
    dropped = HOP_BY_HOP | CLIENT_ONLY | ROUTER_ONLY | connection_tokens(pairs)
    kept = [(k, v) for k, v in pairs if k not in dropped]
    # Identity keeps the relayed bytes inspectable for metering; engines do not compress anyway.
    kept.append(("accept-encoding", "identity"))
    kept.append(("content-type", "application/json"))  # what lanerouter wrote, whatever it read
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
    except (ConnectFailed, Unanswered) as exc:
        raise with_detail(LaneUnreachable(f"lane {lane!r} is unreachable at {url}"), exc) from exc
    except TimedOut as exc:
        raise with_detail(UpstreamTimeout(f"lane {lane!r} at {url} timed out"), exc) from exc
    except WireError as exc:
        raise with_detail(UpstreamError(f"lane {lane!r} at {url} failed"), exc) from exc


def with_detail(error: RouterError, cause: Exception) -> RouterError:
    error.detail = describe(cause)
    error.message = f"{error.message}: {error.detail}"
    return error


def describe(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


class Fetched(NamedTuple):
    """A whole small answer: a health check, an engine's report of its limits."""

    status: int
    body: bytes


class Upstreams:
    """Per engine (a lane's, or each of several behind one lane): keep-alive connections to
    it, for requests and probes alike. Engines are named by their key (EngineRef.key)."""

    def __init__(self, settings: Settings):
        self.lanes = settings.lanes
        self.engines = {e.key: e for refs in lane_engines(self.lanes).values() for e in refs}
        tls = ssl.create_default_context()  # one for all engines: each costs about a megabyte
        self.pools = {
            key: EnginePool(e.base_url, self.lanes[e.lane].connect_timeout, tls)
            for key, e in self.engines.items()
        }
        self.api_keys = {name: api_key(lane) for name, lane in self.lanes.items()}

    def config(self, engine: str) -> LaneConfig:
        return self.lanes[self.engines[engine].lane]

    async def open(
        self,
        engine: str,
        target: str,
        headers: Iterable[tuple[str, str]],
        content: bytes,
        request_id: str,
    ) -> Answer:
        """POST to `target` (path and query) and return once status and headers arrived."""
        ref = self.engines[engine]
        config = self.lanes[ref.lane]
        sent = forwarded_headers(headers, self.api_keys[ref.lane], request_id)
        with upstream_errors(ref.lane, ref.base_url):
            return await self.pools[engine].request(
                "POST", target, sent, content, config.first_byte_timeout, config.idle_timeout
            )

    async def get(self, engine: str, path: str, wait: float) -> Fetched:
        """A whole GET answer within `wait` seconds (health probes, the engine's limits)."""
        ref = self.engines[engine]
        key = self.api_keys[ref.lane]
        headers = [("accept-encoding", "identity")]
        headers += [("authorization", f"Bearer {key}")] if key else []
        with upstream_errors(ref.lane, ref.base_url):
            try:
                async with asyncio.timeout(wait):
                    answer = await self.pools[engine].request("GET", path, headers, b"", wait, wait)
                    return Fetched(answer.status, await answer.read_all())
            except TimeoutError as exc:
                raise TimedOut(f"no whole answer within {wait:g} s") from exc

    async def aclose(self) -> None:
        for pool in self.pools.values():
            pool.close()


def api_key(lane: LaneConfig) -> str | None:
    """The lane's key, read from the environment variable the config names (never logged);
    without the trailing newline a Kubernetes Secret made from a file brings along."""
    key = os.environ.get(lane.api_key_env, "").strip() if lane.api_key_env else ""
    return key or None
