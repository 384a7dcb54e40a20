"""Fixtures: simulated engines and lanerouter itself, each a real uvicorn server on loopback."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from router.app import create_app
from router.config import LaneConfig, Settings
from router.configfile import load_settings
from router.demo.engine import SimEngine
from router.demo.planner import Profile
from router.demo.script import Script
from router.http.door import door_options
from router.http.serving import BackgroundServer

# The request store's default place is the user's data directory; the tests' go to a temporary
# one (lanerouter processes the tests start inherit it).
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="lanerouter-tests-")

# The user's lanes, paced 1000x faster so a 40-token answer takes milliseconds.
PROFILES = {
    "audit": Profile("llamacpp", "/srv/llama/models/qwen3-coder-next-bf16.gguf", 7.6, 117, 16384),
    "chat": Profile("ik_llamacpp", "qwen3-coder-next-iq4_nl", 85, 1500, 65536),
    "tools": Profile("vllm", "qwen3-coder-next-nvfp4", 80, 2500, 32768),
}
SPEED = 1000.0


@dataclass
class Engine:
    sim: SimEngine
    server: BackgroundServer

    @property
    def script(self) -> Script:
        return self.sim.script

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture(scope="session")
def engines() -> Iterator[dict[str, Engine]]:
    started = {}
    for lane, profile in PROFILES.items():
        sim = SimEngine(profile, speed=SPEED)
        started[lane] = Engine(sim, BackgroundServer(sim).start())
    yield started
    for engine in started.values():
        engine.server.stop()


@pytest.fixture(autouse=True)
def fresh_scripts(engines: dict[str, Engine]) -> None:
    for engine in engines.values():
        engine.script.reset()


@contextmanager
def engines_at(engines: dict[str, Engine], speed: float) -> Iterator[None]:
    """Every simulated engine at `speed` times the user's pace, for one test."""
    speeds = {lane: engine.sim.speed for lane, engine in engines.items()}
    for engine in engines.values():
        engine.sim.speed = speed
    yield
    for lane, engine in engines.items():
        engine.sim.speed = speeds[lane]


@pytest.fixture
def fast_engines(engines: dict[str, Engine]) -> Iterator[None]:
    """Engines that answer in moments, for tests about what comes in rather than its pace."""
    with engines_at(engines, 1000.0):
        yield


def settings_for(
    engines: dict[str, Engine], lanes: dict[str, dict[str, Any]] | None = None, **server: Any
) -> Settings:
    """Default settings, each lane pointed at its simulated engine, with optional overrides."""
    base = load_settings(None)
    updated: dict[str, LaneConfig] = {}
    for name, lane in base.lanes.items():
        changes = {"base_url": engines[name].url} | (lanes or {}).get(name, {})
        updated[name] = lane.model_copy(update=changes)
    config = base.server.model_copy(update=server)
    quiet = base.request_log.model_copy(update={"destination": "off"})
    return base.model_copy(update={"lanes": updated, "server": config, "request_log": quiet})


@pytest.fixture(scope="session")
def router_url(engines: dict[str, Engine]) -> Iterator[str]:
    settings = settings_for(engines)
    server = BackgroundServer(create_app(settings), **door_options(settings.server)).start()
    yield server.url
    server.stop()


@pytest.fixture
def start_router() -> Iterator[Callable[[Settings], str]]:
    """Start a lanerouter with custom settings; stopped when the test ends."""
    servers: list[BackgroundServer] = []

    def start(settings: Settings) -> str:
        app = create_app(settings)
        servers.append(BackgroundServer(app, **door_options(settings.server)).start())
        return servers[-1].url

    yield start
    for server in servers:
        server.stop()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI every test must run: a skip means something the suite needs was not installed."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if os.environ.get("CI") and skipped and exitstatus == pytest.ExitCode.OK:
        reporter.write_line(
            f"CI: {skipped} skipped; scripts/test installs what they need", red=True
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
