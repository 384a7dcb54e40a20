"""Lane health in each engine's own terms, and /readyz built from it."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from conftest import Engine, settings_for
from helpers import wait_for

from router.config import Settings
from router.demo.engine import SimEngine
from router.demo.planner import Profile
from router.dispatch.health import STATES, LaneHealth, state_from_health
from router.dispatch.lanestate import FROM_TRAFFIC, LaneStates
from router.http.serving import BackgroundServer

# Bodies as the real engines send them (tests/captures/*/get_health*.txt).
HEALTH_ROWS = [
    ("llama.cpp ready", 200, b'{"status":"ok"}', "ready"),
    (
        "llama.cpp loading",
        503,
        b'{"error":{"message":"Loading model","type":"unavailable_error","code":503}}',
        "loading",
    ),
    ("ik_llama.cpp ready", 200, b'{"status":"ok","slots_idle":1,"slots_processing":0}', "ready"),
    (
        "ik_llama.cpp all slots busy",
        200,
        b'{"status":"no slot available","slots_idle":0,"slots_processing":1}',
        "busy",
    ),
    (
        "ik_llama.cpp fail_on_no_slot",
        503,
        b'{"status":"no slot available","slots_idle":0,"slots_processing":1}',
        "busy",
    ),
    ("vLLM ready (empty body)", 200, b"", "ready"),
    ("vLLM engine dead", 503, b"", "down"),
    ("unexpected 500", 500, b"boom", "down"),
]


@pytest.mark.parametrize(
    ("status", "body", "state"), [r[1:] for r in HEALTH_ROWS], ids=[r[0] for r in HEALTH_ROWS]
)
def test_health_answer_maps_to_state(status: int, body: bytes, state: str) -> None:
    assert state_from_health(status, body).state == state


def closed_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_readyz_reports_each_lane(
    engines: dict[str, Engine], start_router: Callable[[Settings], str]
) -> None:
    url = start_router(settings_for(engines, {"audit": {"base_url": closed_url()}}))
    response = httpx.get(url + "/readyz")
    assert response.status_code == 200
    lanes = response.json()["lanes"]
    assert {name: lane["state"] for name, lane in lanes.items()} == {
        "audit": "down",
        "chat": "ready",
        "tools": "ready",
    }
    assert lanes["audit"]["reachable"] is False


def test_readyz_is_503_when_no_lane_can_serve(
    engines: dict[str, Engine], start_router: Callable[[Settings], str]
) -> None:
    dead = {name: {"base_url": closed_url()} for name in ("audit", "chat", "tools")}
    url = start_router(settings_for(engines, dead))
    response = httpx.get(url + "/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert httpx.get(url + "/healthz").json() == {"status": "ok"}


def test_the_engines_own_context_wins_over_the_config(
    engines: dict[str, Engine], start_router: Callable[[Settings], str]
) -> None:
    # The config says 32K for tools; the engine (vLLM's /v1/models) says 8K per request.
    small = SimEngine(Profile("vllm", "qwen3-coder-next-nvfp4", 80, 2500, 8192), speed=1000.0)
    server = BackgroundServer(small, log_level="critical").start()
    try:
        url = start_router(settings_for(engines, {"tools": {"base_url": server.url}},
                                        probe_interval=0.05))  # fmt: skip
        wait_for(lambda: lane_info(url, "tools")["ctx_from"] == "engine", "limits read")
        assert lane_info(url, "tools")["ctx_size"] == 8192
        wait_for(lambda: lane_info(url, "chat")["ctx_from"] == "engine", "chat's limits read")
        assert lane_info(url, "chat")["ctx_size"] == 65536  # agrees with the config
        tool = {"type": "function", "function": {"name": "f", "parameters": {}}}
        body = {"messages": [{"role": "user", "content": "x " * 20_000}], "tools": [tool]}
        moved = httpx.post(url + "/v1/chat/completions", json=body, timeout=30)
        assert (moved.headers["x-lane"], moved.headers["x-route-reason"]) == ("chat", "context")
    finally:
        server.stop()


def lane_info(url: str, lane: str) -> dict[str, Any]:
    return dict(httpx.get(url + "/readyz").json()["lanes"][lane])


ALLOWED_FROM_TRAFFIC = [
    ("ready", "busy"),
    ("ready", "loading"),
    ("ready", "down"),
    ("busy", "busy"),
    ("busy", "loading"),
    ("busy", "down"),
    ("loading", "loading"),
    ("loading", "down"),
    ("down", "loading"),  # an engine restarting under a request in flight
    ("down", "down"),
]
# Traffic never revives a lane: only a probe does.
FORBIDDEN_FROM_TRAFFIC = [
    ("ready", "ready"),
    ("busy", "ready"),
    ("loading", "ready"),
    ("loading", "busy"),
    ("down", "ready"),
    ("down", "busy"),  # a late 429 from a request in flight
]


def probed(state: str) -> LaneStates:
    states = LaneStates(["chat"])
    states.update("chat", LaneHealth(state, "probe"))  # type: ignore[arg-type]
    return states


@pytest.mark.parametrize(("now", "seen"), ALLOWED_FROM_TRAFFIC)
def test_what_traffic_may_conclude_about_a_lane(now: str, seen: str) -> None:
    states = probed(now)
    assert states.mark("chat", seen, "a request saw it")  # type: ignore[arg-type]
    assert states.health["chat"] == LaneHealth(seen, "a request saw it")  # type: ignore[arg-type]


@pytest.mark.parametrize(("now", "seen"), FORBIDDEN_FROM_TRAFFIC)
def test_what_traffic_may_not_conclude(now: str, seen: str) -> None:
    states = probed(now)
    assert not states.mark("chat", seen, "a request saw it")  # type: ignore[arg-type]
    assert states.health["chat"] == LaneHealth(now, "probe")  # type: ignore[arg-type]


def test_the_transition_table_covers_every_pair() -> None:
    pairs = {(a, b) for a in STATES for b in STATES}
    assert pairs == set(ALLOWED_FROM_TRAFFIC) | set(FORBIDDEN_FROM_TRAFFIC)
    assert {(a, b) for a, targets in FROM_TRAFFIC.items() for b in targets} == set(
        ALLOWED_FROM_TRAFFIC
    )


@pytest.mark.parametrize("after", ["ready", "busy", "loading", "down"])
@pytest.mark.parametrize("now", ["ready", "busy", "loading", "down"])
def test_a_probe_may_set_any_state(now: str, after: str) -> None:
    states = LaneStates(["chat"])
    states.update("chat", LaneHealth(now, "first probe"))  # type: ignore[arg-type]
    states.update("chat", LaneHealth(after, "second probe"))  # type: ignore[arg-type]
    assert states.state("chat") == after
