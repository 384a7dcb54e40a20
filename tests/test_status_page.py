"""The status page (/ui) in a real headless browser (Debian's chromium, driven by Playwright)
against the `serve --demo` stack: simulated engines paced like the user's lanes, lanerouter in
front. A stream shows in flight, then among the last requests; a lane whose engine goes away
shows as down; on a phone's width nothing but the tables scrolls sideways. Screenshots are
kept in test-artifacts/ui/."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from helpers import needs_command

from router.app import create_app
from router.configfile import load_settings
from router.demo.stack import start_simulated_engines
from router.http.door import door_options
from router.http.serving import BackgroundServer

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "ui"
CHROMIUM = shutil.which("chromium") or "chromium"
pytestmark = needs_command("chromium")
WAIT_MS = 30_000  # a bound for a broken test, never a measurement


@dataclass
class Demo:
    url: str
    engines: dict[str, BackgroundServer]


@pytest.fixture
def demo() -> Iterator[Demo]:
    base = load_settings(None)
    server_config = base.server.model_copy(update={"probe_interval": 0.2})
    quiet = base.request_log.model_copy(update={"destination": "off"})
    settings = base.model_copy(update={"server": server_config, "request_log": quiet})
    settings, servers = start_simulated_engines(settings, speed=2.0)
    router = BackgroundServer(create_app(settings), **door_options(settings.server)).start()
    yield Demo(router.url, dict(zip(settings.lanes, servers, strict=True)))
    router.stop()
    for server in servers:
        server.stop()


def stream_in_background(url: str, request_id: str) -> threading.Thread:
    body = {"stream": True, "max_tokens": 30, "messages": [{"role": "user", "content": "hi"}]}
    headers = {"x-lane": "audit", "x-request-id": request_id}

    def send() -> None:
        with httpx.stream("POST", url + "/v1/chat/completions", json=body, headers=headers,
                          timeout=60) as answer:  # fmt: skip
            for _ in answer.iter_bytes():
                pass

    thread = threading.Thread(target=send)
    thread.start()
    return thread


def test_the_page_follows_a_stream_and_a_lane_going_down(demo: Demo) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.goto(demo.url + "/ui")
        expect(page.locator("#feed")).to_have_text("live", timeout=WAIT_MS)
        for lane in ("audit", "chat", "tools"):
            expect(page.locator(f'.lane[data-lane="{lane}"]')).to_have_attribute(
                "data-state", "ready", timeout=WAIT_MS)  # fmt: skip
        sender = stream_in_background(demo.url, "ui-stream-1")
        in_flight = page.locator('#inflight tr[data-request-id="ui-stream-1"]')
        expect(in_flight).to_be_visible(timeout=WAIT_MS)
        expect(in_flight).to_contain_text("audit")
        page.screenshot(path=ARTIFACTS / "in-flight.png", full_page=True)
        finished = page.locator('#recent tr[data-request-id="ui-stream-1"]')
        expect(finished).to_be_visible(timeout=WAIT_MS)
        expect(finished).to_contain_text("ok")
        expect(in_flight).to_have_count(0)
        sender.join()
        demo.engines["tools"].stop()  # the tools lane's engine goes away
        expect(page.locator('.lane[data-lane="tools"]')).to_have_attribute(
            "data-state", "down", timeout=WAIT_MS)  # fmt: skip
        page.screenshot(path=ARTIFACTS / "lane-down.png", full_page=True)
        phone = browser.new_page(viewport={"width": 390, "height": 844})
        phone.goto(demo.url + "/ui")
        expect(phone.locator("#feed")).to_have_text("live", timeout=WAIT_MS)
        assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        phone.screenshot(path=ARTIFACTS / "phone.png", full_page=True)
        browser.close()


def test_the_status_api_says_what_the_page_draws(demo: Demo) -> None:
    sender = stream_in_background(demo.url, "api-stream-1")
    sender.join()
    status = httpx.get(demo.url + "/api/status").json()
    assert set(status["lanes"]) == {"audit", "chat", "tools"}
    assert status["lanes"]["audit"]["slots"] == 1
    assert status["recent"][0]["request_id"] == "api-stream-1"
    assert status["decode_tps"]["5m"]["audit"] > 0
    mine = httpx.get(demo.url + "/api/requests", params={"id_prefix": "api-"}).json()
    assert [r["request_id"] for r in mine["requests"]] == ["api-stream-1"]
    assert httpx.get(demo.url + "/ui/../config.py").status_code == 404


def test_a_bad_query_is_an_openai_style_400(demo: Demo) -> None:
    answer = httpx.get(demo.url + "/api/requests", params={"limit": "many"})
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "invalid_query" and "limit" in error["message"]
