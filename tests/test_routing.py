"""Routing is a pure function: each row is a request a user could send, and the lane it gets."""

from __future__ import annotations

from typing import Any

import pytest

from router.config import RuleConfig
from router.configfile import load_settings
from router.decide.intent import classify
from router.decide.routing import build_route_table, choose_lane
from router.errors import UnknownLane

TABLE = build_route_table(load_settings(None))
WEATHER_TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": {}}}


def chat(text: str, system: str | None = None, **extra: Any) -> dict[str, Any]:
    messages = [{"role": "system", "content": system}] if system else []
    return {"model": "auto", "messages": [*messages, {"role": "user", "content": text}]} | extra


ROWS = [
    # (what the user does, body, X-Lane header, expected lane, expected reason)
    ("plain question", chat("explain this stack trace"), None, "chat", "default"),
    ("header forces audit", chat("hello"), "audit", "audit", "header"),
    ("header is case-insensitive", chat("hello"), "Tools", "tools", "header"),
    ("header auto falls through", chat("hello"), "auto", "chat", "default"),
    ("header beats tools", chat("hi", tools=[WEATHER_TOOL]), "chat", "chat", "header"),
    ("model names a lane", chat("hello") | {"model": "audit"}, None, "audit", "model"),
    ("model alias", chat("hi") | {"model": "qwen3-coder-next:tools"}, None, "tools", "model"),
    ("alias any case", chat("hi") | {"model": "Qwen3-Coder-Next:Audit"}, None, "audit", "model"),
    ("unknown model falls through", chat("hi") | {"model": "gpt-4o"}, None, "chat", "default"),
    (
        "model beats tools",
        chat("hi", tools=[WEATHER_TOOL]) | {"model": "chat"},
        None,
        "chat",
        "model",
    ),
    ("tools offered", chat("weather in Paris?", tools=[WEATHER_TOOL]), None, "tools", "tools"),
    ("legacy functions", chat("x", functions=[{"name": "f"}]), None, "tools", "tools"),
    ("empty tools list is no tools", chat("hello", tools=[]), None, "chat", "default"),
    (
        "tools beat audit rules",
        chat("security audit", tools=[WEATHER_TOOL]),
        None,
        "tools",
        "tools",
    ),
    ("security audit asked", chat("Do a security audit of this diff"), None, "audit", "security"),
    ("SQL injection, any case", chat("is this open to SQL Injection?"), None, "audit", "security"),
    (
        "auditor system prompt",
        chat("look at login.py", system="You run a security review."),
        None,
        "audit",
        "role",
    ),
    (
        "policy lines in a system prompt do not count",
        chat("look at login.py", system="Never introduce security vulnerabilities."),
        None,
        "chat",
        "default",
    ),
    ("plain code review", chat("Please do a code review of my patch"), None, "chat", "default"),
    (
        "precision review",
        chat("Please do a careful code review of my patch before I merge it"),
        None,
        "audit",
        "review",
    ),
    ("audit asked", chat("audit this function"), None, "audit", "security"),
    ("keyword needs whole word", chat("invulnerabilityx? no"), None, "chat", "default"),
    (
        "older user turn is ignored",
        {
            "messages": [
                {"role": "user", "content": "security audit please"},
                {"role": "assistant", "content": "done"},
                {"role": "user", "content": "thanks, now rename foo"},
            ]
        },
        None,
        "chat",
        "default",
    ),
]


@pytest.mark.parametrize(
    ("body", "header", "lane", "reason"), [r[1:] for r in ROWS], ids=[r[0] for r in ROWS]
)
def test_route_table(body: dict[str, Any], header: str | None, lane: str, reason: str) -> None:
    route = choose_lane(TABLE, classify(body), header)
    assert (route.lane, route.reason) == (lane, reason)


TOOL_TURNS = [
    ("openai tool result", {"messages": [{"role": "tool", "content": "21C"}]}),
    ("assistant tool_calls", {"messages": [{"role": "assistant", "tool_calls": [{"id": "1"}]}]}),
    (
        "anthropic tool_result block",
        {"messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t"}]}]},
    ),
    ("responses function output", {"input": [{"type": "function_call_output", "output": "x"}]}),
]


@pytest.mark.parametrize("body", [r[1] for r in TOOL_TURNS], ids=[r[0] for r in TOOL_TURNS])
def test_tool_turns_go_to_tools(body: dict[str, Any]) -> None:
    assert choose_lane(TABLE, classify(body), None).lane == "tools"


SHAPES = [
    (
        "anthropic system + blocks",
        {
            "system": [{"type": "text", "text": "security audit"}],
            "messages": [{"role": "user", "content": "go"}],
        },
    ),
    ("responses instructions", {"instructions": "threat model it", "input": "go"}),
    (
        "responses input parts",
        {
            "input": [
                {"role": "user", "content": [{"type": "input_text", "text": "final code review"}]}
            ]
        },
    ),
    ("completions prompt", {"prompt": "# security audit of the parser\n"}),
    (
        "chat content parts",
        {
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "find vulnerabilities"}]}
            ]
        },
    ),
]


@pytest.mark.parametrize("body", [r[1] for r in SHAPES], ids=[r[0] for r in SHAPES])
def test_rules_read_every_request_shape(body: dict[str, Any]) -> None:
    assert choose_lane(TABLE, classify(body), None).lane == "audit"


def test_unknown_header_lane_lists_valid_ones() -> None:
    with pytest.raises(UnknownLane) as err:
        choose_lane(TABLE, classify(chat("hi")), "gpu")
    assert "'gpu'" in err.value.message
    assert "auto, audit, chat, tools" in err.value.message


def test_rule_fields_limit_where_it_looks() -> None:
    only_user = RuleConfig(name="sec", keywords=("vulnerability",), fields=("last_user",))
    settings = load_settings(None)
    routing = settings.routing.model_copy(update={"rules": (only_user,)})
    table = build_route_table(settings.model_copy(update={"routing": routing}))
    agent_prompt = chat("rename foo to bar", system="Never introduce a vulnerability.")
    assert choose_lane(table, classify(agent_prompt), None).reason == "default"
    assert choose_lane(table, classify(chat("any vulnerability here?")), None).lane == "audit"


def test_models_list_names_auto_lanes_and_aliases() -> None:
    assert TABLE.listed_ids[:4] == ("auto", "audit", "chat", "tools")
    assert "qwen3-coder-next:audit" in TABLE.listed_ids
