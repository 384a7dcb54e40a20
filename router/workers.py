"""`lanerouter serve --workers N`: N server processes on one listening socket, supervised.

The supervisor binds the socket, points prometheus_client's multiprocess mode at a fresh
directory (router/observe/multiprocess.py), and spawns the workers: each a fresh interpreter
that runs `run_server` on the inherited socket, so the kernel spreads connections among them.
SIGTERM and SIGINT are passed on (each worker drains as a lone process would); so is SIGHUP,
after the supervisor has read the config again itself (a worker started later gets the new
one; each worker reloads as a lone process would). A worker that dies is replaced, and its
live gauges are dropped so that they stop counting.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import shutil
import signal
import socket
import tempfile
import time
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess

from prometheus_client import multiprocess

from router.app import SUPERVISOR_VARIABLE
from router.config import Settings
from router.configfile import ConfigSource
from router.errors import ConfigError
from router.observe.multiprocess import VARIABLE
from router.process import run_server, setup_logging
from router.reload import restart_only

log = logging.getLogger("lanerouter")
# A worker that fails by itself sooner than this is failing to start: give up, do not loop.
STARTUP_SECONDS = 5.0
STOPPING = frozenset({signal.SIGTERM, signal.SIGINT})


def worker_main(
    settings: Settings, sock: socket.socket, log_level: str, source: ConfigSource | None
) -> None:
    setup_logging(log_level)
    run_server(settings, log_level, sock, source)


class Workers:
    def __init__(
        self, settings: Settings, count: int, log_level: str, source: ConfigSource | None = None
    ) -> None:
        self.settings, self.count, self.log_level = settings, count, log_level
        self.source = source
        self.context = multiprocessing.get_context("spawn")
        self.started: dict[BaseProcess, float] = {}
        self.signals: list[int] = []

    def run(self) -> int:
        metrics_dir = tempfile.mkdtemp(prefix="lanerouter-metrics-")
        os.environ[VARIABLE] = metrics_dir  # before any worker imports prometheus_client
        os.environ[SUPERVISOR_VARIABLE] = str(os.getpid())  # whom `lanerouter reload` signals
        server = self.settings.server
        sock = socket.create_server((server.host, server.port), reuse_port=False, backlog=2048)
        wake, waker = socket.socketpair()
        waker.setblocking(False)
        signal.set_wakeup_fd(waker.fileno())
        for number in (*STOPPING, signal.SIGHUP):
            signal.signal(number, lambda number, _: self.signals.append(number))
        try:
            host, port = sock.getsockname()[:2]
            log.info("lanerouter: %d workers on http://%s:%d", self.count, host, port)
            for _ in range(self.count):
                self.start(sock)
            return self.supervise(sock, wake, metrics_dir)
        finally:
            signal.set_wakeup_fd(-1)
            sock.close()
            shutil.rmtree(metrics_dir, ignore_errors=True)

    def start(self, sock: socket.socket) -> None:
        process = self.context.Process(
            target=worker_main,
            args=(self.settings, sock, self.log_level, self.source),
            name="lanerouter",
        )
        # Spawned with SIGHUP blocked (a child inherits the mask): a reload asked for while
        # its interpreter starts waits for the worker's handler instead of killing it.
        before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP})
        try:
            process.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, before)
        self.started[process] = time.monotonic()

    def supervise(self, sock: socket.socket, wake: socket.socket, metrics_dir: str) -> int:
        """Until a stop signal: replace workers that die. Then stop them all."""
        while not STOPPING.intersection(self.signals):
            ready = wait([wake, *(p.sentinel for p in self.started)])
            if wake in ready:
                wake.recv(512)
            if signal.SIGHUP in self.signals:
                self.signals.remove(signal.SIGHUP)
                self.reload()
            for process in [p for p in self.started if p.sentinel in ready]:
                multiprocess.mark_process_dead(process.pid, metrics_dir)  # type: ignore[no-untyped-call]
                early = time.monotonic() - self.started.pop(process) < STARTUP_SECONDS
                if early and (process.exitcode or 0) > 0:  # failed by itself, not killed
                    log.error("a worker exited at start (code %s): stopping", process.exitcode)
                    self.stop()
                    return 1
                log.warning("worker %d exited (code %s): starting another",
                            process.pid, process.exitcode)  # fmt: skip
                self.start(sock)
        self.stop()
        return 0

    def reload(self) -> None:
        """Read the config again for the workers started from now on; tell each worker."""
        if self.source is not None:
            with contextlib.suppress(ConfigError):  # each worker logs it and keeps its config
                self.settings, _ = restart_only(self.settings, self.source.read())
        for process in self.started:
            if process.pid is not None and process.exitcode is None:
                os.kill(process.pid, signal.SIGHUP)

    def stop(self) -> None:
        """SIGTERM to every worker (each drains its streams), then wait for them all."""
        for process in self.started:
            if process.pid is not None and process.exitcode is None:
                os.kill(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.settings.server.shutdown_grace + 10
        for process in self.started:
            process.join(max(deadline - time.monotonic(), 0.1))
            if process.exitcode is None:
                process.kill()
                process.join()
