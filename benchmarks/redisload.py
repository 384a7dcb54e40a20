"""A redis-server for `run.py --admission redis` (Debian's, as the tests use), and the count of
round trips it has served, read from INFO commandstats over a raw socket."""

from __future__ import annotations

import socket
import subprocess
import tempfile
import time


class RedisServer:
    def __init__(self, port: int, command_prefix: list[str]) -> None:
        self.port = port
        # No persistence: the benchmark's leases are not worth a disk write.
        where = tempfile.mkdtemp(prefix="lanerouter-redis-")
        command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                   "--appendonly", "no", "--dir", where]  # fmt: skip
        self.process = subprocess.Popen([*command_prefix, *command], stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while not self.answers():
            assert self.process.poll() is None, "redis-server exited at start"
            assert time.monotonic() < deadline, "redis-server did not answer in 30 s"
            time.sleep(0.01)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def answers(self) -> bool:
        try:
            return round_trips(self.port) >= 0
        except OSError:
            return False

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def round_trips(port: int) -> int:
    """Scripts the server has run since it started. lanerouter's every call to Redis is one
    (ENTER, LEAVE, RENEW), and commandstats also counts each command a script calls, so the
    scripts are the round trips."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"INFO commandstats\r\n")
        header = b""
        while not header.endswith(b"\r\n"):
            header += sock.recv(1)
        size = int(header[1:-2])
        body = b""
        while len(body) < size + 2:
            body += sock.recv(65536)
    calls = 0
    for line in body.decode().splitlines():
        name, _, stats = line.partition(":")
        if name in ("cmdstat_evalsha", "cmdstat_eval"):
            calls += int(stats.split("calls=")[1].split(",")[0])
    return calls
