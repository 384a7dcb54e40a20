"""SIGTERM: stop accepting, let streams finish within the grace period, then end the rest with
a well-formed SSE error event. Runs the real `lanerouter serve` process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading

import httpx
from conftest import Engine
from helpers import free_port, wait_for
from test_cli import ROOT, lanerouter, wait_ready
from test_proxy import HELLO

from router.demo.script import Behaviour


def refused(url: str) -> bool:
    try:
        httpx.get(url + "/healthz", timeout=2)
    except httpx.TransportError:
        return True
    return False


def test_sigterm_drains_streams(engines: dict[str, Engine]) -> None:
    port = free_port()
    env = os.environ | {
        f"LANEROUTER_LANES__{n.upper()}__BASE_URL": e.url for n, e in engines.items()
    }
    env |= {"LANEROUTER_SERVER__SHUTDOWN_GRACE": "3", "LANEROUTER_REQUEST_LOG__DESTINATION": "off"}
    process = subprocess.Popen(lanerouter("serve", "--port", str(port), "--config", "/dev/null"),
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process)
        # A stream the test lets finish once shutdown began, and one that never would.
        release = threading.Event()
        engines["chat"].script.push(Behaviour(reply="a b c d e f", pause_after=1, resume=release))
        held = Behaviour(reply=" ".join(["w"] * 400), pause_after=1, resume=threading.Event())
        engines["tools"].script.push(held)
        results: dict[str, bytes] = {}

        def stream(lane: str) -> None:
            body = HELLO | {"stream": True, "model": lane, "max_tokens": 500}
            with httpx.stream("POST", url + "/v1/chat/completions", json=body, timeout=30) as r:
                results[lane] = b"".join(r.iter_raw())

        threads = [threading.Thread(target=stream, args=(lane,)) for lane in ("chat", "tools")]
        for thread in threads:
            thread.start()
        wait_for(lambda: all(engines[lane].script.in_flight == 1 for lane in ("chat", "tools")))
        process.send_signal(signal.SIGTERM)
        wait_for(lambda: refused(url), "new connections are refused once shutdown begins")
        release.set()
        for thread in threads:
            thread.join(30)
        # uvicorn re-raises the signal once it has shut down cleanly (as systemd expects).
        assert process.wait(30) in (0, -signal.SIGTERM)
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()
    assert results["chat"].endswith(b"data: [DONE]\n\n")
    last = results["tools"].rstrip(b"\n").rsplit(b"\n\n", 1)[-1]
    error = json.loads(last.removeprefix(b"data: "))["error"]
    assert error["code"] == "shutting_down"
    assert b"[DONE]" not in results["tools"]
