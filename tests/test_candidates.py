"""Fallback chains and context fit, as tables."""

from __future__ import annotations

import pytest

from router.config import EngineKind
from router.configfile import load_settings
from router.decide.budget import answer_room, output_cap
from router.decide.candidates import estimate_prompt_tokens, estimate_text_tokens, plan_candidates
from router.decide.routing import Route
from router.errors import ContextTooLong

LANES = load_settings(None).lanes  # audit 16384 (no fallback), chat 65536, tools 32768

MIN_ANSWER = 1024

ROWS = [
    # (route, estimated prompt, expected [(lane, reason)]); a lane must leave 1024 tokens
    (
        Route("chat", "default"),
        100,
        [("chat", "default"), ("tools", "failover:chat"), ("audit", "failover:chat")],
    ),
    (Route("tools", "tools"), 100, [("tools", "tools"), ("chat", "failover:tools")]),
    (Route("audit", "security"), 100, [("audit", "security")]),
    # 40k tokens only fit the 64K chat lane: a tools request moves there for context.
    (Route("tools", "tools"), 40_000, [("chat", "context")]),
    # 20k fits chat and tools but not audit's 16K.
    (Route("chat", "header"), 20_000, [("chat", "header"), ("tools", "failover:chat")]),
    # 16,000 of audit's 16,384 would leave 368 tokens for the answer: too few.
    (Route("chat", "default"), 16_000, [("chat", "default"), ("tools", "failover:chat")]),
    # Claude Code's first request (~21k tokens of system prompt and tools) stays on tools.
    (Route("tools", "tools"), 21_411, [("tools", "tools"), ("chat", "failover:tools")]),
    # ik_llama.cpp truncates silently: its room keeps half the estimate again as margin.
    (Route("chat", "default"), 42_000, [("chat", "default")]),
]


@pytest.mark.parametrize(("route", "prompt", "expected"), ROWS)
def test_candidates(route: Route, prompt: int, expected: list[tuple[str, str]]) -> None:
    got = plan_candidates(route, LANES, prompt, MIN_ANSWER)
    assert [(c.lane, c.reason) for c in got] == expected


def test_nothing_fits_is_a_400_naming_sizes() -> None:
    with pytest.raises(ContextTooLong) as err:
        plan_candidates(Route("chat", "default"), LANES, 44_000, MIN_ANSWER)
    assert err.value.status == 400
    assert err.value.code == "context_length_exceeded"
    assert "chat: 65536" in err.value.message and "1024" in err.value.message


CAPS = [
    # (engine, body, ctx, prompt estimate, needs one, expected (key, asked, sent) or None)
    ("vllm", {"max_tokens": 64_000}, 32_768, 21_411, False, ("max_tokens", 64_000, 11_341)),
    ("vllm", {"max_tokens": 500}, 32_768, 21_411, False, None),  # a ceiling under the room
    ("vllm", {"max_completion_tokens": 32_000}, 32_768, 4_000, False,
     ("max_completion_tokens", 32_000, 28_752)),
    ("vllm", {"max_output_tokens": 50_000}, 32_768, 0, False,
     ("max_output_tokens", 50_000, 32_752)),
    ("llamacpp", {}, 16_384, 2_000, False, None),  # no ceiling asked, none needed
    ("ik_llamacpp", {}, 65_536, 20_000, True, ("max_tokens", None, 35_520)),
    ("ik_llamacpp", {"max_tokens": 64_000}, 65_536, 20_000, True, ("max_tokens", 64_000, 35_520)),
]  # fmt: skip


@pytest.mark.parametrize(("engine", "body", "ctx", "prompt", "needs_one", "expected"), CAPS)
def test_a_clients_max_tokens_is_a_ceiling(
    engine: EngineKind, body: dict[str, int], ctx: int, prompt: int, needs_one: bool,
    expected: tuple[str, int | None, int] | None,
) -> None:  # fmt: skip
    cap = output_cap(engine, body, ctx, prompt, needs_one)
    assert (None if cap is None else (cap.key, cap.asked, cap.tokens)) == expected


def test_fit_and_cap_agree_so_no_answer_is_cut_to_a_token() -> None:
    for prompt in range(0, 70_000, 250):
        for lane in LANES.values():
            room = answer_room(lane.engine, lane.ctx_size, prompt)
            cap = output_cap(lane.engine, {"max_tokens": 100_000}, lane.ctx_size, prompt, True)
            if room >= MIN_ANSWER:  # admitted: the cap leaves the whole room, never less
                assert cap is not None and cap.tokens == room >= MIN_ANSWER


def test_estimate_counts_what_becomes_the_prompt() -> None:
    body = {"model": "x" * 4000, "messages": [{"role": "user", "content": "y" * 4000}]}
    assert 1000 <= estimate_prompt_tokens(body) <= 1020


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("def handler(event):\n    return event\n" * 100, 900, 1000),  # code: 4 chars a token
        ("请检查这个函数的错误处理" * 100, 1200, 1200),  # Chinese: about one token a character
        ("関数のエラー処理を確認して" * 100, 1300, 1300),  # Japanese likewise
        ("проверь обработку ошибок " * 100, 1400, 1600),  # Cyrillic: under one a character
        ("🔥" * 400, 500, 600),  # emoji: more than one a character
    ],
)
def test_estimate_follows_the_script(text: str, low: int, high: int) -> None:
    # chars/4 alone would say 300 for the Chinese: a quarter of what the engine will count.
    assert low <= estimate_text_tokens(text) <= high


def test_a_chinese_prompt_that_only_looks_small_is_routed_by_its_real_size() -> None:
    body = {"messages": [{"role": "user", "content": "审查" * 9000}]}  # 18,000 characters
    assert estimate_prompt_tokens(body) > 16384  # not the 16K audit lane, whatever chars/4 says
    route = Route("audit", "header")
    with pytest.raises(ContextTooLong):
        plan_candidates(route, LANES, estimate_prompt_tokens(body), MIN_ANSWER)
