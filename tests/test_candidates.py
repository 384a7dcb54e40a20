"""Fallback chains and context fit, as tables."""

from __future__ import annotations

import pytest

from router.candidates import ContextTooLong, estimate_prompt_tokens, plan_candidates
from router.config import load_settings
from router.routing import Route

LANES = load_settings(None).lanes  # audit 16384 (no fallback), chat 65536, tools 32768

ROWS = [
    # (route, prompt, output, expected [(lane, reason)])
    (
        Route("chat", "default"),
        100,
        0,
        [("chat", "default"), ("tools", "failover:chat"), ("audit", "failover:chat")],
    ),
    (Route("tools", "tools"), 100, 512, [("tools", "tools"), ("chat", "failover:tools")]),
    (Route("audit", "security"), 100, 0, [("audit", "security")]),
    # 40k tokens only fit the 64K chat lane: a tools request moves there for context.
    (Route("tools", "tools"), 40_000, 1000, [("chat", "context")]),
    # 20k fits chat and tools but not audit's 16K.
    (Route("chat", "header"), 20_000, 0, [("chat", "header"), ("tools", "failover:chat")]),
    (
        Route("chat", "default"),
        16_000,
        384,
        [("chat", "default"), ("tools", "failover:chat"), ("audit", "failover:chat")],
    ),
]


@pytest.mark.parametrize(("route", "prompt", "output", "expected"), ROWS)
def test_candidates(route: Route, prompt: int, output: int, expected: list[tuple[str, str]]):
    got = plan_candidates(route, LANES, prompt, output)
    assert [(c.lane, c.reason) for c in got] == expected


def test_nothing_fits_is_a_400_naming_sizes() -> None:
    with pytest.raises(ContextTooLong) as err:
        plan_candidates(Route("audit", "header"), LANES, 16_000, 1000)
    assert err.value.status == 400
    assert err.value.code == "context_length_exceeded"
    assert "audit: 16384" in err.value.message


def test_estimate_counts_what_becomes_the_prompt() -> None:
    body = {"model": "x" * 4000, "messages": [{"role": "user", "content": "y" * 4000}]}
    assert 1000 <= estimate_prompt_tokens(body) <= 1020
