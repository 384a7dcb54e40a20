"""Several engines behind one lane: least-loaded placement, cache affinity bounded by each
engine's slots, skipping a failing engine before failing over, and metrics per engine."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from conftest import PROFILES, SPEED, Engine, settings_for
from helpers import metric, samples, value, wait_for
from test_errors import closed_port

from router.config import LaneConfig, Settings
from router.configfile import load_settings
from router.demo.engine import SimEngine
from router.demo.script import Behaviour
from router.dispatch.engineorder import engine_order
from router.enginerefs import EngineRef
from router.errors import ConfigError
from router.http.serving import BackgroundServer

CHAT = "/v1/chat/completions"
SYSTEM = "You are a careful coding assistant. " * 30  # a prompt worth caching (~270 tokens)


def ref(name: str, slots: int = 1) -> EngineRef:
    return EngineRef(f"chat/{name}", "chat", name, f"http://{name}:8001", slots)


A, B, C = ref("a"), ref("b"), ref("c", slots=2)


def keys(order: list[EngineRef]) -> list[str]:
    return [engine.name for engine in order]


# (in use per engine, unusable engines, the conversation's engine, turn) -> order, why
ORDER_CASES = [
    ({}, set(), None, 0, ["a", "b", "c"], "least_loaded"),
    ({}, set(), None, 1, ["b", "c", "a"], "least_loaded"),  # ties rotate
    ({"chat/a": 1}, set(), None, 0, ["b", "c", "a"], "least_loaded"),  # full goes last
    ({"chat/c": 1}, set(), None, 0, ["a", "b", "c"], "least_loaded"),
    ({"chat/a": 1, "chat/c": 1}, set(), None, 0, ["b", "c", "a"], "least_loaded"),  # 0 < 1/2 < 1
    ({}, set(), "chat/b", 0, ["b", "a", "c"], "affinity"),
    ({"chat/b": 1}, set(), "chat/b", 0, ["a", "c", "b"], "spilled"),  # bounded: b is full
    ({"chat/c": 1}, set(), "chat/c", 0, ["c", "a", "b"], "affinity"),  # c has a second slot
    ({}, {"chat/b"}, "chat/b", 0, ["a", "c"], "spilled"),  # its engine is failing
    ({}, {"chat/a", "chat/c"}, None, 0, ["b"], "least_loaded"),
    ({}, {"chat/a", "chat/b", "chat/c"}, "chat/a", 0, [], "spilled"),
]


@pytest.mark.parametrize(("in_use", "down", "home", "turn", "order", "why"), ORDER_CASES)
def test_engine_order(
    in_use: dict[str, int], down: set[str], home: str | None, turn: int, order: list[str], why: str
) -> None:
    ranked, chosen = engine_order([A, B, C], in_use, lambda key: key not in down, home, turn)
    assert (keys(ranked), chosen) == (order, why)


@pytest.fixture
def chat_engines() -> Iterator[list[Engine]]:
    """Two simulated ik_llama.cpp engines, each caching the prompt of its last request (as a
    llama.cpp slot does)."""
    started = []
    for _ in range(2):
        sim = SimEngine(PROFILES["chat"], speed=SPEED)
        started.append(Engine(sim, BackgroundServer(sim, log_level="critical").start()))
    yield started
    for engine in started:
        engine.server.stop()


def two_engine_settings(engines: dict[str, Engine], urls: list[str], **chat: Any) -> Settings:
    """The chat lane served by engines "gpu1" and "gpu2" (one slot each)."""
    settings = settings_for(engines, {"chat": {"retry_backoff": 0.01}}, probe_interval=0.05)
    fields = settings.lanes["chat"].model_dump(exclude={"base_url", "max_concurrency"})
    listed = [{"name": f"gpu{i + 1}", "base_url": url} for i, url in enumerate(urls)]
    lane = LaneConfig.model_validate(fields | {"engines": listed} | chat)
    return settings.model_copy(update={"lanes": settings.lanes | {"chat": lane}})


def turn(url: str, history: list[dict[str, str]], text: str) -> httpx.Response:
    """One more turn of a conversation; the reply joins its history."""
    history.append({"role": "user", "content": text})
    body = {"model": "qwen3-coder-next:chat", "messages": history, "max_tokens": 20}
    response = httpx.post(url + CHAT, json=body, timeout=30)
    assert response.status_code == 200, response.text
    history.append(
        {"role": "assistant", "content": response.json()["choices"][0]["message"]["content"]}
    )
    return response


def conversations(url: str) -> None:
    """Two conversations whose turns interleave as two developers' would."""
    first = [{"role": "system", "content": "Project one. " + SYSTEM}]
    second = [{"role": "system", "content": "Project two. " + SYSTEM}]
    order = [first, second, second, first, first, second, first, second, second, first]
    for index, history in enumerate(order):
        turn(url, history, f"step {index}: refactor the parser a little more")


@pytest.mark.parametrize("affinity", [True, False])
def test_affinity_keeps_conversations_where_their_prompt_is_cached(
    engines: dict[str, Engine],
    chat_engines: list[Engine],
    start_router: Callable[[Settings], str],
    affinity: bool,
) -> None:
    urls = [engine.url for engine in chat_engines]
    url = start_router(two_engine_settings(engines, urls, affinity=affinity))
    conversations(url)
    metrics = samples(url)
    again = {
        name: value(metrics, "lanerouter_engine_prompt_reprocessed_total", lane="chat", engine=name)
        for name in ("gpu1", "gpu2")
    }
    lane_total = value(metrics, "lanerouter_prompt_reprocessed_total", lane="chat")
    assert sum(again.values()) == lane_total
    served = [len(engine.script.received) for engine in chat_engines]
    assert served[0] > 0 and served[1] > 0  # both engines took conversations
    if affinity:
        # Each conversation stayed on its engine: every continued turn found its prompt cached.
        assert lane_total == 0
        placed = value(
            metrics, "lanerouter_engine_placements_total", lane="chat", engine="gpu1",
            choice="affinity",
        ) + value(
            metrics, "lanerouter_engine_placements_total", lane="chat", engine="gpu2",
            choice="affinity",
        )  # fmt: skip
        assert placed == 8  # all but the two first turns
    else:
        assert lane_total >= 4  # turns landed where the other conversation's prompt was


def test_new_requests_go_to_the_least_loaded_engine(
    engines: dict[str, Engine], chat_engines: list[Engine], start_router: Callable[[Settings], str]
) -> None:
    url = start_router(two_engine_settings(engines, [e.url for e in chat_engines]))
    resume = threading.Event()
    for engine in chat_engines:
        engine.script.push(Behaviour(pause_after=1, resume=resume))
    body = {"messages": [{"role": "user", "content": "hello"}], "max_tokens": 5}
    results: list[int] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(httpx.post(url + CHAT, json=body, timeout=30).status_code)
        )
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    # Both requests run at once, one at each engine: neither engine was sent two.
    wait_for(lambda: all(e.script.in_flight == 1 for e in chat_engines), "one at each engine")
    status = httpx.get(url + "/api/status").json()["lanes"]["chat"]
    assert status["slots"] == 2 and status["slots_in_use"] == 2
    assert [e["slots_in_use"] for e in status["engines"]] == [1, 1]
    resume.set()
    for thread in threads:
        thread.join()
    assert results == [200, 200]


def test_a_failing_engine_is_skipped_before_the_lane_fails_over(
    engines: dict[str, Engine], chat_engines: list[Engine], start_router: Callable[[Settings], str]
) -> None:
    dead = f"http://127.0.0.1:{closed_port()}"
    url = start_router(two_engine_settings(engines, [dead, chat_engines[0].url]))
    body = {"messages": [{"role": "user", "content": "hello"}], "max_tokens": 5}
    for _ in range(3):
        response = httpx.post(url + CHAT, json=body, timeout=30)
        assert response.status_code == 200
        assert response.headers["x-lane"] == "chat"  # not failed over to tools
    assert len(chat_engines[0].script.received) == 3
    assert len(engines["tools"].script.received) == 0
    metrics = samples(url)
    assert value(metrics, "lanerouter_engine_state", lane="chat", engine="gpu1", state="down") == 1
    assert value(metrics, "lanerouter_lane_state", lane="chat", state="ready") == 1
    assert value(metrics, "lanerouter_engine_requests_total", lane="chat", engine="gpu2") == 3
    assert value(metrics, "lanerouter_engine_requests_total", lane="chat", engine="gpu1") == 0


def test_the_lane_fails_over_only_when_all_its_engines_fail(
    engines: dict[str, Engine], start_router: Callable[[Settings], str]
) -> None:
    dead = [f"http://127.0.0.1:{closed_port()}" for _ in range(2)]
    url = start_router(two_engine_settings(engines, dead))
    body = {"messages": [{"role": "user", "content": "hello"}], "max_tokens": 5}
    response = httpx.post(url + CHAT, json=body, timeout=30)
    assert response.status_code == 200
    assert response.headers["x-route-reason"] == "failover:chat"
    wait_for(lambda: httpx.get(url + "/readyz").json()["lanes"]["chat"]["state"] == "down")
    detail = httpx.get(url + "/readyz").json()["lanes"]["chat"]["detail"]
    assert "gpu1 at " in detail and "gpu2 at " in detail


def test_each_engine_is_answered_in_the_request_store_and_log(
    engines: dict[str, Engine], chat_engines: list[Engine], start_router: Callable[[Settings], str]
) -> None:
    url = start_router(two_engine_settings(engines, [e.url for e in chat_engines]))
    turn(url, [{"role": "system", "content": SYSTEM}], "hello")
    recent = httpx.get(url + "/api/requests").json()["requests"]
    assert recent[0]["engine_name"] in ("gpu1", "gpu2")
    assert metric(url, "lanerouter_engine_requests_total", lane="tools", engine="tools") == 0


LANE = '[lanes.chat]\nengine = "ik_llamacpp"\nmodel = "m"\nctx_size = 65536\n'
ENGINE = '[[lanes.chat.engines]]\nname = "{}"\nbase_url = "{}"\n'
BAD_ENGINES = [
    ('base_url = "http://a:1"\n' + ENGINE.format("x", "http://b:1"), "leave the lane's own out"),
    ("max_concurrency = 2\n" + ENGINE.format("x", "http://b:1"), "leave the lane's own out"),
    (ENGINE.format("x", "http://b:1") + ENGINE.format("x", "http://c:1"), "must differ"),
    (ENGINE.format("GPU 1", "http://b:1"), "lowercase"),
    (ENGINE.format("", "http://b:1"), "needs a name"),
    (ENGINE.format("x", "http://user:hunter2@b:1"), "must not hold credentials"),
    ('[lanes.extra]\nengine = "vllm"\nmodel = "m"\nctx_size = 1\n', "extra: base_url: required"),
]


@pytest.mark.parametrize(("lane", "message"), BAD_ENGINES)
def test_engine_lists_are_checked_at_start(tmp_path: Any, lane: str, message: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(LANE + lane)
    with pytest.raises(ConfigError, match=message) as caught:
        load_settings(config)
    assert "hunter2" not in str(caught.value)
    assert "lanes." in str(caught.value)


def test_an_engine_list_in_the_config_file(tmp_path: Any) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[lanes.chat]\nengine = "ik_llamacpp"\nmodel = "m"\nctx_size = 65536\nfallback = []\n'
        '[[lanes.chat.engines]]\nname = "gpu1"\nbase_url = "http://gpu1:8001"\n'
        '[[lanes.chat.engines]]\nname = "gpu2"\nbase_url = "http://gpu2:8001"\n'
        "max_concurrency = 2\n"
        '[routing]\ntools_lane = "chat"\naudit_lane = "chat"\n'
    )
    lane = load_settings(config).lanes["chat"]
    assert [(e.name, e.max_concurrency) for e in lane.engines] == [("gpu1", 1), ("gpu2", 2)]
    assert lane.slots == 3
