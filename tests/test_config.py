"""Configuration: the shipped file, environment overrides, and bad files stopping start-up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from router.configfile import load_settings

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("LANEROUTER_"):
            monkeypatch.delenv(name)


def test_shipped_config_matches_built_in_defaults() -> None:
    assert load_settings(ROOT / "config.toml") == load_settings(None)


def test_defaults_are_the_users_setup() -> None:
    lanes = load_settings(ROOT / "config.toml").lanes
    assert (lanes["audit"].base_url, lanes["audit"].engine) == ("http://127.0.0.1:8081", "llamacpp")
    assert (lanes["audit"].ctx_size, lanes["audit"].max_concurrency) == (16384, 1)
    assert (lanes["chat"].base_url, lanes["chat"].engine) == (
        "http://127.0.0.1:8001",
        "ik_llamacpp",
    )
    assert lanes["chat"].ctx_size == 65536
    assert (lanes["tools"].base_url, lanes["tools"].engine) == ("http://127.0.0.1:8000", "vllm")
    assert (lanes["tools"].model, lanes["tools"].ctx_size) == ("qwen3-coder-next-nvfp4", 32768)
    assert lanes["tools"].request_defaults == {"chat_template_kwargs": {"enable_thinking": False}}


def test_environment_overrides_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANEROUTER_LANES__AUDIT__BASE_URL", "http://gpu-box:9000")
    monkeypatch.setenv("LANEROUTER_SERVER__PORT", "9090")
    monkeypatch.setenv("LANEROUTER_ROUTING__DEFAULT_LANE", "tools")
    settings = load_settings(ROOT / "config.toml")
    assert settings.lanes["audit"].base_url == "http://gpu-box:9000"
    assert settings.lanes["audit"].ctx_size == 16384  # the rest of the lane is the file's
    assert settings.server.port == 9090
    assert settings.routing.default_lane == "tools"


def test_environment_overrides_defaults_without_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANEROUTER_LANES__CHAT__IDLE_TIMEOUT", "5")
    assert load_settings(None).lanes["chat"].idle_timeout == 5.0


OTHER_LANES = "".join(
    f'[lanes.{name}]\nbase_url = "http://127.0.0.1:{port}"\nengine = "vllm"\nmodel = "m"\n'
    "ctx_size = 4096\n"
    for name, port in (("audit", 8081), ("tools", 8000))
)
LANE = (
    '[lanes.chat]\nbase_url = "http://127.0.0.1:8001"\nengine = "llamacpp"\nmodel = "m"\n'
    "ctx_size = 4096\n"
)
BAD_CONFIGS = [
    ("unknown key", LANE + "colour = 'blue'\n", "lanes.chat.colour: unknown key"),
    ("unknown top-level key", LANE + "[metrics]\nport = 1\n", "metrics: unknown key"),
    ("bad url", LANE.replace("http://127.0.0.1:8001", "localhost:8001"), "lanes.chat.base_url"),
    (
        "credentials in the url",
        LANE.replace("http://127.0.0.1:8001", "http://admin:hunter2@127.0.0.1:8001"),
        "lanes.chat.base_url: must not hold credentials",
    ),
    ("unknown engine", LANE.replace('"llamacpp"', '"ollama"'), "lanes.chat.engine"),
    (
        "rule names missing lane",
        LANE + "[[routing.rules]]\nname='x'\nlane='gpu'\nkeywords=['a']\n",
        "routing.rules[x].lane",
    ),
    ("default lane missing", LANE + "[routing]\ndefault_lane = 'fast'\n", "routing.default_lane"),
    (
        "bad regex",
        LANE + "[[routing.rules]]\nname='x'\nlane='chat'\npatterns=['(']\n",
        "routing.rules.0.patterns",
    ),
    ("not TOML", "[server\n", "config file"),
    ("negative ctx", LANE.replace("4096", "-1"), "lanes.chat.ctx_size"),
]


@pytest.mark.parametrize(
    ("text", "names"), [c[1:] for c in BAD_CONFIGS], ids=[c[0] for c in BAD_CONFIGS]
)
def test_bad_config_stops_startup_with_one_message(tmp_path: Path, text: str, names: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(OTHER_LANES + text)
    result = run_cli("serve", "--config", str(config))
    assert result.returncode == 2
    assert names in result.stderr
    assert "Traceback" not in result.stderr
    assert "hunter2" not in result.stderr  # a secret in the config is never echoed
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_config_file_is_named() -> None:
    result = run_cli("serve", "--config", "/nonexistent/lanerouter.toml")
    assert result.returncode == 2
    assert "/nonexistent/lanerouter.toml does not exist" in result.stderr


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "router", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=os.environ.copy(),
    )


def test_a_partial_lane_section_keeps_the_rest_of_that_lane(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        OTHER_LANES.replace("ctx_size = 4096\n", "")  # audit and tools: URL, engine, model only
        + '[lanes.chat]\nbase_url = "http://gpu-box:8001"\n'
    )
    lanes = load_settings(config).lanes
    assert (lanes["chat"].base_url, lanes["chat"].engine) == ("http://gpu-box:8001", "ik_llamacpp")
    assert (lanes["chat"].ctx_size, lanes["audit"].ctx_size) == (65536, 16384)
    assert lanes["tools"].engine == "vllm" and lanes["tools"].model == "m"
