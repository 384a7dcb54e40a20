"""`lanerouter serve` as a real process (one worker or several), pointed at the test engines by
environment variables: for what only a process shows (workers, SIGKILL, signals)."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
from pathlib import Path

import httpx
from conftest import Engine
from helpers import free_port, wait_for
from test_cli import ROOT, lanerouter


class ServeProcess:
    def __init__(
        self, engines: dict[str, Engine], *args: str, env: dict[str, str] | None = None
    ) -> None:
        self.port = free_port()
        # Closed (and removed) by stop(): the process writes to it until then.
        self.log = tempfile.NamedTemporaryFile(prefix="lanerouter-serve-", suffix=".log")  # noqa: SIM115
        lanes = {f"LANEROUTER_LANES__{n.upper()}__BASE_URL": e.url for n, e in engines.items()}
        quiet = {"LANEROUTER_REQUEST_LOG__DESTINATION": "off"}
        command = lanerouter("serve", "--port", str(self.port), "--config", "/dev/null", *args)
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=os.environ | lanes | quiet | (env or {}),
            stdout=subprocess.DEVNULL, stderr=self.log,
        )  # fmt: skip
        self.url = f"http://127.0.0.1:{self.port}"

    def text(self) -> str:
        """What the process logged (after `stop`, all of it)."""
        return self.logged if self.log.closed else Path(self.log.name).read_text()

    def ready(self) -> ServeProcess:
        def answers() -> bool:
            assert self.process.poll() is None, self.text()
            try:
                return httpx.get(self.url + "/readyz", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(answers, f"lanerouter on port {self.port} is ready")
        return self

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(60)
        finally:
            if self.process.poll() is None:
                self.process.kill()
            self.logged = self.text()
            self.log.close()
