"""What many tests need: a free port, waiting for a state (never a fixed time), metric samples."""

from __future__ import annotations

import asyncio
import shutil
import socket
import time
from collections.abc import Callable

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

# Generous on purpose: a wait ends as soon as its condition holds; the deadline only turns a
# hang into a failure on a slow, shared machine.
DEADLINE = 30.0
POLL = 0.01

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Callable[[], object], what: str = "", seconds: float = DEADLINE) -> None:
    """Return once `check()` is true; fail after `seconds` (the condition never held)."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"not reached in {seconds:.0f} s: {what or check}"
        time.sleep(POLL)


async def until(check: Callable[[], object], what: str = "", seconds: float = DEADLINE) -> None:
    """`wait_for` for async tests: polls in worker threads, so the event loop keeps running."""
    deadline = time.monotonic() + seconds
    while not await asyncio.to_thread(check):
        assert time.monotonic() < deadline, f"not reached in {seconds:.0f} s: {what or check}"
        await asyncio.sleep(POLL)


def post_and_leave(url: str, path: str, body: bytes, leave_when: Callable[[], object]) -> None:
    """Send a request on a raw socket and close it, unanswered, once `leave_when()` holds."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port))) as client:
        head = f"POST {path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\n"
        client.sendall(head.encode() + b"content-length: %d\r\n\r\n%s" % (len(body), body))
        wait_for(leave_when, "the moment to leave")


def needs_command(name: str) -> pytest.MarkDecorator:
    """Skip (with the reason printed) where `name` is missing; with CI set, a skip fails the run."""
    return pytest.mark.skipif(
        shutil.which(name) is None,
        reason=f"{name} not found: scripts/test installs it (Debian's prometheus; needs root)",
    )


def parse_samples(text: str) -> Samples:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def samples(url: str, headers: dict[str, str] | None = None) -> Samples:
    """Every sample of `url`/metrics, keyed by name and labels."""
    return parse_samples(httpx.get(url + "/metrics", headers=headers, timeout=30).text)


def value(metrics: Samples, name: str, **labels: str) -> float:
    """One sample's value; 0 when it is absent (a counter never incremented)."""
    return metrics.get((name, frozenset(labels.items())), 0.0)


def metric(url: str, name: str, **labels: str) -> float:
    return value(samples(url), name, **labels)


def summed(metrics: Samples, name: str) -> float:
    """A sample's value summed over every label set (an engine's own per-model series)."""
    return sum(v for (n, _), v in metrics.items() if n == name)
