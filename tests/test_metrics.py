"""What Grafana will see: /metrics after real traffic against engines with known token counts."""

from __future__ import annotations

import json
import random
import string
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from conftest import Engine, settings_for
from helpers import needs_command, samples, value, wait_for
from test_proxy import HELLO

from router.config import Settings
from router.demo.script import Behaviour

LANES = ("audit", "chat", "tools")
FIVE = "one two three four five"


@pytest.fixture
def router(engines: dict[str, Engine], start_router: Callable[[Settings], str]) -> str:
    return start_router(settings_for(engines))


def test_scraped_values_equal_the_engines_counts(router: str, engines: dict[str, Engine]) -> None:
    for lane in LANES:
        engines[lane].script.push(*[Behaviour(reply=FIVE, token_delay=0.01)] * 3)
        for stream in (True, True, False):
            body = HELLO | {"stream": stream, "max_tokens": 50}
            response = httpx.post(
                router + "/v1/chat/completions", json=body, headers={"X-Lane": lane}
            )
            assert response.status_code == 200
    metrics = samples(router)
    for lane in LANES:
        plans = engines[lane].script.plans
        assert (
            value(
                metrics,
                "lanerouter_requests_total",
                lane=lane,
                reason="header",
                endpoint="chat",
                outcome="ok",
            )
            == 3
        )
        assert value(metrics, "lanerouter_prompt_tokens_total", lane=lane) == sum(
            p.prompt_tokens for p in plans
        )
        assert value(metrics, "lanerouter_cached_prompt_tokens_total", lane=lane) == sum(
            p.cached_tokens for p in plans
        )
        assert value(metrics, "lanerouter_completion_tokens_total", lane=lane) == 15
        # Streams have a TTFT and a decode rate, each with 5 content events. So do the
        # llama.cpp-family lanes' non-streamed answers, which lanerouter streams upstream.
        timed = 2 if lane == "tools" else 3
        assert value(metrics, "lanerouter_ttft_seconds_count", lane=lane) == timed
        assert value(metrics, "lanerouter_decode_tokens_per_second_count", lane=lane) == timed
        assert value(metrics, "lanerouter_decode_tokens_total", lane=lane) == 5 * timed
        rates = value(metrics, "lanerouter_decode_tokens_per_second_sum", lane=lane)
        weighted = value(metrics, "lanerouter_decode_tps_token_weighted_total", lane=lane)
        assert weighted == pytest.approx(5 * rates)  # n_i = 5 for every stream
        assert value(metrics, "lanerouter_inter_token_seconds_count", lane=lane) == 4 * timed
        assert value(metrics, "lanerouter_prefill_tokens_per_second_count", lane=lane) == timed
        assert (
            value(metrics, "lanerouter_request_duration_seconds_count", lane=lane, endpoint="chat")
            == 3
        )
        assert value(metrics, "lanerouter_inflight_requests", lane=lane) == 0


def test_outcomes_are_counted(router: str, engines: dict[str, Engine]) -> None:
    httpx.post(router + "/v1/chat/completions", json=HELLO, headers={"X-Lane": "gpu"})
    engines["chat"].script.push(Behaviour(status=500))  # not retried, passed through
    httpx.post(router + "/v1/chat/completions", json=HELLO)
    engines["audit"].script.push(Behaviour(die_after=3, reply=FIVE * 5))
    httpx.post(router + "/v1/completions", json={"prompt": "x", "stream": True, "model": "audit"})
    held = Behaviour(reply=FIVE * 40, pause_after=1, resume=threading.Event())
    engines["tools"].script.push(held)
    body = HELLO | {"stream": True, "model": "tools", "max_tokens": 500}
    with httpx.stream("POST", router + "/v1/chat/completions", json=body) as response:
        next(response.iter_raw())
    wait_for(lambda: engines["tools"].script.aborted == 1, "the engine saw the client leave")
    left = {
        "lane": "tools",
        "reason": "model",
        "endpoint": "chat",
        "outcome": "client_disconnected",
    }
    wait_for(lambda: value(samples(router), "lanerouter_requests_total", **left) == 1, "recorded")
    metrics = samples(router)

    def outcome(lane: str, reason: str, endpoint: str, name: str) -> float:
        return value(
            metrics,
            "lanerouter_requests_total",
            lane=lane,
            reason=reason,
            endpoint=endpoint,
            outcome=name,
        )

    assert outcome("none", "none", "chat", "client_error") == 1
    assert outcome("chat", "default", "chat", "upstream_error") == 1
    assert outcome("audit", "model", "completions", "upstream_aborted") == 1
    assert outcome("tools", "model", "chat", "client_disconnected") == 1
    for lane in LANES:
        assert value(metrics, "lanerouter_inflight_requests", lane=lane) == 0


def test_continued_conversation_without_cache_reuse_is_counted(
    router: str, engines: dict[str, Engine]
) -> None:
    system = {"role": "system", "content": "You are a careful reviewer. " * 40}
    turn1 = [system, {"role": "user", "content": "Review a.py"}]
    turn2 = [
        *turn1,
        {"role": "assistant", "content": "Looks fine."},
        {"role": "user", "content": "And b.py?"},
    ]
    turn3 = [
        *turn2,
        {"role": "assistant", "content": "Also fine."},
        {"role": "user", "content": "And c.py?"},
    ]
    engines["audit"].script.push(Behaviour(), Behaviour(cached_tokens=0), Behaviour())
    for messages in (turn1, turn2, turn3):
        httpx.post(router + "/v1/chat/completions", json={"model": "audit", "messages": messages})
    assert engines["audit"].script.plans[2].cached_tokens > 100  # the third one reused its cache
    metrics = samples(router)
    assert value(metrics, "lanerouter_prompt_reprocessed_total", lane="audit") == 1


def test_client_strings_never_become_label_values(router: str) -> None:
    rng = random.Random(7)

    def junk() -> str:
        return "".join(rng.choice(string.ascii_letters + ":/-_") for _ in range(12))

    with httpx.Client(base_url=router, timeout=10) as client:
        for i in range(1000):
            headers = {"X-Lane": junk()} if i % 2 else {}
            body = {"model": junk(), "max_tokens": 1, "messages": HELLO["messages"]}
            client.post("/v1/chat/completions", json=body, headers=headers)
    labels: dict[str, set[str]] = {}
    for name, pairs in samples(router):
        if name.startswith("lanerouter_"):
            for key, val in pairs:
                labels.setdefault(key, set()).add(val)
    assert labels["lane"] <= {*LANES, "none"}
    assert labels["reason"] <= {
        "none",
        "header",
        "model",
        "tools",
        "default",
        "fim",
        "side-task",
        "security",
        "review",
        "role",
        "conversation",
    }
    assert labels["endpoint"] <= {
        "chat",
        "completions",
        "responses",
        "messages",
        "count_tokens",
        "embeddings",
    }


def test_request_log_lines(
    engines: dict[str, Engine], start_router: Callable[[Settings], str], tmp_path: Path
) -> None:
    log = tmp_path / "requests.jsonl"
    settings = settings_for(engines)
    settings = settings.model_copy(
        update={"request_log": settings.request_log.model_copy(update={"destination": str(log)})}
    )
    url = start_router(settings)
    # Paced, so the five tokens arrive in separate reads and a decode rate exists.
    engines["audit"].script.push(Behaviour(reply=FIVE, token_delay=0.005))
    response = httpx.post(
        url + "/v1/chat/completions",
        headers={"X-Request-Id": "req-42"},
        json=HELLO | {"stream": True, "model": "audit"},
    )
    assert response.headers["x-request-id"] == "req-42"
    assert engines["audit"].script.received[-1].headers["x-request-id"] == "req-42"
    generated = httpx.post(url + "/v1/chat/completions", json=HELLO).headers["x-request-id"]
    [first, second] = [json.loads(line) for line in log.read_text().splitlines()]
    assert first["request_id"] == "req-42"
    assert (first["lane"], first["reason"], first["endpoint"]) == ("audit", "model", "chat")
    assert (first["status"], first["outcome"], first["stream"]) == (200, "ok", True)
    assert first["completion_tokens"] == 5
    assert first["prompt_tokens"] == engines["audit"].script.plans[0].prompt_tokens
    assert first["ttft_ms"] > 0 and first["decode_tps"] > 0 and first["total_ms"] > 0
    assert second["request_id"] == generated and len(generated) == 32
    assert "prompt" not in first and "completion" not in first
    assert "hello" not in log.read_text()


@needs_command("promtool")
def test_promtool_accepts_the_exposition(router: str) -> None:
    httpx.post(router + "/v1/chat/completions", json=HELLO | {"stream": True})
    text = httpx.get(router + "/metrics").text
    result = subprocess.run(
        ["promtool", "check", "metrics"], input=text, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "" and result.stderr.strip() == ""
