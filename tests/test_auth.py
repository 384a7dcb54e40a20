"""Client keys (off by default): who may call, which lanes a key may use, how many of its
requests may run at once; the key's name in the log and metrics, never the key."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import Engine, settings_for
from helpers import samples, value, wait_for
from test_config import run_cli
from test_errors import assert_error
from test_proxy import HELLO, post

from router.config import AuthConfig, Settings
from router.demo.script import Behaviour

CHAT = "/v1/chat/completions"
KEYS = f"""
[[keys]]
name = "alice"
key = "sk-alice-0123"

[[keys]]
name = "ci"
sha256 = "{hashlib.sha256(b"sk-ci-4567").hexdigest()}"
lanes = ["tools"]
max_concurrency = 1
"""


@pytest.fixture
def keyed(
    engines: dict[str, Engine], start_router: Callable[[Settings], str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[str, Path]:  # fmt: skip
    (tmp_path / "keys.toml").write_text(KEYS)
    monkeypatch.setenv("LR_TEST_KEYS", "bob=sk-bob-89\n")
    auth = AuthConfig(keys_file=str(tmp_path / "keys.toml"), keys_env="LR_TEST_KEYS",
                      protect_metrics=True, key_metric=True)  # fmt: skip
    log = tmp_path / "requests.jsonl"
    settings = settings_for(engines)
    settings = settings.model_copy(update={
        "auth": auth,
        "request_log": settings.request_log.model_copy(update={"destination": str(log)}),
    })  # fmt: skip
    return start_router(settings), log


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_a_request_without_a_valid_key_is_401(keyed: tuple[str, Path]) -> None:
    url, _ = keyed
    error = assert_error(post(url, CHAT, HELLO), 401, "invalid_api_key")
    assert "API key is required" in error["message"]
    assert_error(post(url, CHAT, HELLO, **bearer("sk-alice-0124")), 401, "invalid_api_key")
    assert_error(httpx.get(url + "/metrics"), 401, "invalid_api_key")  # protect_metrics
    assert httpx.get(url + "/healthz").status_code == 200  # probes stay open
    assert httpx.get(url + "/readyz").status_code == 200


@pytest.mark.parametrize(
    "headers",
    [bearer("sk-alice-0123"), {"x-api-key": "sk-alice-0123"}, {"api-key": "sk-alice-0123"}],
    ids=["openai", "anthropic", "azure"],
)
def test_each_clients_way_of_sending_a_key(
    keyed: tuple[str, Path], engines: dict[str, Engine], headers: dict[str, str]
) -> None:
    url, log = keyed
    response = post(url, CHAT, HELLO, **headers)
    assert (response.status_code, response.headers["x-lane"]) == (200, "chat")
    sent = engines["chat"].script.received[-1].headers
    assert "sk-alice" not in json.dumps(sent)  # the client's key never goes upstream
    [line] = [json.loads(x) for x in log.read_text().splitlines()]
    assert line["key"] == "alice" and "sk-alice" not in log.read_text()


def test_keys_from_the_environment_work_too(keyed: tuple[str, Path]) -> None:
    assert post(keyed[0], CHAT, HELLO, **bearer("sk-bob-89")).status_code == 200


def test_a_key_keeps_to_its_lanes(keyed: tuple[str, Path]) -> None:
    url, _ = keyed
    forced = post(url, CHAT, HELLO, **bearer("sk-ci-4567"), **{"X-Lane": "chat"})
    error = assert_error(forced, 403, "lane_not_allowed")
    assert "'ci' may use lane(s) tools" in error["message"]
    routed = post(url, CHAT, HELLO, **bearer("sk-ci-4567"))  # chat by intent: its fallback
    assert (routed.status_code, routed.headers["x-lane"]) == (200, "tools")


def test_a_keys_concurrency_limit_holds_for_a_whole_stream(
    keyed: tuple[str, Path], engines: dict[str, Engine]
) -> None:
    url, _ = keyed
    release = threading.Event()
    engines["tools"].script.push(
        Behaviour(reply="one two three four", pause_after=1, resume=release)
    )
    body: dict[str, Any] = HELLO | {"stream": True}

    def first() -> None:
        with httpx.stream("POST", url + CHAT, json=body, headers=bearer("sk-ci-4567")) as r:
            b"".join(r.iter_raw())

    streaming = threading.Thread(target=first)
    streaming.start()
    wait_for(lambda: engines["tools"].script.in_flight == 1, "the first stream is running")
    second = post(url, CHAT, HELLO, **bearer("sk-ci-4567"))
    assert_error(second, 429, "key_concurrency")
    assert post(url, CHAT, HELLO, **bearer("sk-alice-0123")).status_code == 200  # other keys
    release.set()
    streaming.join()
    assert post(url, CHAT, HELLO, **bearer("sk-ci-4567")).status_code == 200
    metrics = samples(url, headers=bearer("sk-alice-0123"))
    # The two that ran, by the key's name; the one turned away at the door never started.
    assert value(metrics, "lanerouter_key_requests_total", key="ci", outcome="ok") == 2


@pytest.mark.parametrize(
    ("keys", "says"),
    [
        ('[[keys]]\nname = "x"\nkey = "k"\nlanes = ["gpu"]\n', "unknown lanes ['gpu']"),
        ('[[keys]]\nname = "x"\n', "needs key or sha256"),
        ('[[keys]]\nname = "x"\nkey = "k"\n[[keys]]\nname = "x"\nkey = "j"\n', "unique"),
        ("[[keys]\n", "auth.keys_file"),
        (None, "auth.keys_file"),  # no such file
    ],
)
def test_bad_keys_stop_startup_with_one_message(
    tmp_path: Path, keys: str | None, says: str
) -> None:
    keys_file = tmp_path / "keys.toml"
    if keys is not None:
        keys_file.write_text(keys)
    config = tmp_path / "config.toml"
    config.write_text(f'[auth]\nkeys_file = "{keys_file}"\n')
    result = run_cli("serve", "--config", str(config), "--port", "0")
    assert result.returncode == 2
    assert says in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
