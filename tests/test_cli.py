"""The `lanerouter` command as a newcomer meets it: help text and the no-engine demo."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from helpers import free_port, wait_for

ROOT = Path(__file__).resolve().parent.parent


def lanerouter(*args: str) -> list[str]:
    """The console script installed beside this Python (the one under test), else -m router."""
    script = Path(sys.executable).parent / "lanerouter"
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "router", *args]


def test_help_explains_the_product_and_commands() -> None:
    top = subprocess.run(lanerouter("--help"), capture_output=True, text=True, check=True)
    assert "serve" in top.stdout
    assert "tools -> tools" in top.stdout
    serve = subprocess.run(
        lanerouter("serve", "--help"), capture_output=True, text=True, check=True
    )
    for flag in ("--config", "--host", "--port", "--demo", "--demo-speed"):
        assert flag in serve.stdout
    assert "X-Lane" in serve.stdout


@pytest.fixture
def demo() -> Iterator[str]:
    port = free_port()
    command = lanerouter("serve", "--demo", "--demo-speed", "50", "--port", str(port))
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process)
        yield url
    finally:
        process.terminate()
        process.communicate(timeout=15)


def wait_ready(url: str, process: subprocess.Popen[str]) -> None:
    def ready() -> bool:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        try:
            return httpx.get(url + "/readyz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    wait_for(ready, "the demo is ready")


def test_demo_serves_every_lane_with_no_engine(demo: str) -> None:
    client = openai.OpenAI(base_url=demo + "/v1", api_key="none", max_retries=0)
    ready = httpx.get(demo + "/readyz").json()
    assert {name: lane["state"] for name, lane in ready["lanes"].items()} == {
        "audit": "ready",
        "chat": "ready",
        "tools": "ready",
    }
    for lane, expected_model in [
        ("chat", "qwen3-coder-next-iq4_nl"),
        ("tools", "qwen3-coder-next-nvfp4"),
    ]:
        raw = client.chat.completions.with_raw_response.create(
            model=lane, messages=[{"role": "user", "content": "hi"}], max_tokens=5
        )
        assert raw.headers["x-lane"] == lane
        assert raw.parse().model == expected_model


def test_traffic_reaches_every_lane_and_route_reason(demo: str) -> None:
    result = subprocess.run(
        lanerouter("traffic", "--url", demo, "--rate", "20", "--count", "6"),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "6 requests sent" in result.stdout
    metrics = httpx.get(demo + "/metrics").text
    routed = {
        (line.split('lane="')[1].split('"')[0], line.split('reason="')[1].split('"')[0])
        for line in metrics.splitlines()
        if line.startswith("lanerouter_requests_total{")
    }
    assert {
        ("chat", "default"),
        ("tools", "tools"),
        ("audit", "security"),
        ("tools", "model"),
        ("chat", "header"),
    } <= routed


def test_readme_test_command_is_what_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "\nscripts/test\n" in readme
    assert "exec scripts/test" in ci.splitlines()[-1]


def test_route_explains_a_decision_without_any_engine(tmp_path: Path) -> None:
    audit = {
        "model": "gpt-4o",
        "system": [{"type": "text", "text": "You are a helpful agent. Never write insecure code."}],
        "messages": [{"role": "user", "content": "Can someone forge these JWTs?\n```py\n...\n```"}],
    }
    request = tmp_path / "request.json"
    request.write_text(json.dumps(audit))
    shown = subprocess.run(lanerouter("route", str(request)), capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    assert "lane:   audit" in shown.stdout and "reason: security" in shown.stdout
    assert '+3.0  attack     "can someone"' in shown.stdout
    writing = {"messages": [{"role": "user", "content": "Implement JWT auth for the API"}]}
    answer = subprocess.run(lanerouter("route", "--json"), input=json.dumps(writing),
                            capture_output=True, text=True, check=True)  # fmt: skip
    found = json.loads(answer.stdout)
    assert (found["lane"], found["reason"], found["verdict"]) == ("chat", "default", "writing")
    assert {"signal": "writing", "term": "implement", "weight": -4.0} in found["signals"]


def test_route_rejects_what_is_not_a_request(tmp_path: Path) -> None:
    for given in ("[1, 2]", "{not json"):
        shown = subprocess.run(lanerouter("route"), input=given, capture_output=True, text=True)
        assert shown.returncode == 2
        assert shown.stderr.startswith("lanerouter route: cannot read the request body")
        assert "Traceback" not in shown.stderr
