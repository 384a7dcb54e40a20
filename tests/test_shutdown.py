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
from helpers import free_port, samples, value, wait_for
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


def test_sigterm_answers_what_never_reached_an_engine(engines: dict[str, Engine]) -> None:
    # At the deadline: a stream still queued for the one chat slot gets one SSE error event, a
    # whole-body request queued behind it and one waiting for the tools engine's first byte get
    # 503 shutting_down as JSON; the queued ones never start.
    port = free_port()
    env = os.environ | {
        f"LANEROUTER_LANES__{n.upper()}__BASE_URL": e.url for n, e in engines.items()
    }
    env |= {"LANEROUTER_SERVER__SHUTDOWN_GRACE": "2", "LANEROUTER_REQUEST_LOG__DESTINATION": "off",
            "LANEROUTER_SERVER__QUEUE_KEEPALIVE": "0.2"}  # fmt: skip
    process = subprocess.Popen(lanerouter("serve", "--port", str(port), "--config", "/dev/null"),
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    chat, tools = engines["chat"].script, engines["tools"].script
    results: dict[str, httpx.Response] = {}
    try:
        wait_ready(url, process)
        chat.push(Behaviour(reply="a b c", pause_after=1, resume=threading.Event()))
        tools.push(Behaviour(reply="never", pause_after=0, resume=threading.Event()))

        def ask(name: str, lane: str, stream: bool) -> None:
            body = HELLO | {"stream": stream, "model": lane}
            with httpx.stream("POST", url + "/v1/chat/completions", json=body, timeout=30) as r:
                r.read()
                results[name] = r

        holder = threading.Thread(target=ask, args=("holder", "chat", True))
        holder.start()
        wait_for(lambda: chat.in_flight == 1, "the chat slot is taken")
        others = [threading.Thread(target=ask, args=a) for a in
                  (("queued stream", "chat", True), ("queued body", "chat", False),
                   ("first byte", "tools", False))]  # fmt: skip
        for thread in others:
            thread.start()
        wait_for(lambda: tools.in_flight == 1, "the tools request waits for its first byte")
        wait_for(lambda: queue_depth(url, "chat") == 2, "two requests wait for the chat slot")
        process.send_signal(signal.SIGTERM)
        for thread in [holder, *others]:
            thread.join(30)
        assert process.wait(30) in (0, -signal.SIGTERM)
    finally:
        if process.poll() is None:
            process.kill()
        stderr = process.communicate()[1]
    assert "Traceback" not in stderr and "Exception in ASGI" not in stderr
    queued = results["queued stream"]
    assert queued.status_code == 200 and queued.content.startswith(b": queued")
    last = queued.content.rstrip(b"\n").rsplit(b"\n\n", 1)[-1]
    assert json.loads(last.removeprefix(b"data: "))["error"]["code"] == "shutting_down"
    for name in ("queued body", "first byte"):
        assert results[name].status_code == 503, results[name].content
        assert results[name].json()["error"]["code"] == "shutting_down"
    assert len(chat.received) == 1  # nothing queued started after the deadline


def queue_depth(url: str, lane: str) -> float:
    return value(samples(url), "lanerouter_queue_depth", lane=lane)
