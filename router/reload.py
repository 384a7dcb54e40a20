"""Reloading the config without dropping a stream: each config is served by its own
`Generation` (routes, engine clients, probes, pages); a reload builds the next one, sends new
requests to it at once, and lets the requests already running finish on the one they started
on, whose clients close once the last of them is done.

What lives as long as the process (`Lasting`) is shared by every generation: the metrics
registry and recorder, the request store, the drain, each client key's requests in flight, and
each lane's admission gate, which a reload resizes in place, so that a one-slot lane is never
sent two requests while streams of the old config still run there.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry
from starlette.types import ASGIApp, Receive, Scope, Send

from router.config import Settings
from router.dispatch.admission import Admission
from router.observe.recorder import Recorder
from router.stream.drain import Drain

if TYPE_CHECKING:
    from router.dispatch.lanestate import LaneStates, Prober
    from router.dispatch.placement import Placement
    from router.engine.upstream import Upstreams


@dataclass
class Reloads:
    """What the status page says of the config in use (`/api/status` "config")."""

    generation: int = 1  # 1: the config read at start; each accepted reload adds one
    attempts: int = 0  # reloads tried, accepted or not
    outcome: str = "started"  # "started", "reloaded" or "rejected" (the last reload's)
    message: str = ""  # why it was rejected, or which changes wait for a restart

    def as_dict(self) -> dict[str, object]:
        return {"generation": self.generation, "attempts": self.attempts,
                "outcome": self.outcome, "message": self.message}  # fmt: skip


@dataclass(frozen=True)
class Lasting:
    """What every generation shares, for the process's lifetime."""

    recorder: Recorder
    admission: Admission
    registry: CollectorRegistry
    drain: Drain
    clock: Callable[[], float]
    reloads: Reloads = field(default_factory=Reloads)
    keys_in_flight: Counter[str] = field(default_factory=Counter)  # per client key's name


class Generation:
    """One config's worth of serving. Owns its engine clients and its probes."""

    def __init__(
        self, settings: Settings, app: ASGIApp, prober: Prober, clients: Upstreams,
        states: LaneStates, placement: Placement,
    ) -> None:  # fmt: skip
        self.settings, self.app, self.prober, self.clients = settings, app, prober, clients
        self.states, self.placement = states, placement
        self.active = 0  # requests it is serving now
        self.retired = self.closed = False

    async def retire(self) -> None:
        """No new requests: stop probing; close the clients once the last request is done."""
        self.retired = True
        await self.prober.stop()
        if self.active == 0:
            await self.close()

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            await self.clients.aclose()


Build = Callable[[Settings, Lasting, Generation | None], Generation]

# What a running process cannot take from a new config: where it listens and the limits of its
# front door (uvicorn's, set at start), and what its process-long parts were made with.
RESTART_ONLY = (
    "server.host", "server.port", "server.max_head_bytes", "server.max_headers",
    "server.head_timeout", "server.body_timeout", "server.keepalive_timeout",
    "server.max_connections", "server.shutdown_grace", "auth.key_metric",
    "admission", "request_log", "store",
)  # fmt: skip


def restart_only(running: Settings, new: Settings) -> tuple[Settings, list[str]]:
    """The settings a reload applies (`new`, but what needs a restart as it runs now), and the
    keys whose change waits for a restart (named, never their values: a URL may hold a
    password)."""
    waiting = [path for path in RESTART_ONLY if dig(running, path) != dig(new, path)]
    kept: dict[str, dict[str, object]] = {}
    whole: dict[str, object] = {}
    for path in RESTART_ONLY:
        section, _, key = path.partition(".")
        if key:
            kept.setdefault(section, {})[key] = dig(running, path)
        else:
            whole[section] = getattr(running, section)
    parts = {
        section: getattr(new, section).model_copy(update=keys) for section, keys in kept.items()
    }
    return new.model_copy(update=parts | whole), waiting


def dig(settings: Settings, path: str) -> object:
    value: object = settings
    for part in path.split("."):
        value = getattr(value, part)
    return value


class Reloadable:
    """The ASGI app lanerouter serves: the current generation, and the lifespan of them all."""

    def __init__(self, lasting: Lasting, first: Generation, build: Build) -> None:
        self.lasting, self.current, self.build = lasting, first, build
        self.lock = asyncio.Lock()

    @property
    def settings(self) -> Settings:
        return self.current.settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.lifespan(receive, send)
            return
        generation = self.current
        generation.active += 1
        try:
            await generation.app(scope, receive, send)
        finally:
            generation.active -= 1
            if generation.retired and generation.active == 0:
                await generation.close()

    async def reload(self, settings: Settings, waiting: list[str]) -> int:
        """Serve `settings` to new requests from now on (validated: see router.process);
        `waiting` names the changes only a restart applies. Returns how many requests were
        in flight on the config before (they finish there). ConfigError: nothing changed."""
        async with self.lock:
            before = self.current
            generation = self.build(settings, self.lasting, before)
            await generation.prober.start()
            self.current = generation
            reloads = self.lasting.reloads
            reloads.generation += 1
            reloads.attempts += 1
            reloads.outcome = "reloaded"
            reloads.message = f"needs a restart: {', '.join(waiting)}" if waiting else ""
            in_flight = before.active
            await before.retire()
            return in_flight

    def rejected(self, message: str) -> None:
        reloads = self.lasting.reloads
        reloads.attempts += 1
        reloads.outcome, reloads.message = "rejected", message

    async def lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.startup()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def startup(self) -> None:
        if (shared := self.lasting.admission.shared) is not None:
            await shared.start()
        await self.current.prober.start()

    async def shutdown(self) -> None:
        await self.current.retire()
        await self.current.close()
        if (shared := self.lasting.admission.shared) is not None:
            await shared.stop()
        self.lasting.recorder.close()
