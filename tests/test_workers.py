"""`lanerouter serve --workers 2`: one port, two processes, and whichever answers a scrape
gives the totals of both; the request store takes every worker's records; a worker that dies
is replaced without losing what it counted."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import Engine
from helpers import parse_samples, value, wait_for
from serveprocess import ServeProcess

REQUESTS = 30


@pytest.fixture
def two_workers(engines: dict[str, Engine], tmp_path: Path) -> Iterator[ServeProcess]:
    env = {"LANEROUTER_STORE__PATH": str(tmp_path / "requests.db")}
    served = ServeProcess(engines, "--workers", "2", env=env).ready()
    yield served
    served.stop()


def scrape(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    with httpx.Client() as fresh:  # a new connection: any worker may answer
        return parse_samples(fresh.get(url + "/metrics", timeout=10).text)


def pid_answering(url: str) -> int:
    with httpx.Client() as fresh:
        return int(fresh.get(url + "/api/status", timeout=10).json()["pid"])


def ask(url: str, n: int) -> None:
    body = {"model": "chat", "max_tokens": 8, "messages": [{"role": "user", "content": f"hi {n}"}]}
    with httpx.Client() as fresh:
        assert fresh.post(url + "/v1/chat/completions", json=body, timeout=30).status_code == 200


def test_every_worker_counts_and_any_worker_reports_the_totals(
    two_workers: ServeProcess, fast_engines: None, tmp_path: Path
) -> None:
    url, pids = two_workers.url, set()
    for n in range(REQUESTS):
        ask(url, n)
    wait_for(lambda: pids.add(pid_answering(url)) or len(pids) == 2, "both workers answer")
    for _ in range(8):  # whichever worker answers, the same totals
        metrics = scrape(url)
        served = value(metrics, "lanerouter_requests_total", lane="chat", reason="model",
                       endpoint="chat", outcome="ok")  # fmt: skip
        assert served == REQUESTS
        assert value(metrics, "lanerouter_ttft_seconds_count", lane="chat") == REQUESTS
        assert value(metrics, "lanerouter_inter_token_seconds_count", lane="chat") > REQUESTS
        assert value(metrics, "lanerouter_inflight_requests", lane="chat") == 0
        assert value(metrics, "lanerouter_lane_state", lane="chat", state="ready") == 1
    db = tmp_path / "requests.db"
    wait_for(lambda: count(db) == REQUESTS, "every worker's records in the one store")
    assert "request store" not in two_workers.text()  # no worker's store failed


def count(db: Path) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(db) as connection:
        return int(connection.execute("SELECT count(*) FROM requests").fetchone()[0])


def test_a_killed_worker_is_replaced_and_its_counts_stay(
    two_workers: ServeProcess, fast_engines: None
) -> None:
    url = two_workers.url
    for n in range(REQUESTS):
        ask(url, n)
    victim = pid_answering(url)
    os.kill(victim, signal.SIGKILL)
    fresh: set[int] = set()

    def answering() -> bool:
        with contextlib.suppress(httpx.TransportError):  # one the dying worker had taken
            fresh.add(pid_answering(url))
        return len(fresh - {victim}) == 2

    wait_for(answering, "a new worker beside the one left")
    served = value(scrape(url), "lanerouter_requests_total", lane="chat", reason="model",
                   endpoint="chat", outcome="ok")  # fmt: skip
    assert served == REQUESTS  # what the dead worker counted is still in the totals
    assert "starting another" in two_workers.text()


def test_sigterm_stops_every_worker(engines: dict[str, Engine]) -> None:
    served, pids = ServeProcess(engines, "--workers", "2").ready(), set()
    wait_for(lambda: pids.add(pid_answering(served.url)) or len(pids) == 2, "both serve")
    assert served.stop() == 0
    assert served.text().count("Finished server process") == 2
