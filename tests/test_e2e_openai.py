"""End to end with the official `openai` client, as an editor or agent would use lanerouter."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from conftest import Engine

LANES = ["audit", "chat", "tools"]
MESSAGES = [{"role": "user", "content": "Write a helper that chunks a list."}]


@pytest.fixture
def client(router_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=router_url + "/v1", api_key="sk-editor", max_retries=0)


@pytest.mark.parametrize("lane", LANES)
def test_stream_forced_by_header(client: openai.OpenAI, engines: dict[str, Engine], lane: str):
    raw = client.chat.completions.with_raw_response.create(
        model="auto", messages=MESSAGES, stream=True, extra_headers={"X-Lane": lane}
    )
    assert raw.headers["x-lane"] == lane
    assert raw.headers["x-route-reason"] == "header"
    text = "".join(c.choices[0].delta.content or "" for c in raw.parse() if c.choices)
    assert "def chunked" in text
    assert len(engines[lane].script.received) == 1


@pytest.mark.parametrize("lane", LANES)
def test_non_stream_forced_by_model_name(client: openai.OpenAI, lane: str) -> None:
    raw = client.chat.completions.with_raw_response.create(model=lane, messages=MESSAGES)
    assert raw.headers["x-lane"] == lane
    assert raw.headers["x-route-reason"] == "model"
    completion = raw.parse()
    assert "def chunked" in (completion.choices[0].message.content or "")
    assert completion.usage is not None and completion.usage.completion_tokens > 0


def test_alias_and_auto_routing(client: openai.OpenAI, engines: dict[str, Engine]) -> None:
    client.chat.completions.create(model="qwen3-coder-next:audit", messages=MESSAGES)
    client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "security audit of auth.py"}]
    )
    client.chat.completions.create(model="auto", messages=MESSAGES)
    assert len(engines["audit"].script.received) == 2
    assert len(engines["chat"].script.received) == 1


def test_tool_call_stream_assembles(client: openai.OpenAI) -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "read_file",
            "parameters": {
                "type": "object",
                "properties": {"path": {"type": "string"}},
                "required": ["path"],
            },
        },
    }
    stream = client.chat.completions.create(
        model="auto",
        messages=MESSAGES,
        tools=[tool],
        stream=True,  # type: ignore[list-item]
        stream_options={"include_usage": True},
    )
    name, arguments, usage = "", "", None
    for chunk in stream:
        usage = chunk.usage or usage
        for call in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            name += (call.function and call.function.name) or ""
            arguments += (call.function and call.function.arguments) or ""
    assert name == "read_file"
    assert json.loads(arguments) == {"path": "README.md"}  # a harmless value of its schema
    assert usage is not None and usage.completion_tokens > 0


def test_completions_stream_and_embeddings(client: openai.OpenAI) -> None:
    stream = client.completions.create(model="chat", prompt="def add(a, b):", stream=True)
    assert "".join(c.choices[0].text for c in stream if c.choices)
    embeddings = client.embeddings.create(model="tools", input=["a", "b", "c"])
    assert [e.index for e in embeddings.data] == [0, 1, 2]


def test_models_lists_lanes_and_aliases(client: openai.OpenAI) -> None:
    ids = [m.id for m in client.models.list()]
    assert ids[:4] == ["auto", "audit", "chat", "tools"]
    assert "qwen3-coder-next:tools" in ids


def test_errors_surface_as_openai_exceptions(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(
            model="auto", messages=MESSAGES, extra_headers={"X-Lane": "fast"}
        )
    assert "unknown lane 'fast'" in str(err.value)


@pytest.mark.parametrize("lane", ["audit", "chat", "tools"])
def test_the_sdks_responses_stream_works_on_every_lane(client: openai.OpenAI, lane: str) -> None:
    with client.responses.stream(model=lane, input="Say hi.") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert deltas and final.output_text == "".join(deltas)
    assert final.status == "completed" and final.id.startswith("resp_")


READ_FILE = {
    "type": "function",
    "function": {
        "name": "read_file",
        "parameters": {"type": "object", "properties": {"path": {"type": "string"}}},
    },
}


def test_an_agent_turn_against_the_demo_ends_by_itself(client: openai.OpenAI) -> None:
    messages: list[Any] = [{"role": "user", "content": "What does the README say?"}]
    first = client.chat.completions.create(model="auto", messages=messages, tools=[READ_FILE])
    [call] = first.choices[0].message.tool_calls or []
    assert first.choices[0].finish_reason == "tool_calls"
    assert json.loads(call.function.arguments) == {"path": "README.md"}  # type: ignore[union-attr]
    messages += [
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "# lanerouter"},
    ]
    second = client.chat.completions.create(model="auto", messages=messages, tools=[READ_FILE])
    assert second.choices[0].finish_reason == "stop"  # after the result: an answer, no new call
    assert not second.choices[0].message.tool_calls and second.choices[0].message.content


def test_responses_tool_call_round_trip(client: openai.OpenAI) -> None:
    parameters = {"type": "object", "properties": {"path": {"type": "string"}}}
    tool = {"type": "function", "name": "list_files", "parameters": parameters}
    with client.responses.stream(model="tools", input="List files.", tools=[tool]) as stream:
        final = stream.get_final_response()
    [call] = [item for item in final.output if item.type == "function_call"]
    assert (call.name, json.loads(call.arguments)) == ("list_files", {"path": "README.md"})
    follow = client.responses.create(
        model="tools", tools=[tool],
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "a.py"}],
    )  # fmt: skip
    assert not [item for item in follow.output if item.type == "function_call"]
    assert follow.output_text
