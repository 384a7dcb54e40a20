"""A real redis-server (Debian's, which scripts/test installs) on a free loopback port, for the
shared-admission tests: started, stopped and started again on the same port at will."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time

import redis
from helpers import free_port

NEEDS = "redis-server not found: scripts/test installs Debian's redis-server (needs root)"


class RedisServer:
    def __init__(self) -> None:
        self.port, self.dir = free_port(), tempfile.mkdtemp(prefix="lanerouter-redis-")
        self.process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def installed() -> bool:
        return shutil.which("redis-server") is not None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        # No persistence: every start is an empty Redis, as after a crash without AOF.
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                   "--save", "", "--appendonly", "no", "--dir", self.dir]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while not self.answers():
            assert self.process.poll() is None, "redis-server exited at start"
            assert time.monotonic() < deadline, "redis-server did not answer in 30 s"
            time.sleep(0.01)
        return self

    def answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=2, socket_connect_timeout=2)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
