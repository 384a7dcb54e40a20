"""The shipped dashboard and alert rules, evaluated by a real Prometheus that scraped a real
lanerouter carrying traffic on every lane: a query that does not parse, or a panel that would
stay empty, fails here rather than on the user's screen."""

from __future__ import annotations

import math
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from conftest import Engine, settings_for
from helpers import free_port, needs_command, samples, summed, wait_for
from test_proxy import HELLO

from router.config import Settings
from router.demo.script import Behaviour

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
PROMETHEUS = DEPLOY / "prometheus"
DASHBOARD = DEPLOY / "grafana" / "lanerouter.json"
# What Grafana would put in for its variables: all lanes, a window spanning the whole test.
GRAFANA_VARIABLES = {"$lane": ".*", "$__rate_interval": "1m"}

needs_prometheus = needs_command("prometheus")


def dashboard_queries() -> list[tuple[str, str]]:
    import json

    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [
        (f"{panel['title']} / {target['legendFormat']}", target["expr"])
        for panel in panels
        if panel["type"] != "row"
        for target in panel["targets"]
    ]


def alert_queries() -> list[tuple[str, str]]:
    groups = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
    return [
        (rule.get("alert") or rule["record"], rule["expr"])
        for group in groups
        for rule in group["rules"]
    ]


def grafana_expanded(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


@pytest.fixture
def prometheus_for(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """Start Prometheus with the shipped config, its target rewritten to `host:port`."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(target: str) -> str:
        config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
        config["global"] |= {"scrape_interval": "1s", "evaluation_interval": "1s"}
        config["scrape_configs"][0]["static_configs"] = [{"targets": [target]}]
        shutil.copy(PROMETHEUS / "alerts.yml", tmp_path / "alerts.yml")
        (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
        port = free_port()
        command = [
            "prometheus",
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ]
        with (tmp_path / "prometheus.log").open("wb") as log:
            processes.append(subprocess.Popen(command, stdout=log, stderr=log))
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: ready(url), "Prometheus is ready")
        return url

    yield start
    for process in processes:
        process.terminate()
        process.wait(10)


def ready(url: str) -> bool:
    try:
        return httpx.get(url + "/-/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def wait_scraped(prometheus: str, router: str) -> None:
    """Until Prometheus has scraped every request lanerouter counted so far."""
    served = summed(samples(router), "lanerouter_requests_total")

    def scraped() -> float:
        result = query(prometheus, "sum(lanerouter_requests_total)")["result"]
        return float(result[0]["value"][1]) if result else 0.0

    wait_for(lambda: scraped() >= served, f"Prometheus has scraped {served} requests")


def query(prometheus: str, expr: str) -> dict[str, Any]:
    answer = httpx.get(prometheus + "/api/v1/query", params={"query": expr}, timeout=10).json()
    assert answer["status"] == "success", (expr, answer)
    return dict(answer["data"])


def finite_values(data: dict[str, Any]) -> list[float]:
    values = [float(sample["value"][1]) for sample in data["result"]]
    return [v for v in values if math.isfinite(v)]


def drive_every_panel(url: str, engines: dict[str, Engine]) -> None:
    """One wave of traffic that gives every panel something to show."""
    paced = Behaviour(reply="one two three four five six", token_delay=0.01)
    for lane, body in (
        ("chat", HELLO),
        ("tools", HELLO | {"tools": [{"type": "function", "function": {"name": "f"}}]}),
        ("audit", {"messages": [{"role": "user", "content": "a security review, please"}]}),
    ):
        engines[lane].script.push(paced)
        assert httpx.post(url + "/v1/chat/completions", json=body | {"stream": True}).is_success
    # Two at once on the one-slot audit lane: the second one queues.
    engines["audit"].script.push(paced, paced)
    both = [
        threading.Thread(
            target=httpx.post,
            args=(url + "/v1/chat/completions",),
            kwargs={"json": HELLO | {"model": "audit", "stream": True}, "timeout": 30},
        )
        for _ in range(2)
    ]
    for thread in both:
        thread.start()
    for thread in both:
        thread.join()
    # chat answers 503 twice (a retry, then a failover to tools); an engine dying mid-stream;
    # a client leaving mid-stream.
    engines["chat"].script.push(Behaviour(status=503), Behaviour(status=503))
    engines["tools"].script.push(paced)
    httpx.post(url + "/v1/chat/completions", json=HELLO | {"stream": True})
    engines["tools"].script.push(Behaviour(die_after=2, token_delay=0.01))
    httpx.post(url + "/v1/chat/completions", json=HELLO | {"model": "tools", "stream": True})
    engines["chat"].script.push(Behaviour(reply=" ".join(["word"] * 200), token_delay=0.01))
    body = HELLO | {"model": "chat", "stream": True}
    with httpx.stream("POST", url + "/v1/chat/completions", json=body) as response:
        next(response.iter_raw())


@needs_prometheus
def test_every_dashboard_panel_and_alert_rule_works_on_real_prometheus(
    engines: dict[str, Engine],
    start_router: Callable[[Settings], str],
    prometheus_for: Callable[[str], str],
) -> None:
    url = start_router(settings_for(engines, probe_interval=0.2))
    prometheus = prometheus_for(url.removeprefix("http://"))
    wait_for(lambda: finite_values(query(prometheus, "up == 1")), "a first scrape")
    for _ in range(2):  # counters must rise between scrapes for rate() to see them
        drive_every_panel(url, engines)
        wait_scraped(prometheus, url)

    empty = []
    for name, expr in dashboard_queries():
        if not finite_values(query(prometheus, grafana_expanded(expr))):
            empty.append(name)
    assert empty == [], f"panels without data: {empty}"

    for _name, expr in alert_queries():
        query(prometheus, expr)  # parses and evaluates
    rules = httpx.get(prometheus + "/api/v1/rules").json()["data"]["groups"]
    loaded = {rule["name"]: rule["health"] for group in rules for rule in group["rules"]}
    assert set(loaded) == {name for name, _ in alert_queries()}
    wait_for(
        lambda: all(
            rule["health"] == "ok"
            for group in httpx.get(prometheus + "/api/v1/rules").json()["data"]["groups"]
            for rule in group["rules"]
        ),
        "every rule evaluates cleanly",
    )


@needs_prometheus
@pytest.mark.parametrize(
    "command",
    [
        ["check", "config", str(PROMETHEUS / "prometheus.yml")],
        ["check", "rules", str(PROMETHEUS / "alerts.yml")],
    ],
)
def test_promtool_accepts_the_shipped_files(command: list[str]) -> None:
    result = subprocess.run(["promtool", *command], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dashboard_json_is_what_its_builder_writes() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "build", DEPLOY / "grafana" / "build_dashboard.py"
    )
    assert spec is not None and spec.loader is not None
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    assert DASHBOARD.read_text() == builder.render()
