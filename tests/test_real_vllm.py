"""lanerouter in front of a real vLLM 0.32 OpenAI server (CPU, tiny random Qwen3) as the tools lane,
started with the user's flags (qwen3_coder tool parser, qwen3 reasoning parser, prefix caching).

A logits processor makes the random model emit a scripted text (`vllm_xargs.script`), so vLLM's
own parsers produce real `reasoning`, `content` and `tool_calls` deltas.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from captures import data_events
from conftest import Engine, settings_for
from helpers import free_port, parse_samples, summed, wait_for
from real_engines import needs_vllm, vllm_server
from tap import Tap
from test_real_llamacpp import Routed

from router.config import Settings

pytestmark = needs_vllm
CHAT = "/v1/chat/completions"
TOOLS = {"X-Lane": "tools"}  # the model name stays "gpt-4o": lanerouter must rewrite it
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
TOOL_SCRIPT = (
    "Let me check.\n<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n"
    "</parameter>\n</function>\n</tool_call>"
)


@pytest.fixture(scope="module")
def vllm() -> Iterator[str]:
    with vllm_server(free_port(), extra="--enable-prompt-tokens-details") as url:
        yield url


@pytest.fixture
def routed(
    vllm: str, engines: dict[str, Engine], start_router: Callable[[Settings], str], tmp_path: Path
) -> Routed:
    tap = Tap(int(vllm.rsplit(":", 1)[1]))
    tools = {"base_url": tap.url, "engine": "vllm", "ctx_size": 2048}
    settings = settings_for(engines, {"tools": tools}, probe_interval=60)
    log = tmp_path / "requests.jsonl"
    settings = settings.model_copy(
        update={"request_log": settings.request_log.model_copy(update={"destination": str(log)})}
    )
    yield Routed(start_router(settings), vllm, tap, log)
    tap.close()


def ask(script: str, **extra: Any) -> dict[str, Any]:
    return {
        "model": "gpt-4o",
        "max_tokens": 200,
        "vllm_xargs": {"script": script},
        "messages": [{"role": "user", "content": "What is the weather in Paris?"}],
    } | extra


def stream(routed: Routed, body: dict[str, Any]) -> bytes:
    with httpx.stream(
        "POST", routed.url + CHAT, json=body | {"stream": True}, timeout=60, headers=TOOLS
    ) as r:
        assert r.status_code == 200, r.read()
        assert r.headers["x-lane"] == "tools"
        return b"".join(r.iter_raw())


def deltas(raw: bytes, key: str) -> list[Any]:
    return [
        e["choices"][0]["delta"][key]
        for e in data_events(raw)
        if e.get("choices") and e["choices"][0]["delta"].get(key)
    ]


def test_tool_call_streams_intact_and_usage_is_stripped(routed: Routed) -> None:
    # The client model name is not vLLM's (it would answer 404): lanerouter rewrote it.
    received = stream(routed, ask(TOOL_SCRIPT, tools=[WEATHER], tool_choice="auto"))
    engine_sent = routed.tap.last_body()
    usage = [e for e in data_events(engine_sent) if e.get("usage")]
    assert len(usage) == 1  # lanerouter asked vLLM for usage...
    assert b'"usage"' not in received  # ...and kept it from a client that did not
    assert received == engine_sent.replace(
        b"data: " + json.dumps(usage[0], separators=(",", ":")).encode() + b"\n\n", b""
    )
    calls = deltas(received, "tool_calls")
    assert calls[0][0]["function"]["name"] == "get_weather"
    arguments = "".join(c[0]["function"].get("arguments", "") for c in calls)
    assert json.loads(arguments) == {"city": "Paris"}
    # The lane default enable_thinking=false: the text is content, not reasoning.
    assert "".join(deltas(received, "content")).startswith("Let me check.")
    [line] = [json.loads(x) for x in routed.log.read_text().splitlines()]
    assert line["completion_tokens"] == usage[0]["usage"]["completion_tokens"]
    assert line["cached_tokens"] == usage[0]["usage"]["prompt_tokens_details"]["cached_tokens"]


def test_reasoning_counts_as_first_content(routed: Routed) -> None:
    thinking = {"chat_template_kwargs": {"enable_thinking": True}}  # the client's choice wins
    received = stream(routed, ask("<think>\nShort thought.\n</think>\n\nHello!", **thinking))
    assert "".join(deltas(received, "reasoning")).strip() == "Short thought."
    assert "Hello!" in "".join(deltas(received, "content"))
    [line] = [json.loads(x) for x in routed.log.read_text().splitlines()]
    assert line["ttft_ms"] is not None and line["completion_tokens"] > 0
    # decode_tps is left out on purpose: the tiny model's whole answer can arrive in one read,
    # and a stream with no time between its first and last content has no rate to report.


def test_non_streamed_text_lands_in_content(routed: Routed) -> None:
    body = ask("Hello! I am a tiny test model.")
    response = httpx.post(routed.url + CHAT, json=body, headers=TOOLS, timeout=60)
    assert response.status_code == 200
    message = response.json()["choices"][0]["message"]
    assert message["content"] == "Hello! I am a tiny test model."
    assert message["reasoning"] is None
    assert response.content == routed.tap.last_body()


def engine_metric(engine: str, name: str) -> float:
    return summed(parse_samples(httpx.get(engine + "/metrics").text), name)


def test_metered_tokens_equal_vllms_usage(routed: Routed) -> None:
    received = stream(routed, ask("Hello there! " * 20, stream_options={"include_usage": True}))
    [usage] = [e["usage"] for e in data_events(received) if e.get("usage")]
    [line] = [json.loads(x) for x in routed.log.read_text().splitlines()]
    print(f"\nvLLM usage {usage}")
    print(f"lanerouter: prompt {line['prompt_tokens']}, cached {line['cached_tokens']}, "
          f"completion {line['completion_tokens']}")  # fmt: skip
    assert line["prompt_tokens"] == usage["prompt_tokens"]
    assert line["completion_tokens"] == usage["completion_tokens"]
    assert line["cached_tokens"] == (usage.get("prompt_tokens_details") or {}).get("cached_tokens")


def test_disconnect_aborts_the_request(routed: Routed) -> None:
    before = engine_metric(routed.engine, "vllm:generation_tokens_total")
    # No script: the random model runs on for 1900 tokens (ignore_eos), about 1.6 s here.
    body = ask("", max_tokens=1900, ignore_eos=True, stream=True)
    del body["vllm_xargs"]
    with httpx.stream("POST", routed.url + CHAT, json=body, headers=TOOLS) as response:
        chunks = response.iter_raw()
        for _ in range(5):
            next(chunks)
    running = "vllm:num_requests_running"
    wait_for(lambda: engine_metric(routed.engine, running) == 0, "vLLM has no request running")
    generated = engine_metric(routed.engine, "vllm:generation_tokens_total") - before
    assert generated < 1900  # stopped early: vLLM saw the connection close


def test_a_max_tokens_above_the_context_is_capped_not_refused(routed: Routed) -> None:
    body = ask("Hello! I am a tiny test model.", max_tokens=5000)  # max_model_len is 2048
    direct = httpx.post(routed.engine + CHAT, json=body | {"model": "qwen3-coder-next-nvfp4"})
    assert direct.status_code == 400  # vLLM refuses max_tokens > max_model_len itself
    assert "max_model_len" in direct.json()["error"]["message"]
    response = httpx.post(routed.url + CHAT, json=body, headers=TOOLS, timeout=60)
    assert response.status_code == 200, response.text
    asked, sent = response.headers["x-max-tokens-capped"].split("->")
    assert int(asked) == 5000 and 1024 <= int(sent) < 2048
    assert response.json()["choices"][0]["message"]["content"] == "Hello! I am a tiny test model."
    [line] = [json.loads(x) for x in routed.log.read_text().splitlines()]
    assert line["max_tokens_capped"] == f"5000->{sent}"


def test_a_prompt_vllm_counts_over_its_context_moves_to_a_lane_that_holds_it(
    routed: Routed, engines: dict[str, Engine]
) -> None:
    # This tokenizer is byte-level and trained on Python's standard library: a Chinese
    # character is about three tokens where lanerouter's estimate says one. The estimate is
    # short, vLLM refuses the prompt and counts it, and the request goes on to the chat lane.
    body = {"model": "gpt-4o", "max_tokens": 5000}
    body["messages"] = [{"role": "user", "content": "请审查这段代码" * 130}]  # type: ignore[assignment]
    direct_body = body | {"model": "qwen3-coder-next-nvfp4", "max_tokens": 16}
    direct = httpx.post(routed.engine + CHAT, json=direct_body)
    assert direct.status_code == 400, direct.text
    assert "your prompt contains at least" in direct.json()["error"]["message"]
    response = httpx.post(routed.url + CHAT, json=body, headers=TOOLS, timeout=60)
    assert response.status_code == 200, response.text
    assert response.headers["x-lane"] == "chat"
    assert engines["chat"].script.received[-1].body["max_tokens"] <= 65536 - 2049  # type: ignore[index]
    [line] = [json.loads(x) for x in routed.log.read_text().splitlines()]
    assert (line["lane"], line["status"]) == ("chat", 200)
