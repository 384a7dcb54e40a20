"""The official anthropic SDK against lanerouter (simulated engines): what Claude-Code-style
agents do through /v1/messages."""

from __future__ import annotations

import anthropic
import pytest

READ_FILE = {
    "name": "read_file",
    "description": "Read a file",
    "input_schema": {"type": "object", "properties": {"path": {"type": "string"}},
                     "required": ["path"]},
}  # fmt: skip


@pytest.fixture
def client(router_url: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=router_url, api_key="sk-ant-dummy", max_retries=0)


def test_stream_and_final_message(client: anthropic.Anthropic) -> None:
    with client.messages.stream(
        model="claude-sonnet-4", max_tokens=64_000, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text and final.content[0].type == "text" and final.content[0].text == text
    assert final.stop_reason == "end_turn" and final.usage.output_tokens > 0


def test_tool_use_round_trip_ends_by_itself(client: anthropic.Anthropic) -> None:
    messages: list[anthropic.types.MessageParam] = [
        {"role": "user", "content": "What does the README say?"}
    ]
    first = client.messages.create(model="claude-sonnet-4", max_tokens=4096,
                                   tools=[READ_FILE], messages=messages)  # fmt: skip
    [use] = [block for block in first.content if block.type == "tool_use"]
    assert first.stop_reason == "tool_use" and use.input == {"path": "README.md"}
    messages += [
        {"role": "assistant", "content": first.content},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id,
                                      "content": "# lanerouter"}]},
    ]  # fmt: skip
    with client.messages.stream(model="claude-sonnet-4", max_tokens=32_000, tools=[READ_FILE],
                                messages=messages) as stream:  # fmt: skip
        final = stream.get_final_message()
    assert final.stop_reason == "end_turn"
    assert [block.type for block in final.content] == ["text"]


def test_a_streamed_tool_use_carries_its_input(client: anthropic.Anthropic) -> None:
    with client.messages.stream(
        model="claude-sonnet-4", max_tokens=1000, tools=[READ_FILE],
        messages=[{"role": "user", "content": "read it"}],
    ) as stream:  # fmt: skip
        final = stream.get_final_message()
    [use] = [block for block in final.content if block.type == "tool_use"]
    assert (use.name, use.input) == ("read_file", {"path": "README.md"})
