"""Lane health in each engine's own terms, and /readyz built from it."""

from __future__ import annotations

import socket
from collections.abc import Callable

import httpx
import pytest
from conftest import Engine, settings_for

from router.config import Settings
from router.health import state_from_health

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
