"""One lanerouter server process: the app under uvicorn, draining on SIGTERM. `serve` runs one
in the foreground; with --workers, each worker process runs one on the shared socket."""

from __future__ import annotations

import asyncio
import logging
import math
import signal
import socket

import uvicorn

from router.app import create_app
from router.config import Settings
from router.configfile import ConfigSource
from router.errors import ConfigError
from router.http.door import door_options
from router.reload import Reloadable, restart_only
from router.stream.drain import Drain

log = logging.getLogger("lanerouter")
LOG_FORMAT = "%(levelname)s:     %(message)s"


def setup_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format=LOG_FORMAT)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is ours


def run_server(
    settings: Settings,
    log_level: str,
    sock: socket.socket | None = None,
    source: ConfigSource | None = None,
) -> None:
    """Serve until SIGTERM or SIGINT, on `sock` if given, else on server.host and port; on
    SIGHUP, read the config again from `source` (None: there is nothing to read again)."""
    early = EarlyHangups()  # before the app is built: that takes a while
    drain = Drain()
    app = create_app(settings, drain=drain)
    server, grace = settings.server, settings.server.shutdown_grace
    config = uvicorn.Config(
        app,
        host=server.host,
        port=server.port,
        log_level=log_level,
        # lanerouter logs each routed request itself (path -> lane (reason) status); uvicorn's
        # access log would repeat it, and the demo engines' lines with it.
        access_log=False,
        # uvicorn cuts what still runs after this; the drain ends streams properly just before.
        timeout_graceful_shutdown=math.ceil(grace) + 2,
        **door_options(server),
    )
    serving = DrainingServer(config, drain, grace, Reloader(app, source), early)
    serving.run(sockets=None if sock is None else [sock])


class Reloader:
    """SIGHUP: the config read again, as at start-up. A valid one serves new requests at once
    (streams in flight finish on the one before); an invalid one is logged with the message
    start-up would have given, and the running config stays."""

    def __init__(self, app: Reloadable, source: ConfigSource | None) -> None:
        self.app, self.source = app, source
        self.tasks: set[asyncio.Task[bool]] = set()

    def requested(self) -> None:
        task = asyncio.get_running_loop().create_task(self.reload())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def reload(self) -> bool:
        if self.source is None:
            log.warning("reload: started with --demo, there is no config to read again")
            return False
        try:
            settings, waiting = restart_only(self.app.settings, self.source.read())
            in_flight = await self.app.reload(settings, waiting)
        except ConfigError as exc:
            log.error("reload rejected, the config before stays in use: %s", exc)
            self.app.rejected(str(exc))
            return False
        for key in waiting:
            log.warning("reload: %s changed; that takes a restart (host, port and --workers "
                        "always do)", key)  # fmt: skip
        log.info("reload: new requests get the new config; %d in flight finish on the one "
                 "before", in_flight)  # fmt: skip
        return True


class EarlyHangups:
    """A SIGHUP before the server is up is remembered, not fatal (its default action), and
    applied once it is up. A worker is spawned with SIGHUP blocked (workers.py), so one sent
    while its interpreter starts waits for this handler rather than killing it."""

    def __init__(self) -> None:
        self.seen = False
        signal.signal(signal.SIGHUP, self.note)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGHUP})

    def note(self, *_: object) -> None:
        self.seen = True


class DrainingServer(uvicorn.Server):
    """uvicorn, telling the app's drain when it stops accepting connections, and reloading
    the config on SIGHUP."""

    def __init__(
        self,
        config: uvicorn.Config,
        drain: Drain,
        grace: float,
        reloader: Reloader,
        early: EarlyHangups,
    ) -> None:
        super().__init__(config)
        self.drain, self.grace, self.reloader, self.early = drain, grace, reloader, early

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self.reloader.requested)
        if self.early.seen:
            self.reloader.requested()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.drain.begin(self.grace)
        await super().shutdown(sockets)
