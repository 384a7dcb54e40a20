"""Non-streaming answers assembled from llama.cpp-family streams look like the engine's own."""

from __future__ import annotations

import json

from captures import CAPTURES, response_body

from router.stream.assemble import assemble


def engine_body(name: str) -> dict[str, object]:
    return dict(json.loads(response_body(CAPTURES / name).strip()))


def test_chat_has_the_engines_keys_in_order() -> None:
    stream = response_body(CAPTURES / "llamacpp/chat_stream_include_usage.txt")
    built = json.loads(assemble("/v1/chat/completions", stream))
    real = engine_body("llamacpp/chat_nonstream.txt")
    assert list(built) == list(real)
    assert list(built["choices"][0]) == list(real["choices"][0])  # type: ignore[index]
    assert built["choices"][0]["message"]["content"].startswith("Write one sentence about")
    assert built["choices"][0]["finish_reason"] == "length"
    assert built["usage"]["completion_tokens"] == 40
    assert built["timings"]["cache_n"] == 25


def test_tool_calls_are_joined_per_index() -> None:
    stream = response_body(CAPTURES / "llamacpp/tools_stream_toolcall.txt")
    built = json.loads(assemble("/v1/chat/completions", stream))
    real = engine_body("llamacpp/tools_nonstream_toolcall.txt")
    calls = built["choices"][0]["message"]["tool_calls"]
    real_calls = real["choices"][0]["message"]["tool_calls"]  # type: ignore[index]
    assert [list(c) for c in calls] == [list(c) for c in real_calls]
    assert [c["function"]["name"] for c in calls] == ["get_weather", "get_weather"]
    assert [json.loads(c["function"]["arguments"]) for c in calls] == [{"city": "Paris"}] * 2
    assert built["choices"][0]["message"]["content"] == ""


def test_completions_and_ik_llama() -> None:
    stream = response_body(CAPTURES / "llamacpp/completions_stream.txt")
    built = json.loads(assemble("/v1/completions", stream))
    real = engine_body("llamacpp/completions_nonstream.txt")
    assert list(built) == list(real)
    assert built["choices"][0]["finish_reason"] == "length"
    ik = json.loads(
        assemble(
            "/v1/chat/completions",
            response_body(CAPTURES / "ik_llama/chat_stream_include_usage.txt"),
        )
    )
    assert "system_fingerprint" not in ik
    assert list(ik) == list(engine_body("ik_llama/chat_nonstream.txt"))
