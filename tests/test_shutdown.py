"""SIGTERM: stop accepting, let streams finish within the grace period, then end the rest with
a well-formed SSE error event. Runs the real `lanerouter serve` process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time

import httpx
from conftest import Engine
from test_cli import ROOT, free_port, lanerouter, wait_ready
from test_proxy import HELLO

from router.sim.script import Behaviour


def test_sigterm_drains_streams(engines: dict[str, Engine]) -> None:
    port = free_port()
    env = os.environ | {
        f"LANEROUTER_LANES__{n.upper()}__BASE_URL": e.url for n, e in engines.items()
    }
    env |= {"LANEROUTER_SERVER__SHUTDOWN_GRACE": "1", "LANEROUTER_REQUEST_LOG__DESTINATION": "off"}
    process = subprocess.Popen(lanerouter("serve", "--port", str(port), "--config", "/dev/null"),
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process)
        # A short answer that ends within the grace period, and one that would take 20 s.
        engines["chat"].script.push(Behaviour(reply="a b c d e f", token_delay=0.1))
        engines["tools"].script.push(Behaviour(reply=" ".join(["w"] * 400), token_delay=0.05))
        results: dict[str, bytes] = {}

        def stream(lane: str) -> None:
            body = HELLO | {"stream": True, "model": lane, "max_tokens": 500}
            with httpx.stream("POST", url + "/v1/chat/completions", json=body, timeout=30) as r:
                results[lane] = b"".join(r.iter_raw())

        threads = [threading.Thread(target=stream, args=(lane,)) for lane in ("chat", "tools")]
        for thread in threads:
            thread.start()
        time.sleep(0.3)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        try:
            httpx.post(url + "/v1/chat/completions", json=HELLO, timeout=2)
            raise AssertionError("a new request was accepted while shutting down")
        except httpx.TransportError:
            pass
        for thread in threads:
            thread.join(15)
        # uvicorn re-raises the signal once it has shut down cleanly (as systemd expects).
        assert process.wait(15) in (0, -signal.SIGTERM)
        assert time.monotonic() - started < 6
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()
    assert results["chat"].endswith(b"data: [DONE]\n\n")
    last = results["tools"].rstrip(b"\n").rsplit(b"\n\n", 1)[-1]
    error = json.loads(last.removeprefix(b"data: "))["error"]
    assert error["code"] == "shutting_down"
    assert b"[DONE]" not in results["tools"]
