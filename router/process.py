"""One lanerouter server process: the app under uvicorn, draining on SIGTERM. `serve` runs one
in the foreground; with --workers, each worker process runs one on the shared socket."""

from __future__ import annotations

import logging
import math
import socket

import uvicorn

from router.app import create_app
from router.config import Settings
from router.http.door import door_options
from router.stream.drain import Drain

LOG_FORMAT = "%(levelname)s:     %(message)s"


def setup_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format=LOG_FORMAT)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is ours


def run_server(settings: Settings, log_level: str, sock: socket.socket | None = None) -> None:
    """Serve until SIGTERM or SIGINT, on `sock` if given, else on server.host and port."""
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
    DrainingServer(config, drain, grace).run(sockets=None if sock is None else [sock])


class DrainingServer(uvicorn.Server):
    """uvicorn, telling the app's drain when it stops accepting connections."""

    def __init__(self, config: uvicorn.Config, drain: Drain, grace: float) -> None:
        super().__init__(config)
        self.drain, self.grace = drain, grace

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.drain.begin(self.grace)
        await super().shutdown(sockets)
