"""An engine that refuses a request for its size: the numbers it states are read, and the
request is sent again with an output cap from the engine's own count, or moved to a lane that
holds it, or refused as `context_length_exceeded`; never relayed as a raw engine error."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import Engine
from test_errors import assert_error
from test_proxy import post

from router.decide.refusal import PromptCount, context_refusal
from router.demo.script import Behaviour

# vLLM's wording, from the reference capture (prompt alone) and vLLM's serving code (with output).
VLLM_PROMPT_ALONE = (
    "This model's maximum context length is 32768 tokens. However, your prompt contains at "
    "least 32769 input tokens, which exceeds this limit even without any output tokens. Please "
    "reduce the length of the input prompt. (parameter=input_tokens, value=32769)"
)
VLLM_WITH_OUTPUT = (
    "'max_tokens' or 'max_completion_tokens' is too large: 31000. This model's maximum context "
    "length is 32768 tokens and your request has 30000 input tokens (31000 > 32768 - 30000)."
)
VLLM_OLDER = (
    "This model's maximum context length is 4096 tokens. However, you requested 10778 tokens "
    "(2778 in the messages, 8000 in the completion). Please reduce the length of the messages."
)
LLAMA = {
    "code": 400,
    "message": "request (6024 tokens) exceeds the available context size (4096 tokens)",
    "type": "exceed_context_size_error",
    "n_prompt_tokens": 6024,
    "n_ctx": 4096,
}


def vllm_error(message: str) -> dict[str, Any]:
    return {"message": message, "type": "BadRequestError", "param": None, "code": 400}


@pytest.mark.parametrize(
    ("status", "error", "count"),
    [
        (400, vllm_error(VLLM_PROMPT_ALONE), PromptCount(32769, 32768, at_least=True)),
        (400, vllm_error(VLLM_WITH_OUTPUT), PromptCount(30000, 32768)),
        (400, vllm_error(VLLM_OLDER), PromptCount(2778, 4096)),
        (400, LLAMA, PromptCount(6024, 4096)),
        (400, LLAMA | {"n_ctx": "4096"}, None),  # not numbers: nothing to go by
        (400, vllm_error("temperature must be non-negative"), None),
        (400, vllm_error("maximum context length is 4096 tokens"), None),  # no prompt count
        (500, LLAMA, None),  # only a refusal of the request is read
    ],
)
def test_the_numbers_an_engine_states(
    status: int, error: dict[str, Any], count: PromptCount | None
) -> None:
    assert context_refusal(status, json.dumps({"error": error}).encode()) == count


@pytest.mark.parametrize("body", [b"", b"not json", b"[1]", b'{"error": "text"}', b"[" * 5000])
def test_what_is_not_a_refusal(body: bytes) -> None:
    assert context_refusal(400, body) is None


def refuse(engine: Engine, error: dict[str, Any]) -> None:
    engine.script.push(Behaviour(status=400, error={"error": error}))


AGENT_TURN = {
    "model": "tools",
    "max_tokens": 64_000,
    "messages": [{"role": "user", "content": "list the files"}],
}


def test_refused_with_output_is_sent_again_with_the_engines_cap(
    router_url: str, engines: dict[str, Engine]
) -> None:
    refuse(engines["tools"], vllm_error(VLLM_WITH_OUTPUT))
    response = post(router_url, "/v1/chat/completions", AGENT_TURN)
    assert response.status_code == 200, response.text
    assert response.headers["x-lane"] == "tools"
    first, second = (r.body for r in engines["tools"].script.received)
    assert first is not None and second is not None
    assert second["max_tokens"] == 32768 - 30000 < first["max_tokens"]
    assert response.headers["x-max-tokens-capped"] == f"64000->{32768 - 30000}"


def test_refused_prompt_moves_to_a_lane_that_holds_the_engines_count(
    router_url: str, engines: dict[str, Engine]
) -> None:
    refuse(engines["tools"], vllm_error(VLLM_PROMPT_ALONE))
    response = post(router_url, "/v1/chat/completions", AGENT_TURN)
    assert response.status_code == 200, response.text
    assert response.headers["x-lane"] == "chat"  # 64K: the 32,769 tokens fit with room left
    assert len(engines["tools"].script.received) == 1  # no second try where it cannot fit
    sent = engines["chat"].script.received[-1].body
    assert sent is not None and sent["max_tokens"] <= 65536 - 32769


def test_refused_on_the_only_lane_is_context_length_exceeded(
    router_url: str, engines: dict[str, Engine]
) -> None:
    refuse(engines["audit"], LLAMA | {"n_prompt_tokens": 16000, "n_ctx": 16384})
    body = {"messages": [{"role": "user", "content": "final review please"}]}
    response = post(router_url, "/v1/chat/completions", body, **{"X-Lane": "audit"})
    error = assert_error(response, 400, "context_length_exceeded")
    assert "16000 tokens" in error["message"] and "'audit'" in error["message"]
    assert len(engines["audit"].script.received) == 1  # 384 tokens left: not worth a retry
    assert response.headers["x-lane"] == "audit"


def test_other_engine_400s_reach_the_client_as_sent(
    router_url: str, engines: dict[str, Engine]
) -> None:
    refuse(engines["tools"], vllm_error("temperature must be non-negative"))
    response = post(router_url, "/v1/chat/completions", AGENT_TURN)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "temperature must be non-negative"
    assert len(engines["tools"].script.received) == 1
